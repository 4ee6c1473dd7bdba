//! The consumer layer over an in-memory loopback: call modes, listeners, error kinds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tether_core::consumer::{Channels, Reference, RpcError};
use tether_core::message::JavaException;
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{Clock, TimeoutPhase};
use tether_tests::{Loopback, QueueSpawner, VirtualClock};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

/// A future that is ready once the virtual clock reaches `until`.
struct Sleep {
    clock: VirtualClock,
    until: Instant,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.clock.now() >= self.until {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A loopback whose provider exports the demo methods used here; `clock` lets async
/// handlers sleep in virtual time.
fn setup(token: Option<&str>) -> (Arc<Loopback>, Reference) {
    let spawner = QueueSpawner::default();
    let clock_cell: Arc<Mutex<Option<VirtualClock>>> = Arc::default();
    let clock_for_handlers = clock_cell.clone();
    let mut service = Service::new(SERVICE)
        .version("1.0.0")
        .method("sayHello", |_, (name,): (String,)| {
            Ok(format!("Hello {name}"))
        })
        .method("echoString", |_, (s,): (Option<String>,)| Ok(s))
        .method("throwException", |_, (msg,): (String,)| {
            Err::<String, _>(JavaException::runtime(msg))
        })
        .method("fire", |_, (_,): (String,)| Ok(()))
        .method_async("sleep", move |_, (ms,): (i64,)| {
            let clock = clock_for_handlers.lock().clone().expect("set below");
            let until = clock.now() + Duration::from_millis(ms as u64);
            async move {
                Sleep { clock, until }.await;
                Ok::<_, JavaException>(ms)
            }
        });
    if let Some(token) = token {
        service = service.token(token);
    }
    let provider = Provider::new(Dispatch::Direct, Arc::new(spawner.clone())).export(service);
    let mut lb = Loopback::new(None, Some(Arc::new(provider)));
    lb.spawner = spawner;
    *clock_cell.lock() = Some(lb.clock.clone());
    let reference = Reference::builder(SERVICE)
        .version("1.0.0")
        .build(Arc::new(Channels::single(lb.consumer.clone())));
    (Arc::new(lb), reference)
}

/// Pumps the loopback on a thread (the "IO thread"), advancing virtual time by `tick` per
/// turn, until dropped.
struct Pumper {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Pumper {
    fn start(lb: Arc<Loopback>, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::Builder::new()
            .name("io".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    lb.advance(tick);
                    thread::yield_now();
                }
            })
            .unwrap();
        Self {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Pumper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap();
    }
}

#[test]
fn async_calls_run_in_parallel_on_one_connection() {
    // The findFoo/findBar case: 5 s and 6 s of provider work finish in 6 s, not 11 s.
    let (lb, reference) = setup(None);
    let sleep = reference
        .method::<(i64,), i64>("sleep")
        .timeout(Duration::from_secs(10));
    let start = lb.clock.now();
    let mut foo = sleep.call((5_000,));
    let mut bar = sleep.call((6_000,));
    // Both requests reach the provider at once, at the start.
    lb.pump();
    let mut done = Vec::new();
    for _ in 0..70 {
        lb.advance(Duration::from_millis(100));
        if let Some(v) = foo.try_take() {
            done.push(("foo", v.unwrap(), lb.clock.now() - start));
        }
        if let Some(v) = bar.try_take() {
            done.push(("bar", v.unwrap(), lb.clock.now() - start));
        }
    }
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].0, "foo");
    assert_eq!(done[0].2, Duration::from_millis(5_000));
    assert_eq!(
        done[1].2,
        Duration::from_millis(6_000),
        "in parallel: 6 s in all"
    );

    // And many at once.
    let hello = reference.method::<(String,), String>("sayHello");
    let mut calls: Vec<_> = (0..500).map(|i| hello.call((format!("n{i}"),))).collect();
    lb.pump();
    for (i, call) in calls.iter_mut().enumerate() {
        assert_eq!(call.try_take().unwrap().unwrap(), format!("Hello n{i}"));
    }
}

#[test]
fn sync_calls_block_the_caller_until_result_error_or_timeout() {
    let (lb, reference) = setup(None);
    let _io = Pumper::start(lb.clone(), Duration::from_millis(1));
    let hello = reference.method::<(String,), String>("sayHello");
    assert_eq!(hello.call_blocking(("sync".into(),)).unwrap(), "Hello sync");
    let echo = reference.method::<(Option<String>,), Option<String>>("echoString");
    assert_eq!(echo.call_blocking((None,)).unwrap(), None);

    let throw = reference.method::<(String,), String>("throwException");
    match throw.call_blocking(("bad".into(),)) {
        Err(RpcError::Business(e)) => {
            assert_eq!(e.class, "java.lang.RuntimeException");
            assert_eq!(e.message.as_deref(), Some("bad"));
        }
        other => panic!("{other:?}"),
    }
    let slow = reference
        .method::<(i64,), i64>("sleep")
        .timeout(Duration::from_millis(200));
    match slow.call_blocking((60_000,)) {
        Err(
            e @ RpcError::Timeout {
                phase: TimeoutPhase::ServerSide,
                ..
            },
        ) => assert_eq!(e.code(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn listeners_fire_with_result_error_and_arguments_on_the_right_threads() {
    let (lb, reference) = setup(None);
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let thread_name = || thread::current().name().unwrap_or("?").to_owned();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let hello = reference
        .method::<(String,), String>("sayHello")
        .on_invoke(move |(name,)| {
            l1.lock()
                .push(format!("invoke {name} on {}", thread_name()))
        })
        .on_return(move |r, (name,)| {
            l2.lock()
                .push(format!("return {r} for {name} on {}", thread_name()))
        })
        .on_throw(move |e, (name,)| l3.lock().push(format!("throw {} for {name}", e.code())));
    let caller = thread_name();

    // Async: invoke on the caller, return where the call completes (the pumping thread).
    let pending = hello.call(("a".into(),));
    let io = Pumper::start(lb.clone(), Duration::from_millis(1));
    assert_eq!(pending.wait().unwrap(), "Hello a");
    // Sync: both on the caller.
    hello.call_blocking(("b".into(),)).unwrap();
    drop(io);
    let log = log.lock().clone();
    assert_eq!(
        log,
        [
            format!("invoke a on {caller}"),
            "return Hello a for a on io".to_owned(),
            format!("invoke b on {caller}"),
            format!("return Hello b for b on {caller}"),
        ]
    );

    // onthrow: business exceptions and transport errors alike.
    let errors: Arc<Mutex<Vec<i32>>> = Arc::default();
    let sink = errors.clone();
    let throw = reference
        .method::<(String,), String>("throwException")
        .on_throw(move |e, _| sink.lock().push(e.code()));
    let mut pending = throw.call(("x".into(),));
    lb.pump();
    assert!(matches!(
        pending.try_take(),
        Some(Err(RpcError::Business(_)))
    ));
    lb.consumer.close();
    assert!(matches!(
        throw.call_blocking(("y".into(),)),
        Err(RpcError::NoConnection(_))
    ));
    assert_eq!(*errors.lock(), [3, 6]);
}

#[test]
fn oneway_and_sent() {
    let (lb, reference) = setup(None);
    let fired: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = fired.clone();
    let fire = reference
        .method::<(String,), ()>("fire")
        .on_return(move |(), (arg,)| sink.lock().push(arg.clone()));
    fire.oneway(("x".into(),)).unwrap();
    assert_eq!(fired.lock().len(), 1, "one-way completes at once with null");
    assert_eq!(lb.consumer.lock().in_flight(), 0);
    lb.pump();
    assert_eq!(lb.provider.lock().stats().frames_sent, 0, "never answered");

    // sent=true: the call returns once the bytes were written, which needs the IO thread.
    let _io = Pumper::start(lb.clone(), Duration::from_millis(1));
    let hello = reference.method::<(String,), String>("sayHello").sent(true);
    assert_eq!(hello.call(("s".into(),)).wait().unwrap(), "Hello s");
    reference
        .method::<(String,), ()>("fire")
        .sent(true)
        .oneway(("y".into(),))
        .unwrap();

    // A blocking call with `sent` and a filter waits for the write on the caller's thread
    // too, then for the answer, which the filter sees.
    struct Seen(Arc<Mutex<Vec<bool>>>);
    impl tether_core::consumer::Filter for Seen {
        fn on_outcome(
            &self,
            _: &mut tether_core::consumer::Invocation<'_>,
            outcome: Result<&tether_core::message::Attachments, &RpcError>,
        ) {
            self.0.lock().push(outcome.is_ok());
        }
    }
    let seen: Arc<Mutex<Vec<bool>>> = Arc::default();
    let filtered = Reference::builder(SERVICE)
        .version("1.0.0")
        .filter(Seen(seen.clone()))
        .build_with(reference.directory().clone());
    let hello = filtered.method::<(String,), String>("sayHello").sent(true);
    assert_eq!(hello.call_blocking(("f".into(),)).unwrap(), "Hello f");
    assert_eq!(*seen.lock(), [true]);
}

#[test]
fn error_kinds() {
    let (lb, reference) = setup(Some("secret"));
    let hello = reference.method::<(String,), String>("sayHello");
    let mut pending = hello.call(("x".into(),));
    lb.pump();
    assert!(
        matches!(pending.try_take(), Some(Err(RpcError::Forbidden(m))) if m.starts_with("Invalid token"))
    );

    let with_token = Reference::builder(SERVICE)
        .version("1.0.0")
        .token("secret")
        .build_with(reference.directory().clone());
    let mut pending = with_token
        .method::<(String,), String>("sayHello")
        .call(("x".into(),));
    let mut missing = with_token
        .method::<(String,), String>("nope")
        .call(("x".into(),));
    let mut wrong_type = with_token
        .method::<(String,), i32>("sayHello")
        .call(("x".into(),));
    lb.pump();
    assert_eq!(pending.try_take().unwrap().unwrap(), "Hello x");
    assert!(
        matches!(missing.try_take(), Some(Err(RpcError::ServiceNotFound(m))) if m.contains("nope"))
    );
    assert!(matches!(
        wrong_type.try_take(),
        Some(Err(RpcError::Serialization(_)))
    ));

    // Dropping an async call's completion cancels it.
    let sleep = with_token.method::<(i64,), i64>("sleep");
    drop(sleep.call((10_000,)));
    lb.pump();
    assert_eq!(lb.consumer.lock().in_flight(), 0);

    let nowhere =
        Reference::builder(SERVICE).build(Arc::new(Channels::new(std::num::NonZeroUsize::MIN)));
    assert!(matches!(
        nowhere
            .method::<(String,), String>("sayHello")
            .call(("x".into(),))
            .try_take(),
        Some(Err(RpcError::NoConnection(_)))
    ));
}

#[test]
fn channels_round_robin_and_skip_read_only_connections() {
    let (a, _) = setup(None);
    let (b, _) = setup(None);
    let channels = Arc::new(Channels::new(std::num::NonZeroUsize::new(2).unwrap()));
    channels.set(0, Some(a.consumer.clone()));
    channels.set(1, Some(b.consumer.clone()));
    let reference = Reference::builder(SERVICE).version("1.0.0").build(channels);
    let hello = reference.method::<(String,), String>("sayHello");
    let mut calls: Vec<_> = (0..10).map(|i| hello.call((i.to_string(),))).collect();
    a.pump();
    b.pump();
    assert!(calls.iter_mut().all(|c| c.try_take().unwrap().is_ok()));
    let served = |lb: &Loopback| lb.provider.lock().stats().frames_received;
    assert_eq!((served(&a), served(&b)), (5, 5));

    // b goes read-only: new calls all go to a.
    b.provider
        .with(|conn, now| conn.announce(now, tether_core::Announcement::ReadOnly, false))
        .unwrap();
    b.pump();
    let mut calls: Vec<_> = (0..4).map(|i| hello.call((i.to_string(),))).collect();
    a.pump();
    b.pump();
    assert!(calls.iter_mut().all(|c| c.try_take().unwrap().is_ok()));
    assert_eq!((served(&a), served(&b)), (9, 5));
}

#[test]
fn a_call_with_every_connection_read_only_fails_unsent_until_writeable() {
    // A Java provider shutting down announces read-only with calls in flight (seen against
    // Dubbo 3.3.6 and 2.7.23 in interop_java): the call in flight is answered, a new call
    // fails at once with NoConnection and is never written, and "W" lets calls through again.
    let (lb, reference) = setup(None);
    let hello = reference.method::<(String,), String>("sayHello");
    let mut in_flight = hello.call(("first".into(),));
    lb.provider
        .with(|conn, now| conn.announce(now, tether_core::Announcement::ReadOnly, false))
        .unwrap();
    lb.pump();
    assert!(lb.consumer.is_peer_read_only());
    assert_eq!(in_flight.try_take().unwrap().unwrap(), "Hello first");
    let sent = lb.consumer.with(|c, _| c.stats().frames_sent);
    let mut refused = hello.call(("second".into(),));
    assert!(matches!(
        refused.try_take(),
        Some(Err(RpcError::NoConnection(_)))
    ));
    lb.pump();
    assert_eq!(lb.consumer.with(|c, _| c.stats().frames_sent), sent);
    lb.provider
        .with(|conn, now| conn.announce(now, tether_core::Announcement::Writeable, false))
        .unwrap();
    lb.pump();
    let mut again = hello.call(("third".into(),));
    lb.pump();
    assert_eq!(again.try_take().unwrap().unwrap(), "Hello third");
}

#[test]
fn generic_calls_with_dynamic_values() {
    use tether_core::hessian2::Value;
    let (lb, reference) = setup(None);
    let mut pending = reference.call_generic(
        "sayHello",
        &["java.lang.String"],
        &[Value::String("generic".into())],
    );
    lb.pump();
    assert_eq!(
        pending.try_take().unwrap().unwrap(),
        Value::String("Hello generic".into())
    );
}

#[test]
fn only_owning_channels_close_their_connections_when_dropped() {
    let (a, _) = setup(None);
    let shared = Channels::new(std::num::NonZeroUsize::MIN);
    shared.set(0, Some(a.consumer.clone()));
    drop(shared);
    assert!(
        a.consumer.close_reason().is_none(),
        "a shared connection stays open"
    );
    let owning = Channels::owning(std::num::NonZeroUsize::MIN);
    owning.set(0, Some(a.consumer.clone()));
    drop(owning);
    assert_eq!(
        a.consumer.close_reason(),
        Some(tether_core::ConnectionError::LocallyClosed)
    );
}
