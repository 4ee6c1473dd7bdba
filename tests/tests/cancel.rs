//! `Completion::cancel` over real sockets, on each adapter: a call that a listener watches
//! (so that dropping its completion would let it run on) is called off at once on an idle
//! connection, through the plain path and through the cluster layer, and the listener
//! sees `Cancelled` long before the call's deadline.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_core::cluster::{Cluster, Invoker, StaticDirectory};
use tether_core::consumer::{Backoff, Reference};
use tether_core::message::JavaException;
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tests::exec::{Executor, Opts};
use tether_tests::on_each_executor;

const SERVICE: &str = "org.example.cancel.Slow";

fn cancel_ends_a_watched_call_at_once(exec: &dyn Executor) {
    // The provider answers long after the test is over.
    let sleep = exec.sleeper();
    let provider = Provider::new(Dispatch::Direct, exec.spawner()).export(
        Service::new(SERVICE).method_async("never", move |_, (): ()| {
            let wait = sleep(Duration::from_secs(60));
            async move {
                wait.await;
                Ok::<_, JavaException>("late".to_owned())
            }
        }),
    );
    let server = exec.bind_local(Arc::new(provider));
    let backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(200));
    let channels = |_| {
        exec.reference_channels(
            server.local_addr(),
            NonZeroUsize::MIN,
            Config::new(Side::Consumer),
            Opts::default(),
            backoff,
        )
        .expect("connects")
    };
    // One provider (the plain path), and the same provider listed twice under failover
    // (the cluster layer).
    let plain = Reference::builder(SERVICE).build(channels(0));
    let listed = [0, 1].map(|i| Invoker::new(format!("node{i}:20880"), channels(i)));
    let clustered = Reference::builder(SERVICE)
        .cluster(Cluster::Failover { retries: 2 })
        .build_with(Arc::new(StaticDirectory::new(listed)));
    for (path, reference) in [("plain", plain), ("cluster", clustered)] {
        let (tx, thrown) = mpsc::channel();
        let never = reference
            .method::<(), String>("never")
            .timeout(Duration::from_secs(30))
            .on_throw(move |error, _| {
                let _ = tx.send(format!("{error:?}"));
            });
        let call = never.call(());
        // Let the request reach the provider, so that nothing else is left to do.
        std::thread::sleep(Duration::from_millis(100));
        let cancelled = Instant::now();
        call.cancel();
        let seen = thrown
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{} {path}: the listener heard nothing", exec.name()));
        assert_eq!(seen, "Cancelled", "{} {path}", exec.name());
        let took = cancelled.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "{} {path}: cancelled after {took:?}",
            exec.name()
        );
    }
    server.shutdown(Instant::now() + Duration::from_secs(1));
}

on_each_executor!(cancel_ends_a_watched_call_at_once =>
    tokio_cancel_ends_a_watched_call_at_once,
    smol_cancel_ends_a_watched_call_at_once,
    threadpool_cancel_ends_a_watched_call_at_once);
