//! Parameter callbacks with no wiring, over loopback sockets on each adapter: a consumer
//! connected with default options passes a `Callback` argument, and the provider's reverse
//! calls reach it (no `CallbackDispatcher` installed by hand).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tether_core::consumer::{Backoff, Callback, Reference};
use tether_core::provider::{CallbackArg, CallbackProxy, Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tests::conformance::eventually;
use tether_tests::exec::{Executor, Opts};
use tether_tests::on_each_executor;

const SERVICE: &str = "org.apache.dubbo.demo.CallbackService";

struct Listener;
tether_core::java_class!(Listener => "org.apache.dubbo.demo.CallbackListener");

fn callbacks_reach_a_consumer_with_default_options(exec: &dyn Executor) {
    let subscribers: Arc<Mutex<Vec<CallbackProxy>>> = Arc::default();
    let (add, fire) = (subscribers.clone(), subscribers);
    let provider = Provider::new(Dispatch::Direct, exec.spawner()).export(
        Service::new(SERVICE)
            .method(
                "addListener",
                move |ctx, (_, _): (String, CallbackArg<Listener>)| {
                    add.lock()
                        .push(ctx.callback(1).expect("a callback").clone());
                    Ok(())
                },
            )
            .method("fire", move |_, (): ()| {
                for proxy in fire.lock().iter() {
                    drop(proxy.call::<(String,), ()>("changed", ("fired".to_owned(),)));
                }
                Ok(())
            }),
    );
    let server = exec.bind_local(Arc::new(provider));
    let channels = exec
        .reference_channels(
            server.local_addr(),
            NonZeroUsize::MIN,
            Config::new(Side::Consumer),
            Opts::default(),
            Backoff::default(),
        )
        .expect("connects");
    let reference = Reference::builder(SERVICE).build(channels);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    let listener: Callback<Listener> = Callback::new(
        Service::new("org.apache.dubbo.demo.CallbackListener").method(
            "changed",
            move |_, (what,): (String,)| {
                log.lock().push(what);
                Ok(())
            },
        ),
    );
    reference
        .method::<(String, Callback<Listener>), ()>("addListener")
        .call_blocking(("k".into(), listener.clone()))
        .expect("subscribed");
    reference
        .method::<(), ()>("fire")
        .call_blocking(())
        .expect("fired");
    eventually("the listener heard the provider", || {
        !heard.lock().is_empty()
    });
    assert_eq!(heard.lock()[0], "fired");
    drop(reference);
    server.shutdown(Instant::now() + Duration::from_secs(2));
}

on_each_executor!(callbacks_reach_a_consumer_with_default_options =>
    tokio_callbacks_need_no_wiring,
    smol_callbacks_need_no_wiring,
    threadpool_callbacks_need_no_wiring);
