//! Regression tests for defects a review found in the consumer and provider layers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tether_core::consumer::{Channels, Reference};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

fn loopback(dispatch_pool: bool) -> (Arc<Loopback>, Reference) {
    let spawner = QueueSpawner::default();
    let dispatch = if dispatch_pool {
        Dispatch::Pool(Arc::new(spawner.clone()))
    } else {
        Dispatch::Direct
    };
    let provider = Provider::new(dispatch, Arc::new(spawner.clone())).export(
        Service::new(SERVICE)
            .method("sayHello", |_, (name,): (String,)| {
                Ok(format!("Hello {name}"))
            })
            .method("bad", |_, (_,): (String,)| Ok(PanicOnSerialize)),
    );
    let mut lb = Loopback::new(None, Some(Arc::new(provider)));
    lb.spawner = spawner;
    let lb = Arc::new(lb);
    let reference =
        Reference::builder(SERVICE).build(Arc::new(Channels::single(lb.consumer.clone())));
    (lb, reference)
}

struct PanicOnSerialize;
impl serde::Serialize for PanicOnSerialize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("com.acme.Bad", 2)?;
        st.serialize_field("a", &1i32)?;
        panic!("serialize blew up half way");
    }
}
tether_core::java_class!(PanicOnSerialize => "com.acme.Bad");
impl<'de> serde::Deserialize<'de> for PanicOnSerialize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(PanicOnSerialize)
    }
}

/// Dropping a call whose outcome a listener watches does not cancel it (Dubbo's listeners
/// see every outcome), and the listener runs when the answer arrives, never under the
/// connection's lock, where a listener touching the connection would deadlock.
#[test]
fn a_dropped_call_runs_its_listener_outside_the_connection_lock() {
    let (lb, reference) = loopback(false);
    let channels = tether_tests::first_channels(&reference);
    let fired = Arc::new(AtomicUsize::new(0));
    let f2 = fired.clone();
    let method = reference
        .method::<(String,), String>("sayHello")
        .on_return(move |_, _| {
            f2.fetch_add(1, Ordering::SeqCst);
            // Anything that touches the connection: here, asking if it is available.
            let _ = channels.pick();
        });
    let completion = method.call(("a".into(),));
    drop(completion); // not a cancel: the listener watches
    let (tx, rx) = mpsc::channel();
    let lb2 = lb.clone();
    let r2 = reference.clone();
    thread::spawn(move || {
        let second = r2
            .method::<(String,), String>("sayHello")
            .call(("b".into(),));
        lb2.pump();
        let _ = tx.send(second.is_ready());
    });
    let outcome = rx.recv_timeout(Duration::from_secs(3));
    assert!(
        outcome.is_ok(),
        "deadlock: on_return ran under the connection lock"
    );
    assert_eq!(outcome, Ok(true), "the second call was answered");
    assert_eq!(
        fired.load(Ordering::SeqCst),
        1,
        "the dropped call's listener saw its outcome"
    );
}

/// A request argument whose `Serialize` panics half way must leave no partial frame behind:
/// the next call on the connection works.
#[test]
fn a_panic_while_encoding_a_request_leaves_the_stream_intact() {
    let (lb, reference) = loopback(false);
    let bad = reference.method::<(PanicOnSerialize,), String>("bad2");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(bad.call((PanicOnSerialize,)));
    }));
    assert!(r.is_err());
    let hello = reference.method::<(String,), String>("sayHello");
    let mut c = hello.call(("x".into(),));
    lb.pump();
    let result = c.try_take();
    assert!(
        matches!(result, Some(Ok(ref s)) if s == "Hello x"),
        "a good call after the panic failed: {result:?}; provider closed: {:?}",
        lb.provider.close_reason()
    );
}

/// A reply whose `Serialize` panics (Pool dispatch) still gets an answer (70), and the stream
/// stays intact.
#[test]
fn a_panic_while_encoding_a_reply_still_answers_the_request() {
    let (lb, reference) = loopback(true);
    let bad = reference.method::<(String,), String>("bad");
    let mut c = bad.call(("x".into(),));
    // The harness polls pool jobs on this thread, so the handler's panic comes through here.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lb.pump()));
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lb.pump()));
    let got = c.try_take();
    assert!(
        matches!(got, Some(Err(tether_core::consumer::RpcError::Remote { status, .. })) if status.0 == 70),
        "expected a 70 answer, got {got:?}; provider closed = {:?}",
        lb.provider.close_reason()
    );
    assert_eq!(lb.provider.with(|c, _| c.inbound_in_flight()), 0);
    let hello = reference.method::<(String,), String>("sayHello");
    let mut next = hello.call(("y".into(),));
    lb.pump();
    assert!(matches!(next.try_take(), Some(Ok(ref s)) if s == "Hello y"));
}

struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.CallbackListener");

/// A call that fails to start withdraws the callback exports it added: with the limit at 1,
/// a later subscription with another listener is accepted.
#[test]
fn a_call_that_fails_to_start_withdraws_its_callback_exports() {
    use std::num::NonZeroUsize;
    use tether_core::consumer::{Callback, CallbackDispatcher};
    use tether_core::provider::CallbackArg;
    use tether_core::{Config, Side};
    let spawner = QueueSpawner::default();
    let provider = Provider::new(Dispatch::Direct, Arc::new(spawner.clone())).export(
        Service::new(SERVICE).method(
            "addListener",
            |_, (_, _): (String, CallbackArg<Listener>)| Ok(()),
        ),
    );
    let mut consumer = Config::new(Side::Consumer);
    consumer = consumer.callback_limit(NonZeroUsize::new(1).unwrap());
    let mut lb = Loopback::with(
        consumer,
        Config::new(Side::Provider),
        Some(Arc::new(CallbackDispatcher::new(
            Dispatch::Direct,
            Arc::new(spawner.clone()),
        ))),
        Some(Arc::new(provider)),
    );
    lb.spawner = spawner;
    let reference =
        Reference::builder(SERVICE).build(Arc::new(Channels::single(lb.consumer.clone())));
    let listener =
        || Callback::<Listener>::new(Service::new("org.apache.dubbo.demo.CallbackListener"));
    let add = reference.method::<(String, Callback<Listener>), ()>("addListener");

    // Fails locally before anything is sent (no time budget).
    let first = listener();
    let failed = add
        .clone()
        .timeout(Duration::ZERO)
        .call_blocking(("k".into(), first.clone()));
    assert!(failed.is_err());
    let exported = lb.consumer.with(|c, _| {
        c.callbacks()
            .export_count("org.apache.dubbo.demo.CallbackListener")
    });
    assert_eq!(
        exported, 0,
        "nothing stays exported for a call that never left"
    );

    let second = listener();
    let mut c = add.call(("k".into(), second));
    lb.pump();
    let result = c.try_take();
    assert!(
        matches!(result, Some(Ok(()))),
        "valid subscription refused: {result:?}"
    );
}

/// One-way requests being handled are bounded (`Provider::max_oneway_in_flight`): past the
/// limit they are dropped, as Java drops what its pool rejects.
#[test]
fn one_way_requests_in_flight_are_bounded() {
    use std::num::NonZeroUsize;
    use tether_core::{BoxFuture, Config, Side, Spawner};
    #[derive(Default, Clone)]
    struct Hoard(Arc<parking_lot::Mutex<Vec<BoxFuture>>>);
    impl Spawner for Hoard {
        fn spawn(&self, f: BoxFuture) {
            self.0.lock().push(f); // a busy pool: jobs wait
        }
    }
    let hoard = Hoard::default();
    let provider = Provider::new(
        Dispatch::Pool(Arc::new(hoard.clone())),
        Arc::new(hoard.clone()),
    )
    .max_oneway_in_flight(NonZeroUsize::new(16).unwrap())
    .export(Service::new(SERVICE).method("fire", |_, (_,): (String,)| Ok(())));
    let pconf = Config::new(Side::Provider);
    let lb = Loopback::with(
        Config::new(Side::Consumer),
        pconf,
        None,
        Some(Arc::new(provider)),
    );
    let reference =
        Reference::builder(SERVICE).build(Arc::new(Channels::single(lb.consumer.clone())));
    let fire = reference.method::<(String,), ()>("fire");
    for _ in 0..20_000 {
        fire.oneway(("x".into(),)).unwrap();
        lb.pump();
    }
    let queued = hoard.0.lock().len();
    assert_eq!(
        queued, 16,
        "{queued} one-way jobs queued with a limit of 16"
    );
    // Finishing the jobs frees their places.
    let waker = futures::task::noop_waker();
    for mut job in std::mem::take(&mut *hoard.0.lock()) {
        assert!(
            job.as_mut()
                .poll(&mut std::task::Context::from_waker(&waker))
                .is_ready()
        );
    }
    fire.oneway(("x".into(),)).unwrap();
    lb.pump();
    assert_eq!(hoard.0.lock().len(), 1, "a place was free again");
}
