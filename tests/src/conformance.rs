//! The conformance suite: every scenario written once against [`Executor`], and run for each
//! adapter and for pairs of adapters (a consumer on one, the provider on another). Each
//! scenario takes the provider's executor first, then the consumer's.
//!
//! [`all_scenarios!`](crate::all_scenarios) and [`rpc_scenarios!`](crate::rpc_scenarios)
//! turn the lists into `#[test]`s; `tests/tests/conformance_*.rs` instantiate them.
//!
//! Timing assertions are one-sided and generous ("well under the call timeout"), so that the
//! suite holds on a loaded 2-core CI machine.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tether_core::call::{Completer, pair};
use tether_core::consumer::{Backoff, Callback, CallbackDispatcher, Channels, Reference, RpcError};
use tether_core::hessian2::Binary;
use tether_core::message::JavaException;
use tether_core::provider::{CallbackArg, CallbackProxy, Dispatch, Provider, Service};
use tether_core::{
    CallError, CallOptions, CallResult, Completion, Config, ConnectionError, InboundRequest,
    Keepalive, PayloadLimit, RequestHandler, SerializationId, SharedConnection, Side, Status,
};

use crate::demo::{self, demo_service};
use crate::exec::{Executor, Opts, Server};
use crate::interop::{consumer_cases, report};

/// Generous: a call that should succeed never comes near it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest any single wait in a scenario may take before the scenario fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn n(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("positive")
}

/// Polls `condition` every few milliseconds until it holds; fails after [`PATIENCE`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        thread::sleep(ms(5));
    }
}

/// Waits for `completion`, failing the scenario instead of hanging it.
pub fn within<T: Send + 'static>(completion: Completion<T>) -> T {
    completion
        .wait_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("took far too long"))
}

// ------------------------------------------------------------------------------------------
// The provider of the suite: the interop demo service and a few methods of its own.

/// The callback interface of `notify`.
pub struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.Listener");

/// What the suite's provider records.
#[derive(Default)]
pub struct State {
    /// One-way `log` calls received.
    pub logged: AtomicUsize,
    /// `hang` calls waiting to be released (dropping a completer releases its call).
    pub hung: Mutex<Vec<Completer<()>>>,
    /// `addListener`'s callback proxies by key (kept after `removeListener`, to be fired).
    pub listeners: Mutex<std::collections::HashMap<String, CallbackProxy>>,
}

impl State {
    /// Lets every `hang` call return.
    pub fn release(&self) {
        self.hung.lock().clear();
    }
}

/// The demo service plus `sleep(ms)` (async), `hang()` (async, until released), `log(line)`
/// (counted; for one-way calls), `notify(times, listener)` (calls the listener back `times`
/// times), `addListener(key, listener)` (kept), `removeListener(key, listener)` (argument 1
/// unsubscribes), `fire(key, value)` (calls the listener kept under `key`: `"ok"`,
/// `"absent"` or `"failed: <error>"`), `boom()` (panics), `threadName()`, `repeat(n)` (a
/// string of `n` `x`s) and `bytesAfter(n, ms)` (a `byte[]` of `n` `x`s, `ms` later; async),
/// and the type matrix's echo methods ([`type_methods`](crate::types::type_methods)).
pub fn suite_service(exec: &dyn Executor, state: &Arc<State>) -> Service {
    let sleeper = exec.sleeper();
    let later = exec.sleeper();
    let spawner = exec.spawner();
    let (hang_state, log_state) = (state.clone(), state.clone());
    let (add_state, fire_state) = (state.clone(), state.clone());
    crate::types::type_methods(demo_service())
        .method_async("sleep", move |_, (millis,): (i64,)| {
            let sleep = sleeper(ms(millis as u64));
            async move {
                sleep.await;
                Ok::<_, JavaException>(millis)
            }
        })
        .method_async("hang", move |_, (): ()| {
            let (completer, completion) = pair(|| ());
            hang_state.hung.lock().push(completer);
            async move {
                completion.await;
                Ok::<_, JavaException>(())
            }
        })
        .method("log", move |_, (_line,): (String,)| {
            log_state.logged.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .method(
            "notify",
            move |ctx, (times, _): (i32, CallbackArg<Listener>)| {
                let proxy = ctx.callback(1).expect("a callback").clone();
                spawner.spawn(Box::pin(async move {
                    for i in 0..times {
                        if proxy.call::<(i32,), ()>("changed", (i,)).await.is_err() {
                            return;
                        }
                    }
                }));
                Ok(())
            },
        )
        .method(
            "addListener",
            move |ctx, (key, _): (String, CallbackArg<Listener>)| {
                let proxy = ctx.callback(1).expect("a callback").clone();
                add_state.listeners.lock().insert(key, proxy);
                Ok(())
            },
        )
        // Argument 1 unsubscribes (`callback_release` below): the proxy is destroyed first.
        .method(
            "removeListener",
            |_, (_key, _): (String, CallbackArg<Listener>)| Ok(()),
        )
        .callback_release("removeListener", 1)
        .method_async("fire", move |_, (key, value): (String, i32)| {
            let proxy = fire_state.listeners.lock().get(&key).cloned();
            async move {
                let Some(proxy) = proxy else {
                    return Ok::<_, JavaException>("absent".to_owned());
                };
                Ok(match proxy.call::<(i32,), ()>("changed", (value,)).await {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => format!("failed: {e}"),
                })
            }
        })
        .method("boom", |_, (): ()| -> Result<String, JavaException> {
            panic!("boom")
        })
        .method("threadName", |_, (): ()| {
            Ok(thread::current().name().unwrap_or("unnamed").to_owned())
        })
        .method("repeat", |_, (len,): (i32,)| Ok("x".repeat(len as usize)))
        .method_async("bytesAfter", move |_, (len, millis): (i32, i64)| {
            let sleep = later(ms(millis as u64));
            async move {
                sleep.await;
                Ok::<_, JavaException>(Binary(vec![b'x'; len as usize]))
            }
        })
}

/// A running provider of [`suite_service`].
pub struct Fixture {
    pub server: Box<dyn Server>,
    pub state: Arc<State>,
}

impl Fixture {
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

/// Binds the suite's provider on `addr`, with handlers on the IO threads (`direct`) or the
/// executor's pool.
pub fn provider_on(exec: &dyn Executor, addr: &str, direct: bool, config: Config) -> Fixture {
    let state = Arc::new(State::default());
    let spawner = exec.spawner();
    let dispatch = if direct {
        Dispatch::Direct
    } else {
        Dispatch::Pool(exec.pool_spawner())
    };
    let provider = Provider::new(dispatch, spawner).export(suite_service(exec, &state));
    let server = exec
        .bind(addr, config, Arc::new(provider), Opts::default())
        .unwrap_or_else(|e| panic!("{}: bind {addr}: {e}", exec.name()));
    Fixture { server, state }
}

/// [`provider`] also exporting `extra` services (a metadata service, say).
pub fn provider_exporting(exec: &dyn Executor, extra: Vec<Service>) -> Fixture {
    let state = Arc::new(State::default());
    let mut provider = Provider::new(Dispatch::Pool(exec.pool_spawner()), exec.spawner())
        .export(suite_service(exec, &state));
    for service in extra {
        provider = provider.export(service);
    }
    let server = exec.bind_local(Arc::new(provider));
    Fixture { server, state }
}

/// [`provider_on`] a free port, handlers on the pool, default configuration.
pub fn provider(exec: &dyn Executor) -> Fixture {
    provider_on(exec, "127.0.0.1:0", false, Config::new(Side::Provider))
}

/// A reference to the demo service over `connections` connections, answering callbacks.
pub fn reference_with(
    exec: &dyn Executor,
    addr: SocketAddr,
    connections: usize,
    config: Config,
) -> (Reference, Arc<Channels>) {
    let handler = CallbackDispatcher::new(Dispatch::Direct, exec.spawner());
    let backoff = Backoff::new(ms(20), ms(200));
    let opts = Opts::default().request_handler(Arc::new(handler));
    let channels = exec
        .reference_channels(addr, n(connections), config, opts, backoff)
        .unwrap_or_else(|e| panic!("{}: connect {addr}: {e}", exec.name()));
    let reference = Reference::builder(demo::SERVICE)
        .version(demo::VERSION)
        .build(channels.clone());
    (reference, channels)
}

/// A reference over two connections with the consumer defaults.
pub fn reference(exec: &dyn Executor, addr: SocketAddr) -> Reference {
    reference_with(exec, addr, 2, Config::new(Side::Consumer)).0
}

/// A reference over one connection opened with `config`, and that connection.
pub fn single(
    exec: &dyn Executor,
    addr: SocketAddr,
    config: Config,
) -> (Reference, SharedConnection, Completion<ConnectionError>) {
    let (conn, closed) = exec.connect(addr, config, Opts::default()).unwrap();
    let channels = Arc::new(Channels::single(conn.clone()));
    let reference = Reference::builder(demo::SERVICE)
        .version(demo::VERSION)
        .build(channels);
    (reference, conn, closed)
}

fn keepalive(heartbeat_ms: Option<u64>, idle_ms: u64) -> Keepalive {
    Keepalive::new(heartbeat_ms.map(ms), Some(ms(idle_ms))).unwrap()
}

// ------------------------------------------------------------------------------------------
// RPC scenarios: the consumer and provider layers.

/// The interop consumer cases (every method, every Hessian form) against the provider with
/// handlers on its IO threads.
pub fn interop_cases_with_direct_dispatch(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider_on(p, "127.0.0.1:0", true, Config::new(Side::Provider));
    let reference = reference(c, fixture.addr());
    assert_eq!(report(&consumer_cases(&reference)), 0);
}

/// The interop consumer cases against the provider with handlers on a pool.
pub fn interop_cases_with_pool_dispatch(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());
    assert_eq!(report(&consumer_cases(&reference)), 0);
}

/// Handlers run where the dispatch policy says: on the connection's IO thread, or the pool.
pub fn handler_placement(p: &dyn Executor, c: &dyn Executor) {
    let (io, pool) = (p.io_thread_prefix(), p.pool_thread_prefix());
    let ran_on = |direct| {
        let fixture = provider_on(p, "127.0.0.1:0", direct, Config::new(Side::Provider));
        let reference = reference(c, fixture.addr());
        reference
            .method::<(), String>("threadName")
            .call_blocking(())
            .unwrap()
    };
    let direct = ran_on(true);
    assert!(
        direct.starts_with(io) && !direct.starts_with(pool),
        "direct: ran on {direct}"
    );
    let pooled = ran_on(false);
    assert!(pooled.starts_with(pool), "pool: ran on {pooled}");
}

/// Sync, async (many in parallel), `sent=true`, and one-way calls.
pub fn call_modes(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());

    // Sync.
    let hello = reference.method::<(String,), String>("sayHello");
    assert_eq!(hello.call_blocking(("sync".into(),)).unwrap(), "Hello sync");

    // Async: twenty 300 ms calls at once take far less than twenty times 300 ms.
    let sleep = reference
        .method::<(i64,), i64>("sleep")
        .timeout(CALL_TIMEOUT);
    let started = Instant::now();
    let calls: Vec<_> = (0..20).map(|_| sleep.call((300,))).collect();
    for call in calls {
        assert_eq!(within(call).unwrap(), 300);
    }
    let elapsed = started.elapsed();
    assert!(elapsed < ms(3_000), "20 parallel calls took {elapsed:?}");

    // `sent=true`: returns once written, then the answer as usual.
    let sent = reference.method::<(String,), String>("sayHello").sent(true);
    assert_eq!(within(sent.call(("sent".into(),))).unwrap(), "Hello sent");
    assert_eq!(
        sent.call_blocking(("sent sync".into(),)).unwrap(),
        "Hello sent sync"
    );

    // One-way: no answer; the provider gets them all.
    let log = reference.method::<(String,), ()>("log");
    for i in 0..50 {
        log.oneway((format!("line {i}"),)).unwrap();
    }
    log.clone().sent(true).oneway(("written".into(),)).unwrap();
    eventually("every one-way call arrived", || {
        fixture.state.logged.load(Ordering::SeqCst) == 51
    });
    // Nothing came back for them.
    assert_eq!(
        hello.call_blocking(("after".into(),)).unwrap(),
        "Hello after"
    );
    for conn in fixture.server.connections() {
        assert_eq!(conn.with(|c, _| c.inbound_in_flight()), 0);
    }
}

/// `oninvoke`, `onreturn` and `onthrow` run once each, in order, for sync and async calls.
pub fn event_listeners(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());
    let (tx, rx) = mpsc::channel();
    let listen = |method: &str| {
        let (invoked, returned, threw) = (tx.clone(), tx.clone(), tx.clone());
        reference
            .method::<(String,), String>(method)
            .on_invoke(move |(arg,)| invoked.send(format!("invoke {arg}")).unwrap())
            .on_return(move |r, _| returned.send(format!("return {r}")).unwrap())
            .on_throw(move |e, (arg,)| {
                let kind = matches!(e, RpcError::Business(_));
                threw.send(format!("throw {arg} business={kind}")).unwrap()
            })
    };
    let hello = listen("sayHello");
    hello.call_blocking(("a".into(),)).unwrap();
    within(hello.call(("b".into(),))).unwrap();
    let fail = listen("throwException");
    assert!(fail.call_blocking(("c".into(),)).is_err());
    assert!(within(fail.call(("d".into(),))).is_err());
    let events: Vec<String> = rx.try_iter().collect();
    assert_eq!(
        events,
        [
            "invoke a",
            "return Hello a",
            "invoke b",
            "return Hello b",
            "invoke c",
            "throw c business=true",
            "invoke d",
            "throw d business=true",
        ]
    );
}

/// A provider calls a consumer's callback 1,000 times over the consumer's connection; the
/// calls arrive in order, each once.
pub fn a_callback_invoked_a_thousand_times(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());
    let (tx, rx) = mpsc::channel();
    let listener = Callback::<Listener>::new(
        Service::new("org.apache.dubbo.demo.Listener").method("changed", move |_, (i,): (i32,)| {
            tx.send(i).unwrap();
            Ok(())
        }),
    );
    reference
        .method::<(i32, Callback<Listener>), ()>("notify")
        .call_blocking((1_000, listener))
        .unwrap();
    let got: Vec<i32> = (0..1_000)
        .map(|_| rx.recv_timeout(PATIENCE).unwrap())
        .collect();
    assert_eq!(got, (0..1_000).collect::<Vec<_>>(), "in order, each once");
}

/// A slow method times out at the caller's timeout, long before it would answer, and the
/// connection goes on.
pub fn timeouts(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());
    // A call pending with a long timeout first: the shorter deadlines after it must still
    // fire on time (an IO loop asleep until the long one must be woken for them).
    let long = reference
        .method::<(i64,), i64>("sleep")
        .timeout(ms(60_000))
        .call((10_000,));
    let slow = reference.method::<(i64,), i64>("sleep").timeout(ms(300));
    let started = Instant::now();
    assert!(matches!(
        slow.call_blocking((10_000,)),
        Err(RpcError::Timeout { .. })
    ));
    assert!(matches!(
        within(slow.call((10_000,))),
        Err(RpcError::Timeout { .. })
    ));
    let elapsed = started.elapsed();
    assert!(elapsed < ms(5_000), "timed out after {elapsed:?}");
    let hello = reference.method::<(String,), String>("sayHello");
    assert_eq!(hello.call_blocking(("on".into(),)).unwrap(), "Hello on");
    drop(long);
}

/// Business exceptions, a panicking handler, unknown methods and services: each a typed
/// error, and the connection goes on.
pub fn remote_exceptions(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());
    match reference
        .method::<(String,), String>("throwException")
        .call_blocking(("bad".into(),))
    {
        Err(RpcError::Business(e)) => {
            assert_eq!(e.message.as_deref(), Some("bad"));
            assert!(e.class.ends_with("Exception"));
        }
        other => panic!("got {other:?}"),
    }
    match reference.method::<(), String>("boom").call_blocking(()) {
        Err(RpcError::Remote { status, message }) => {
            assert_eq!(status, Status::SERVICE_ERROR);
            assert!(message.contains("panicked"), "{message}");
        }
        other => panic!("got {other:?}"),
    }
    assert!(matches!(
        reference
            .method::<(), String>("noSuchMethod")
            .call_blocking(()),
        Err(RpcError::ServiceNotFound(_))
    ));
    let elsewhere =
        Reference::builder("org.example.Nothing").build_with(reference.directory().clone());
    assert!(matches!(
        elsewhere.method::<(), String>("ping").call_blocking(()),
        Err(RpcError::ServiceNotFound(_))
    ));
    assert_eq!(
        reference
            .method::<(), String>("ping")
            .call_blocking(())
            .unwrap(),
        "pong"
    );
}

/// A provider killed with 1,000 calls pending fails them all at once (not at their
/// timeout); when it comes back on the same port, the reference reconnects by itself.
pub fn disconnect_fails_a_thousand_pending_calls_at_once_then_reconnect(
    p: &dyn Executor,
    c: &dyn Executor,
) {
    let fixture = provider(p);
    let addr = fixture.addr();
    let (reference, channels) = reference_with(c, addr, 2, Config::new(Side::Consumer));
    let hang = reference.method::<(), ()>("hang").timeout(CALL_TIMEOUT);
    let pending: Vec<_> = (0..1_000).map(|_| hang.call(())).collect();
    eventually("all 1,000 calls reached their handler", || {
        fixture.state.hung.lock().len() == 1_000
    });

    let killed = Instant::now();
    let Fixture { server, state } = fixture;
    drop(server);
    for call in pending {
        assert!(matches!(within(call), Err(RpcError::Network(_))));
    }
    let elapsed = killed.elapsed();
    assert!(elapsed < CALL_TIMEOUT / 4, "failed after {elapsed:?}");
    state.release();

    // The provider comes back on the same port (once the old listener is gone).
    let deadline = Instant::now() + PATIENCE;
    let _fixture = loop {
        let state = Arc::new(State::default());
        let provider = Provider::new(Dispatch::Pool(p.pool_spawner()), p.spawner())
            .export(suite_service(p, &state));
        let config = Config::new(Side::Provider);
        match p.bind(
            &addr.to_string(),
            config,
            Arc::new(provider),
            Opts::default(),
        ) {
            Ok(server) => break Fixture { server, state },
            Err(e) => assert!(Instant::now() < deadline, "rebind {addr}: {e}"),
        }
        thread::sleep(ms(20));
    };
    let hello = reference.method::<(String,), String>("sayHello");
    eventually("calls succeed again", || {
        hello
            .call_blocking(("again".into(),))
            .is_ok_and(|r| r == "Hello again")
    });
    eventually("both slots reconnected", || {
        (0..channels.len()).all(|i| channels.get(i).is_some())
    });
}

/// Heartbeats keep an idle reference connected: the provider closes connections it has
/// not read from for 2 s, and 3 s of silence later the connection is the same.
///
/// The margins are wide on purpose: with 600 ms of idle timeout against heartbeats every
/// 100 ms, a stall of half a second on a loaded two-core machine closed the connection.
/// Now only a stall of nearly 2 s does, while a consumer that sends no heartbeat is still
/// closed a full second before the check.
pub fn heartbeats_keep_an_idle_reference_connected(p: &dyn Executor, c: &dyn Executor) {
    let mut provider_config = Config::new(Side::Provider);
    provider_config = provider_config.keepalive(keepalive(None, 2_000));
    let fixture = provider_on(p, "127.0.0.1:0", false, provider_config);
    let mut config = Config::new(Side::Consumer);
    config = config.keepalive(keepalive(Some(100), 2_000));
    let (reference, channels) = reference_with(c, fixture.addr(), 1, config);
    let first = channels.get(0).unwrap();
    thread::sleep(ms(3_000));
    assert!(channels.get(0).unwrap().same(&first), "no reconnect");
    assert_eq!(first.close_reason(), None);
    assert!(first.with(|c, _| c.stats().heartbeats_sent) >= 3);
    let server_side = fixture.server.connections();
    assert_eq!(server_side.len(), 1);
    assert!(server_side[0].with(|c, _| c.stats().heartbeats_answered) >= 3);
    assert_eq!(
        reference
            .method::<(), String>("ping")
            .call_blocking(())
            .unwrap(),
        "pong"
    );
}

/// A peer that never answers is closed after the idle timeout, failing the call pending on
/// it with the reason.
pub fn a_silent_peer_is_closed_after_the_idle_timeout(_: &dyn Executor, c: &dyn Executor) {
    // Connections complete in the listener's backlog: nobody accepts, reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = Config::new(Side::Consumer);
    config = config.keepalive(keepalive(Some(100), 300));
    let started = Instant::now();
    let (conn, closed) = c
        .connect(silent.local_addr().unwrap(), config, Opts::default())
        .unwrap();
    let call = conn
        .start_call(CallOptions::new(CALL_TIMEOUT), b"anyone?".to_vec())
        .unwrap();
    let idle = ConnectionError::IdleTimeout { idle: ms(300) };
    assert_eq!(within(closed), idle);
    assert!(started.elapsed() >= ms(300));
    assert_eq!(
        within(call.response).unwrap_err(),
        CallError::ConnectionLost(idle)
    );
    assert!(conn.with(|c, _| c.stats().heartbeats_sent) >= 1);
}

/// Graceful shutdown: read-only announced, every request in flight answered, then closed;
/// no new connections.
pub fn graceful_shutdown_answers_requests_in_flight(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let addr = fixture.addr();
    let (reference, conn, closed) = single(c, addr, Config::new(Side::Consumer));
    let sleep = reference
        .method::<(i64,), i64>("sleep")
        .timeout(CALL_TIMEOUT);
    let calls: Vec<_> = (0..10).map(|_| sleep.call((300,))).collect();
    eventually("the provider holds all ten", || {
        let conns = fixture.server.connections();
        conns.len() == 1 && conns[0].with(|c, _| c.inbound_in_flight()) == 10
    });

    let deadline = Instant::now() + PATIENCE;
    let server = fixture.server;
    let shutdown = thread::spawn(move || server.shutdown(deadline));
    for call in calls {
        assert_eq!(within(call).unwrap(), 300);
    }
    assert!(shutdown.join().unwrap(), "drained before the deadline");
    assert!(conn.is_peer_read_only(), "read-only was announced");
    assert_eq!(within(closed), ConnectionError::TransportClosed);
    assert!(
        c.connect(addr, Config::new(Side::Consumer), Opts::default())
            .is_err()
    );
}

/// A shutdown whose requests never finish closes them at its deadline.
pub fn shutdown_gives_up_at_its_deadline(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let (reference, _conn, _closed) = single(c, fixture.addr(), Config::new(Side::Consumer));
    let call = reference
        .method::<(), ()>("hang")
        .timeout(CALL_TIMEOUT)
        .call(());
    eventually("the call is held", || fixture.state.hung.lock().len() == 1);
    let drained = fixture.server.shutdown(Instant::now() + ms(200));
    assert!(!drained);
    assert!(matches!(within(call), Err(RpcError::Network(_))));
}

/// The payload limit holds both ways and on both sides: oversized requests and responses
/// fail fast with an error (never a timeout), and the connection goes on.
pub fn payload_limit(p: &dyn Executor, c: &dyn Executor) {
    let limit = 64 * 1024;
    let quick = |r: &Reference| r.method::<(i32,), String>("repeat").timeout(CALL_TIMEOUT);
    let not_timeout = |result: Result<String, RpcError>| match result {
        Err(RpcError::Timeout { .. }) | Ok(_) => panic!("got {result:?}"),
        Err(_) => {}
    };

    // The provider's limit: a response over it is replaced by an error status.
    let mut config = Config::new(Side::Provider);
    config = config.payload_limit(PayloadLimit::new(limit));
    let fixture = provider_on(p, "127.0.0.1:0", false, config);
    let reference = reference(c, fixture.addr());
    not_timeout(quick(&reference).call_blocking((100_000,)));
    // A request over it is refused by the provider.
    let big = "y".repeat(100_000);
    match reference
        .method::<(Option<String>,), Option<String>>("echoString")
        .timeout(CALL_TIMEOUT)
        .call_blocking((Some(big.clone()),))
    {
        Err(RpcError::Timeout { .. }) | Ok(_) => panic!("an oversized request was accepted"),
        Err(_) => {}
    }
    assert_eq!(
        quick(&reference).call_blocking((10,)).unwrap(),
        "x".repeat(10)
    );

    // The consumer's limit: an oversized request fails at its start, an oversized response
    // is discarded.
    let fixture = provider(p);
    let mut config = Config::new(Side::Consumer);
    config = config.payload_limit(PayloadLimit::new(limit));
    let (reference, _) = reference_with(c, fixture.addr(), 1, config);
    assert!(matches!(
        reference
            .method::<(Option<String>,), Option<String>>("echoString")
            .call_blocking((Some(big),)),
        Err(RpcError::Serialization(_))
    ));
    not_timeout(quick(&reference).call_blocking((100_000,)));
    assert_eq!(
        quick(&reference).call_blocking((10,)).unwrap(),
        "x".repeat(10)
    );
}

/// The in-flight limits: the consumer refuses calls past its own at their start; the
/// provider answers requests past its own with status 100.
pub fn in_flight_limit(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let mut config = Config::new(Side::Consumer);
    config = config.max_in_flight(n(8));
    let (reference, _conn, _closed) = single(c, fixture.addr(), config);
    let hang = reference.method::<(), ()>("hang").timeout(CALL_TIMEOUT);
    let held: Vec<_> = (0..8).map(|_| hang.call(())).collect();
    assert!(matches!(
        within(hang.call(())),
        Err(RpcError::LimitExceeded(_))
    ));
    eventually("eight held", || fixture.state.hung.lock().len() == 8);
    fixture.state.release();
    for call in held {
        within(call).unwrap();
    }

    let mut config = Config::new(Side::Provider);
    config = config.max_inbound_in_flight(n(8));
    let fixture = provider_on(p, "127.0.0.1:0", false, config);
    let (reference, _conn, _closed) = single(c, fixture.addr(), Config::new(Side::Consumer));
    let hang = reference.method::<(), ()>("hang").timeout(CALL_TIMEOUT);
    let held: Vec<_> = (0..8).map(|_| hang.call(())).collect();
    eventually("eight held", || fixture.state.hung.lock().len() == 8);
    assert!(matches!(
        within(hang.call(())),
        Err(RpcError::LimitExceeded(_))
    ));
    fixture.state.release();
    for call in held {
        within(call).unwrap();
    }
    let ping = reference.method::<(), String>("ping");
    assert_eq!(ping.call_blocking(()).unwrap(), "pong");
}

/// Completion continuations run on the consumer connection's IO thread by default, on the
/// callback pool when one is configured.
pub fn continuations_run_inline_or_on_the_callback_pool(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    for pool in [false, true] {
        let mut opts = Opts::default();
        if pool {
            opts = opts.continuation_executor(c.callback_pool(2, 64));
        }
        let (conn, _closed) = c
            .connect(fixture.addr(), Config::new(Side::Consumer), opts)
            .unwrap();
        let reference = Reference::builder(demo::SERVICE)
            .version(demo::VERSION)
            .build(Arc::new(Channels::single(conn)));
        let (tx, rx) = mpsc::channel();
        // A 300 ms call: the continuation is registered long before the answer, so it runs
        // where the answer is delivered.
        reference
            .method::<(i64,), i64>("sleep")
            .call((300,))
            .on_complete(move |result| {
                assert!(result.is_ok());
                let name = thread::current().name().unwrap_or("unnamed").to_owned();
                tx.send(name).unwrap();
            });
        let name = rx.recv_timeout(PATIENCE).unwrap();
        let want = if pool {
            "tether-continue-"
        } else {
            c.io_thread_prefix()
        };
        assert!(name.starts_with(want), "pool: {pool}, ran on {name}");
    }
}

/// Many threads making sync calls at once on one reference.
pub fn sync_calls_from_many_threads(p: &dyn Executor, c: &dyn Executor) {
    let fixture = provider(p);
    let reference = reference(c, fixture.addr());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let hello = reference.method::<(String,), String>("sayHello");
            thread::spawn(move || {
                for i in 0..250 {
                    let name = format!("{t}/{i}");
                    assert_eq!(
                        hello.call_blocking((name.clone(),)).unwrap(),
                        format!("Hello {name}")
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

// ------------------------------------------------------------------------------------------
// Transport scenarios: opaque bodies over `SharedConnection`s, and raw sockets.

/// A provider of opaque bodies: echoes them, with a few special ones.
#[derive(Default)]
pub struct Echo {
    one_way: AtomicUsize,
    /// Requests deliberately left unanswered (`hang`), kept so they stay in flight.
    hung: Mutex<Vec<InboundRequest>>,
}

impl RequestHandler for Echo {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        if !request.two_way {
            self.one_way.fetch_add(1, Ordering::SeqCst);
            return;
        }
        match &request.body[..] {
            b"hang" => self.hung.lock().push(request),
            // Calls the consumer back over the same connection and answers with the status
            // of that reverse call.
            b"call me back" | b"call a listener back" => {
                let reverse = match &request.body[..] {
                    b"call me back" => b"rev".to_vec(),
                    _ => listener_callback_body(),
                };
                let Ok(call) = conn.start_call(CallOptions::new(CALL_TIMEOUT), reverse) else {
                    return;
                };
                let conn = conn.clone();
                call.response.on_complete(move |outcome| {
                    let status = match outcome {
                        Ok(response) => response.status,
                        Err(e) => e.status(),
                    };
                    let _ = conn.respond(
                        request.id,
                        Status::OK,
                        request.serialization,
                        vec![status.0],
                    );
                });
            }
            _ => {
                let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
            }
        }
    }
}

fn echo_server(p: &dyn Executor, config: Config) -> (Box<dyn Server>, Arc<Echo>) {
    let echo = Arc::new(Echo::default());
    let server = p
        .bind("127.0.0.1:0", config, echo.clone(), Opts::default())
        .unwrap();
    (server, echo)
}

fn echo_client(
    c: &dyn Executor,
    server: &dyn Server,
) -> (SharedConnection, Completion<ConnectionError>) {
    c.connect(
        server.local_addr(),
        Config::new(Side::Consumer),
        Opts::default(),
    )
    .unwrap()
}

fn call(conn: &SharedConnection, body: Vec<u8>) -> CallResult {
    within(
        conn.start_call(CallOptions::new(CALL_TIMEOUT), body)
            .unwrap()
            .response,
    )
}

/// 10,000 calls in flight on one connection, each answered with its own body.
pub fn ten_thousand_calls_in_flight_on_one_connection(p: &dyn Executor, c: &dyn Executor) {
    let (server, _) = echo_server(p, Config::new(Side::Provider));
    let (conn, _closed) = echo_client(c, &*server);
    let calls: Vec<_> = (0..10_000u32)
        .map(|i| {
            conn.start_call(CallOptions::new(CALL_TIMEOUT), i.to_le_bytes().to_vec())
                .unwrap()
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        let response = within(call.response).unwrap();
        assert_eq!(&response.body[..], &(i as u32).to_le_bytes());
    }
    assert_eq!(conn.with(|c, _| c.in_flight()), 0);
}

/// 64 tasks on the consumer's spawner, each making 200 calls one after another on one
/// connection, each answered with its own body.
pub fn calls_from_many_tasks_concurrently(p: &dyn Executor, c: &dyn Executor) {
    const TASKS: u32 = 64;
    let (server, _) = echo_server(p, Config::new(Side::Provider));
    let (conn, _closed) = echo_client(c, &*server);
    let spawner = c.spawner();
    let (done, finished) = mpsc::channel();
    for t in 0..TASKS {
        let (conn, done) = (conn.clone(), done.clone());
        spawner.spawn(Box::pin(async move {
            let mut outcome = Ok(());
            for i in 0..200u32 {
                let body = format!("{t}/{i}").into_bytes();
                let call = match conn.start_call(CallOptions::new(CALL_TIMEOUT), body.clone()) {
                    Ok(call) => call,
                    Err(e) => {
                        outcome = Err(format!("task {t}, call {i}: {e}"));
                        break;
                    }
                };
                match call.response.await {
                    Ok(response) if response.body[..] == body[..] => {}
                    other => {
                        outcome = Err(format!("task {t}, call {i}: {other:?}"));
                        break;
                    }
                }
            }
            let _ = done.send(outcome);
        }));
    }
    // A task that panicked sends nothing: once the others are done, the channel is
    // disconnected and the wait fails at once instead of hanging.
    drop(done);
    for _ in 0..TASKS {
        let outcome = finished
            .recv_timeout(PATIENCE)
            .expect("every task finished");
        outcome.unwrap();
    }
    assert_eq!(conn.with(|c, _| c.in_flight()), 0);
}

/// `sent` notifications for calls and one-way requests; one-way requests get no answer.
pub fn sent_notifications_and_one_way_requests(p: &dyn Executor, c: &dyn Executor) {
    let (server, echo) = echo_server(p, Config::new(Side::Provider));
    let (conn, _closed) = echo_client(c, &*server);
    let call = conn
        .start_call(
            CallOptions::new(CALL_TIMEOUT).notify_sent(true),
            b"sent?".to_vec(),
        )
        .unwrap();
    within(call.sent.expect("asked for")).unwrap();
    assert_eq!(&within(call.response).unwrap().body[..], b"sent?");
    let oneway = conn
        .send_oneway(SerializationId::HESSIAN2, true, b"fire".to_vec())
        .unwrap();
    within(oneway.sent.expect("asked for")).unwrap();
    for _ in 0..99 {
        conn.send_oneway(SerializationId::HESSIAN2, false, b"one way".to_vec())
            .unwrap();
    }
    eventually("100 one-way requests", || {
        echo.one_way.load(Ordering::SeqCst) == 100
    });
    assert_eq!(&call_body(&conn, b"two way"), b"two way");
    assert_eq!(conn.with(|c, _| c.stats().late_responses), 0);
}

fn call_body(conn: &SharedConnection, body: &[u8]) -> Vec<u8> {
    call(conn, body.to_vec()).unwrap().body.to_vec()
}

/// A 4 MiB body each way, then small calls as before.
pub fn four_mib_body_both_ways(p: &dyn Executor, c: &dyn Executor) {
    let (server, _) = echo_server(p, Config::new(Side::Provider));
    let (conn, _closed) = echo_client(c, &*server);
    let body: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let response = call(&conn, body.clone()).unwrap();
    assert!(response.body[..] == body[..]);
    assert_eq!(&call_body(&conn, b"small"), b"small");
}

/// Either end closing fails what is pending on the other at once.
pub fn either_end_closing_is_seen_at_once(p: &dyn Executor, c: &dyn Executor) {
    let (server, echo) = echo_server(p, Config::new(Side::Provider));
    let (conn, closed) = echo_client(c, &*server);
    let pending = conn
        .start_call(CallOptions::new(CALL_TIMEOUT), b"hang".to_vec())
        .unwrap();
    eventually("held", || echo.hung.lock().len() == 1);
    let started = Instant::now();
    server.connections()[0].close();
    assert_eq!(
        within(pending.response).unwrap_err(),
        CallError::ConnectionLost(ConnectionError::TransportClosed)
    );
    assert_eq!(within(closed), ConnectionError::TransportClosed);
    assert!(started.elapsed() < CALL_TIMEOUT / 4);
    assert!(
        conn.start_call(CallOptions::default(), b"late".to_vec())
            .is_err()
    );

    // The client closing is seen by the server, which forgets the connection.
    let (conn, closed) = echo_client(c, &*server);
    assert_eq!(&call_body(&conn, b"hello"), b"hello");
    eventually("one connection", || server.connections().len() == 1);
    let server_side = server.connections().remove(0);
    conn.close();
    assert_eq!(within(closed), ConnectionError::LocallyClosed);
    eventually("the server saw the end", || {
        server_side.close_reason() == Some(ConnectionError::TransportClosed)
    });
    eventually("the server forgot it", || server.connections().is_empty());
}

/// A provider calling back over a consumer connection that exports nothing gets an answer
/// at once: status 70 for a callback not exported, as from a Java consumer without the
/// export, and 40 for a body nobody can read (the default options serve the consumer's
/// callbacks with no wiring).
pub fn a_consumer_without_handler_answers_callbacks_not_found(p: &dyn Executor, c: &dyn Executor) {
    let (server, _) = echo_server(p, Config::new(Side::Provider));
    let (conn, _closed) = echo_client(c, &*server);
    let status = Status(call_body(&conn, b"call a listener back")[0]);
    assert_eq!(status, Status::SERVICE_ERROR);
    let status = Status(call_body(&conn, b"call me back")[0]);
    assert_eq!(status, Status::BAD_REQUEST);
}

/// A well-formed invocation of `CallbackListener.changed("k:0")`, callback instance 1: what
/// a provider sends to call a consumer's listener back.
fn listener_callback_body() -> Vec<u8> {
    let mut attachments = tether_core::message::Attachments::new();
    attachments.insert("callback.service.instid", "1");
    let mut body = Vec::new();
    tether_core::message::RequestBody {
        dubbo_version: tether_core::message::DUBBO_VERSION,
        path: "org.apache.dubbo.demo.CallbackListener",
        version: None,
        method: "changed",
        parameter_types: "Ljava/lang/String;",
        args: &("k:0".to_owned(),),
        attachments: &attachments,
    }
    .encode(&mut body)
    .expect("encodes");
    body
}

/// Connecting to a port nobody listens on fails.
pub fn connecting_to_a_closed_port_fails(_: &dyn Executor, c: &dyn Executor) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let opts = Opts {
        connect_timeout: Some(ms(5_000)),
        ..Opts::default()
    };
    assert!(c.connect(addr, Config::new(Side::Consumer), opts).is_err());
}

/// A raw two-way request frame with a Hessian2 serialization id (`docs/protocol.md` §1).
fn request_frame(id: u64, body: &[u8]) -> Vec<u8> {
    let mut frame = vec![0xDA, 0xBB, 0xC2, 0];
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// A peer sending garbage is disconnected; the others go on.
pub fn a_peer_sending_garbage_is_disconnected(p: &dyn Executor, c: &dyn Executor) {
    use std::io::{Read, Write};
    let (server, _) = echo_server(p, Config::new(Side::Provider));
    let (good, _closed) = echo_client(c, &*server);
    assert_eq!(&call_body(&good, b"before"), b"before");
    let mut bad = TcpStream::connect(server.local_addr()).unwrap();
    bad.set_read_timeout(Some(PATIENCE)).unwrap();
    eventually("two connections", || server.connections().len() == 2);
    bad.write_all(&[0xFF; 64]).unwrap();
    let mut buf = [0u8; 64];
    let read = bad.read(&mut buf);
    assert!(matches!(read, Ok(0) | Err(_)), "got {read:?}");
    eventually("one connection", || server.connections().len() == 1);
    assert_eq!(&call_body(&good, b"after"), b"after");
    assert_eq!(good.close_reason(), None);
}

/// A peer that sends without reading is pushed back: the provider stops reading once its
/// send buffer is at the high-water mark, holding a bounded amount, and answers everything
/// once the peer reads again.
pub fn a_peer_that_does_not_read_is_pushed_back(p: &dyn Executor, _: &dyn Executor) {
    use std::io::{Read, Write};
    const REQUESTS: u64 = 20_000;
    const BODY: usize = 1024;
    let mut config = Config::new(Side::Provider);
    config = config.send_buffer_high_water(n(64 * 1024));
    let (server, _) = echo_server(p, config);
    let stream = TcpStream::connect(server.local_addr()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    // 20 MiB of requests, written without reading a single answer.
    let writing = thread::spawn(move || {
        for id in 0..REQUESTS {
            writer.write_all(&request_frame(id, &[b'x'; BODY])).unwrap();
        }
    });
    eventually("one connection", || server.connections().len() == 1);
    let server_side = server.connections().remove(0);
    let mut most = 0;
    for _ in 0..100 {
        most = most.max(server_side.with(|c, _| c.unwritten_bytes()));
        thread::sleep(ms(5));
    }
    assert!(most < 1024 * 1024, "server buffered {most} bytes");
    assert!(!writing.is_finished(), "TCP should push back on the writer");
    assert_eq!(server_side.close_reason(), None);

    let mut reader = stream;
    reader.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = vec![0u8; 16 + BODY];
    for _ in 0..REQUESTS {
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(buf[3], Status::OK.0);
    }
    writing.join().unwrap();
}

/// Generates one `#[test]` per named scenario, with fresh executors from `$provider` and
/// `$consumer`.
#[macro_export]
macro_rules! conformance_tests {
    ($provider:expr, $consumer:expr => $($scenario:ident)*) => {
        $(
            #[test]
            fn $scenario() {
                let provider = $provider;
                let consumer = $consumer;
                $crate::conformance::$scenario(&provider, &consumer);
            }
        )*
    };
}

/// The scenarios of the consumer and provider layers, for pairs of adapters.
#[macro_export]
macro_rules! rpc_scenarios {
    ($provider:expr, $consumer:expr) => {
        $crate::conformance_tests!($provider, $consumer =>
            interop_cases_with_direct_dispatch
            interop_cases_with_pool_dispatch
            call_modes
            event_listeners
            a_callback_invoked_a_thousand_times
            timeouts
            remote_exceptions
            disconnect_fails_a_thousand_pending_calls_at_once_then_reconnect
            heartbeats_keep_an_idle_reference_connected
            graceful_shutdown_answers_requests_in_flight
            payload_limit
            in_flight_limit
            ten_thousand_calls_in_flight_on_one_connection
            calls_from_many_tasks_concurrently
        );
    };
}

/// Every scenario.
#[macro_export]
macro_rules! all_scenarios {
    ($provider:expr, $consumer:expr) => {
        $crate::rpc_scenarios!($provider, $consumer);
        $crate::conformance_tests!($provider, $consumer =>
            handler_placement
            a_silent_peer_is_closed_after_the_idle_timeout
            shutdown_gives_up_at_its_deadline
            continuations_run_inline_or_on_the_callback_pool
            sync_calls_from_many_threads
            sent_notifications_and_one_way_requests
            four_mib_body_both_ways
            either_end_closing_is_seen_at_once
            a_consumer_without_handler_answers_callbacks_not_found
            connecting_to_a_closed_port_fails
            a_peer_sending_garbage_is_disconnected
            a_peer_that_does_not_read_is_pushed_back
        );
    };
}
