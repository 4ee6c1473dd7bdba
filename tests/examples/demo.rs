//! tether in one screen: a provider and a consumer on 127.0.0.1, over any adapter, showing
//! every Dubbo call mode.
//!
//! `cargo run --example demo [-- --executor tokio|smol|threadpool]` (tokio by default)

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_core::consumer::{Backoff, Callback, CallbackDispatcher, Reference, RpcError};
use tether_core::message::JavaException;
use tether_core::provider::{CallbackArg, Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tests::exec::{self, Executor, Opts};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

/// The callback interface a consumer implements and the provider calls back.
struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.Listener");

fn provider_service(exec: &dyn Executor) -> Service {
    let (sleep, spawner) = (exec.sleeper(), exec.spawner());
    let (sleep_foo, sleep_bar, sleep_ms, sleep_cb) =
        (sleep.clone(), sleep.clone(), sleep.clone(), sleep);
    Service::new(SERVICE)
        .version("1.0.0")
        .method("sayHello", |_, (name,): (String,)| {
            Ok(format!("Hello {name}"))
        })
        // Provider-side async: the handler returns a future; the response goes out when it
        // completes, and the worker is free meanwhile.
        .method_async("findFoo", move |_, (): ()| {
            let wait = sleep_foo(Duration::from_millis(500));
            async {
                wait.await;
                Ok::<_, JavaException>("foo".to_owned())
            }
        })
        .method_async("findBar", move |_, (): ()| {
            let wait = sleep_bar(Duration::from_millis(600));
            async {
                wait.await;
                Ok::<_, JavaException>("bar".to_owned())
            }
        })
        .method_async("sleep", move |_, (ms,): (i64,)| {
            let wait = sleep_ms(Duration::from_millis(ms as u64));
            async move {
                wait.await;
                Ok::<_, JavaException>(ms)
            }
        })
        .method("log", |_, (line,): (String,)| {
            println!("               provider logged {line:?} (one-way: no reply was sent)");
            Ok(())
        })
        .method("fail", |_, (msg,): (String,)| {
            Err::<String, _>(JavaException::new("java.lang.IllegalStateException", msg))
        })
        .method(
            "subscribe",
            move |ctx, (topic, _): (String, CallbackArg<Listener>)| {
                // Keep the proxy and call the consumer back later, over the same connection.
                let proxy = ctx.callback(1).expect("argument 1 is a callback").clone();
                let sleep = sleep_cb.clone();
                spawner.spawn(Box::pin(async move {
                    for i in 1..=3 {
                        sleep(Duration::from_millis(50)).await;
                        let change = format!("{topic} changed ({i}/3)");
                        let _ = proxy.call::<(String,), ()>("changed", (change,)).await;
                    }
                }));
                Ok(())
            },
        )
}

fn section(name: &str) {
    print!("{name:<14} ");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (exec, _) = exec::from_args()?;

    // The provider: handlers on a worker pool (Dubbo's "all" dispatcher).
    let spawner = exec.spawner();
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner.clone())
        .export(provider_service(&*exec));
    let server = exec.bind(
        "127.0.0.1:0",
        Config::new(Side::Provider),
        Arc::new(provider),
        Opts::default(),
    )?;
    println!(
        "tether demo: provider on {}, consumer connecting over {}\n",
        server.local_addr(),
        exec.name()
    );

    // The consumer: one connection; callbacks from the provider are answered by the
    // dispatcher; onreturn/onthrow of async calls run on a 2-thread callback pool.
    let opts = Opts::default()
        .continuation_executor(exec.callback_pool(2, 1024))
        .request_handler(Arc::new(CallbackDispatcher::new(Dispatch::Direct, spawner)));
    let channels = exec.reference_channels(
        server.local_addr(),
        NonZeroUsize::MIN,
        Config::new(Side::Consumer),
        opts,
        Backoff::default(),
    )?;
    let demo = Reference::builder(SERVICE).version("1.0.0").build(channels);

    section("sync");
    let hello = demo.method::<(String,), String>("sayHello");
    let start = Instant::now();
    let reply = hello.call_blocking(("tether".into(),))?;
    println!("sayHello(\"tether\") -> {reply:?} in {:?}", start.elapsed());

    section("async");
    let find_foo = demo.method::<(), String>("findFoo");
    let find_bar = demo.method::<(), String>("findBar");
    let start = Instant::now();
    let (foo_call, bar_call) = (find_foo.call(()), find_bar.call(()));
    let (found_foo, found_bar) = (foo_call.wait()?, bar_call.wait()?);
    println!(
        "findFoo (500 ms) and findBar (600 ms) in parallel -> {found_foo:?}, {found_bar:?} in {} ms",
        start.elapsed().as_millis()
    );

    section("sent=true");
    let sent_hello = demo.method::<(String,), String>("sayHello").sent(true);
    let pending = sent_hello.call(("sent".into(),));
    println!(
        "returned once the request was written; then -> {:?}",
        pending.wait()?
    );

    section("one-way");
    demo.method::<(String,), ()>("log")
        .oneway(("fire and forget".into(),))?;
    println!("log(...) returned at once, no response expected");
    std::thread::sleep(Duration::from_millis(50));

    section("callback");
    let (tx, rx) = mpsc::channel();
    let listener =
        Callback::<Listener>::new(Service::new("org.apache.dubbo.demo.Listener").method(
            "changed",
            move |_, (change,): (String,)| {
                let _ = tx.send(change);
                Ok(())
            },
        ));
    demo.method::<(String, Callback<Listener>), ()>("subscribe")
        .call_blocking(("prices".into(), listener.clone()))?;
    println!("subscribed a listener; the provider calls it back over the same connection:");
    for _ in 0..3 {
        println!(
            "               listener got {:?}",
            rx.recv_timeout(Duration::from_secs(5))?
        );
    }

    section("events");
    let (events_tx, events_rx) = mpsc::channel();
    let (on_invoke, on_return, on_throw) = (events_tx.clone(), events_tx.clone(), events_tx);
    let watched = demo
        .method::<(String,), String>("sayHello")
        .on_invoke(move |(name,)| on_invoke.send(format!("oninvoke({name:?})")).unwrap())
        .on_return(move |r, (name,)| {
            on_return
                .send(format!("onreturn({r:?}, {name:?})"))
                .unwrap()
        })
        .on_throw(move |e, _| on_throw.send(format!("onthrow({e})")).unwrap());
    watched.call(("events".into(),)).wait()?;
    let events: Vec<String> = (0..2).map(|_| events_rx.recv().unwrap()).collect();
    println!("{}", events.join(" then "));

    section("timeout");
    let slow = demo
        .method::<(i64,), i64>("sleep")
        .timeout(Duration::from_millis(300));
    let start = Instant::now();
    match slow.call_blocking((2_000,)) {
        Err(e @ RpcError::Timeout { .. }) => {
            println!(
                "sleep(2000) with timeout=300ms -> {e} (after {} ms)",
                start.elapsed().as_millis()
            )
        }
        other => println!("unexpected: {other:?}"),
    }

    section("exception");
    match demo
        .method::<(String,), String>("fail")
        .call_blocking(("boom".into(),))
    {
        Err(RpcError::Business(e)) => println!(
            "fail(\"boom\") -> remote {}: {}",
            e.class,
            e.message.unwrap_or_default()
        ),
        other => println!("unexpected: {other:?}"),
    }

    println!("\ndone");
    Ok(())
}
