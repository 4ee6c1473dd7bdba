//! Regression tests over tokio for defects a review found.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tether_core::consumer::{Channels, Reference};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tokio::{Options, Server, TokioSpawner, connect};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

async fn setup() -> (Server, Reference) {
    let spawner = Arc::new(TokioSpawner::current());
    let provider = Provider::new(Dispatch::Direct, spawner).export(
        Service::new(SERVICE)
            .method("sayHello", |_, (name,): (String,)| {
                Ok(format!("Hello {name}"))
            })
            .method_async("slow", |_, (name,): (String,)| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, tether_core::message::JavaException>(name)
            }),
    );
    let server = Server::bind("127.0.0.1:0", provider).await.unwrap();
    let client = connect(
        server.local_addr(),
        Config::new(Side::Consumer),
        Options::default(),
    )
    .await
    .unwrap();
    let reference =
        Reference::builder(SERVICE).build(Arc::new(Channels::single(client.shared().clone())));
    (server, reference)
}

/// Waits until `count` reaches `want`: the continuations counted have run (each counts
/// itself just before it panics). Fails after a generous 20 s.
async fn reaches(count: &AtomicUsize, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while count.load(Ordering::SeqCst) < want {
        assert!(
            Instant::now() < deadline,
            "only {} of {want} continuations ran",
            count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A panicking continuation (on the IO task, with the default `Inline` executor) is contained:
/// the connection and its other calls carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_continuation_does_not_take_the_connection_down() {
    let (_server, reference) = setup().await;
    let m = reference.method::<(String,), String>("sayHello");
    // Slow, so that the continuation is registered before the response: it then runs on
    // the IO task.
    let slow = reference.method::<(String,), String>("slow");
    let first = slow.call(("a".into(),));
    let panicked = Arc::new(AtomicUsize::new(0));
    let counter = panicked.clone();
    first.on_complete(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        panic!("user continuation panicked")
    });
    reaches(&panicked, 1).await;
    // A separate call issued after: does the connection still work?
    let second = m.call(("b".into(),)).await;
    assert_eq!(
        second.as_deref().ok(),
        Some("Hello b"),
        "second call: {second:?}"
    );
}

/// Many panicking continuations completed in one batch neither abort the process nor stop the
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_panicking_continuations_are_all_contained() {
    let (_server, reference) = setup().await;
    let m = reference.method::<(String,), String>("sayHello");
    let slow = reference.method::<(String,), String>("slow");
    let panicked = Arc::new(AtomicUsize::new(0));
    for i in 0..50 {
        let counter = panicked.clone();
        slow.call((format!("{i}"),)).on_complete(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            panic!("user continuation panicked")
        });
    }
    reaches(&panicked, 50).await;
    assert_eq!(m.call(("after".into(),)).await.unwrap(), "Hello after");
}

/// `call` (the asynchronous call) never blocks, even with `sent(true)`: on a current-thread runtime a blocking
/// wait would keep the IO task from ever writing.
#[tokio::test(flavor = "current_thread")]
async fn call_with_sent_does_not_block() {
    let (_server, reference) = setup().await;
    let m = reference.method::<(String,), String>("sayHello").sent(true);
    let started = Instant::now();
    let c = m.call(("a".into(),));
    let returned_after = started.elapsed();
    let result = c.await;
    assert!(
        // A blocking wait would last until the call's 1,000 ms default timeout.
        returned_after < Duration::from_millis(500),
        "call blocked for {returned_after:?}"
    );
    assert_eq!(result.unwrap(), "Hello a");
}

/// A blocking call on a current-thread runtime's thread, which also drives the connection,
/// could never be answered: it fails at once, saying why, instead of timing out.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_call_on_the_io_thread_fails_at_once() {
    let (_server, reference) = setup().await;
    let hello = reference.method::<(String,), String>("sayHello");
    // The connection has been driven on this thread.
    assert_eq!(hello.call(("first".into(),)).await.unwrap(), "Hello first");
    let started = Instant::now();
    let error = hello.call_blocking(("blocked".into(),)).unwrap_err();
    assert!(
        matches!(
            error,
            tether_core::consumer::RpcError::BlockingOnIoThread(_)
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("sayHello"), "{error}");
    assert!(started.elapsed() < Duration::from_millis(100));
    let ctx = tether_core::context::CallContext::new();
    assert!(matches!(
        hello.call_with_blocking(ctx, ("blocked".into(),)),
        Err(tether_core::consumer::RpcError::BlockingOnIoThread(_))
    ));
    // Awaiting still works, and a thread of one's own may block.
    assert_eq!(hello.call(("after".into(),)).await.unwrap(), "Hello after");
}

/// A thread of one's own may block, even inside a multi-threaded runtime's program.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_call_from_spawn_blocking_is_fine() {
    let (_server, reference) = setup().await;
    let hello = reference.method::<(String,), String>("sayHello");
    assert_eq!(hello.call(("first".into(),)).await.unwrap(), "Hello first");
    let answer = tokio::task::spawn_blocking(move || hello.call_blocking(("own".into(),)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, "Hello own");
}
