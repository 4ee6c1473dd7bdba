//! tether in one screen: a provider and a consumer on 127.0.0.1, on any adapter's own API,
//! showing every Dubbo call mode.
//!
//! `cargo run --example demo [-- --executor tokio|smol|threadpool]` (tokio by default)
//!
//! Only the setup differs per adapter (`on_tokio`, `on_smol`, `on_threads`); the calls are
//! the same on all three.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_core::consumer::{Callback, Reference, RpcError};
use tether_core::message::JavaException;
use tether_core::provider::{CallbackArg, Dispatch, Provider, Service};
use tether_core::{BoxFuture, Spawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

/// The callback interface a consumer implements and the provider calls back.
struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.Listener");

/// Makes a future that resolves after the given duration, on the adapter's timers.
type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture + Send + Sync>;

fn provider_service(sleep: Sleeper, spawner: Arc<dyn Spawner>) -> Service {
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

/// A provider and a reference to it on one adapter; dropping it shuts both down.
struct Setup {
    reference: Reference,
    addr: std::net::SocketAddr,
    /// The server and runtime, kept alive until the demo ends.
    _keep: Box<dyn std::any::Any>,
}

/// On tokio: a multi-threaded runtime; the provider's handlers on its worker threads.
fn on_tokio() -> Result<Setup, Box<dyn std::error::Error>> {
    use tether_tokio::{
        ClientOptions, ContinuationPool, Server, TokioSpawner, reference_channels_with,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let spawner: Arc<dyn Spawner> = Arc::new(TokioSpawner::new(runtime.handle().clone()));
    let sleep: Sleeper = Arc::new(|d| Box::pin(tokio::time::sleep(d)));
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner.clone())
        .export(provider_service(sleep, spawner));
    let server = runtime.block_on(Server::bind("127.0.0.1:0", provider))?;
    let addr = server.local_addr();
    // onreturn/onthrow of async calls run on a 2-thread pool; callbacks from the provider
    // are served with no wiring.
    let pool = ContinuationPool::new(
        NonZeroUsize::new(2).unwrap(),
        NonZeroUsize::new(1024).unwrap(),
    )?;
    let options = ClientOptions::new().continuation_executor(Arc::new(pool));
    let channels = runtime.block_on(reference_channels_with(addr, options))?;
    let reference = Reference::builder(SERVICE).version("1.0.0").build(channels);
    Ok(Setup {
        reference,
        addr,
        _keep: Box::new((server, runtime)),
    })
}

/// On smol: its global executor.
fn on_smol() -> Result<Setup, Box<dyn std::error::Error>> {
    use tether_smol::{
        ClientOptions, ContinuationPool, Server, SmolSpawner, reference_channels_with,
    };
    let spawner: Arc<dyn Spawner> = Arc::new(SmolSpawner::global());
    let sleep: Sleeper = Arc::new(|d| {
        Box::pin(async move {
            smol::Timer::after(d).await;
        })
    });
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner.clone())
        .export(provider_service(sleep, spawner));
    let server = smol::block_on(Server::bind("127.0.0.1:0", provider))?;
    let addr = server.local_addr();
    let pool = ContinuationPool::new(
        NonZeroUsize::new(2).unwrap(),
        NonZeroUsize::new(1024).unwrap(),
    )?;
    let options = ClientOptions::new().continuation_executor(Arc::new(pool));
    let channels = smol::block_on(reference_channels_with(addr, options))?;
    let reference = Reference::builder(SERVICE).version("1.0.0").build(channels);
    Ok(Setup {
        reference,
        addr,
        _keep: Box::new(server),
    })
}

/// On plain threads: no async runtime; handlers on a bounded pool of 4.
fn on_threads() -> Result<Setup, Box<dyn std::error::Error>> {
    use tether_threadpool::{
        ClientOptions, ContinuationPool, Server, WorkerPool, reference_channels_with,
    };
    let workers = Arc::new(WorkerPool::new(
        NonZeroUsize::new(4).unwrap(),
        NonZeroUsize::new(1024).unwrap(),
    )?);
    let spawner: Arc<dyn Spawner> = workers.clone();
    let sleep: Sleeper = Arc::new(|d| Box::pin(tether_threadpool::sleep(d)));
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner.clone())
        .export(provider_service(sleep, spawner));
    let server = Server::bind("127.0.0.1:0", provider)?;
    let addr = server.local_addr();
    let pool = ContinuationPool::new(
        NonZeroUsize::new(2).unwrap(),
        NonZeroUsize::new(1024).unwrap(),
    )?;
    let options = ClientOptions::new().continuation_executor(Arc::new(pool));
    let channels = reference_channels_with(addr, options)?;
    let reference = Reference::builder(SERVICE).version("1.0.0").build(channels);
    Ok(Setup {
        reference,
        addr,
        _keep: Box::new(server),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let executor = match args.as_slice() {
        [] => "tokio",
        [flag, name] if flag == "--executor" => name.as_str(),
        _ => return Err("usage: demo [--executor tokio|smol|threadpool]".into()),
    };
    let setup = match executor {
        "tokio" => on_tokio()?,
        "smol" => on_smol()?,
        "threadpool" => on_threads()?,
        other => {
            return Err(format!("unknown executor {other:?}: tokio, smol or threadpool").into());
        }
    };
    println!(
        "tether demo: provider on {}, consumer connecting over {executor}\n",
        setup.addr
    );
    let demo = &setup.reference;

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
    let listener = Callback::<Listener>::new(Service::of::<Listener>().method(
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
