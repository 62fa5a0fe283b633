//! The servers behind the store: their memory policy, their replicas (fsync), and for
//! `mavfsctl stats` what each master of a cluster holds.

use super::*;

impl Inner {
    /// Reads Redis' memory policy again (it may have been changed under the mount): an
    /// evicting one turns `vram/` read-only, with one logged error; noeviction lifts that.
    pub(super) fn check_policy(&self) {
        if let Ok(info) = self.info_all("memory") {
            self.check_policy_in(&info);
        }
    }

    /// `INFO section` of each master (one server: its own), as `(address, text)`.
    pub(super) fn info_all(&self, section: &str) -> Result<Vec<(String, String)>, Failure> {
        self.pool.run(true, |c| {
            let mut out = Vec::new();
            for node in c.masters()? {
                let text: String =
                    ::redis::from_redis_value(c.on(&node, ::redis::cmd("INFO").arg(section))?)?;
                out.push((node.name(&self.pool.addr), text));
            }
            Ok(out)
        })
    }

    /// Returns once every master's writes so far have reached one of its replicas (fsync):
    /// a failover after it loses none of them. A master without replicas is not waited
    /// for. Each master gets a write of this connection's (a fence), then WAIT, which waits
    /// for this connection's writes; a replica applies writes in order, so the fence's
    /// arrival means every earlier write's.
    pub(super) fn sync(&self) -> StoreResult<()> {
        let base = format!("{}:fence", self.keys.plain);
        let wait_ms = self.pool.timeout.as_millis().max(1) as u64;
        let short = self
            .pool
            .run(false, |c| {
                let mut short = Vec::new();
                for node in c.masters()? {
                    let info: String = ::redis::from_redis_value(
                        c.on(&node, ::redis::cmd("INFO").arg("replication"))?,
                    )?;
                    let replicas: u64 = info_field(&info, "connected_slaves")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if replicas == 0 {
                        continue;
                    }
                    let key = node.key_here(&base);
                    c.on(&node, ::redis::cmd("SET").arg(&key).arg(&self.sid))?;
                    let acked: u64 = ::redis::from_redis_value(
                        c.on(&node, ::redis::cmd("WAIT").arg(1).arg(wait_ms))?,
                    )?;
                    if acked == 0 {
                        short.push(node.name(&self.pool.addr));
                    }
                }
                Ok(short)
            })
            .map_err(|f| self.fail(f))?;
        if short.is_empty() {
            return Ok(());
        }
        Err(StoreError::Unavailable(format!(
            "no replica of Redis at {} took the writes within {} ms",
            short.join(", "),
            wait_ms
        )))
    }

    /// `check_policy` on the masters' `INFO memory` answers already at hand.
    pub(super) fn check_policy_in(&self, info: &[(String, String)]) {
        let why = info.iter().find_map(|(addr, text)| {
            let policy = info_field(text, "maxmemory_policy").unwrap_or_default();
            evicting_policy_error(addr, &policy)
        });
        let mut evicting = self.evicting.lock();
        match (why, evicting.is_some()) {
            (Some(why), false) => {
                log::error!("{why}; vram/ is read-only until it is noeviction again");
                *evicting = Some(why);
            }
            (None, true) => {
                info!(
                    "Redis at {} is on noeviction again; vram/ is writable",
                    self.pool.addr
                );
                *evicting = None;
            }
            _ => {}
        }
    }

    /// Each master of a cluster: its memory, keys and replicas, and this prefix's slices on
    /// it. Counting the slices takes a scan of every master, so the answer is kept for
    /// `NODES_EVERY`.
    pub(super) fn nodes(&self) -> Vec<NodeStats> {
        if !self.cluster() {
            return Vec::new();
        }
        if let Some((at, v)) = &*self.nodes_seen.lock() {
            if at.elapsed() < NODES_EVERY {
                return v.clone();
            }
        }
        let pattern = format!("{}:s:*", Keys::glob_escape(&self.keys.plain));
        let meta_slot = link::slot_of(&self.keys.meta());
        let got = self.pool.run(true, |c| {
            let mut out = Vec::new();
            for node in c.masters()? {
                let info = |c: &mut Link, section: &str| -> RedisResult<String> {
                    Ok(::redis::from_redis_value(
                        c.on(&node, ::redis::cmd("INFO").arg(section))?,
                    )?)
                };
                let field = |text: &str, name: &str| -> u64 {
                    info_field(text, name)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                let memory = info(c, "memory")?;
                let replication = info(c, "replication")?;
                let keys: u64 = ::redis::from_redis_value(c.on(&node, &::redis::cmd("DBSIZE"))?)?;
                let (mut slices, mut slice_bytes) = (0u64, 0u64);
                let mut cursor = 0u64;
                loop {
                    let mut scan = ::redis::cmd("SCAN");
                    scan.arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000);
                    let (next, found): (u64, Vec<Vec<u8>>) =
                        ::redis::from_redis_value(c.on(&node, &scan)?)?;
                    let mut b = Batch::new(true);
                    for k in &found {
                        let mut len = ::redis::cmd("STRLEN");
                        len.arg(k);
                        b.add(len);
                    }
                    slices += found.len() as u64;
                    slice_bytes += c.batch(&b)?.iter().filter_map(number).sum::<u64>();
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
                out.push(NodeStats {
                    addr: node.name(&self.pool.addr),
                    used_memory: field(&memory, "used_memory"),
                    keys,
                    replicas: field(&replication, "connected_slaves"),
                    slices,
                    slice_bytes,
                    metadata: node.serves(meta_slot),
                });
            }
            Ok(out)
        });
        match got {
            Ok(v) => {
                *self.nodes_seen.lock() = Some((Instant::now(), v.clone()));
                v
            }
            Err(f) => {
                debug!("cluster nodes for stats: {}", self.fail(f));
                self.nodes_seen
                    .lock()
                    .as_ref()
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            }
        }
    }
}
