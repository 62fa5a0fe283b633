//! One connection to the store, whatever it runs on: a single Redis server, or a Redis
//! Cluster (the `redis` crate's cluster client, which follows MOVED and ASK and finds the
//! new masters after a failover).

use ::redis::cluster::{ClusterClient, ClusterConnection, ClusterPipeline};
use ::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use ::redis::{Cmd, ConnectionLike};

use super::*;

/// Slices of at least this many bytes go to the socket from where they are (`sets_then`).
const SEND_APART: usize = 16 << 10;

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

    /// Stores each `(key, bytes)` with SET, then runs `then`, in one round trip, on one
    /// server; the answer is `then`'s, or the first error. Each slice's bytes go to the socket
    /// from where they are: a pipeline copies them twice first (into its command, then into
    /// the pipeline's buffer), and without those copies a sequential writer ran 1.6x faster.
    pub(super) fn sets_then(&mut self, sets: &[(String, &[u8])], then: &Cmd) -> RedisResult<Value> {
        // A cluster's slices lie in other slots than the script's keys (`Inner::publish`
        // sends them apart).
        let Link::One(c) = self else {
            return Err(RedisError::from((
                ErrorKind::Client,
                "slices and their publication in one round trip need one server",
            )));
        };
        let mut head = Vec::with_capacity(128);
        for (key, bytes) in sets {
            head.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n",
                    key.len(),
                    bytes.len()
                )
                .as_bytes(),
            );
            if bytes.len() < SEND_APART {
                // Small ones go with the next header: a write each would cost more.
                head.extend_from_slice(bytes);
            } else {
                c.send_packed_command(&head)?;
                c.send_packed_command(bytes)?;
                head.clear();
            }
            head.extend_from_slice(b"\r\n");
        }
        then.write_packed_command(&mut head);
        c.send_packed_command(&head)?;
        // Every answer is read, so that the connection stays in step; a lost one fails it.
        let mut first_err = None;
        let mut last = Value::Nil;
        let mut left = sets.len() + 1;
        while left > 0 {
            match c.recv_response()? {
                Value::Push { .. } => continue,
                v => {
                    left -= 1;
                    match v.extract_error() {
                        Ok(v) => last = v,
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
            }
        }
        first_err.map_or(Ok(last), Err)
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

    /// The masters (one server: itself, with no address).
    pub(super) fn masters(&mut self) -> RedisResult<Vec<Node>> {
        let Link::Cluster(c) = self else {
            return Ok(vec![Node::default()]);
        };
        let slots: Value = ::redis::cmd("CLUSTER").arg("SLOTS").query(&mut **c)?;
        let mut out: Vec<Node> = Vec::new();
        for range in array(&slots) {
            // [start, end, [host, port, id, ...], replicas...]
            let r = array(range);
            let (Some(first), Some(last), Some(master)) = (
                r.first().and_then(number),
                r.get(1).and_then(number),
                r.get(2),
            ) else {
                continue;
            };
            let m = array(master);
            let host = m.first().map(text).unwrap_or_default();
            let port = m.get(1).and_then(number).unwrap_or(0) as u16;
            if port == 0 {
                continue;
            }
            let addr = Some((host, port));
            let span = (first as u16, last as u16);
            match out.iter_mut().find(|n| n.addr == addr) {
                Some(n) => n.slots.push(span),
                None => out.push(Node {
                    addr,
                    slots: vec![span],
                }),
            }
        }
        out.sort_by(|a, b| a.addr.cmp(&b.addr));
        Ok(out)
    }

    /// Runs `cmd` on one master, over the connection this link keeps to it.
    pub(super) fn on(&mut self, node: &Node, cmd: &Cmd) -> RedisResult<Value> {
        match (self, &node.addr) {
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

/// A master: its address (None: the single server) and the slot ranges it serves.
#[derive(Default)]
pub(super) struct Node {
    pub(super) addr: Option<(String, u16)>,
    pub(super) slots: Vec<(u16, u16)>,
}

/// The cluster slot of `key`: of its hash tag (the text inside the first `{...}`, if not
/// empty), else of the whole key.
pub(super) fn slot_of(key: &str) -> u16 {
    let b = key.as_bytes();
    let tag = key
        .find('{')
        .and_then(|o| key[o + 1..].find('}').map(|c| &b[o + 1..o + 1 + c]))
        .filter(|t| !t.is_empty())
        .unwrap_or(b);
    crc16::State::<crc16::XMODEM>::calculate(tag) % 16384
}

impl Node {
    pub(super) fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| (a..=b).contains(&slot))
    }

    /// `host:port`, or `single` (the single server's own address, as the pool names it).
    pub(super) fn name(&self, single: &str) -> String {
        match &self.addr {
            Some((h, p)) => format!("{h}:{p}"),
            None => single.to_owned(),
        }
    }

    /// A key named `base:{n}` that lies in one of this master's slots (None on one server:
    /// any key lies there).
    pub(super) fn key_here(&self, base: &str) -> String {
        if self.addr.is_none() {
            return base.to_owned();
        }
        // A few tries each: the slots of a master are many.
        (0u32..1_000_000)
            .map(|n| format!("{base}:{{{n}}}"))
            .find(|k| self.serves(slot_of(k)))
            .unwrap_or_else(|| base.to_owned())
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

#[cfg(test)]
mod tests {
    use super::slot_of;

    #[test]
    fn slots_are_redis_own() {
        // Values from CLUSTER KEYSLOT.
        assert_eq!(slot_of("foo"), 12182);
        assert_eq!(slot_of("{user1000}.following"), slot_of("user1000"));
        assert_eq!(slot_of("foo{bar}"), slot_of("bar"));
        assert_ne!(slot_of("foo{}"), slot_of("foo"));
        assert_eq!(slot_of("{mavfs}:meta"), slot_of("mavfs"));
    }
}
