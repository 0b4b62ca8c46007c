//! The cluster's room directory and presence on Redis (SPEC §15.7): which relays are alive
//! (address, region, certificate pin, load, under a lease), which relays carry which room, and
//! the region policy of every participant, so that a join anywhere in the cluster is checked
//! against the geofence of everyone in the room in one atomic step (a Lua script on the server:
//! Redis is the serialisation point, there is no consensus of our own).
//!
//! Keys (every one under `hush:`):
//! - `hush:relays`: sorted set, relay name → the end of its lease (ms, Redis server time);
//! - `hush:relay:<name>`: hash `addr`, `region`, `pin`, `load`, expiring with the lease;
//! - `hush:room:<room>`: hash `r:<relay>` → the relay's region (a carrier of the room),
//!   `p:<relay>:<id>` → the participant's allowed regions (`a,b` or `*`);
//! - `hush:rooms:<name>`: set of the rooms a relay carries (to clean up after it);
//! - `hush:secret`: the cluster secret, when no relay was given one (set once, `NX`).
//!
//! The data path never touches Redis: a relay that loses it keeps forwarding, admits joins to
//! rooms it already carries on what it knows itself, refuses rooms new to it, and reconnects
//! with backoff; once back it rewrites its own entries.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hush_wire::sync::lock;
use redis::aio::MultiplexedConnection;

use crate::config::PeerAddr;
use crate::geofence::policy;
use crate::room::Shared;

/// How long a relay's registration lives without a heartbeat: a dead relay is gone from the
/// directory within this (SPEC §15.7).
pub const LEASE: Duration = Duration::from_secs(5);

/// Heartbeat interval: the lease is renewed (and the relay list read) this often.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Joins per second (and burst) one connection may make on a relay with a directory: each is
/// one script call, so a client cannot turn its control budget into directory load.
pub const JOINS_PER_SEC: u32 = 2;

/// The most other relays a relay follows from the directory (dials, keeps in its list): what a
/// directory lists beyond it is ignored, so a bad directory cannot make it dial without end.
pub const MAX_LISTED: usize = 256;

/// How long one directory call may take before the directory counts as unreachable.
const CALL_TIMEOUT: Duration = Duration::from_millis(1000);

/// First and longest wait between two reconnects to Redis.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Shared by the scripts that remove a relay's entries: `wipe(name)` takes relay `name` out of
/// every room in its set (its carrier and participant fields; a room left empty is deleted) and
/// deletes the set.
const WIPE_LUA: &str = r"
local function wipe(name)
  local set = 'hush:rooms:' .. name
  local prefix = 'p:' .. name .. ':'
  for _, room in ipairs(redis.call('SMEMBERS', set)) do
    local key = 'hush:room:' .. room
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if f == 'r:' .. name or string.sub(f, 1, #prefix) == prefix then
        redis.call('HDEL', key, f)
      end
    end
    if redis.call('HLEN', key) == 0 then redis.call('DEL', key) end
  end
  redis.call('DEL', set)
end
";

/// Renews this relay's lease, expires the relays whose lease ended (taking them out of every
/// room they carried), and returns `[was_live, name, addr, region, pin, load, ...]` for the
/// other live relays.
const HEARTBEAT_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me, lease = ARGV[1], tonumber(ARGV[6])
local was = redis.call('ZSCORE', KEYS[1], me)
local live = was and tonumber(was) > now
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  if name ~= me then
    wipe(name)
    redis.call('DEL', 'hush:relay:' .. name)
  end
  redis.call('ZREM', KEYS[1], name)
end
local mine = 'hush:relay:' .. me
redis.call('HSET', mine, 'addr', ARGV[2], 'region', ARGV[3], 'pin', ARGV[4], 'load', ARGV[5])
redis.call('PEXPIRE', mine, lease)
redis.call('ZADD', KEYS[1], now + lease, me)
local out = {live and '1' or '0'}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  if name ~= me then
    local h = redis.call('HMGET', 'hush:relay:' .. name, 'addr', 'region', 'pin', 'load')
    if h[1] and h[2] and h[3] then
      table.insert(out, name)
      table.insert(out, h[1])
      table.insert(out, h[2])
      table.insert(out, h[3])
      table.insert(out, h[4] or '0')
    end
  end
end
return out
";

/// Admits participant `id` with policy `allow` to room `KEYS[1]` on relay `me` in `region`,
/// atomically: `{'ok'}`, or `{'member', policy}` (a participant there does not allow `region`),
/// or `{'carrier', regions}` (the room is carried in a region `allow` does not list).
/// Entries of relays whose lease ended are dropped on the way.
const ADMIT_LUA: &str = r"
local me, region = ARGV[1], ARGV[2]
local h = redis.call('HGETALL', KEYS[1])
local carriers = {}
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, 1, 2) == 'r:' then
    local relay = string.sub(f, 3)
    if relay == me or redis.call('EXISTS', 'hush:relay:' .. relay) == 1 then
      carriers[relay] = h[i + 1]
    else
      redis.call('HDEL', KEYS[1], f)
    end
  end
end
local policies = {}
for i = 1, #h, 2 do
  local relay = string.match(h[i], '^p:([^:]*):')
  if relay then
    if carriers[relay] or relay == me then
      table.insert(policies, h[i + 1])
    else
      redis.call('HDEL', KEYS[1], h[i])
    end
  end
end
carriers[me] = region
local function set(s)
  local t = {}
  for x in string.gmatch(s, '[^,]+') do t[x] = true end
  return t
end
for _, p in ipairs(policies) do
  if p ~= '*' and not set(p)[region] then return {'member', p} end
end
if ARGV[4] ~= '*' then
  local allow = set(ARGV[4])
  local all, outside = {}, false
  for _, r in pairs(carriers) do
    table.insert(all, r)
    if not allow[r] then outside = true end
  end
  if outside then
    table.sort(all)
    return {'carrier', table.concat(all, ',')}
  end
end
redis.call('HSET', KEYS[1], 'r:' .. me, region, 'p:' .. me .. ':' .. ARGV[3], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
return {'ok'}
";

/// Participant `id` of relay `me` left room `KEYS[1]`; the relay stops carrying it with its
/// last participant there.
const RELEASE_LUA: &str = r"
local prefix = 'p:' .. ARGV[1] .. ':'
redis.call('HDEL', KEYS[1], prefix .. ARGV[2])
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #prefix) == prefix then return 0 end
end
redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1])
redis.call('SREM', KEYS[2], ARGV[3])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
";

/// Replaces every entry of relay `me` with what it holds now: `(room, id, policy)` triples
/// from `ARGV[3]` on (after an outage, or a restart under the same name).
const RESYNC_LUA: &str = r"
local me = ARGV[1]
local prefix = 'p:' .. me .. ':'
wipe(me)
for i = 3, #ARGV, 3 do
  local key = 'hush:room:' .. ARGV[i]
  redis.call('HSET', key, 'r:' .. me, ARGV[2], prefix .. ARGV[i + 1], ARGV[i + 2])
  redis.call('SADD', KEYS[1], ARGV[i])
end
return 1
";

/// Removes relay `me` from the directory (a graceful stop).
const DEREGISTER_LUA: &str = r"
local me = ARGV[1]
wipe(me)
redis.call('DEL', 'hush:relay:' .. me)
redis.call('ZREM', KEYS[1], me)
return 1
";

/// A relay the directory lists as alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveRelay {
    pub(crate) name: String,
    pub(crate) peer: PeerAddr,
    pub(crate) region: String,
    pub(crate) load: u64,
}

/// Why the directory refused a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A participant already in the room allows only these regions, not this relay's.
    Member(String),
    /// The room is carried in these regions, and the joiner does not allow all of them.
    Carrier(String),
}

/// The directory could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unavailable(pub(crate) String);

/// A relay's connection to the directory.
pub(crate) struct Directory {
    client: redis::Client,
    /// The URL without its password, for messages.
    shown: String,
    conn: Mutex<Option<MultiplexedConnection>>,
    me: String,
    region: String,
    advertise: SocketAddr,
    pin: [u8; 32],
    /// A change of this relay's rooms the directory may have missed: rewrite them all.
    dirty: AtomicBool,
    /// Counts admissions and releases, so that a resync that raced one is done again.
    changes: AtomicU64,
    heartbeat: redis::Script,
    admit: redis::Script,
    release: redis::Script,
    resync: redis::Script,
    deregister: redis::Script,
    /// The dialers of relays found in the directory, by name.
    dialers: Mutex<HashMap<String, (PeerAddr, tokio::task::JoinHandle<()>)>>,
    /// The other relays the last heartbeat found alive.
    live: Mutex<Vec<LiveRelay>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("url", &self.shown)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// `url` without a password (`redis://user:secret@host` → `redis://user:***@host`).
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &url[s + 3..at];
            match auth.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Directory {
    /// Connects to the directory at `url` (once: a relay that cannot reach it at start says so).
    pub(crate) async fn connect(
        url: &str,
        me: &str,
        region: &str,
        advertise: SocketAddr,
        pin: [u8; 32],
    ) -> Result<Self, String> {
        let shown = redact(url);
        let client =
            redis::Client::open(url).map_err(|e| format!("cluster directory {shown}: {e}"))?;
        let dir = Directory {
            client,
            shown,
            conn: Mutex::new(None),
            me: me.to_owned(),
            region: region.to_owned(),
            advertise,
            pin,
            dirty: AtomicBool::new(true),
            changes: AtomicU64::new(0),
            heartbeat: redis::Script::new(&format!("{WIPE_LUA}{HEARTBEAT_LUA}")),
            admit: redis::Script::new(ADMIT_LUA),
            release: redis::Script::new(RELEASE_LUA),
            resync: redis::Script::new(&format!("{WIPE_LUA}{RESYNC_LUA}")),
            deregister: redis::Script::new(&format!("{WIPE_LUA}{DEREGISTER_LUA}")),
            dialers: Mutex::new(HashMap::new()),
            live: Mutex::new(Vec::new()),
        };
        dir.reconnect()
            .await
            .map_err(|Unavailable(e)| format!("cannot reach the cluster directory: {e}"))?;
        Ok(dir)
    }

    /// The directory's URL, password hidden.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the last heartbeat found relay `name` alive at `peer`. A relay missing from the
    /// directory is not dialled again, but a link that is up stays up: the directory can lose
    /// a relay that is alive (a restarted Redis, a partition), and a dead relay's link ends by
    /// itself within its idle timeout.
    pub(crate) fn lists(&self, name: &str, peer: PeerAddr) -> bool {
        lock(&self.live)
            .iter()
            .any(|r| r.name == name && r.peer == peer)
    }

    /// Stops every dialer (the relay is stopping).
    pub(crate) fn stop_dialers(&self) {
        for (_, (_, t)) in lock(&self.dialers).drain() {
            t.abort();
        }
    }

    /// Whether the last call reached the directory.
    pub(crate) fn is_up(&self) -> bool {
        lock(&self.conn).is_some()
    }

    async fn reconnect(&self) -> Result<MultiplexedConnection, Unavailable> {
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT));
        match self
            .client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
        {
            Ok(c) => {
                if lock(&self.conn).replace(c.clone()).is_none() {
                    tracing::info!(directory = %self.shown, "cluster directory reachable");
                }
                Ok(c)
            }
            Err(e) => Err(self.down(&e)),
        }
    }

    /// The connection is lost (the directory is unreachable until a reconnect); said once.
    fn down(&self, e: &dyn std::fmt::Display) -> Unavailable {
        if lock(&self.conn).take().is_some() {
            tracing::warn!(directory = %self.shown, error = %e, "cluster directory unreachable");
        }
        Unavailable(format!("{}: {e}", self.shown))
    }

    fn current(&self) -> Result<MultiplexedConnection, Unavailable> {
        lock(&self.conn)
            .clone()
            .ok_or_else(|| Unavailable(format!("{} is unreachable", self.shown)))
    }

    async fn call<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, Unavailable> {
        let mut c = self.current()?;
        match tokio::time::timeout(CALL_TIMEOUT, inv.invoke_async(&mut c)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                Err(self.down(&e))
            }
            Ok(Err(e)) => Err(Unavailable(format!("{}: {e}", self.shown))),
            Err(_) => Err(self.down(&"no answer in time")),
        }
    }

    /// The cluster secret kept in the directory: set once by the first relay that needs it.
    pub(crate) async fn shared_secret(&self) -> Result<Vec<u8>, String> {
        let fresh = {
            use ring::rand::SecureRandom as _;
            let mut b = [0u8; 32];
            ring::rand::SystemRandom::new()
                .fill(&mut b)
                .map_err(|_| "no system randomness".to_owned())?;
            hex::encode(b)
        };
        let mut c = self.current().map_err(|Unavailable(e)| e)?;
        let err = |e: redis::RedisError| format!("cluster directory {}: {e}", self.shown);
        let _: Option<String> = redis::cmd("SET")
            .arg("hush:secret")
            .arg(fresh)
            .arg("NX")
            .query_async(&mut c)
            .await
            .map_err(err)?;
        let secret: String = redis::cmd("GET")
            .arg("hush:secret")
            .query_async(&mut c)
            .await
            .map_err(err)?;
        Ok(secret.into_bytes())
    }

    /// Admits participant `id` (policy `allow`) to `room` on this relay.
    pub(crate) async fn admit(
        &self,
        room: &str,
        id: u64,
        allow: Option<&[String]>,
    ) -> Result<Result<(), Refusal>, Unavailable> {
        self.changes.fetch_add(1, Relaxed);
        let mut inv = self.admit.prepare_invoke();
        inv.key(format!("hush:room:{room}"))
            .key(format!("hush:rooms:{}", self.me))
            .arg(&self.me)
            .arg(&self.region)
            .arg(id)
            .arg(policy(allow))
            .arg(room);
        let out: Vec<String> = self.call(inv).await?;
        Ok(match out.first().map(String::as_str) {
            Some("ok") => Ok(()),
            Some("member") => Err(Refusal::Member(out.get(1).cloned().unwrap_or_default())),
            Some("carrier") => Err(Refusal::Carrier(out.get(1).cloned().unwrap_or_default())),
            _ => return Err(Unavailable(format!("{}: unexpected answer", self.shown))),
        })
    }

    /// Participant `id` left `room` (or was never admitted here): in the background; if the
    /// directory cannot be told now, the next resync does it.
    pub(crate) fn release_later(self: &Arc<Self>, room: &str, id: u64) {
        self.changes.fetch_add(1, Relaxed);
        let (dir, room) = (self.clone(), room.to_owned());
        tokio::spawn(async move {
            if dir.release(&room, id).await.is_err() {
                dir.dirty.store(true, Relaxed);
            }
        });
    }

    /// Participant `id` left `room` on this relay (the release script).
    async fn release(&self, room: &str, id: u64) -> Result<(), Unavailable> {
        let mut inv = self.release.prepare_invoke();
        inv.key(format!("hush:room:{room}"))
            .key(format!("hush:rooms:{}", self.me))
            .arg(&self.me)
            .arg(id)
            .arg(room);
        self.call::<i64>(inv).await.map(|_| ())
    }

    /// A join admitted without the directory (it was unreachable): rewrite everything later.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Relaxed);
    }

    async fn heartbeat(&self, load: u64) -> Result<(bool, Vec<LiveRelay>), Unavailable> {
        let mut inv = self.heartbeat.prepare_invoke();
        inv.key("hush:relays")
            .arg(&self.me)
            .arg(self.advertise.to_string())
            .arg(&self.region)
            .arg(hex::encode(self.pin))
            .arg(load)
            .arg(LEASE.as_millis() as u64);
        let out: Vec<String> = self.call(inv).await?;
        let live = out.first().is_some_and(|s| s == "1");
        let relays = out
            .get(1..)
            .unwrap_or_default()
            .chunks_exact(5)
            .take(MAX_LISTED)
            .filter_map(|c| {
                let peer = format!("{}#{}", c[1], c[3]).parse().ok()?;
                Some(LiveRelay {
                    name: c[0].clone(),
                    peer,
                    region: c[2].clone(),
                    load: c[4].parse().unwrap_or(0),
                })
            })
            .collect();
        Ok((live, relays))
    }

    async fn resync(&self, shared: &Shared) -> Result<(), Unavailable> {
        let before = self.changes.load(Relaxed);
        let mut inv = self.resync.prepare_invoke();
        inv.key(format!("hush:rooms:{}", self.me))
            .arg(&self.me)
            .arg(&self.region);
        for (room, id, allow) in shared.local_participants() {
            inv.arg(room).arg(id).arg(allow);
        }
        self.call::<i64>(inv).await?;
        // A join or leave during the resync may be missing from it: do it again next time.
        if self.changes.load(Relaxed) == before {
            self.dirty.store(false, Relaxed);
        }
        Ok(())
    }

    /// Takes this relay out of the directory (a graceful stop), bounded by the call timeout.
    pub(crate) async fn deregister(&self) {
        let mut inv = self.deregister.prepare_invoke();
        inv.key("hush:relays")
            .key(format!("hush:rooms:{}", self.me))
            .arg(&self.me);
        let _ = self.call::<i64>(inv).await;
    }
}

/// The directory's heartbeat for the relay's lifetime: renews the lease, rewrites this relay's
/// entries when the directory may have missed some, and dials the relays it lists.
/// Reconnects with backoff.
pub(crate) async fn run(shared: Arc<Shared>, endpoint: quinn::Endpoint) {
    let Some(cluster) = &shared.cluster else {
        return;
    };
    let Some(dir) = cluster.directory.clone() else {
        return;
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        if dir.current().is_err() && dir.reconnect().await.is_err() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
            continue;
        }
        backoff = BACKOFF_MIN;
        let load = shared.conns.load(Relaxed) as u64;
        match dir.heartbeat(load).await {
            Ok((live, relays)) => {
                if !live {
                    dir.dirty.store(true, Relaxed);
                }
                if dir.dirty.load(Relaxed)
                    && let Err(Unavailable(e)) = dir.resync(&shared).await
                {
                    tracing::warn!(error = %e, "cannot rewrite this relay's rooms in the directory");
                }
                follow(&shared, &dir, &endpoint, &relays);
            }
            Err(Unavailable(e)) => {
                tracing::debug!(error = %e, "directory heartbeat failed");
                continue;
            }
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

/// Dials the listed relays this relay should dial (the one with the smaller name dials) that it
/// does not dial yet.
fn follow(shared: &Arc<Shared>, dir: &Directory, endpoint: &quinn::Endpoint, relays: &[LiveRelay]) {
    *lock(&dir.live) = relays.to_vec();
    let mut dialers = lock(&dir.dialers);
    dialers.retain(|_, (_, task)| !task.is_finished());
    for r in relays {
        if r.name.as_str() <= dir.me.as_str()
            || dialers.get(&r.name).is_some_and(|(p, _)| *p == r.peer)
        {
            continue;
        }
        let task = tokio::spawn(crate::peer::dial_forever(
            shared.clone(),
            endpoint.clone(),
            r.peer,
            Some(r.name.clone()),
        ));
        // A relay that moved: its old dialer stops by itself, it is no longer listed there.
        dialers.insert(r.name.clone(), (r.peer, task));
    }
}

/// What [`load_test`] measured against a real Redis server.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Relays simulated.
    pub relays: usize,
    /// Rooms opened.
    pub rooms: usize,
    /// Participants admitted (rooms × room size).
    pub joins: u64,
    /// Seconds all joins took (the relays' joins run concurrently, each relay's in order).
    pub join_s: f64,
    /// Join (admit script) latency p50 and p99, µs.
    pub join_us: [f64; 2],
    /// Seconds one heartbeat round of every relay took (concurrently).
    pub heartbeat_round_s: f64,
    /// Heartbeat latency p50 and p99, µs, with every room open.
    pub heartbeat_us: [f64; 2],
    /// Seconds all leaves took.
    pub leave_s: f64,
    /// Redis `used_memory` with every room open, minus before, in bytes.
    pub memory_bytes: i64,
    /// Redis server CPU per script call (`INFO commandstats`: evalsha and eval), µs.
    pub server_us_per_call: f64,
}

fn quantiles(mut v: Vec<f64>) -> [f64; 2] {
    if v.is_empty() {
        return [0.0; 2];
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    [q(0.5), q(0.99)]
}

async fn info_field(c: &mut MultiplexedConnection, section: &str, field: &str) -> Option<String> {
    let text: String = redis::cmd("INFO").arg(section).query_async(c).await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
}

/// Script calls and their server time, from `INFO commandstats`.
async fn script_stats(c: &mut MultiplexedConnection) -> (f64, f64) {
    let mut calls = 0.0;
    let mut usec = 0.0;
    for cmd in ["evalsha", "eval"] {
        if let Some(line) = info_field(c, "commandstats", &format!("cmdstat_{cmd}")).await {
            for kv in line.split(',') {
                match kv.split_once('=') {
                    Some(("calls", v)) => calls += v.parse::<f64>().unwrap_or(0.0),
                    Some(("usec", v)) => usec += v.parse::<f64>().unwrap_or(0.0),
                    _ => {}
                }
            }
        }
    }
    (calls, usec)
}

/// The directory's load generator (`hush bench --mode directory`, BENCHMARKS.md): `relays`
/// relays register at `url`, open `rooms` rooms between them (room `j` on relay `j % relays`)
/// with `room_size` participants each, run one heartbeat round with everything open, and
/// leave. The same scripts the relays run, against a real Redis server.
#[doc(hidden)]
pub async fn load_test(
    url: &str,
    relays: usize,
    rooms: usize,
    room_size: usize,
) -> Result<LoadReport, String> {
    let relays = relays.max(1);
    let mut dirs = Vec::with_capacity(relays);
    for i in 0..relays {
        let addr = SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8 + 1], 4433));
        let d = Directory::connect(
            url,
            &format!("load-{i}"),
            &format!("r{}", i % 4),
            addr,
            [i as u8; 32],
        )
        .await?;
        dirs.push(Arc::new(d));
    }
    let mut admin = dirs[0].current().map_err(|Unavailable(e)| e)?;
    let mem = |s: Option<String>| s.and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    let before = mem(info_field(&mut admin, "memory", "used_memory").await);
    let (calls0, usec0) = script_stats(&mut admin).await;
    for d in &dirs {
        d.heartbeat(0).await.map_err(|Unavailable(e)| e)?;
    }
    let started = Instant::now();
    let tasks: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = d.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                for room in (i..rooms).step_by(relays) {
                    for p in 0..room_size {
                        let t = Instant::now();
                        d.admit(
                            &format!("load-room-{room}"),
                            (room * room_size + p) as u64,
                            None,
                        )
                        .await
                        .map_err(|Unavailable(e)| e)?
                        .map_err(|r| format!("refused: {r:?}"))?;
                        lat.push(t.elapsed().as_secs_f64() * 1e6);
                    }
                }
                Ok::<_, String>(lat)
            })
        })
        .collect();
    let mut join_lat = Vec::new();
    for t in tasks {
        join_lat.extend(t.await.map_err(|e| e.to_string())??);
    }
    let join_s = started.elapsed().as_secs_f64();
    let after = mem(info_field(&mut admin, "memory", "used_memory").await);
    let started = Instant::now();
    let beats: Vec<_> = dirs
        .iter()
        .map(|d| {
            let d = d.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                d.heartbeat(0)
                    .await
                    .map(|_| t.elapsed().as_secs_f64() * 1e6)
            })
        })
        .collect();
    let mut beat_lat = Vec::new();
    for b in beats {
        beat_lat.push(
            b.await
                .map_err(|e| e.to_string())?
                .map_err(|Unavailable(e)| e)?,
        );
    }
    let heartbeat_round_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (i, d) in dirs.iter().enumerate() {
        for room in (i..rooms).step_by(relays) {
            for p in 0..room_size {
                d.release(&format!("load-room-{room}"), (room * room_size + p) as u64)
                    .await
                    .map_err(|Unavailable(e)| e)?;
            }
        }
    }
    let leave_s = started.elapsed().as_secs_f64();
    let (calls1, usec1) = script_stats(&mut admin).await;
    for d in &dirs {
        d.deregister().await;
    }
    let calls = (calls1 - calls0).max(1.0);
    Ok(LoadReport {
        relays,
        rooms,
        joins: join_lat.len() as u64,
        join_s,
        join_us: quantiles(join_lat),
        heartbeat_round_s,
        heartbeat_us: quantiles(beat_lat),
        leave_s,
        memory_bytes: after - before,
        server_us_per_call: (usec1 - usec0) / calls,
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("redis://user:s3cret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact("redis://:s3cret@host"), "redis://:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
    }
}
