//! The servers behind the store: their memory policy, their replicas (fsync), and for
//! `mavfsctl stats` what each master of a cluster holds.

use super::link::Node;
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
    /// for, and where none has any (as seen within the last second) this asks nothing.
    pub(super) fn sync(&self) -> StoreResult<()> {
        if let Some((at, false)) = *self.replicas_seen.lock() {
            if at.elapsed() < REPLICAS_EVERY {
                return Ok(());
            }
        }
        let base = format!("{}:fence", self.keys.plain);
        let (short, any) = self
            .pool
            .run(true, |c| {
                let (mut short, mut any) = (Vec::new(), false);
                for node in c.masters()? {
                    match self.wait_replica(c, &node, Some(&base))? {
                        None => {}
                        Some(acked) => {
                            any = true;
                            if !acked {
                                short.push(node.name(&self.pool.addr));
                            }
                        }
                    }
                }
                Ok((short, any))
            })
            .map_err(|f| self.fail(f))?;
        *self.replicas_seen.lock() = Some((Instant::now(), any));
        if short.is_empty() {
            return Ok(());
        }
        Err(StoreError::Unavailable(format!(
            "no replica of Redis at {} took the writes within {} ms",
            short.join(", "),
            self.wait_ms()
        )))
    }

    /// How long a WAIT may wait: half the timeout, so that Redis answers before the
    /// connection gives up on it.
    fn wait_ms(&self) -> u64 {
        (self.pool.timeout.as_millis() as u64 / 2).max(1)
    }

    /// Waits until a replica of `node` has every write this connection made there (WAIT,
    /// which counts this connection's writes only). With `fence`, a write of this
    /// connection's goes first, a key named from `fence` in `node`'s slots: replicas apply
    /// writes in order, so its arrival means every earlier write's, from any connection.
    /// None: `node` has no replica.
    fn wait_replica(
        &self,
        c: &mut Link,
        node: &Node,
        fence: Option<&str>,
    ) -> RedisResult<Option<bool>> {
        let info: String =
            ::redis::from_redis_value(c.on(node, ::redis::cmd("INFO").arg("replication"))?)?;
        let replicas: u64 = info_field(&info, "connected_slaves")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if replicas == 0 {
            return Ok(None);
        }
        if let Some(base) = fence {
            let key = node.key_here(base);
            // PEXPIRE is taken even when Redis is full (a SET is refused then) and reaches
            // the replicas as any write does; the SET makes the key the first time.
            let day = 86_400_000u64;
            let renewed: i64 =
                ::redis::from_redis_value(c.on(node, ::redis::cmd("PEXPIRE").arg(&key).arg(day))?)?;
            if renewed == 0 {
                c.on(
                    node,
                    ::redis::cmd("SET")
                        .arg(&key)
                        .arg(&self.sid)
                        .arg("PX")
                        .arg(day),
                )?;
            }
        }
        let acked: u64 = ::redis::from_redis_value(
            c.on(node, ::redis::cmd("WAIT").arg(1).arg(self.wait_ms()))?,
        )?;
        Ok(Some(acked > 0))
    }

    /// Takes `want` slice ids from `{P}:meta` for this session (`sids.lua`); returns the
    /// last. On a cluster whose metadata master has a replica, that replica has the new
    /// counter before the ids are used: a failover must never hand them out again.
    pub(super) fn new_sids(&self, want: u64) -> StoreResult<u64> {
        let meta = self.keys.meta();
        let cluster = self.cluster();
        let end = self
            .pool
            .run(false, |c| {
                let end: Value = self
                    .scripts
                    .sids
                    .key(&meta)
                    .arg(want)
                    .arg(&self.sid)
                    .invoke(c)?;
                if cluster {
                    let slot = link::slot_of(&meta);
                    if let Some(node) = c.masters()?.into_iter().find(|n| n.serves(slot)) {
                        if self.wait_replica(c, &node, None)? == Some(false) {
                            debug!("no replica took new slice ids within {} ms", self.wait_ms());
                        }
                    }
                }
                Ok(end)
            })
            .map_err(|f| self.fail(f))?;
        number(&end).ok_or_else(|| garbled("slice ids"))
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
