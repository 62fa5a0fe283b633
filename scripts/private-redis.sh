# Sourced by the bench scripts once "$work" exists and `mounts` lists what they will mount:
# sets up the cleanup (unmounts those, stops the server, removes "$work"; also when
# interrupted), then starts a private redis-server on a free loopback port, keeping its
# files in "$work". Sets `port` and `redis_pid`.
redis_pid=""
cleanup() {
    for m in "${mounts[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --maxmemory-policy noeviction --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
done
