//! The fault matrix: every scenario on each adapter (tokio, smol, the thread pool), over real
//! loopback sockets, with the provider in a second process (`fault-peer`) where the fault
//! is done to a process (killed, restarted, frozen), behind a fault-injecting proxy where it
//! is done to the link (blackholed), and in this process where the test reads the
//! provider's state.
//!
//! Every scenario keeps books ([`Ledger`]): each call gets exactly one outcome, the right
//! value, and no outcome later than its timeout plus [`GRACE`]. Timing bounds are
//! one-sided and generous, for a loaded 2-core machine. Each scenario prints its figures
//! (`cargo test -p tether-tests --test fault_matrix -- --nocapture`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tether_core::consumer::{Backoff, CallbackDispatcher, Channels, Reference, RpcError};
use tether_core::provider::Dispatch;
use tether_core::{Config, ConnectionError, Keepalive, SharedConnection, Side, TimeoutPhase};
use tether_tests::conformance::{PATIENCE, eventually, provider, single, within};
use tether_tests::demo;
use tether_tests::exec::{Executor, Opts, Server};
use tether_tests::faults::{ChildPeer, Ledger, Mode, Proxy, Record, open_fds, rss_bytes, threads};

/// The provider process.
const PEER: &str = env!("CARGO_BIN_EXE_fault-peer");

/// How late past its timeout (or past the instant that ends it: a kill, a shutdown's
/// deadline) an outcome may arrive: timers and IO threads on a loaded 2-core machine.
const GRACE: Duration = Duration::from_millis(500);

/// Reconnects come quickly in these scenarios.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));

/// Scenarios share the process; `connection_churn` counts its descriptors and memory, so it
/// runs alone (the others take this lock shared, it takes it exclusively).
static ISOLATION: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    ISOLATION.read()
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    ISOLATION.write()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn consumer() -> Config {
    Config::new(Side::Consumer)
}

/// A consumer configuration with heartbeats every `heartbeat`, closing after `idle` without
/// reads.
fn heartbeats(heartbeat: Duration, idle: Duration) -> Config {
    let mut config = consumer();
    config = config.keepalive(Keepalive::new(Some(heartbeat), Some(idle)).unwrap());
    config
}

/// A reference over `connections` connections to `addr`, reconnected with `backoff`.
fn reference(
    exec: &dyn Executor,
    addr: SocketAddr,
    connections: usize,
    config: Config,
    backoff: Backoff,
) -> (Reference, Arc<Channels>) {
    let handler = CallbackDispatcher::new(Dispatch::Direct, exec.spawner());
    let opts = Opts::default().request_handler(Arc::new(handler));
    let connections = NonZeroUsize::new(connections).unwrap();
    let channels = exec
        .reference_channels(addr, connections, config, opts, backoff)
        .unwrap_or_else(|e| panic!("{}: connect {addr}: {e}", exec.name()));
    let reference = Reference::builder(demo::SERVICE)
        .version(demo::VERSION)
        .build(channels.clone());
    (reference, channels)
}

fn peer(exec: &dyn Executor) -> ChildPeer {
    ChildPeer::spawn(PEER, exec.name(), None).expect("fault-peer")
}

/// Two-way requests the in-process provider holds, over its connections.
fn inbound(server: &dyn Server) -> usize {
    let conns = server.connections();
    conns
        .iter()
        .map(|c| c.with(|c, _| c.inbound_in_flight()))
        .sum()
}

/// Issues `sayHello` until it succeeds; returns how long that took and how many calls.
fn until_success(reference: &Reference, what: &str) -> (Duration, usize) {
    let hello = reference
        .method::<(String,), String>("sayHello")
        .timeout(ms(500));
    let started = Instant::now();
    for attempt in 1.. {
        match hello.call_blocking((what.to_owned(),)) {
            Ok(answer) => {
                assert_eq!(answer, format!("Hello {what}"));
                return (started.elapsed(), attempt);
            }
            Err(RpcError::NoConnection(_) | RpcError::Network(_) | RpcError::Timeout { .. }) => {}
            Err(other) => panic!("{what}: {other:?}"),
        }
        assert!(started.elapsed() < PATIENCE, "{what}: no success");
        // No connection yet: the reference is between reconnect attempts.
        thread::sleep(ms(1));
    }
    unreachable!()
}

/// `count` calls of `sleep(millis)` that must all succeed (the connection works again).
fn all_succeed(reference: &Reference, count: usize, millis: i64) {
    let sleep = reference.method::<(i64,), i64>("sleep").timeout(ms(10_000));
    let ledger = Ledger::new();
    for _ in 0..count {
        ledger.start(|| sleep.call((millis,)));
    }
    for (i, r) in ledger.close(PATIENCE).into_iter().enumerate() {
        assert!(r.elapsed() <= ms(10_000) + GRACE);
        assert_eq!(
            r.outcome.unwrap_or_else(|e| panic!("call {i}: {e:?}")),
            millis
        );
    }
}

/// Tells a background thread of a scope to stop: set by a guard, so that a scenario failing
/// in the scope's main thread still ends the scope instead of hanging it.
#[derive(Default)]
struct Flag(AtomicBool);

impl Flag {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sets the flag when dropped.
    fn setter(&self) -> impl Drop + '_ {
        struct Setter<'a>(&'a AtomicBool);
        impl Drop for Setter<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        Setter(&self.0)
    }
}

/// Outcomes by kind, for the figures.
fn kinds<R>(records: &[Record<Result<R, RpcError>>]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for r in records {
        let kind = match &r.outcome {
            Ok(_) => "ok".to_owned(),
            Err(RpcError::Network(reason)) => format!("network: {reason}"),
            Err(RpcError::Timeout { .. }) => "timeout".to_owned(),
            Err(other) => format!("{other}"),
        };
        *kinds.entry(kind).or_default() += 1;
    }
    kinds
}

/// The fastest and the slowest `elapsed` of the records.
fn spread<T>(records: &[Record<T>]) -> (Duration, Duration) {
    let elapsed = records.iter().map(Record::elapsed);
    let fastest = elapsed.clone().min().unwrap_or_default();
    (fastest, elapsed.max().unwrap_or_default())
}

/// The latest outcome, counted from `since`.
fn last_after<T>(records: &[Record<T>], since: Instant) -> Duration {
    let last = records.iter().map(|r| r.finished).max().unwrap_or(since);
    last.saturating_duration_since(since)
}

/// Checks calls that must all time out, at their timeout and not much later.
fn all_timed_out(records: &[Record<Result<i64, RpcError>>], timeout: Duration) {
    for (i, r) in records.iter().enumerate() {
        match &r.outcome {
            Err(RpcError::Timeout { timeout: t, .. }) => assert_eq!(*t, timeout),
            other => panic!("call {i}: {other:?}"),
        }
        let elapsed = r.elapsed();
        assert!(elapsed >= timeout, "call {i} timed out early: {elapsed:?}");
        assert!(
            elapsed <= timeout + GRACE,
            "call {i} timed out late: {elapsed:?}"
        );
    }
}

/// Checks `sayHello("{who} {i}")` calls made while the provider went away or came back:
/// each was answered, or failed for want of a connection, within its `timeout`; at least
/// `min_answered` were answered.
fn answered_or_unconnected(
    records: &[Record<Result<String, RpcError>>],
    who: &str,
    timeout: Duration,
    min_answered: usize,
) {
    let answered = records.iter().filter(|r| r.outcome.is_ok()).count();
    assert!(
        answered >= min_answered,
        "{who}: {answered} of {} calls answered, want at least {min_answered}",
        records.len()
    );
    for (i, r) in records.iter().enumerate() {
        match &r.outcome {
            Ok(answer) => assert_eq!(*answer, format!("Hello {who} {i}")),
            Err(RpcError::NoConnection(_) | RpcError::Network(_)) => {}
            Err(e) => panic!("{who}'s call {i}: {e:?}"),
        }
        assert!(r.elapsed() <= timeout + GRACE);
    }
}

// ------------------------------------------------------------------------------------------
// 1. A provider process killed under load.

/// 2,000 calls of a 5 s method are in flight at a provider process when it is killed
/// (`SIGKILL`): every one fails with a network error well before its 10 s timeout (and
/// before the method could have answered), each exactly once. Meanwhile another thread
/// starts 1,000 more calls, racing the kill: each of those fails once too, at once.
fn provider_killed_with_calls_in_flight(exec: &dyn Executor) {
    const CALLS: usize = 2_000;
    const RACING: usize = 1_000;
    const TIMEOUT: Duration = Duration::from_secs(10);
    /// All must have failed this soon after the kill (or after their start, if later).
    const PROMPTLY: Duration = Duration::from_secs(2);
    let _shared = shared();
    let mut peer = peer(exec);
    let (reference, _channels) = reference(exec, peer.addr(), 2, consumer(), BACKOFF);
    let sleep = reference.method::<(i64,), i64>("sleep").timeout(TIMEOUT);
    let ledger = Ledger::new();
    for _ in 0..CALLS {
        ledger.start(|| sleep.call((5_000,)));
    }
    eventually("the provider holds every call", || {
        peer.count("inflight") == CALLS
    });

    let peer_rss = peer.rss_bytes().unwrap_or_default();
    let racing = Ledger::new();
    let killed = thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..RACING {
                racing.start(|| sleep.call((5_000,)));
            }
        });
        // The kill lands while the racing calls are being started.
        eventually("racing calls started", || racing.len() >= RACING / 10);
        let killed = Instant::now();
        peer.kill().unwrap();
        killed
    });
    let records = ledger.close(PATIENCE);
    for (i, r) in records.iter().enumerate() {
        assert!(
            matches!(r.outcome, Err(RpcError::Network(_))),
            "call {i}: {:?}",
            r.outcome
        );
        assert!(r.elapsed() <= TIMEOUT + GRACE);
    }
    let last = last_after(&records, killed);
    assert!(
        last < PROMPTLY,
        "the last call failed {last:?} after the kill"
    );
    let raced = racing.close(PATIENCE);
    for (i, r) in raced.iter().enumerate() {
        assert!(
            matches!(
                r.outcome,
                Err(RpcError::Network(_) | RpcError::NoConnection(_))
            ),
            "racing call {i}: {:?}",
            r.outcome
        );
        let since = r.started.max(killed);
        let after = r.finished.saturating_duration_since(since);
        assert!(
            after < PROMPTLY,
            "racing call {i} failed {after:?} after the kill"
        );
    }
    eprintln!(
        "[{}] provider_killed: {CALLS} calls in flight (provider RSS {} MiB) failed within {} \
         of the kill, none lost or doubled ({:?}); {RACING} calls racing the kill each failed \
         once ({:?})",
        exec.name(),
        peer_rss / (1024 * 1024),
        millis(last),
        kinds(&records),
        kinds(&raced),
    );
}

// ------------------------------------------------------------------------------------------
// 2. A provider process restarted on the same port.

/// The provider process is killed and a new one started on the same port, three times:
/// the same reference serves again by itself each time (reconnecting with a short
/// backoff), soon. Meanwhile another thread calls without pause: each of its calls ends
/// once, answered or failed, never timed out or lost.
fn provider_restarted_on_the_same_port(exec: &dyn Executor) {
    const ROUNDS: usize = 3;
    /// The backoff caps at 100 ms: a first success must come well within this.
    const SOON: Duration = Duration::from_secs(3);
    const TIMEOUT: Duration = Duration::from_secs(2);
    /// The background caller's calls outstanding at most.
    const WINDOW: usize = 50;
    let _shared = shared();
    let mut current = peer(exec);
    let addr = current.addr();
    let (reference, channels) = reference(exec, addr, 2, consumer(), BACKOFF);
    all_succeed(&reference, 20, 1);

    let background = Ledger::new();
    let done = Flag::default();
    let hello = reference
        .method::<(String,), String>("sayHello")
        .timeout(TIMEOUT);
    let mut rounds = Vec::new();
    thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0usize;
            while !done.is_set() {
                assert!(background.wait_for((i + 1).saturating_sub(WINDOW), PATIENCE));
                background.start(|| hello.call((format!("caller {i}"),)));
                i += 1;
                // While the provider is down, calls fail at once: pace them.
                thread::sleep(ms(1));
            }
        });
        let stop = done.setter();
        for round in 0..ROUNDS {
            let killed = Instant::now();
            current.kill().unwrap();
            eventually("both slots emptied", || {
                (0..channels.len()).all(|i| channels.get(i).is_none())
            });
            // The port is free once the dead process's listener is gone; retry until it
            // binds.
            current = loop {
                match ChildPeer::spawn(PEER, exec.name(), Some(addr.port())) {
                    Ok(peer) => break peer,
                    Err(e) => assert!(killed.elapsed() < PATIENCE, "restart on {addr}: {e}"),
                }
                thread::sleep(ms(20));
            };
            assert_eq!(current.addr(), addr);
            let (first_success, attempts) = until_success(&reference, &format!("round {round}"));
            assert!(
                first_success < SOON,
                "first success {first_success:?} after the restart"
            );
            rounds.push((first_success, attempts, killed.elapsed()));
            eventually("both slots reconnected", || {
                (0..channels.len())
                    .all(|i| channels.get(i).is_some_and(|c| c.close_reason().is_none()))
            });
            all_succeed(&reference, 200, 1);
        }
        drop(stop);
    });
    let calls = background.close(PATIENCE);
    // The provider was up between the kills: calls made then were answered.
    answered_or_unconnected(&calls, "caller", TIMEOUT, 1);
    let described: Vec<String> = rounds
        .iter()
        .map(|(first, attempts, since_kill)| {
            format!(
                "{} ({attempts} attempts, {} after the kill)",
                millis(*first),
                millis(*since_kill)
            )
        })
        .collect();
    eprintln!(
        "[{}] provider_restarted_on_the_same_port: time to first success after restart: {}; \
         {} calls from another thread meanwhile each ended once ({:?})",
        exec.name(),
        described.join(", "),
        calls.len(),
        kinds(&calls),
    );
}

// ------------------------------------------------------------------------------------------
// 3. and 4. A peer gone silent: a frozen provider process, a blackholed link.

/// Heartbeats of the consumers in scenarios 3 and 4.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// Their idle timeout.
const IDLE: Duration = Duration::from_millis(800);

/// What a silent peer did to the calls and connections of [`goes_silent`].
struct Silence {
    /// Calls held by the provider when it went silent: they fail when the connection is
    /// declared dead.
    held: Vec<Record<Result<i64, RpcError>>>,
    /// Calls started after it went silent, with a short timeout: they time out.
    short: Vec<Record<Result<i64, RpcError>>>,
    short_timeout: Duration,
    heartbeats_sent: u64,
    /// From the silence to the end of a connection idle but for heartbeats.
    dead_after: Duration,
    /// From the silence to the end of the reference's connection.
    reference_dead_after: Duration,
    /// From the sound coming back to the first successful call.
    first_success: Duration,
    attempts: usize,
}

impl Silence {
    fn describe(&self) -> String {
        let (fastest, slowest) = spread(&self.short);
        format!(
            "{} calls timed out {}..{} after their start (timeout {}); heartbeats ({} sent, \
             every {}) declared the link dead {} after it went silent (idle timeout {}; the \
             reference's own by {}, failing its {} held calls with it); first success {} \
             after it came back ({} attempts)",
            self.short.len(),
            millis(fastest),
            millis(slowest),
            millis(self.short_timeout),
            self.heartbeats_sent,
            millis(HEARTBEAT),
            millis(self.dead_after),
            millis(IDLE),
            millis(self.reference_dead_after),
            self.held.len(),
            millis(self.first_success),
            self.attempts,
        )
    }
}

/// The provider at `addr` goes silent (`silence`) with 100 calls of a 5 s method (timeout
/// 10 s) in flight, then 200 calls of a 250 ms timeout are started: the latter time out at
/// their timeout; heartbeats declare the connection dead at the idle timeout, failing the
/// former with it, long before their timeout; once the peer is back (`restore`), the same
/// reference serves again. `held` counts the calls the provider holds.
fn goes_silent(
    exec: &dyn Executor,
    addr: SocketAddr,
    held: &mut dyn FnMut() -> usize,
    silence: &dyn Fn(),
    restore: &dyn Fn(),
) -> Silence {
    const HELD: usize = 100;
    const SHORT: usize = 200;
    const TIMEOUT: Duration = Duration::from_millis(250);
    const LONG_TIMEOUT: Duration = Duration::from_secs(10);
    let config = heartbeats(HEARTBEAT, IDLE);
    let (reference, channels) = reference(exec, addr, 1, config.clone(), BACKOFF);
    // A connection of its own, idle but for heartbeats, whose end is awaited.
    let (watched, closed) = exec.connect(addr, config, Opts::default()).unwrap();
    let sleep = reference.method::<(i64,), i64>("sleep").timeout(TIMEOUT);
    assert_eq!(sleep.call_blocking((1,)).unwrap(), 1);
    let first = channels.get(0).unwrap();
    let long = reference
        .method::<(i64,), i64>("sleep")
        .timeout(LONG_TIMEOUT);
    let held_calls = Ledger::new();
    for _ in 0..HELD {
        held_calls.start(|| long.call((5_000,)));
    }
    eventually("the provider holds the long calls", || held() == HELD);

    silence();
    let silenced = Instant::now();
    let short = Ledger::new();
    for _ in 0..SHORT {
        short.start(|| sleep.call((1,)));
    }
    let short = short.close(PATIENCE);
    all_timed_out(&short, TIMEOUT);

    let reason = within(closed);
    let dead_after = silenced.elapsed();
    let dead = ConnectionError::IdleTimeout { idle: IDLE };
    assert_eq!(reason, dead);
    assert!(
        dead_after >= IDLE - HEARTBEAT - ms(50) && dead_after <= IDLE + GRACE,
        "declared dead {dead_after:?} after the silence"
    );
    let heartbeats_sent = watched.with(|c, _| c.stats().heartbeats_sent);
    assert!(heartbeats_sent >= 2, "{heartbeats_sent} heartbeats");
    let held = held_calls.close(PATIENCE);
    let reference_dead_after = last_after(&held, silenced);
    for (i, r) in held.iter().enumerate() {
        match &r.outcome {
            Err(RpcError::Network(reason)) => assert_eq!(*reason, dead),
            other => panic!("held call {i}: {other:?}"),
        }
    }
    assert!(
        reference_dead_after <= IDLE + GRACE,
        "the held calls failed {reference_dead_after:?} after the silence"
    );
    assert_eq!(first.close_reason(), Some(dead));

    restore();
    let (first_success, attempts) = until_success(&reference, "back");
    all_succeed(&reference, 100, 1);
    Silence {
        held,
        short,
        short_timeout: TIMEOUT,
        heartbeats_sent,
        dead_after,
        reference_dead_after,
        first_success,
        attempts,
    }
}

/// The provider process is frozen (`SIGSTOP`: its sockets stay open, and the kernel still
/// completes new connections into its listen backlog), then thawed (`SIGCONT`): see
/// [`goes_silent`].
fn frozen_peer(exec: &dyn Executor) {
    let _shared = shared();
    let peer = RefCell::new(peer(exec));
    let addr = peer.borrow().addr();
    let silence = goes_silent(
        exec,
        addr,
        &mut || peer.borrow_mut().count("inflight"),
        &|| peer.borrow().stop().unwrap(),
        &|| peer.borrow().cont().unwrap(),
    );
    eprintln!("[{}] frozen_peer: {}", exec.name(), silence.describe());
}

/// The link to an in-process provider goes through the proxy, which then swallows every
/// byte both ways with both sockets open, then passes them again: see [`goes_silent`].
fn blackholed_link(exec: &dyn Executor) {
    let _shared = shared();
    let fixture = provider(exec);
    let proxy = Proxy::start(fixture.addr()).unwrap();
    let silence = goes_silent(
        exec,
        proxy.addr(),
        &mut || inbound(&*fixture.server),
        &|| proxy.set_mode(Mode::Blackhole),
        &|| proxy.set_mode(Mode::Pass),
    );
    let swallowed = proxy.stats().dropped;
    assert!(swallowed[0] > 0, "nothing swallowed: {swallowed:?}");
    eprintln!(
        "[{}] blackholed_link: {}; {} bytes swallowed upstream, {} downstream",
        exec.name(),
        silence.describe(),
        swallowed[0],
        swallowed[1],
    );
}

// ------------------------------------------------------------------------------------------
// 5. Timeouts racing responses.

/// 3,000 calls of `sleep(x)`, x from 0 to 40 ms, with a 20 ms timeout (at most 64 at a
/// time): each ends once, with its own value or a timeout, never much after its timeout;
/// the connection survives the late responses.
fn timeouts_racing_responses(exec: &dyn Executor) {
    const CALLS: usize = 3_000;
    const WINDOW: usize = 64;
    const TIMEOUT: Duration = Duration::from_millis(20);
    let _shared = shared();
    let fixture = provider(exec);
    let (reference, conn, _closed) = single(exec, fixture.addr(), consumer());
    let sleep = reference.method::<(i64,), i64>("sleep").timeout(TIMEOUT);
    let x = |i: usize| (i % 41) as i64;
    let ledger = Ledger::new();
    let started = Instant::now();
    for i in 0..CALLS {
        assert!(
            ledger.wait_for((i + 1).saturating_sub(WINDOW), PATIENCE),
            "calls stopped ending"
        );
        ledger.start(|| sleep.call((x(i),)));
    }
    let records = ledger.close(PATIENCE);
    let took = started.elapsed();
    let (mut ok, mut timeouts, mut written, mut late_wins) = (0, 0, 0, 0);
    for (i, r) in records.iter().enumerate() {
        match &r.outcome {
            Ok(v) => {
                assert_eq!(*v, x(i), "call {i} got another call's value");
                ok += 1;
                if r.elapsed() > TIMEOUT {
                    late_wins += 1;
                }
            }
            Err(RpcError::Timeout { timeout, phase }) => {
                assert_eq!(*timeout, TIMEOUT);
                assert!(r.elapsed() >= TIMEOUT, "call {i} timed out early");
                timeouts += 1;
                if *phase == TimeoutPhase::ServerSide {
                    written += 1;
                }
            }
            Err(e) => panic!("call {i}: {e:?}"),
        }
        assert!(
            r.elapsed() <= TIMEOUT + GRACE,
            "call {i} (sleep {}) ended {:?} after its start",
            x(i),
            r.elapsed()
        );
    }
    assert!(ok > 0 && timeouts > 0, "ok {ok}, timeouts {timeouts}");
    assert_eq!(conn.close_reason(), None);
    let hello = reference.method::<(String,), String>("sayHello");
    assert_eq!(
        hello.call_blocking(("after".into(),)).unwrap(),
        "Hello after"
    );
    eventually("the provider answered everything", || {
        inbound(&*fixture.server) == 0
    });
    // Every timed-out call that had been written got its response later, ignored: none
    // lost, none delivered.
    let late = || conn.with(|c, _| c.stats().late_responses);
    eventually("a late response for each timed-out call", || {
        late() == written
    });
    let late = late();
    let (_, slowest) = spread(&records);
    eprintln!(
        "[{}] timeouts_racing_responses: {CALLS} calls in {}: {ok} ok ({late_wins} of them \
         after the timeout), {timeouts} timed out ({written} once written), {late} late \
         responses ignored; slowest \
         outcome {} after its start (timeout {})",
        exec.name(),
        millis(took),
        millis(slowest),
        millis(TIMEOUT),
    );
}

// ------------------------------------------------------------------------------------------
// 6. A flood of one-way calls.

/// 30,000 one-way `log` calls as fast as the connection takes them (a 16 KiB send buffer:
/// a refused call waits for room and is retried): the provider gets exactly the accepted
/// ones, and a two-way call still succeeds.
fn oneway_flood(exec: &dyn Executor) {
    const MESSAGES: usize = 30_000;
    const HIGH_WATER: usize = 16 * 1024;
    let _shared = shared();
    let fixture = provider(exec);
    let mut config = consumer();
    config = config.send_buffer_high_water(NonZeroUsize::new(HIGH_WATER).unwrap());
    let (reference, conn, _closed) = single(exec, fixture.addr(), config);
    let log = reference.method::<(String,), ()>("log");
    let (mut accepted, mut refusals) = (0usize, 0usize);
    let started = Instant::now();
    for i in 0..MESSAGES {
        let line = format!("line {i} of the flood");
        loop {
            match log.oneway((line.clone(),)) {
                Ok(()) => {
                    accepted += 1;
                    break;
                }
                Err(RpcError::LimitExceeded(why)) if why.contains("send buffer full") => {
                    refusals += 1;
                    wait_for_room(&conn);
                }
                Err(e) => panic!("message {i}: {e:?}"),
            }
        }
    }
    let sent_in = started.elapsed();
    assert_eq!(accepted, MESSAGES);
    let logged = || fixture.state.logged.load(Ordering::SeqCst);
    eventually("the provider counted every accepted call", || {
        logged() >= accepted
    });
    let received_in = started.elapsed();
    let hello = reference.method::<(String,), String>("sayHello");
    assert_eq!(
        hello.call_blocking(("flooded".into(),)).unwrap(),
        "Hello flooded"
    );
    assert_eq!(
        logged(),
        accepted,
        "the provider counted more than was sent"
    );
    assert_eq!(conn.close_reason(), None);
    eprintln!(
        "[{}] oneway_flood: {MESSAGES} one-way calls accepted in {} ({refusals} refusals: \
         send buffer full at {} KiB), the provider counted {} by {}; a two-way call after \
         them succeeded",
        exec.name(),
        millis(sent_in),
        HIGH_WATER / 1024,
        logged(),
        millis(received_in),
    );
}

/// Waits until `conn` has room for another request.
fn wait_for_room(conn: &SharedConnection) {
    let deadline = Instant::now() + PATIENCE;
    while !conn.with(|c, _| c.has_capacity()) {
        assert!(Instant::now() < deadline, "the send buffer never drained");
        thread::sleep(Duration::from_micros(200));
    }
}

// ------------------------------------------------------------------------------------------
// 7. Connection churn.

/// 300 connections opened, used once and closed, one after another (every other one as a
/// reference's channels, dropped, which ends their reconnect task too), then 200 more from
/// four threads at once: afterwards the process's descriptors and threads and the server's
/// connections are back to their baseline, and its memory within a bound of it.
fn connection_churn(exec: &dyn Executor) {
    const CYCLES: usize = 300;
    /// Then this many from each of [`THREADS`] threads at once.
    const CONCURRENT: usize = 50;
    const THREADS: usize = 4;
    const WARM_UP: usize = 10;
    /// Descriptors or threads a runtime may start lazily past the warm-up.
    const SLACK: usize = 4;
    const RSS_BOUND: u64 = 32 * 1024 * 1024;
    let _exclusive = exclusive();
    let fixture = provider(exec);
    let addr = fixture.addr();
    let cycle = |i: usize| {
        let name = format!("churn {i}");
        // Odd cycles go through a reference's channels.
        if i % 2 == 1 {
            let (reference, channels) = reference(exec, addr, 1, consumer(), BACKOFF);
            let hello = reference.method::<(String,), String>("sayHello");
            assert_eq!(
                hello.call_blocking((name.clone(),)).unwrap(),
                format!("Hello {name}")
            );
            let conn = channels.get(0).unwrap();
            // The last handle on the channels closes their connection.
            drop((hello, reference, channels));
            assert_eq!(conn.close_reason(), Some(ConnectionError::LocallyClosed));
        } else {
            let (reference, conn, closed) = single(exec, addr, consumer());
            let hello = reference.method::<(String,), String>("sayHello");
            assert_eq!(
                hello.call_blocking((name.clone(),)).unwrap(),
                format!("Hello {name}")
            );
            conn.close();
            assert_eq!(within(closed), ConnectionError::LocallyClosed);
        }
    };
    for i in 0..WARM_UP {
        cycle(i);
    }
    eventually("the warm-up connections are gone", || {
        fixture.server.connections().is_empty()
    });
    // Threads of the warm-up connections may still be ending, closing their sockets.
    let settled = |count: fn() -> usize| {
        let mut last = count();
        eventually("the count settles", || {
            thread::sleep(ms(20));
            let now = count();
            std::mem::replace(&mut last, now) == now
        });
        last
    };
    let baseline_fds = settled(open_fds);
    let baseline_threads = settled(threads);
    let baseline_rss = rss_bytes();

    let started = Instant::now();
    let (mut peak_fds, mut peak_threads, mut peak_rss) = (0, 0, 0);
    for i in 0..CYCLES {
        cycle(i);
        peak_fds = peak_fds.max(open_fds());
        peak_threads = peak_threads.max(threads());
        if i % 50 == 0 {
            peak_rss = peak_rss.max(rss_bytes());
        }
    }
    let took = started.elapsed();
    // Then from four threads at once.
    let concurrent = Instant::now();
    thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..CONCURRENT {
                    cycle(CYCLES + t * CONCURRENT + i);
                }
            });
        }
    });
    let concurrent_took = concurrent.elapsed();
    peak_fds = peak_fds.max(open_fds());
    peak_threads = peak_threads.max(threads());
    eventually("the server forgot every connection", || {
        fixture.server.connections().is_empty()
    });
    eventually("descriptors and threads back to the baseline", || {
        open_fds() <= baseline_fds + SLACK && threads() <= baseline_threads + SLACK
    });
    // Where they settle (the last connections' threads may still be ending).
    let (fds, thread_count) = (settled(open_fds), settled(threads));
    assert!(fds <= baseline_fds + SLACK && thread_count <= baseline_threads + SLACK);
    let rss = rss_bytes();
    peak_rss = peak_rss.max(rss);
    assert!(
        rss <= baseline_rss + RSS_BOUND,
        "RSS grew from {baseline_rss} to {rss} bytes"
    );
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
    eprintln!(
        "[{}] connection_churn: {CYCLES} connections (connect, call, close) in {}, then {} \
         from {THREADS} threads at once in {}; descriptors {baseline_fds} before, peak {peak_fds}, {fds} after; threads \
         {baseline_threads} before, peak {peak_threads}, {thread_count} after (slack \
         {SLACK}); server connections 0 after; RSS {} before, peak {}, {} after (bound: +{})",
        exec.name(),
        millis(took),
        THREADS * CONCURRENT,
        millis(concurrent_took),
        mib(baseline_rss),
        mib(peak_rss),
        mib(rss),
        mib(RSS_BOUND),
    );
}

// ------------------------------------------------------------------------------------------
// 8. Graceful shutdown under load, and at its deadline.

/// 1,000 calls of a 300 ms method are in flight when the provider shuts down gracefully
/// with a long deadline: every call succeeds, and the shutdown reports it drained.
fn graceful_shutdown_under_load(exec: &dyn Executor) {
    const CALLS: usize = 1_000;
    const TIMEOUT: Duration = Duration::from_secs(10);
    const DEADLINE: Duration = Duration::from_secs(10);
    let _shared = shared();
    let fixture = provider(exec);
    let (reference, _channels) = reference(exec, fixture.addr(), 2, consumer(), BACKOFF);
    let sleep = reference.method::<(i64,), i64>("sleep").timeout(TIMEOUT);
    let ledger = Ledger::new();
    for _ in 0..CALLS {
        ledger.start(|| sleep.call((300,)));
    }
    eventually("the provider holds every call", || {
        inbound(&*fixture.server) == CALLS
    });

    // Meanwhile, another thread keeps calling: each of its calls ends once, answered or
    // refused (read-only, then closed), never lost.
    let racing = Ledger::new();
    let hello = reference
        .method::<(String,), String>("sayHello")
        .timeout(TIMEOUT);
    let done = Flag::default();
    let started = Instant::now();
    let (drained, took) = thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !done.is_set() {
                racing.start(|| hello.call((format!("racer {i}"),)));
                i += 1;
                thread::sleep(Duration::from_micros(200));
            }
        });
        let stop = done.setter();
        let drained = fixture.server.shutdown(started + DEADLINE);
        let took = started.elapsed();
        drop(stop);
        (drained, took)
    });
    assert!(drained, "shutdown gave up after {took:?}");
    assert!(took < DEADLINE, "shutdown took {took:?}");
    let records = ledger.close(PATIENCE);
    for (i, r) in records.iter().enumerate() {
        match &r.outcome {
            Ok(v) => assert_eq!(*v, 300),
            Err(e) => panic!("call {i}: {e:?}"),
        }
        assert!(r.elapsed() <= TIMEOUT + GRACE);
    }
    let last = last_after(&records, started);
    let raced = racing.close(PATIENCE);
    // Racing the shutdown, none need be answered; each must end one of the two ways.
    answered_or_unconnected(&raced, "racer", TIMEOUT, 0);
    // The provider is gone: a new call fails at once.
    assert!(matches!(
        hello.call_blocking(("gone".into(),)),
        Err(RpcError::NoConnection(_) | RpcError::Network(_))
    ));
    eprintln!(
        "[{}] graceful_shutdown_under_load: {CALLS} calls in flight all answered (the last \
         {} into the shutdown); shutdown drained in {} (deadline {}); {} calls racing the \
         shutdown each ended once ({:?})",
        exec.name(),
        millis(last),
        millis(took),
        millis(DEADLINE),
        raced.len(),
        kinds(&raced),
    );
}

/// 200 calls that never end (`hang`) are in flight when the provider shuts down with a
/// 300 ms deadline: the shutdown gives up at its deadline, and each call fails once, then.
fn shutdown_deadline(exec: &dyn Executor) {
    const CALLS: usize = 200;
    const TIMEOUT: Duration = Duration::from_secs(10);
    const DEADLINE: Duration = Duration::from_millis(300);
    let _shared = shared();
    let fixture = provider(exec);
    let (reference, _channels) = reference(exec, fixture.addr(), 2, consumer(), BACKOFF);
    let hang = reference.method::<(), ()>("hang").timeout(TIMEOUT);
    let ledger: Ledger<Result<(), RpcError>> = Ledger::new();
    for _ in 0..CALLS {
        ledger.start(|| hang.call(()));
    }
    eventually("the provider holds every call", || {
        fixture.state.hung.lock().len() == CALLS
    });

    let started = Instant::now();
    let state = fixture.state.clone();
    let drained = fixture.server.shutdown(started + DEADLINE);
    let took = started.elapsed();
    assert!(!drained, "nothing could drain");
    assert!(
        took >= DEADLINE && took <= DEADLINE + GRACE,
        "shutdown returned after {took:?}"
    );
    let records = ledger.close(PATIENCE);
    for (i, r) in records.iter().enumerate() {
        assert!(
            matches!(r.outcome, Err(RpcError::Network(_))),
            "call {i}: {:?}",
            r.outcome
        );
    }
    let last = last_after(&records, started);
    assert!(
        last <= DEADLINE + GRACE,
        "the last hung call ended {last:?} into the shutdown"
    );
    // The handlers finish now, into closed connections.
    state.release();
    eprintln!(
        "[{}] shutdown_deadline: shutdown gave up after {} (deadline {}); {CALLS} hung calls \
         each failed once, the last {} into the shutdown ({:?})",
        exec.name(),
        millis(took),
        millis(DEADLINE),
        millis(last),
        kinds(&records),
    );
}

// ------------------------------------------------------------------------------------------

/// One `#[test]` per scenario, on a fresh executor from `$exec`.
macro_rules! scenarios {
    ($exec:expr => $($scenario:ident)*) => {
        $(
            #[test]
            fn $scenario() {
                let exec = $exec;
                super::$scenario(&exec);
            }
        )*
    };
}

/// The matrix: a module per adapter, a test per scenario.
macro_rules! fault_matrix {
    ($($adapter:ident: $exec:expr),* $(,)?) => {
        $(
            mod $adapter {
                scenarios!($exec =>
                    provider_killed_with_calls_in_flight
                    provider_restarted_on_the_same_port
                    frozen_peer
                    blackholed_link
                    timeouts_racing_responses
                    oneway_flood
                    connection_churn
                    graceful_shutdown_under_load
                    shutdown_deadline
                );
            }
        )*
    };
}

fault_matrix!(
    tokio: tether_tests::exec::Tokio::new(),
    smol: tether_tests::exec::Smol::new(),
    threadpool: tether_tests::exec::ThreadPool::new(),
);

/// The harness itself: the proxy's faults and the child process's lifecycle.
mod harness {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::thread;
    use std::time::{Duration, Instant};

    use tether_tests::conformance::{PATIENCE, eventually};
    use tether_tests::faults::{ChildPeer, Direction, Mode, Proxy};

    use super::{PEER, shared};

    /// Echoes the bytes of its first `connections` connections, then stops accepting.
    fn echo_server(connections: usize) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let mut writer = stream.unwrap();
                let mut reader = writer.try_clone().unwrap();
                thread::spawn(move || std::io::copy(&mut reader, &mut writer));
            }
        });
        addr
    }

    fn client(proxy: &Proxy) -> TcpStream {
        let stream = TcpStream::connect(proxy.addr()).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    fn echoes(stream: &mut TcpStream, byte: u8) {
        stream.write_all(&[byte]).unwrap();
        let mut got = [0u8];
        stream.read_exact(&mut got).unwrap();
        assert_eq!(got[0], byte);
    }

    /// Bytes pass, vanish in a blackhole, wait while their direction is paused, and a
    /// severed connection closes; the proxy serves new connections after that.
    #[test]
    fn proxy_passes_swallows_pauses_and_severs() {
        let _shared = shared();
        let proxy = Proxy::start(echo_server(2)).unwrap();
        let mut stream = client(&proxy);
        echoes(&mut stream, b'a');
        assert_eq!(proxy.connections(), 1);

        proxy.set_mode(Mode::Blackhole);
        stream.write_all(b"b").unwrap();
        eventually("the byte swallowed", || proxy.stats().dropped == [1, 0]);
        proxy.set_mode(Mode::Pass);
        // `b` is gone: the next byte back is `c`.
        echoes(&mut stream, b'c');

        for direction in [Direction::Upstream, Direction::Downstream] {
            let before = proxy.stats().forwarded;
            proxy.pause_reading(direction);
            stream.write_all(b"d").unwrap();
            // Nothing to wait for: a paused direction forwards nothing, for a while.
            thread::sleep(Duration::from_millis(50));
            let after = proxy.stats().forwarded;
            match direction {
                Direction::Upstream => assert_eq!(after, before),
                Direction::Downstream => {
                    eventually("up, not down", || {
                        let now = proxy.stats().forwarded;
                        now[0] == before[0] + 1 && now[1] == before[1]
                    });
                }
            }
            proxy.resume_reading(direction);
            let mut got = [0u8];
            stream.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"d");
        }

        proxy.sever();
        let mut rest = [0u8; 8];
        match stream.read(&mut rest) {
            Ok(0) => {}
            Err(e) if e.kind() != ErrorKind::WouldBlock && e.kind() != ErrorKind::TimedOut => {}
            other => panic!("severed, yet read {other:?}"),
        }
        eventually("no connection left", || proxy.connections() == 0);

        let mut second = client(&proxy);
        echoes(&mut second, b'e');
        assert_eq!(proxy.stats().accepted, 2);
        drop(proxy);
        assert!(matches!(second.read(&mut rest), Ok(0) | Err(_)));
    }

    /// The provider process answers queries, stops and resumes, dies when killed, and
    /// exits after a shutdown command; a bad executor name fails the spawn.
    #[test]
    fn child_peer_lifecycle() {
        let _shared = shared();
        let mut peer = ChildPeer::spawn(PEER, "threadpool", None).unwrap();
        assert_eq!(peer.query("pid").unwrap(), peer.pid().to_string());
        assert!(peer.rss_bytes().unwrap() > 0);
        assert_eq!(peer.count("connections"), 0);
        assert!(peer.query("no-such-command").is_err());
        peer.stop().unwrap();
        peer.cont().unwrap();
        assert_eq!(peer.count("inflight"), 0);
        assert!(peer.is_alive());
        let status = peer.kill().unwrap();
        assert!(!status.success());
        assert!(!peer.is_alive());
        assert_eq!(peer.rss_bytes(), None);
        assert!(peer.stop().is_err());

        let mut peer = ChildPeer::spawn(PEER, "smol", None).unwrap();
        assert_eq!(peer.query("shutdown 1000").unwrap(), "true");
        eventually("the process exited", || !peer.is_alive());

        assert!(ChildPeer::spawn(PEER, "no-such-executor", None).is_err());

        // Its provider's configuration from the command line: a 300 ms idle timeout closes
        // a connection that sends nothing.
        let flags = ["--idle-ms", "300", "--high-water", "65536", "--direct"];
        let peer = ChildPeer::spawn_with(PEER, "tokio", None, &flags).unwrap();
        let mut silent = TcpStream::connect(peer.addr()).unwrap();
        silent.set_read_timeout(Some(PATIENCE)).unwrap();
        let connected = Instant::now();
        let mut buf = [0u8; 64];
        assert!(matches!(silent.read(&mut buf), Ok(0) | Err(_)));
        let closed_after = connected.elapsed();
        assert!(
            closed_after >= Duration::from_millis(300),
            "{closed_after:?}"
        );
    }
}
