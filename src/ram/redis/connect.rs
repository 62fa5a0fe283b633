//! Connecting a mount to Redis: the checks a mount makes before it serves anything.

use super::*;

pub(super) fn connect_error(addr: &str, db: i64, timeout: Duration, e: &RedisError) -> String {
    let code = server_code(e).unwrap_or_default();
    let detail = e.detail().unwrap_or("").trim();
    if e.is_timeout() {
        return format!(
            "cannot connect to Redis at {addr}: no answer within {}s (--redis-timeout)",
            timeout.as_secs_f64()
        );
    }
    if e.is_io_error() || e.is_connection_refusal() {
        return format!(
            "cannot connect to Redis at {addr}: {}",
            crate::host::plain_message(e)
        );
    }
    match code.as_str() {
        "NOAUTH" => format!(
            "Redis at {addr} requires a password (give it as redis://:PASSWORD@{addr}/{db} in --redis-url)"
        ),
        "WRONGPASS" => format!("Redis at {addr} refused the credentials: {detail}"),
        _ if e.kind() == ErrorKind::AuthenticationFailed => {
            format!("Redis at {addr} refused the credentials: {e}")
        }
        _ if detail.contains("DB index") || code == "ERR" && detail.contains("DB") => {
            format!("Redis at {addr} has no database {db}: {detail}")
        }
        "NOPERM" => format!("Redis at {addr} does not allow this user what mavfs needs: {detail}"),
        _ => format!("Redis at {addr}: {e}"),
    }
}

impl RedisStore {
    /// Connects, checks the server and the prefix, and creates the root directory (owned by
    /// `uid:gid`) if the prefix is new. `limit`: bytes `vram/` may hold; `None` means Redis'
    /// own `maxmemory`, or no limit if it has none. Errors are one line for the user.
    pub fn connect(
        target: &RedisTarget,
        limit: Option<u64>,
        uid: u32,
        gid: u32,
    ) -> Result<RedisStore, String> {
        check_prefix(&target.prefix)?;
        let (dialer, addr, db) = dialer(target)?;
        let pool = Pool {
            dialer,
            addr: addr.clone(),
            timeout: target.timeout,
            idle: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            hung: AtomicBool::new(false),
            unsure: AtomicBool::new(false),
        };
        let fail = |e: &RedisError| connect_error(&addr, db, target.timeout, e);
        let mut con = pool.connect().map_err(|e| fail(&e))?;
        ::redis::cmd("PING")
            .query::<()>(&mut con)
            .map_err(|e| fail(&e))?;
        // A cluster's masters each hold part of the data: each must keep it.
        let masters = con.masters().map_err(|e| fail(&e))?;
        let mut major = u32::MAX;
        let mut room = 0u64;
        for node in &masters {
            let name = node.name(&addr);
            let at = |e: &RedisError| connect_error(&name, db, target.timeout, e);
            let server: String = ::redis::from_redis_value(
                con.on(node, ::redis::cmd("INFO").arg("server"))
                    .map_err(|e| at(&e))?,
            )
            .map_err(|e| at(&e.into()))?;
            let memory: String = ::redis::from_redis_value(
                con.on(node, ::redis::cmd("INFO").arg("memory"))
                    .map_err(|e| at(&e))?,
            )
            .map_err(|e| at(&e.into()))?;
            major = major.min(
                info_field(&server, "redis_version")
                    .and_then(|v| v.split('.').next()?.parse().ok())
                    .unwrap_or(0),
            );
            let number = |name: &str| -> u64 {
                info_field(&memory, name)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let policy = info_field(&memory, "maxmemory_policy").unwrap_or_default();
            if let Some(why) = evicting_policy_error(&name, &policy) {
                return Err(format!(
                    "{why}; refusing to mount (fix: redis-cli -h HOST -p PORT CONFIG SET maxmemory-policy noeviction)"
                ));
            }
            // A finite size even for a Redis without maxmemory: its host's memory (what it
            // can hold at most), else this host's; tools do arithmetic on statfs and would
            // overflow.
            room = room.saturating_add(
                [number("maxmemory"), number("total_system_memory")]
                    .into_iter()
                    .find(|&n| n > 0)
                    .unwrap_or_else(crate::host::physical_ram),
            );
        }
        let keys = Keys::new(&target.prefix);
        let scripts = Scripts::new(major >= 7);
        let limit = limit.unwrap_or(room);

        let meta_exists: bool = ::redis::cmd("EXISTS")
            .arg(keys.meta())
            .query(&mut con)
            .map_err(|e| fail(&e))?;
        if !meta_exists {
            if let Some(k) = foreign_key(&mut con, &keys).map_err(|e| fail(&e))? {
                return Err(format!(
                    "Redis prefix '{}' at {addr} db {db} holds keys mavfs did not write (e.g. {k}); \
                     refusing to use it (choose another --redis-prefix)",
                    keys.plain
                ));
            }
        }
        let answer: Value = scripts
            .init
            .key(keys.meta())
            .arg(FORMAT)
            .arg(uid)
            .arg(gid)
            .arg(time_str(SystemTime::now()))
            .invoke(&mut con)
            .map_err(|e| fail(&e))?;
        let answer = array(&answer);
        let found = answer.get(1).map(text).unwrap_or_default();
        match answer.first().map(text).as_deref() {
            Some("ok") => {
                if found == "upgraded" {
                    info!("Redis prefix '{}' moved on to format {FORMAT}", keys.plain);
                }
            }
            Some("busy") => {
                return Err(format!(
                    "Redis prefix '{}' at {addr} db {db} is mounted by an older mavfs ({found}); \
                     unmount it there, then mount here to move the prefix on to {FORMAT}",
                    keys.plain
                ))
            }
            _ => {
                return Err(format!(
                "Redis prefix '{}' at {addr} db {db} holds data of another format ({found}, not {FORMAT}); \
                     refusing to touch it (choose another --redis-prefix)",
                    keys.plain
                ))
            }
        }
        let sid: u64 = ::redis::cmd("HINCRBY")
            .arg(keys.meta())
            .arg("next_session")
            .arg(1)
            .query(&mut con)
            .map_err(|e| fail(&e))?;
        let sid = sid.to_string();
        ::redis::pipe()
            .cmd("SADD")
            .arg(keys.sessions())
            .arg(&sid)
            .ignore()
            .cmd("SET")
            .arg(keys.alive(&sid))
            .arg(ALIVE)
            .arg("PX")
            .arg(4 * heartbeat().as_millis() as u64)
            .ignore()
            .query::<()>(&mut con)
            .map_err(|e| fail(&e))?;
        pool.checkin(Con {
            con,
            read_timeout: target.timeout,
        });

        // Only one server carries notices: a cluster's subscription would be one node's.
        let listener = match &pool.dialer {
            Dialer::One(client) => Some(client.clone()),
            Dialer::Cluster(_) => None,
        };
        // Pub/sub spans the server's databases: the channel names this one, and the
        // notices' format (1).
        let channel = format!("{}:1:{db}", keys.notices());
        let (notices, to_publish) = Notices::new(channel, listener.is_some());
        let inner = Arc::new(Inner {
            pool,
            keys,
            scripts,
            limit,
            sid,
            usage: Mutex::new(Usage {
                limit,
                ..Usage::default()
            }),
            sids: Mutex::new((0, 0)),
            root_owner: (uid, gid),
            evicting: Mutex::new(None),
            damaged: Mutex::new(None),
            lost: AtomicBool::new(false),
            dirs: DirCache::default(),
            bare: Bare::default(),
            behind: Behind::default(),
            known: Known::default(),
            notices,
            versions: Versions::default(),
            prefetch: Prefetch::default(),
            nodes_seen: Mutex::new(None),
            to_abandon: Mutex::new(Vec::new()),
            replicas_seen: Mutex::new(None),
            dc_cursor: Mutex::new("0".to_owned()),
            pack: Mutex::new(None),
            to_seal: Mutex::new(Vec::new()),
        });
        inner.sweep();
        let (stop, stopped) = mpsc::channel();
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("redis-watch".into())
            .spawn(move || watch(weak, stopped))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        if let Some(client) = listener {
            let weak = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name("redis-notify".into())
                .spawn(move || notices::publish(weak, to_publish))
                .map_err(|e| format!("cannot start a thread: {e}"))?;
            let weak = Arc::downgrade(&inner);
            let timeout = target.timeout;
            std::thread::Builder::new()
                .name("redis-notices".into())
                .spawn(move || notices::listen(weak, client, timeout))
                .map_err(|e| format!("cannot start a thread: {e}"))?;
        }
        let (to_release, released) = mpsc::channel::<Ino>();
        let releasing = Arc::new(AtomicU64::new(0));
        let weak = Arc::downgrade(&inner);
        let done = releasing.clone();
        std::thread::Builder::new()
            .name("redis-release".into())
            .spawn(move || {
                while let Ok(first) = released.recv() {
                    let inos = gather(first, &released);
                    if let Some(inner) = weak.upgrade() {
                        let gc = inner.release(&inos);
                        inner.drop_chunks(array(&gc));
                    }
                    done.fetch_sub(inos.len() as u64, Ordering::AcqRel);
                }
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let (chores, todo) = mpsc::channel();
        let queued = Arc::new(Mutex::new(HashSet::new()));
        let weak = Arc::downgrade(&inner);
        let q = queued.clone();
        std::thread::Builder::new()
            .name("redis-janitor".into())
            .spawn(move || janitor(weak, todo, q))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let (to_send, queued_sends) = mpsc::channel();
        let weak = Arc::downgrade(&inner);
        let j = Janitor {
            tx: chores.clone(),
            queued: queued.clone(),
        };
        std::thread::Builder::new()
            .name("redis-send".into())
            .spawn(move || data::sender(weak, j, queued_sends))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        Ok(RedisStore {
            refs: Arc::new(KernelRefs::new()),
            inner,
            name: if target.seeds.is_empty() {
                format!("redis {} prefix {}", redact(&target.url), target.prefix)
            } else {
                format!("redis cluster {addr} prefix {}", target.prefix)
            },
            to_release,
            releasing,
            to_send,
            janitor: Janitor { tx: chores, queued },
            _stop: stop,
        })
    }
}

/// How to reach the store: its dialer, its address for messages (never a password) and its
/// database number.
fn dialer(target: &RedisTarget) -> Result<(Dialer, String, i64), String> {
    let tls_certs = |t: &RedisTls| {
        // rustls needs a crypto provider; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client_tls = match (&t.cert, &t.key) {
            (Some(cert), Some(key)) => Some(::redis::ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.clone(),
            }),
            _ => None,
        };
        ::redis::TlsCertificates {
            client_tls,
            root_cert: t.ca.clone(),
        }
    };
    if !target.seeds.is_empty() {
        let bad = |e: RedisError| format!("invalid --redis-cluster: {e}");
        let mut infos = Vec::with_capacity(target.seeds.len());
        for seed in &target.seeds {
            let info = ::redis::IntoConnectionInfo::into_connection_info(seed.as_str())
                .map_err(|e| format!("invalid --redis-cluster node '{}': {e}", redact(seed)))?;
            infos.push(info);
        }
        let addr = infos
            .iter()
            .map(|i| i.addr().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let first = infos[0].redis_settings().clone();
        let mut b = ::redis::cluster::ClusterClientBuilder::new(infos)
            .connection_timeout(target.timeout)
            .response_timeout(target.timeout)
            // The client tries nothing again itself: it would send a change whose answer
            // was lost a second time. The pool decides (`Pool::rides_out`).
            .retries(0)
            .tcp_settings(tcp_settings());
        if let Some(u) = first.username() {
            b = b.username(u);
        }
        if let Some(p) = first.password() {
            b = b.password(p);
        }
        if let Some(t) = &target.tls {
            b = b.tls(::redis::TlsMode::Secure).certs(tls_certs(t));
        }
        let client = b.build().map_err(bad)?;
        return Ok((Dialer::Cluster(client), addr, 0));
    }
    let bad_url = |e: RedisError| format!("invalid --redis-url '{}': {e}", redact(&target.url));
    let info =
        ::redis::IntoConnectionInfo::into_connection_info(target.url.as_str()).map_err(bad_url)?;
    // No CLIENT SETINFO at connect: two more replies to wait for, each up to the timeout,
    // when a server hangs (a reconnect must fail within one timeout).
    let settings = info.redis_settings().clone().set_skip_set_lib_name();
    let info = info
        .set_redis_settings(settings)
        .set_tcp_settings(tcp_settings());
    let client = match &target.tls {
        None => ::redis::Client::open(info),
        Some(t) => ::redis::Client::build_with_tls(info, tls_certs(t)),
    }
    .map_err(bad_url)?;
    let info = client.get_connection_info();
    let addr = info.addr().to_string();
    let db = info.redis_settings().db();
    Ok((Dialer::One(client), addr, db))
}

/// Each request goes out at once (`TCP_NODELAY`): the client leaves Nagle's algorithm on
/// by default, which holds a write's last part back until Redis has acknowledged the rest.
fn tcp_settings() -> ::redis::io::tcp::TcpSettings {
    ::redis::io::tcp::TcpSettings::default().set_nodelay(true)
}

/// Releases given back in one script at most.
const RELEASE_BATCH: usize = 64;
/// How long the release thread waits for more after the first: a create loop's closes come
/// some 400 µs apart, `tar -x`'s some 800 µs, and each script alone was a round trip,
/// wake-ups and all (2 ms gave batches of about 3 closes in `tar -x`).
const RELEASE_LINGER: Duration = Duration::from_millis(5);

/// `first` and what else comes within `RELEASE_LINGER`, up to `RELEASE_BATCH`. Short of a
/// batch, the thread sleeps the while out and then takes what came: waiting on the channel
/// instead, it was woken for each one, a switch of threads per close or unlink on two CPUs.
fn gather(first: Ino, more: &mpsc::Receiver<Ino>) -> Vec<Ino> {
    let mut inos = vec![first];
    inos.extend(more.try_iter().take(RELEASE_BATCH - 1));
    if inos.len() < RELEASE_BATCH {
        std::thread::sleep(RELEASE_LINGER);
        inos.extend(more.try_iter().take(RELEASE_BATCH - inos.len()));
    }
    inos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_go_in_batches_of_what_came() {
        let (tx, rx) = mpsc::channel();
        for ino in 2..100 {
            tx.send(ino).unwrap();
        }
        let first = gather(1, &rx);
        assert_eq!(first, (1..=RELEASE_BATCH as Ino).collect::<Vec<_>>());
        let next = rx.recv().unwrap();
        let second = gather(next, &rx);
        assert_eq!(second, (RELEASE_BATCH as Ino + 1..100).collect::<Vec<_>>());
        assert!(rx.try_recv().is_err());
    }
}
