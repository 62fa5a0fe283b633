use super::*;

// ---------------------------------------------------------------------------------------------
// Connections

pub(super) struct Idle {
    pub(super) con: Con,
    pub(super) since: Instant,
}

/// A connection and the read timeout its socket has now.
pub(super) struct Con {
    pub(super) con: Link,
    pub(super) read_timeout: Duration,
}

/// A few connections, each used by one call at a time. Broken ones are dropped; a new one is
/// made on demand, so the store comes back by itself once Redis answers again.
pub(super) struct Pool {
    pub(super) dialer: Dialer,
    /// `host:port`, for messages (never the password).
    pub(super) addr: String,
    pub(super) timeout: Duration,
    pub(super) idle: Mutex<Vec<Idle>>,
    /// True while Redis is unreachable: the outage is logged once, not per operation.
    pub(super) down: AtomicBool,
    /// True after a call timed out (a stopped server, a black hole): calls then fail at once
    /// instead of each waiting out the timeout, until the watch thread's probe gets an
    /// answer. A refused connection does not set it: that fails fast by itself.
    pub(super) hung: AtomicBool,
    /// True after a change's answer was lost (`Failure::Lost`, see `noted`): Redis may have
    /// made it, and no notice told the other mounts. Once Redis answers again, the watch
    /// thread has every mount's kernel look its names up anew (`Inner::tell_lost_answer`).
    pub(super) unsure: AtomicBool,
}

/// What went wrong with a call: Redis could not be reached, or it answered with an error.
pub(super) enum Failure {
    /// Not sent: no connection could be had.
    Unreachable(RedisError),
    /// Sent, and the connection broke or timed out before the answer: Redis may have run it.
    Lost(RedisError),
    /// Not tried: an earlier call timed out and no probe has had an answer since.
    Hung,
    Server(RedisError),
}

/// Whether a server error (or one inside a pipeline's errors) has this code.
pub(super) fn has_code(e: &RedisError, code: &str) -> bool {
    e.code() == Some(code)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errs| errs.iter().any(|(_, s)| s.code() == code))
}

/// The replies a pipeline reads: one per command, two more for MULTI and EXEC.
pub(super) fn replies(p: &::redis::Pipeline) -> usize {
    p.len() + if p.is_transaction() { 2 } else { 0 }
}

pub(super) fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(e.kind(), ErrorKind::Parse)
}

/// The error code of a server reply (`OOM`, `ENOENT`, ...), also inside a pipeline's error.
pub(super) fn server_code(e: &RedisError) -> Option<String> {
    if let Some(c) = e.code() {
        return Some(c.to_owned());
    }
    e.clone()
        .into_server_errors()
        .and_then(|errs| errs.first().map(|(_, s)| s.code().to_owned()))
}

impl Pool {
    pub(super) fn connect(&self) -> RedisResult<Link> {
        self.dialer.connect(self.timeout)
    }

    pub(super) fn connect_con(&self) -> RedisResult<Con> {
        self.connect().map(|con| Con {
            con,
            read_timeout: self.timeout,
        })
    }

    /// A connection: an idle one (checked with PING if it idled long), else a new one.
    pub(super) fn checkout(&self) -> Result<(Con, bool), RedisError> {
        loop {
            let idle = self.idle.lock().pop();
            let Some(mut idle) = idle else {
                return self.connect_con().map(|c| (c, false));
            };
            if idle.since.elapsed() < IDLE_CHECK {
                return Ok((idle.con, true));
            }
            if idle.con.read_timeout != self.timeout {
                if idle.con.con.set_read_timeout(Some(self.timeout)).is_err() {
                    continue;
                }
                idle.con.read_timeout = self.timeout;
            }
            match ::redis::cmd("PING").query::<()>(&mut idle.con.con) {
                Ok(()) => return Ok((idle.con, true)),
                // A hung server: do not wait on every idle connection in turn.
                Err(e) if e.is_timeout() => {
                    self.idle.lock().clear();
                    return Err(e);
                }
                // Closed under us (a restart): try the next one.
                Err(_) => {}
            }
        }
    }

    pub(super) fn checkin(&self, con: Con) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                con,
                since: Instant::now(),
            });
        }
    }

    pub(super) fn mark_down(&self, e: &RedisError) {
        if e.is_timeout() {
            self.hung.store(true, Ordering::Release);
        }
        if !self.down.swap(true, Ordering::AcqRel) {
            warn!(
                "Redis at {} is unreachable ({}); vram operations fail with EIO until it answers again",
                self.addr,
                crate::host::plain_message(e)
            );
        }
    }

    /// `f`, the failure of a change: one whose answer was lost leaves the pool `unsure`.
    /// Set after `mark_down` (in the call), so the watch thread, which reads `unsure` before
    /// `down`, acts on it only once Redis answers again.
    pub(super) fn noted(&self, f: Failure) -> Failure {
        if matches!(f, Failure::Lost(_)) {
            self.unsure.store(true, Ordering::Release);
        }
        f
    }

    pub(super) fn mark_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            info!("Redis at {} answers again; vram is back", self.addr);
        }
    }

    /// While hung: one PING on a new connection, bounded by the timeout. True once Redis
    /// answers (the pool is then open again).
    pub(super) fn probe(&self) -> bool {
        let answer = self.connect_con().and_then(|mut c| {
            ::redis::cmd("PING").query::<()>(&mut c.con)?;
            Ok(c)
        });
        match answer {
            Ok(c) => {
                self.hung.store(false, Ordering::Release);
                self.checkin(c);
                self.mark_up();
                true
            }
            Err(_) => false,
        }
    }

    /// On a cluster, whether a call that failed so should run again on a new connection
    /// (which learns the cluster's layout afresh), after a short wait: while a master is
    /// failed over, its slots answer CLUSTERDOWN or refuse connections, for about the
    /// cluster's node timeout. Within `FAILOVER_WAIT` of the call's start only. A call that
    /// may have run (the connection broke after it was sent) runs again only if `retry`
    /// (it reads only, or running it twice does what running it once does): a change
    /// whose answer was lost fails, as on one server.
    fn rides_out(&self, e: &RedisError, t0: Instant, retry: bool) -> bool {
        if !matches!(self.dialer, Dialer::Cluster(_)) || t0.elapsed() > FAILOVER_WAIT {
            return false;
        }
        // Answers and failures that say the call did not run.
        let not_run = e.is_connection_refusal()
            || e.kind() == ErrorKind::ClusterConnectionNotFound
            || matches!(
                server_code(e).as_deref(),
                Some(
                    "CLUSTERDOWN"
                        | "TRYAGAIN"
                        | "MASTERDOWN"
                        | "LOADING"
                        | "MOVED"
                        | "ASK"
                        | "READONLY"
                )
            );
        let again = not_run || retry && is_connection_error(e);
        if again {
            debug!("cluster call failed ({e}); trying again on a new connection");
            self.idle.lock().clear();
            std::thread::sleep(Duration::from_millis(50));
        }
        again
    }

    /// Runs `f` (one command or script: one reply) on a connection; see `run_replies`.
    pub(super) fn run<T>(
        &self,
        retry: bool,
        f: impl FnMut(&mut Link) -> RedisResult<T>,
    ) -> Result<T, Failure> {
        self.run_replies(retry, 1, f)
    }

    /// Runs `f`, which reads `replies` answers, on a connection. `retry`: `f` only reads, so
    /// it may run again on a fresh connection when a pooled one turns out broken. The client
    /// waits out its read timeout once per reply, even after the first timed out, so each
    /// reply gets its share of the timeout: a hung server costs one timeout in all.
    pub(super) fn run_replies<T>(
        &self,
        retry: bool,
        replies: usize,
        mut f: impl FnMut(&mut Link) -> RedisResult<T>,
    ) -> Result<T, Failure> {
        if self.hung.load(Ordering::Acquire) {
            return Err(Failure::Hung);
        }
        let mut tries = 0;
        let t0 = Instant::now();
        loop {
            tries += 1;
            let (mut con, reused) = match self.checkout() {
                Ok(c) => c,
                Err(e) => {
                    debug!("checkout failed after {:?}: {e:?}", t0.elapsed());
                    self.mark_down(&e);
                    return Err(Failure::Unreachable(e));
                }
            };
            let share = (self.timeout / replies.max(1) as u32).max(MIN_READ_TIMEOUT);
            if con.read_timeout != share {
                if let Err(e) = con.con.set_read_timeout(Some(share)) {
                    self.mark_down(&e);
                    return Err(Failure::Unreachable(e));
                }
                con.read_timeout = share;
            }
            match f(&mut con.con) {
                Ok(v) => {
                    self.checkin(con);
                    self.mark_up();
                    return Ok(v);
                }
                Err(e) if is_connection_error(&e) => {
                    debug!(
                        "redis call failed after {:?}: {e:?} (replies {replies})",
                        t0.elapsed()
                    );
                    drop(con);
                    if retry && reused && tries == 1 && !e.is_timeout() {
                        continue;
                    }
                    if self.rides_out(&e, t0, retry) {
                        continue;
                    }
                    self.mark_down(&e);
                    return Err(Failure::Lost(e));
                }
                Err(e) if self.rides_out(&e, t0, retry) => drop(con),
                Err(e) => {
                    self.checkin(con);
                    let busy = matches!(
                        server_code(&e).as_deref(),
                        Some("LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN" | "CLUSTERDOWN")
                    );
                    if busy {
                        self.mark_down(&e);
                    } else {
                        self.mark_up();
                    }
                    return Err(Failure::Server(e));
                }
            }
        }
    }
}
