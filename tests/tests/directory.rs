//! References over a directory of several providers, in memory: round robin (set explicitly;
//! the default is weighted random) over those with
//! a connection available, providers coming and going between calls, and a call with no
//! provider listed (`cluster::Directory`).

use std::sync::Arc;

use parking_lot::RwLock;
use tether_core::cluster::{
    Channels, Directory, Invoker, Invokers, RoundRobin, Route, StaticDirectory,
};
use tether_core::consumer::{Reference, RpcError};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

/// A provider answering `whoami` with `name`, over its own loopback.
fn provider(name: &'static str) -> Loopback {
    let spawner = QueueSpawner::default();
    let handler = Provider::new(Dispatch::Direct, Arc::new(spawner.clone()))
        .export(Service::new(SERVICE).method("whoami", move |_, (): ()| Ok(name.to_owned())));
    let mut lb = Loopback::new(None, Some(Arc::new(handler)));
    lb.spawner = spawner;
    lb
}

fn invoker(address: &str, lb: &Loopback) -> Invoker {
    Invoker::new(address, Arc::new(Channels::single(lb.consumer.clone())))
}

/// Calls `whoami` `n` times and returns who answered, in order.
fn ask(reference: &Reference, lbs: &[&Loopback], n: usize) -> Vec<String> {
    let whoami = reference.method::<(), String>("whoami");
    (0..n)
        .map(|_| {
            let mut call = whoami.call(());
            for lb in lbs {
                lb.pump();
            }
            call.try_take().expect("answered").expect("a name")
        })
        .collect()
}

#[test]
fn calls_go_round_robin_over_the_listed_providers() {
    let (a, b, c) = (provider("a"), provider("b"), provider("c"));
    let directory = StaticDirectory::new([
        invoker("10.0.0.1:20880", &a),
        invoker("10.0.0.2:20880", &b),
        invoker("10.0.0.3:20880", &c),
    ]);
    let reference = Reference::builder(SERVICE)
        .load_balance(Arc::new(RoundRobin::new()))
        .build_with(Arc::new(directory));
    assert_eq!(
        ask(&reference, &[&a, &b, &c], 6),
        ["a", "b", "c", "a", "b", "c"]
    );
    // A provider whose connection is down is passed over.
    b.consumer.close();
    a.pump();
    b.pump();
    // (Dubbo's reselect: the turn that fell on `b` goes to another provider.)
    let answers = ask(&reference, &[&a, &c], 8);
    assert!(!answers.iter().any(|n| n == "b"), "{answers:?}");
    assert!(
        answers.iter().filter(|n| *n == "a").count() >= 3,
        "{answers:?}"
    );
    assert!(
        answers.iter().filter(|n| *n == "c").count() >= 3,
        "{answers:?}"
    );
}

/// A directory replaced as a registry would notify.
#[derive(Default)]
struct Notified(RwLock<Invokers>);

impl Directory for Notified {
    fn list(&self, _: &Route<'_>) -> Invokers {
        self.0.read().clone()
    }
}

#[test]
fn providers_come_and_go_between_calls() {
    let (a, b) = (provider("a"), provider("b"));
    let directory = Arc::new(Notified::default());
    let reference = Reference::builder(SERVICE)
        .load_balance(Arc::new(RoundRobin::new()))
        .build_with(directory.clone());

    // Nobody listed yet: the call fails at once, naming the service.
    match reference.method::<(), String>("whoami").call_blocking(()) {
        Err(RpcError::NoConnection(service)) => assert_eq!(service, SERVICE),
        other => panic!("expected no connection, got {other:?}"),
    }
    *directory.0.write() = Arc::new([invoker("a:1", &a)]);
    assert_eq!(ask(&reference, &[&a], 2), ["a", "a"]);
    *directory.0.write() = Arc::new([invoker("a:1", &a), invoker("b:2", &b)]);
    let answers = ask(&reference, &[&a, &b], 4);
    assert_eq!(
        answers.iter().filter(|n| *n == "b").count(),
        2,
        "{answers:?}"
    );
    // `a` leaves: every call goes to `b`.
    *directory.0.write() = Arc::new([invoker("b:2", &b)]);
    assert_eq!(ask(&reference, &[&a, &b], 3), ["b", "b", "b"]);
}
