//! The consumer and provider layers over loopback TCP on tokio: call modes, callbacks,
//! a provider killed mid-call, reconnect.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_core::consumer::{Backoff, Callback, CallbackDispatcher, Channels, Reference, RpcError};
use tether_core::message::JavaException;
use tether_core::provider::{CallbackArg, Dispatch, Provider, Service};
use tether_core::{Config, Keepalive, Side};
use tether_tests::demo::{self, demo_service};
use tether_tests::interop::{consumer_cases, report};
use tether_tokio::{Options, Server, TokioSpawner, reference_channels};
use tokio::runtime::Runtime;

struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.Listener");

fn service() -> Service {
    demo_service()
        .method_async("sleep", |_, (ms,): (i64,)| async move {
            tokio::time::sleep(Duration::from_millis(ms as u64)).await;
            Ok::<_, JavaException>(ms)
        })
        .method("notify", |ctx, (times, _): (i32, CallbackArg<Listener>)| {
            let proxy = ctx.callback(1).expect("a callback").clone();
            tokio::spawn(async move {
                for i in 0..times {
                    if proxy.call::<(i32,), ()>("changed", (i,)).await.is_err() {
                        return;
                    }
                }
            });
            Ok(())
        })
}

fn bind(runtime: &Runtime, addr: &str, dispatch_direct: bool) -> Server {
    let _guard = runtime.enter();
    let spawner = Arc::new(TokioSpawner::current());
    let dispatch = if dispatch_direct {
        Dispatch::Direct
    } else {
        Dispatch::Pool(spawner.clone())
    };
    let provider = Provider::new(dispatch, spawner).export(service());
    runtime
        .block_on(Server::bind(
            addr,
            Config::new(Side::Provider),
            Arc::new(provider),
            Options::default(),
        ))
        .unwrap()
}

fn reference(runtime: &Runtime, addr: SocketAddr, config: Config) -> (Reference, Arc<Channels>) {
    let _guard = runtime.enter();
    let spawner = Arc::new(TokioSpawner::current());
    let options = Options::default()
        .request_handler(Arc::new(CallbackDispatcher::new(Dispatch::Direct, spawner)));
    let backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(200));
    let channels = runtime
        .block_on(reference_channels(
            addr,
            NonZeroUsize::new(2).unwrap(),
            config,
            options,
            backoff,
        ))
        .unwrap();
    let reference = Reference::builder(demo::SERVICE)
        .version(demo::VERSION)
        .build(channels.clone());
    (reference, channels)
}

#[test]
fn every_case_over_tcp_with_either_dispatch() {
    let runtime = Runtime::new().unwrap();
    for direct in [true, false] {
        let server = bind(&runtime, "127.0.0.1:0", direct);
        let (reference, _) = reference(&runtime, server.local_addr(), Config::new(Side::Consumer));
        assert_eq!(
            report(&consumer_cases(&reference)),
            0,
            "direct dispatch: {direct}"
        );
    }
}

#[test]
fn a_callback_invoked_a_thousand_times_over_tcp() {
    let runtime = Runtime::new().unwrap();
    let server = bind(&runtime, "127.0.0.1:0", false);
    let (reference, _) = reference(&runtime, server.local_addr(), Config::new(Side::Consumer));
    let (tx, rx) = mpsc::channel();
    let listener = Callback::<Listener>::new(
        Service::new("org.apache.dubbo.demo.Listener").method("changed", move |_, (i,): (i32,)| {
            tx.send(i).unwrap();
            Ok(())
        }),
    );
    reference
        .method::<(i32, Callback<Listener>), ()>("notify")
        .call((1_000, listener))
        .unwrap();
    let got: Vec<i32> = (0..1_000)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    assert_eq!(got, (0..1_000).collect::<Vec<_>>(), "in order, each once");
}

#[test]
fn a_killed_provider_fails_pending_calls_at_once_and_reconnect_follows_its_return() {
    let runtime = Runtime::new().unwrap();
    let server = bind(&runtime, "127.0.0.1:0", false);
    let addr = server.local_addr();
    let (reference, channels) = reference(&runtime, addr, Config::new(Side::Consumer));
    let sleep = reference
        .method::<(i64,), i64>("sleep")
        .timeout(Duration::from_secs(30));
    let pending: Vec<_> = (0..100).map(|_| sleep.call_async((60_000,))).collect();
    std::thread::sleep(Duration::from_millis(100));

    let killed = Instant::now();
    drop(server);
    for call in pending {
        assert!(matches!(call.wait(), Err(RpcError::Network(_))));
    }
    let elapsed = killed.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "failed after {elapsed:?}, not the 30 s timeout"
    );

    // The provider comes back on the same port: the reference reconnects by itself.
    let _server = bind(&runtime, &addr.to_string(), false);
    let hello = reference.method::<(String,), String>("sayHello");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ok = false;
    while Instant::now() < deadline {
        if hello
            .call(("again".into(),))
            .is_ok_and(|r| r == "Hello again")
        {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ok, "calls succeed again after the provider returns");
    // Both slots come back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (0..channels.len()).any(|i| channels.get(i).is_none()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!((0..channels.len()).all(|i| channels.get(i).is_some()));
}

#[test]
fn heartbeats_keep_an_idle_reference_connected() {
    let runtime = Runtime::new().unwrap();
    let server = bind(&runtime, "127.0.0.1:0", false);
    let mut config = Config::new(Side::Consumer);
    config.keepalive(
        Keepalive::new(
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(300)),
        )
        .unwrap(),
    );
    let (reference, channels) = reference(&runtime, server.local_addr(), config);
    let first = channels.get(0).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // Still the same connection: ten heartbeat intervals passed without a reconnect.
    assert!(channels.get(0).unwrap().same(&first));
    assert!(first.close_reason().is_none());
    assert!(first.lock().stats().heartbeats_sent >= 5);
    assert_eq!(
        reference.method::<(), String>("ping").call(()).unwrap(),
        "pong"
    );
}
