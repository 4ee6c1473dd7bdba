//! Parameter callbacks (`docs/protocol.md` §6) over an in-memory loopback: the consumer exports a
//! listener, the provider calls it back over the same connection.

use std::num::NonZeroUsize;
use std::sync::Arc;

use parking_lot::Mutex;
use tether_core::consumer::{Callback, CallbackDispatcher, Channels, Reference, RpcError};
use tether_core::provider::{CallbackArg, CallbackProxy, Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.CallbackService";

/// The callback interface's marker.
struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.CallbackListener");

type Subscribers = Arc<Mutex<Vec<(String, CallbackProxy)>>>;

fn callback_service(subscribers: Subscribers) -> Service {
    let (add, fire) = (subscribers.clone(), subscribers);
    Service::new(SERVICE)
        .method(
            "addListener",
            move |ctx, (key, _): (String, CallbackArg<Listener>)| {
                let proxy = ctx.callback(1).expect("a callback argument").clone();
                add.lock().push((key, proxy));
                Ok(())
            },
        )
        .method(
            "removeListener",
            |_, (_, _): (String, CallbackArg<Listener>)| Ok(()),
        )
        .callback_release("removeListener", 1)
        .method("fire", move |_, (times,): (i32,)| {
            // Calls every live listener `times` times, without waiting (the answers arrive
            // on the same connection the IO loop is serving).
            let subscribers = fire.lock().clone();
            let mut sent = 0;
            for (key, proxy) in subscribers.iter().filter(|(_, p)| p.is_live()) {
                for i in 0..times {
                    drop(proxy.call::<(String,), ()>("changed", (format!("{key}:{i}"),)));
                    sent += 1;
                }
            }
            Ok(sent)
        })
}

fn listener(received: Arc<Mutex<Vec<String>>>) -> Callback<Listener> {
    Callback::new(
        Service::new("org.apache.dubbo.demo.CallbackListener").method(
            "changed",
            move |_, (msg,): (String,)| {
                received.lock().push(msg);
                Ok(())
            },
        ),
    )
}

struct Setup {
    lb: Loopback,
    reference: Reference,
    subscribers: Subscribers,
}

fn setup(consumer: Config, provider: Config) -> Setup {
    let spawner = QueueSpawner::default();
    let subscribers = Subscribers::default();
    let provider_handler = Provider::new(Dispatch::Direct, Arc::new(spawner.clone()))
        .export(callback_service(subscribers.clone()));
    let consumer_handler = CallbackDispatcher::new(Dispatch::Direct, Arc::new(spawner.clone()));
    let mut lb = Loopback::with(
        consumer,
        provider,
        Some(Arc::new(consumer_handler)),
        Some(Arc::new(provider_handler)),
    );
    lb.spawner = spawner;
    let reference =
        Reference::builder(SERVICE).build(Arc::new(Channels::single(lb.consumer.clone())));
    Setup {
        lb,
        reference,
        subscribers,
    }
}

fn defaults() -> Setup {
    setup(Config::new(Side::Consumer), Config::new(Side::Provider))
}

/// Calls `addListener(key, cb)` and checks that it succeeded.
fn subscribe(s: &Setup, key: &str, cb: &Callback<Listener>) {
    let add = s
        .reference
        .method::<(String, Callback<Listener>), ()>("addListener");
    let mut call = add.call((key.into(), cb.clone()));
    s.lb.pump();
    let outcome = call.try_take().expect("answered");
    assert!(outcome.is_ok(), "subscribe {key}: {outcome:?}");
}

/// Calls `removeListener(key, cb)` (releasing the callback) and checks that it succeeded.
fn unsubscribe(s: &Setup, key: &str, cb: &Callback<Listener>) {
    let remove = s
        .reference
        .method::<(String, Callback<Listener>), ()>("removeListener")
        .callback_release(true);
    let mut call = remove.call((key.into(), cb.clone()));
    s.lb.pump();
    let outcome = call.try_take().expect("answered");
    assert!(outcome.is_ok(), "unsubscribe {key}: {outcome:?}");
}

#[test]
fn a_callback_fires_a_thousand_times_over_the_same_connection() {
    let s = defaults();
    let received = Arc::new(Mutex::new(Vec::new()));
    let cb = listener(received.clone());
    subscribe(&s, "k", &cb);
    assert_eq!(
        s.lb.consumer.with(|c, _| c
            .callbacks()
            .export_count("org.apache.dubbo.demo.CallbackListener")),
        1
    );

    let fire = s.reference.method::<(i32,), i32>("fire");
    let mut fired = fire.call((1_000,));
    s.lb.pump();
    assert_eq!(fired.try_take().unwrap().unwrap(), 1_000);
    let received = received.lock();
    assert_eq!(received.len(), 1_000);
    assert_eq!(received[0], "k:0");
    assert_eq!(received[999], "k:999");
    // Every reverse call was answered: nothing pending on the provider.
    assert_eq!(s.lb.provider.lock().in_flight(), 0);
}

#[test]
fn the_same_instance_counts_once_and_limits_hold_on_both_sides() {
    let mut provider = Config::new(Side::Provider);
    provider = provider.callback_limit(NonZeroUsize::new(2).unwrap());
    let mut consumer = Config::new(Side::Consumer);
    consumer = consumer.callback_limit(NonZeroUsize::new(3).unwrap());
    let s = setup(consumer, provider);
    let add = s
        .reference
        .method::<(String, Callback<Listener>), ()>("addListener");
    let sink = Arc::new(Mutex::new(Vec::new()));
    let (a, b, c, d) = (
        listener(sink.clone()),
        listener(sink.clone()),
        listener(sink.clone()),
        listener(sink),
    );
    let mut results: Vec<_> = [("a", &a), ("a-again", &a), ("b", &b), ("c", &c)]
        .into_iter()
        .map(|(k, cb)| add.call((k.into(), cb.clone())))
        .collect();
    s.lb.pump();
    let outcomes: Vec<_> = results.iter_mut().map(|r| r.try_take().unwrap()).collect();
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok() && outcomes[2].is_ok());
    // The provider's limit of 2 distinct instances: 40 with Dubbo's message.
    match &outcomes[3] {
        Err(RpcError::BadRequest(m)) => assert!(
            m.contains("callback instances num exceed providers limit :2"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    // The consumer's own limit of 3: refused before sending.
    match add.call(("d".into(), d)).try_take() {
        Some(Err(RpcError::LimitExceeded(m))) => assert!(m.contains("limit :3"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsubscribe_and_disconnect_release_callbacks() {
    let s = defaults();
    let received = Arc::new(Mutex::new(Vec::new()));
    let cb = listener(received.clone());
    subscribe(&s, "k", &cb);
    let proxy = s.subscribers.lock()[0].1.clone();
    assert!(proxy.is_live());
    unsubscribe(&s, "k", &cb);
    assert!(!proxy.is_live(), "the provider destroyed the proxy");
    let iface = "org.apache.dubbo.demo.CallbackListener";
    assert_eq!(
        s.lb.consumer.with(|c, _| c.callbacks().export_count(iface)),
        0
    );
    // Review: an unsubscribed proxy on an open connection failed with "network error:
    // connection closed locally"; the connection is open and the callback is gone.
    match proxy
        .call::<(String,), ()>("changed", ("late".into(),))
        .try_take()
    {
        Some(Err(RpcError::ServiceNotFound(message))) => {
            assert!(message.contains("unsubscribed"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    // Subscribe again, then the connection drops: both sides forget.
    subscribe(&s, "k2", &cb);
    let proxy = s.subscribers.lock()[1].1.clone();
    assert!(proxy.is_live());
    s.lb.consumer.close();
    s.lb.provider.close();
    s.lb.pump();
    assert!(!proxy.is_live());
    assert!(matches!(
        proxy
            .call::<(String,), ()>("changed", ("late".into(),))
            .try_take(),
        Some(Err(RpcError::Network(_)))
    ));
    assert_eq!(
        s.lb.consumer.with(|c, _| c.callbacks().export_count(iface)),
        0
    );
    assert!(received.lock().is_empty(), "nothing was ever fired");
}

#[test]
fn a_callback_argument_named_twice_is_refused_and_adds_no_proxy() {
    use tether_core::message::{Attachments, DUBBO_VERSION, RequestBody, decode_error_message};
    use tether_core::{CallOptions, Status};

    let s = defaults();
    // `sys_callback_arg-1` and `sys_callback_arg-01` both name argument 1.
    let mut attachments = Attachments::new();
    attachments.insert("path", SERVICE);
    attachments.insert("sys_callback_arg-1", "7");
    attachments.insert("sys_callback_arg-01", "8");
    let descriptor = "Ljava/lang/String;Lorg/apache/dubbo/demo/CallbackListener;";
    let request = RequestBody {
        dubbo_version: DUBBO_VERSION,
        path: SERVICE,
        version: None,
        method: "addListener",
        parameter_types: descriptor,
        args: &("k", None::<String>),
        attachments: &attachments,
    };
    let mut body = Vec::new();
    request.encode(&mut body).unwrap();
    let mut call =
        s.lb.consumer
            .start_call(CallOptions::default(), body)
            .unwrap();
    s.lb.pump();
    let response = call
        .response
        .try_take()
        .expect("answered")
        .expect("a response");
    assert_eq!(response.status, Status::BAD_REQUEST);
    let message = decode_error_message(&response.body).unwrap().unwrap();
    assert!(
        message.contains("callback argument 1 named twice"),
        "{message}"
    );
    let proxies = s.lb.provider.with(|c, _| {
        c.callbacks()
            .proxy_count("org.apache.dubbo.demo.CallbackListener")
    });
    assert_eq!(proxies, 0, "the first proxy was withdrawn");
    assert!(s.subscribers.lock().is_empty(), "the handler did not run");
}

/// A `Write` into a shared buffer, for a subscriber that records log lines.
#[derive(Clone, Default)]
struct Logged(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_misnamed_callback_method_is_reported_on_the_consumer_side() {
    let s = defaults();
    // The Java interface's method is `changed`; this listener misspells it.
    let cb: Callback<Listener> = Callback::new(
        Service::new("org.apache.dubbo.demo.CallbackListener")
            .method("chaged", |_, (_msg,): (String,)| Ok(())),
    );
    let logged = Logged::default();
    let writer = logged.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        subscribe(&s, "k", &cb);
        let fire = s.reference.method::<(i32,), i32>("fire");
        let mut fired = fire.call((1,));
        s.lb.pump();
        assert_eq!(fired.try_take().unwrap().unwrap(), 1);
    });
    let text = String::from_utf8(logged.0.lock().clone()).unwrap();
    assert!(text.contains("ERROR"), "{text}");
    assert!(text.contains("method=changed"), "{text}");
    assert!(
        text.contains("callback=org.apache.dubbo.demo.CallbackListener"),
        "{text}"
    );
}
