//! One connection to the store, whatever it runs on: a single Redis server, or a Redis
//! Cluster (the `redis` crate's cluster client, which follows MOVED and ASK and finds the
//! new masters after a failover).

use ::redis::cluster::{ClusterClient, ClusterConnection, ClusterPipeline};
use ::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use ::redis::{Cmd, ConnectionLike};

use super::*;

/// How a pool makes connections.
pub(super) enum Dialer {
    One(::redis::Client),
    Cluster(ClusterClient),
}

/// A connection: commands and scripts go through `ConnectionLike` either way; what must
/// reach several nodes (`spread`, `on_masters`) asks for it here.
pub(super) enum Link {
    One(Connection),
    Cluster(Box<ClusterConnection>),
}

/// Commands whose keys may lie in any slots (slices), run in one round trip per node.
pub(super) struct Batch {
    pipe: Pipe,
    n: usize,
}

enum Pipe {
    One(::redis::Pipeline),
    Cluster(ClusterPipeline),
}

impl Batch {
    pub(super) fn new(cluster: bool) -> Batch {
        let pipe = if cluster {
            Pipe::Cluster(ClusterPipeline::new())
        } else {
            Pipe::One(::redis::Pipeline::new())
        };
        Batch { pipe, n: 0 }
    }

    pub(super) fn add(&mut self, cmd: Cmd) {
        self.n += 1;
        match &mut self.pipe {
            Pipe::One(p) => {
                p.add_command(cmd);
            }
            Pipe::Cluster(p) => {
                p.add_command(cmd);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.n
    }
}

impl Dialer {
    pub(super) fn connect(&self, timeout: Duration) -> RedisResult<Link> {
        match self {
            Dialer::One(client) => {
                let con = client.get_connection_with_timeout(timeout)?;
                con.set_read_timeout(Some(timeout))?;
                con.set_write_timeout(Some(timeout))?;
                Ok(Link::One(con))
            }
            Dialer::Cluster(client) => {
                let con = client.get_connection()?;
                con.set_read_timeout(Some(timeout))?;
                con.set_write_timeout(Some(timeout))?;
                Ok(Link::Cluster(Box::new(con)))
            }
        }
    }
}

impl Link {
    pub(super) fn set_read_timeout(&self, t: Option<Duration>) -> RedisResult<()> {
        match self {
            Link::One(c) => c.set_read_timeout(t),
            Link::Cluster(c) => c.set_read_timeout(t),
        }
    }

    /// Runs `b` and returns its replies in order. On a cluster each node gets its share at
    /// once; nothing orders commands on different nodes, so a caller that needs one done
    /// before another waits for this answer first.
    pub(super) fn batch(&mut self, b: &Batch) -> RedisResult<Vec<Value>> {
        if b.n == 0 {
            return Ok(Vec::new());
        }
        match (self, &b.pipe) {
            (Link::One(c), Pipe::One(p)) => p.query(c),
            (Link::Cluster(c), Pipe::Cluster(p)) => p.query(c),
            _ => Err(RedisError::from((
                ErrorKind::Client,
                "a batch made for another kind of connection",
            ))),
        }
    }

    /// The masters' addresses (`host:port`); one server: its own, as `None`.
    pub(super) fn masters(&mut self) -> RedisResult<Vec<Option<(String, u16)>>> {
        let Link::Cluster(c) = self else {
            return Ok(vec![None]);
        };
        let slots: Value = ::redis::cmd("CLUSTER").arg("SLOTS").query(&mut **c)?;
        let mut out: Vec<Option<(String, u16)>> = Vec::new();
        for range in array(&slots) {
            // [start, end, [host, port, id, ...], replicas...]
            let Some(master) = array(range).get(2) else {
                continue;
            };
            let m = array(master);
            let host = m.first().map(text).unwrap_or_default();
            let port = m.get(1).and_then(number).unwrap_or(0) as u16;
            let node = Some((host, port));
            if port != 0 && !out.contains(&node) {
                out.push(node);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Runs `cmd` on one master (`None`: the single server).
    pub(super) fn on(&mut self, node: &Option<(String, u16)>, cmd: &Cmd) -> RedisResult<Value> {
        match (self, node) {
            (Link::Cluster(c), Some((host, port))) => c.route_command(
                cmd,
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                }),
            ),
            (link, _) => cmd.query(link),
        }
    }
}

impl ConnectionLike for Link {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            Link::One(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Link::One(c) => c.req_packed_commands(cmd, offset, count),
            // A plain pipeline goes whole to the node of its first key: the callers' pipelines
            // hold only `{P}` keys (one slot); `spread` is for the others.
            Link::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Link::One(c) => c.req_command(cmd),
            Link::Cluster(c) => c.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::One(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Link::One(c) => c.check_connection(),
            Link::Cluster(c) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Link::One(c) => c.is_open(),
            Link::Cluster(c) => c.is_open(),
        }
    }
}
