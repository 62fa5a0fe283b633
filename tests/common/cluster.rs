//! A Redis Cluster of the test's own: redis-servers on free loopback ports (each with its
//! cluster bus at port + 10000), joined with `redis-cli --cluster create`, stopped on drop.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::RedisServer;

/// How long a master may be silent before its replica takes over (the cluster's
/// `cluster-node-timeout`, in ms): short, so that a failover test takes seconds.
pub const NODE_TIMEOUT_MS: u64 = 1500;

pub struct RedisCluster {
    /// Masters first (as created), then replicas.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// `masters` masters with `replicas` replicas each, every slot served.
    pub fn start(masters: usize, replicas: usize) -> RedisCluster {
        let timeout = NODE_TIMEOUT_MS.to_string();
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                // The bus port must exist too: a server whose port + 10000 is taken or past
                // 65535 fails to start, and start_with tries another port.
                RedisServer::start_with(&[
                    "--appendonly",
                    "no",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    &timeout,
                ])
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port()));
        }
        create.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]);
        let out = create.output().expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let c = RedisCluster { nodes };
        let all = c.nodes.len().to_string();
        c.wait_until("every node sees the whole cluster", |info| {
            info.contains("cluster_state:ok")
                && info.contains("cluster_slots_ok:16384")
                && info.contains(&format!("cluster_known_nodes:{all}\r"))
        });
        // Replicas copy their master first (after a delay of Redis' own): until then no
        // fsync could be acknowledged.
        let end = Instant::now() + Duration::from_secs(60);
        for i in 0..c.nodes.len() {
            while c.info(i, "replication").contains("role:slave")
                && !c.info(i, "replication").contains("master_link_status:up")
            {
                assert!(
                    Instant::now() < end,
                    "replica {i} never caught up with its master"
                );
                thread::sleep(Duration::from_millis(100));
            }
        }
        c
    }

    /// `host:port,host:port,...` of every node, as `--redis-cluster` takes it.
    pub fn seed_arg(&self) -> String {
        self.nodes
            .iter()
            .filter(|n| n.pid().is_some())
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `redis://127.0.0.1:port` of every node, as `RedisTarget::cluster` takes them.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.pid().is_some())
            .map(|n| format!("redis://127.0.0.1:{}", n.port()))
            .collect()
    }

    /// The masters' indexes in `nodes` now (they change with a failover).
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i].pid().is_some() && self.info(i, "replication").contains("role:master")
            })
            .collect()
    }

    /// `INFO section` of node `i`.
    pub fn info(&self, i: usize, section: &str) -> String {
        redis::cmd("INFO")
            .arg(section)
            .query(&mut self.nodes[i].connection())
            .unwrap_or_default()
    }

    /// Waits (at most 30 s) until every running node's CLUSTER INFO passes `ok`.
    pub fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let all = self.nodes.iter().filter(|n| n.pid().is_some()).all(|n| {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut n.connection())
                    .unwrap_or_default();
                ok(&info)
            });
            if all {
                return;
            }
            assert!(Instant::now() < end, "cluster: not within 30 s: {what}");
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills node `i` (SIGKILL: no goodbye to the others).
    pub fn kill(&mut self, i: usize) {
        if let Some(pid) = self.nodes[i].pid() {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        self.nodes[i].stop();
    }
}
