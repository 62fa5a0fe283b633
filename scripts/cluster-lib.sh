# Sourced by scripts that need a Redis Cluster of their own on loopback ports.
#   start_cluster DIR N [redis-server options]: N masters with data under DIR, joined into one
#   cluster with every slot served. Sets cluster_seeds (host:port,...) and cluster_nodes (an
#   array), and adds the servers' PIDs to cluster_pids, which the caller kills on exit.

# A free port whose cluster bus port (+ 10000) is free too.
cluster_free_port() {
    python3 -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p + 10000 > 65535:
        continue
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 10000)); print(p); break
    except OSError:
        pass'
}

start_cluster() {
    local dir=$1 n=$2 p i
    shift 2
    cluster_nodes=()
    for i in $(seq "$n"); do
        p=$(cluster_free_port)
        mkdir -p "$dir/$p"
        redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/$p" \
            --cluster-enabled yes --cluster-config-file nodes.conf --daemonize no "$@" \
            >"$dir/$p/log" 2>&1 &
        cluster_pids+=($!)
        cluster_nodes+=("127.0.0.1:$p")
    done
    for p in "${cluster_nodes[@]}"; do
        for i in $(seq 100); do
            redis-cli -p "${p##*:}" ping >/dev/null 2>&1 && break
            sleep 0.05
        done
    done
    if ! redis-cli --cluster create "${cluster_nodes[@]}" --cluster-replicas 0 --cluster-yes \
        >"$dir/create.log" 2>&1; then
        echo "redis-cli --cluster create failed:" >&2
        cat "$dir/create.log" >&2
        return 1
    fi
    for i in $(seq 100); do
        redis-cli -p "${cluster_nodes[0]##*:}" cluster info | grep -q 'cluster_state:ok' && break
        sleep 0.1
    done
    cluster_seeds=$(IFS=,; echo "${cluster_nodes[*]}")
}
