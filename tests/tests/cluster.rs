//! Fault-tolerance strategies (`cluster::Cluster`) over several in-memory providers, with
//! failures injected: a provider whose connection is gone, error statuses (70, 100), a
//! business exception, a timeout. Each call's outcome is delivered once, its listeners see
//! the final outcome only, and dropping a call cancels its attempts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tether_core::cluster::{
    Channels, Cluster, ConsistentHash, FailbackQueue, Invoker, LoadBalance, RoundRobin, Route,
    StaticDirectory, load_balance,
};
use tether_core::consumer::{Method, Reference, RpcError};
use tether_core::context::CallContext;
use tether_core::message::JavaException;
use tether_core::provider::{Dispatch, Filter, Provider, Rejection, Request, Service};
use tether_core::{Clock, Status};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

/// How a provider answers `whoami`.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Its name.
    Answer,
    /// A business exception.
    Throw,
    /// This status, before the handler runs.
    Status(u8),
    /// Nothing: the request is held until the test lets it go.
    Silent,
}

/// Rejects every request with one status.
struct Reject(u8);

impl Filter for Reject {
    fn on_request(&self, _: &mut Request<'_>) -> Result<(), Rejection> {
        Err(Rejection::Status(Status(self.0), "injected".into()))
    }
}

struct Node {
    name: &'static str,
    lb: Loopback,
    /// Requests this provider's handler saw.
    served: Arc<AtomicUsize>,
}

fn node(name: &'static str, behaviour: Behaviour) -> Node {
    let spawner = QueueSpawner::default();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let service = match behaviour {
        // Answers never: the future stays pending.
        Behaviour::Silent => Service::new(SERVICE).method_async("whoami", move |_, (): ()| {
            count.fetch_add(1, Ordering::SeqCst);
            futures::future::pending::<Result<String, JavaException>>()
        }),
        _ => Service::new(SERVICE)
            .method("whoami", move |_, (): ()| {
                count.fetch_add(1, Ordering::SeqCst);
                match behaviour {
                    Behaviour::Throw => Err(JavaException::runtime(format!("{name} refuses"))),
                    _ => Ok(name.to_owned()),
                }
            })
            .method("owner", move |_, (_key,): (String,)| {
                Ok::<_, JavaException>(name.to_owned())
            }),
    };
    let mut provider = Provider::new(Dispatch::Direct, Arc::new(spawner.clone())).export(service);
    if let Behaviour::Status(status) = behaviour {
        provider = provider.filter(Reject(status));
    }
    let mut lb = Loopback::new(None, Some(Arc::new(provider)));
    lb.spawner = spawner;
    Node { name, lb, served }
}

fn reference_to(nodes: &[&Node], cluster: Cluster) -> Reference {
    let invokers = nodes.iter().map(|n| {
        Invoker::new(
            format!("{}:20880", n.name),
            Arc::new(Channels::single(n.lb.consumer.clone())),
        )
    });
    // Round robin, so that which provider a call tries first is known.
    Reference::builder(SERVICE)
        .cluster(cluster)
        .load_balance(Arc::new(RoundRobin::new()))
        .build_with(Arc::new(StaticDirectory::new(invokers)))
}

fn pump(nodes: &[&Node]) {
    for _ in 0..4 {
        for n in nodes {
            n.lb.pump();
        }
    }
}

fn outcome(method: &Method<(), String>, nodes: &[&Node]) -> Result<String, RpcError> {
    let mut call = method.call(());
    pump(nodes);
    call.try_take().expect("the call has an outcome")
}

#[test]
fn failover_goes_past_error_statuses_and_lost_connections_to_a_distinct_provider() {
    for failing in [
        Behaviour::Status(70),
        Behaviour::Status(100),
        Behaviour::Status(Status::SERVER_THREADPOOL_EXHAUSTED.0),
    ] {
        let (a, b) = (node("a", failing), node("b", Behaviour::Answer));
        let reference = reference_to(&[&a, &b], Cluster::default());
        let whoami = reference.method::<(), String>("whoami");
        for _ in 0..6 {
            assert_eq!(outcome(&whoami, &[&a, &b]).unwrap(), "b");
        }
    }
    // A provider whose connection is gone is passed over, its calls fail over.
    let (a, b, c) = (
        node("a", Behaviour::Answer),
        node("b", Behaviour::Answer),
        node("c", Behaviour::Answer),
    );
    a.lb.consumer.close();
    let reference = reference_to(&[&a, &b, &c], Cluster::default());
    let whoami = reference.method::<(), String>("whoami");
    let answers: Vec<_> = (0..6)
        .map(|_| outcome(&whoami, &[&a, &b, &c]).unwrap())
        .collect();
    assert!(answers.iter().all(|n| n != "a"), "{answers:?}");
    assert!(answers.iter().any(|n| n == "b") && answers.iter().any(|n| n == "c"));
}

#[test]
fn failover_never_retries_a_business_exception_and_stops_after_its_retries() {
    let (a, b) = (node("a", Behaviour::Throw), node("b", Behaviour::Answer));
    let reference = reference_to(&[&a, &b], Cluster::default());
    let whoami = reference.method::<(), String>("whoami");
    let mut thrown = 0;
    for _ in 0..4 {
        match outcome(&whoami, &[&a, &b]) {
            Ok(name) => assert_eq!(name, "b"),
            Err(RpcError::Business(e)) => {
                assert!(e.message.as_deref().unwrap_or("").contains("a refuses"));
                thrown += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    // Round robin: every other call reaches `a` first, and its exception is the answer.
    assert_eq!(thrown, 2);
    assert_eq!(b.served.load(Ordering::SeqCst), 2);

    // Three failing providers, retries 1: two attempts, the last failure is the call's.
    let nodes = [
        node("x", Behaviour::Status(70)),
        node("y", Behaviour::Status(100)),
        node("z", Behaviour::Status(70)),
    ];
    let all: Vec<&Node> = nodes.iter().collect();
    let reference = reference_to(&all, Cluster::Failover { retries: 1 });
    let whoami = reference.method::<(), String>("whoami");
    match outcome(&whoami, &all) {
        Err(RpcError::Remote { .. } | RpcError::LimitExceeded(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn failfast_makes_one_attempt() {
    let (a, b) = (
        node("a", Behaviour::Status(70)),
        node("b", Behaviour::Answer),
    );
    let reference = reference_to(&[&a, &b], Cluster::Failfast);
    let whoami = reference.method::<(), String>("whoami");
    let results: Vec<_> = (0..40).map(|_| outcome(&whoami, &[&a, &b])).collect();
    // Every call made one attempt: each failure was `a`'s, each answer `b`'s.
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert!(failed > 0, "{results:?}");
    assert_eq!(b.served.load(Ordering::SeqCst), 40 - failed);
}

#[test]
fn failsafe_turns_a_failure_into_null_where_the_type_allows() {
    let a = node("a", Behaviour::Status(70));
    let b = node("b", Behaviour::Throw);
    let reference = reference_to(&[&a, &b], Cluster::Failsafe);
    let nullable = reference.method::<(), Option<String>>("whoami");
    for _ in 0..4 {
        let mut call = nullable.call(());
        pump(&[&a, &b]);
        assert_eq!(call.try_take().unwrap().unwrap(), None);
    }
    // A type that cannot be null gets the failure.
    let plain = reference.method::<(), i32>("whoami");
    let mut call = plain.call(());
    pump(&[&a, &b]);
    assert!(call.try_take().unwrap().is_err());
}

#[test]
fn forking_takes_the_first_success_and_cancels_the_rest() {
    let (a, b, c) = (
        node("a", Behaviour::Status(70)),
        node("b", Behaviour::Answer),
        node("c", Behaviour::Answer),
    );
    let reference = reference_to(&[&a, &b, &c], Cluster::Forking { forks: 0 });
    let whoami = reference.method::<(), String>("whoami");
    let mut call = whoami.call(());
    // Only `b` answers: its answer is the call's, whatever the others do later.
    b.lb.pump();
    assert_eq!(call.try_take().unwrap().unwrap(), "b");
    // The fork to `c` was cancelled before `c` heard it... or answered into the void.
    pump(&[&a, &b, &c]);
    assert_eq!(b.served.load(Ordering::SeqCst), 1);

    // Every fork fails: the last failure is the call's.
    let (x, y) = (
        node("x", Behaviour::Status(70)),
        node("y", Behaviour::Status(100)),
    );
    let reference2 = reference_to(&[&x, &y], Cluster::Forking { forks: 2 });
    let whoami = reference2.method::<(), String>("whoami");
    assert!(outcome(&whoami, &[&x, &y]).is_err());
}

#[test]
fn broadcast_calls_everyone_and_reports_any_failure() {
    let (a, b, c) = (
        node("a", Behaviour::Answer),
        node("b", Behaviour::Answer),
        node("c", Behaviour::Answer),
    );
    let reference = reference_to(&[&a, &b, &c], Cluster::Broadcast { fail_percent: 100 });
    let whoami = reference.method::<(), String>("whoami");
    assert_eq!(outcome(&whoami, &[&a, &b, &c]).unwrap(), "c");
    for n in [&a, &b, &c] {
        assert_eq!(n.served.load(Ordering::SeqCst), 1, "{}", n.name);
    }
    let (x, y, z) = (
        node("x", Behaviour::Throw),
        node("y", Behaviour::Answer),
        node("z", Behaviour::Answer),
    );
    let reference = reference_to(&[&x, &y, &z], Cluster::Broadcast { fail_percent: 100 });
    let whoami = reference.method::<(), String>("whoami");
    assert!(matches!(
        outcome(&whoami, &[&x, &y, &z]),
        Err(RpcError::Business(_))
    ));
    assert_eq!(
        z.served.load(Ordering::SeqCst),
        1,
        "went on after a failure"
    );
    // 34 % of 3 is one failure: it stops at the first.
    let reference = reference_to(&[&x, &y, &z], Cluster::Broadcast { fail_percent: 34 });
    let whoami = reference.method::<(), String>("whoami");
    assert!(outcome(&whoami, &[&x, &y, &z]).is_err());
    assert_eq!(
        z.served.load(Ordering::SeqCst),
        1,
        "stopped at the first failure"
    );
}

#[test]
fn available_takes_the_first_provider_with_a_connection() {
    let (a, b, c) = (
        node("a", Behaviour::Answer),
        node("b", Behaviour::Answer),
        node("c", Behaviour::Answer),
    );
    a.lb.consumer.close();
    let reference = reference_to(&[&a, &b, &c], Cluster::Available);
    let whoami = reference.method::<(), String>("whoami");
    for _ in 0..3 {
        assert_eq!(outcome(&whoami, &[&a, &b, &c]).unwrap(), "b");
    }
}

#[test]
fn listeners_and_filters_see_only_the_final_outcome() {
    let (a, b) = (
        node("a", Behaviour::Status(70)),
        node("b", Behaviour::Answer),
    );
    let reference = reference_to(&[&a, &b], Cluster::default());
    let (returned, thrown) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, t) = (returned.clone(), thrown.clone());
    let whoami = reference
        .method::<(), String>("whoami")
        .on_return(move |_, _| {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .on_throw(move |_, _| {
            t.fetch_add(1, Ordering::SeqCst);
        });
    for _ in 0..4 {
        assert_eq!(outcome(&whoami, &[&a, &b]).unwrap(), "b");
    }
    assert_eq!(returned.load(Ordering::SeqCst), 4);
    assert_eq!(thrown.load(Ordering::SeqCst), 0);
}

#[test]
fn a_timeout_is_retried_for_a_blocking_caller_only() {
    let (a, b) = (node("a", Behaviour::Silent), node("b", Behaviour::Answer));
    let reference = reference_to(&[&a, &b], Cluster::default());
    let whoami = reference
        .method::<(), String>("whoami")
        .timeout(Duration::from_millis(50));
    // Asynchronous: a call that reached `a` times out and stays failed.
    let mut results = Vec::new();
    for _ in 0..2 {
        let mut call = whoami.call_with(CallContext::new(), ());
        pump(&[&a, &b]);
        a.lb.advance(Duration::from_millis(60));
        b.lb.advance(Duration::from_millis(60));
        pump(&[&a, &b]);
        results.push(call.try_take().expect("an outcome").map(|r| r.value));
    }
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(RpcError::Timeout { .. }))),
        "{results:?}"
    );
}

#[test]
fn dropping_a_call_cancels_its_attempts_and_stops_its_retries() {
    // Kept: a call not dropped fails over to `b`.
    {
        let (a, b) = (
            node("a", Behaviour::Status(70)),
            node("b", Behaviour::Answer),
        );
        let whoami = reference_to(&[&a, &b], Cluster::default()).method::<(), String>("whoami");
        assert_eq!(outcome(&whoami, &[&a, &b]).unwrap(), "b");
    }
    let (a, b) = (
        node("a", Behaviour::Status(70)),
        node("b", Behaviour::Answer),
    );
    let reference = reference_to(&[&a, &b], Cluster::default());
    let whoami = reference.method::<(), String>("whoami");
    // The first call goes to `a` (round robin), which fails it; dropped, it is not retried
    // on `b`. (Its request was already queued: `a` still hears it.)
    drop(whoami.call(()));
    pump(&[&a, &b]);
    assert_eq!(a.served.load(Ordering::SeqCst), 0, "rejected by the filter");
    assert_eq!(b.served.load(Ordering::SeqCst), 0, "retried after the drop");
    assert_eq!(a.lb.consumer.lock().in_flight(), 0);
    assert_eq!(b.lb.consumer.lock().in_flight(), 0);
}

#[test]
fn tags_route_gray_calls_to_gray_providers() {
    let (a, b) = (node("a", Behaviour::Answer), node("b", Behaviour::Answer));
    let invokers = [
        Invoker::new("a:20880", Arc::new(Channels::single(a.lb.consumer.clone()))),
        Invoker::new("b:20880", Arc::new(Channels::single(b.lb.consumer.clone())))
            .with_params([("dubbo.tag", "gray")]),
    ];
    let reference =
        Reference::builder(SERVICE).build_with(Arc::new(StaticDirectory::new(invokers)));
    let whoami = reference.method::<(), String>("whoami");
    let tagged = |tag: Option<&str>, force: bool| {
        let mut ctx = CallContext::new();
        if let Some(tag) = tag {
            ctx = ctx.attachment("dubbo.tag", tag);
        }
        if force {
            ctx = ctx.attachment("dubbo.force.tag", "true");
        }
        let mut call = whoami.call_with(ctx, ());
        pump(&[&a, &b]);
        call.try_take()
            .expect("an outcome")
            .map(|reply| reply.value)
    };
    for _ in 0..3 {
        assert_eq!(tagged(None, false).unwrap(), "a");
        assert_eq!(tagged(Some("gray"), false).unwrap(), "b");
        assert_eq!(tagged(Some("red"), false).unwrap(), "a");
        assert!(matches!(
            tagged(Some("red"), true),
            Err(RpcError::NoConnection(_))
        ));
    }
    // Without the tag router, both take untagged calls.
    let invokers = reference
        .directory()
        .list(&tether_core::cluster::Route::new(SERVICE, "whoami"));
    let open = Reference::builder(SERVICE)
        .without_tag_routing()
        .load_balance(Arc::new(RoundRobin::new()))
        .build_with(Arc::new(StaticDirectory::new(invokers.iter().cloned())));
    let whoami = open.method::<(), String>("whoami");
    let answers: Vec<_> = (0..4)
        .map(|_| outcome(&whoami, &[&a, &b]).unwrap())
        .collect();
    assert_eq!(answers, ["a", "b", "a", "b"]);
}

#[test]
fn listeners_and_filters_run_when_the_completion_is_dropped() {
    use tether_core::consumer::{Filter as ConsumerFilter, Invocation};
    use tether_core::message::Attachments;

    /// Counts outcomes.
    struct Outcomes(Arc<AtomicUsize>);
    impl ConsumerFilter for Outcomes {
        fn on_outcome(&self, _: &mut Invocation<'_>, _: Result<&Attachments, &RpcError>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    let (a, b) = (node("a", Behaviour::Answer), node("b", Behaviour::Answer));
    for nodes in [vec![&a], vec![&a, &b]] {
        // With a listener: `let _ = ...` (the compiler's own suggestion) keeps the outcome.
        let returned = Arc::new(AtomicUsize::new(0));
        let seen = returned.clone();
        let whoami = reference_to(&nodes, Cluster::default())
            .method::<(), String>("whoami")
            .on_return(move |name, _| {
                assert!(name == "a" || name == "b");
                seen.fetch_add(1, Ordering::SeqCst);
            });
        #[allow(clippy::let_underscore_future)] // the footgun under test
        let _ = whoami.call(());
        pump(&nodes);
        assert_eq!(
            returned.load(Ordering::SeqCst),
            1,
            "{} providers",
            nodes.len()
        );

        // With a filter: its `on_outcome` runs too.
        let outcomes = Arc::new(AtomicUsize::new(0));
        let invokers: Vec<_> = nodes
            .iter()
            .map(|n| {
                Invoker::new(
                    format!("{}:20880", n.name),
                    Arc::new(Channels::single(n.lb.consumer.clone())),
                )
            })
            .collect();
        let filtered = Reference::builder(SERVICE)
            .filter(Outcomes(outcomes.clone()))
            .build_with(Arc::new(StaticDirectory::new(invokers)));
        drop(filtered.method::<(), String>("whoami").call(()));
        pump(&nodes);
        assert_eq!(
            outcomes.load(Ordering::SeqCst),
            1,
            "{} providers",
            nodes.len()
        );
        // A generic call's too.
        drop(filtered.call_generic("whoami", &[], &[]));
        pump(&nodes);
        assert_eq!(
            outcomes.load(Ordering::SeqCst),
            2,
            "{} providers, generic",
            nodes.len()
        );
    }
}

#[test]
fn a_dropped_watched_call_still_fails_over() {
    // Round robin tries a first: it fails with a status that fails over, and the dropped
    // call goes on to b, as its listener sees.
    let (a, b) = (
        node("a", Behaviour::Status(70)),
        node("b", Behaviour::Answer),
    );
    let returned: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
    let sink = returned.clone();
    let whoami = reference_to(&[&a, &b], Cluster::default())
        .method::<(), String>("whoami")
        .on_return(move |name, _| sink.lock().push(name.clone()));
    drop(whoami.call(()));
    pump(&[&a, &b]);
    assert_eq!(*returned.lock(), ["b"]);
}

#[test]
fn cancel_calls_off_a_watched_call() {
    // Dropping the completion of a call that listeners watch leaves it running; `cancel`
    // calls it off, on one provider (the plain path) and through the cluster layer alike.
    // Failsafe does not hide it as a null result either.
    let (a, b) = (node("a", Behaviour::Silent), node("b", Behaviour::Silent));
    let cases = [Cluster::default(), Cluster::Failsafe]
        .map(|cluster| [(vec![&a], cluster), (vec![&a, &b], cluster)]);
    for (nodes, cluster) in cases.into_iter().flatten() {
        let thrown: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let sink = thrown.clone();
        let whoami = reference_to(&nodes, cluster)
            .method::<(), Option<String>>("whoami") // nullable: failsafe could return null
            .on_throw(move |error, _| sink.lock().push(format!("{error:?}")));
        let call = whoami.call(());
        pump(&nodes);
        assert!(thrown.lock().is_empty(), "the providers never answer");
        call.cancel();
        pump(&nodes);
        assert_eq!(
            *thrown.lock(),
            ["Cancelled"],
            "{} providers, {cluster:?}",
            nodes.len()
        );
        for n in &nodes {
            assert_eq!(
                n.lb.consumer.lock().in_flight(),
                0,
                "{} providers",
                nodes.len()
            );
        }
    }
}

/// Records the `timeout` attachment of each request it sees.
struct SeenTimeout(Arc<parking_lot::Mutex<Vec<String>>>);

impl Filter for SeenTimeout {
    fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
        let timeout = request.context.attachment("timeout").unwrap_or("none");
        self.0.lock().push(timeout.to_owned());
        Ok(())
    }
}

#[test]
fn a_providers_timeout_holds_unless_the_consumer_sets_its_own() {
    // As Java's consumers read a provider's URL after `mergeUrl`: the provider's
    // `<method>.timeout`, then the consumer's `timeout`, then the provider's, then 1 s; a
    // method's own timeout and a call's hold over all of them.
    type Case<'c> = (
        &'c [(&'c str, &'c str)],
        Option<u64>,
        Option<u64>,
        Option<u64>,
        u64,
    );
    let cases: [Case<'_>; 8] = [
        // (provider params, reference timeout, method timeout, call timeout, expected ms)
        (&[], None, None, None, 1_000),
        (&[("timeout", "200")], None, None, None, 200),
        (&[("default.timeout", "250")], None, None, None, 250),
        (
            &[("timeout", "200"), ("whoami.timeout", "300")],
            None,
            None,
            None,
            300,
        ),
        (&[("timeout", "200")], Some(500), None, None, 500),
        (
            &[("timeout", "200"), ("whoami.timeout", "300")],
            Some(500),
            None,
            None,
            300,
        ),
        (
            &[("whoami.timeout", "300")],
            Some(500),
            Some(700),
            None,
            700,
        ),
        (&[("whoami.timeout", "300")], None, None, Some(150), 150),
    ];
    for (params, reference_ms, method_ms, call_ms, want) in cases {
        let seen: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let spawner = QueueSpawner::default();
        let provider = Provider::new(Dispatch::Direct, Arc::new(spawner.clone()))
            .export(Service::new(SERVICE).method_async("whoami", |_, (): ()| {
                futures::future::pending::<Result<String, JavaException>>()
            }))
            .filter(SeenTimeout(seen.clone()));
        let mut lb = Loopback::new(None, Some(Arc::new(provider)));
        lb.spawner = spawner;
        let invoker = Invoker::new("a:20880", Arc::new(Channels::single(lb.consumer.clone())))
            .with_params(params.iter().copied());
        let mut builder = Reference::builder(SERVICE);
        if let Some(ms) = reference_ms {
            builder = builder.timeout(Duration::from_millis(ms));
        }
        let reference = builder.build_with(Arc::new(StaticDirectory::new([invoker])));
        let mut whoami = reference.method::<(), String>("whoami");
        if let Some(ms) = method_ms {
            whoami = whoami.timeout(Duration::from_millis(ms));
        }
        let mut call = match call_ms {
            Some(ms) => {
                let ctx = CallContext::new().timeout(Duration::from_millis(ms));
                whoami
                    .call_with(ctx, ())
                    .map(|r| r.map(|reply| reply.value), || Err(RpcError::Cancelled))
            }
            None => whoami.call(()),
        };
        let case = format!("{params:?}, reference {reference_ms:?}, method {method_ms:?}");
        let started = lb.clock.now();
        let mut waited = Duration::ZERO;
        while !call.is_ready() && waited < Duration::from_secs(5) {
            lb.advance(Duration::from_millis(10));
            waited = lb.clock.now() - started;
        }
        match call.try_take() {
            Some(Err(RpcError::Timeout { timeout, .. })) => {
                assert_eq!(timeout, Duration::from_millis(want), "{case}")
            }
            other => panic!("{case}: {other:?}"),
        }
        let waited = waited.as_millis() as u64;
        assert!(
            (want..want + 20).contains(&waited),
            "{case}: timed out after {waited} ms"
        );
        assert_eq!(
            *seen.lock(),
            [want.to_string()],
            "{case}: the provider's deadline"
        );
    }
}

fn invokers_of(nodes: &[&Node], params: &[&[(&str, &str)]]) -> Vec<Invoker> {
    nodes
        .iter()
        .zip(params)
        .map(|(n, params)| {
            Invoker::new(
                format!("{}:20880", n.name),
                Arc::new(Channels::single(n.lb.consumer.clone())),
            )
            .with_params(params.iter().copied())
        })
        .collect()
}

#[test]
fn the_default_balancer_draws_by_weight() {
    let (a, b) = (node("a", Behaviour::Answer), node("b", Behaviour::Answer));
    let invokers = invokers_of(&[&a, &b], &[&[("weight", "10")], &[("weight", "90")]]);
    let reference =
        Reference::builder(SERVICE).build_with(Arc::new(StaticDirectory::new(invokers)));
    let whoami = reference.method::<(), String>("whoami");
    let to_b = (0..1_000)
        .filter(|_| outcome(&whoami, &[&a, &b]).unwrap() == "b")
        .count();
    // Binomial(1000, 0.9): a standard deviation of 9.5 calls; round robin would give 500.
    assert!(
        (840..=960).contains(&to_b),
        "{to_b} of 1000 calls went to weight 90"
    );
}

#[test]
fn least_active_counts_calls_in_flight_on_the_call_path() {
    // `a` holds every call; once one is in flight there, every later call goes to `b`.
    let (a, b) = (node("a", Behaviour::Silent), node("b", Behaviour::Answer));
    let invokers = invokers_of(&[&a, &b], &[&[], &[]]);
    let reference = Reference::builder(SERVICE)
        .load_balance(load_balance("leastactive").unwrap())
        .build_with(Arc::new(StaticDirectory::new(invokers.clone())));
    let whoami = reference.method::<(), String>("whoami");
    let mut held = Vec::new();
    let mut answered = 0;
    for _ in 0..40 {
        let mut call = whoami.call(());
        pump(&[&a, &b]);
        match call.try_take() {
            Some(outcome) => {
                assert_eq!(outcome.unwrap(), "b");
                answered += 1;
            }
            None => held.push(call),
        }
    }
    assert!(
        held.len() <= 1,
        "{} calls went to the provider holding one",
        held.len()
    );
    assert_eq!(answered + held.len(), 40);
    assert_eq!(invokers[0].stats("whoami").active() as usize, held.len());
    assert_eq!(invokers[1].stats("whoami").active(), 0);
    assert_eq!(invokers[1].stats("whoami").succeeded(), answered as u64);
    // A held call dropped (cancelled) is counted a failure, and no longer in flight.
    drop(held);
    pump(&[&a, &b]);
    assert_eq!(invokers[0].stats("whoami").active(), 0);
}

#[test]
fn consistent_hash_sends_a_key_where_the_balancer_hashes_its_text() {
    let nodes = [
        node("a", Behaviour::Answer),
        node("b", Behaviour::Answer),
        node("c", Behaviour::Answer),
    ];
    let nodes: Vec<&Node> = nodes.iter().collect();
    let invokers = invokers_of(&nodes, &[&[], &[], &[]]);
    let reference = Reference::builder(SERVICE)
        .load_balance(load_balance("consistenthash").unwrap())
        .build_with(Arc::new(StaticDirectory::new(invokers.clone())));
    let owner = reference.method::<(String,), String>("owner");
    let reference_ring = ConsistentHash::new();
    let mut seen = std::collections::BTreeSet::new();
    for key in 0..60 {
        let key = format!("user-{key}");
        let expected = reference_ring
            .select(
                &invokers,
                &Route::new(SERVICE, "owner").with_arguments(&[key.as_str()]),
            )
            .unwrap()
            .address()
            .trim_end_matches(":20880")
            .to_owned();
        for _ in 0..3 {
            let mut call = owner.call((key.clone(),));
            pump(&nodes);
            let got = call.try_take().expect("an outcome").unwrap();
            assert_eq!(got, expected, "key {key}");
        }
        seen.insert(expected);
    }
    assert_eq!(
        seen.len(),
        3,
        "60 keys over three providers reached {seen:?}"
    );
}

/// A failback queue on `spawner` whose waits end once the returned gate is opened (the test
/// drives time by pumping).
fn queue_on(spawner: &QueueSpawner, capacity: usize) -> (Arc<FailbackQueue>, Arc<AtomicBool>) {
    let gate = Arc::new(AtomicBool::new(false));
    let open = gate.clone();
    let sleep: tether_core::cluster::Sleep = Arc::new(move |_| {
        let open = open.clone();
        Box::pin(futures::future::poll_fn(move |_| {
            if open.load(Ordering::SeqCst) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        }))
    });
    let queue = FailbackQueue::new(Arc::new(spawner.clone()), sleep).capacity(capacity);
    (Arc::new(queue), gate)
}

#[test]
fn failback_returns_null_at_once_and_resends_to_another_provider() {
    let (a, b) = (
        node("a", Behaviour::Status(70)),
        node("b", Behaviour::Answer),
    );
    let (queue, gate) = queue_on(&a.lb.spawner, 10);
    let invokers = invokers_of(&[&a, &b], &[&[], &[]]);
    let reference = Reference::builder(SERVICE)
        .cluster(Cluster::Failback { retries: 3 })
        .load_balance(Arc::new(RoundRobin::new()))
        .failback_queue(queue.clone())
        .build_with(Arc::new(StaticDirectory::new(invokers)));
    // `Option<String>` can be null: the failed call returns `None` to its caller at once.
    let whoami = reference.method::<(), Option<String>>("whoami");
    let mut call = whoami.call(());
    pump(&[&a, &b]);
    assert_eq!(call.try_take().expect("an outcome").unwrap(), None);
    assert_eq!(b.served.load(Ordering::SeqCst), 0, "not resent yet");
    assert_eq!(queue.waiting(), 1);
    // The period passes: the resend goes to `b`, which answers; nothing waits any more.
    gate.store(true, Ordering::SeqCst);
    pump(&[&a, &b]);
    pump(&[&a, &b]);
    assert_eq!(b.served.load(Ordering::SeqCst), 1);
    assert_eq!(queue.waiting(), 0);
    // A call dropped at once is still resent: sent and forgotten.
    let before = b.served.load(Ordering::SeqCst);
    drop(whoami.call(())); // to `a` (round robin), which fails it
    pump(&[&a, &b]);
    pump(&[&a, &b]);
    assert_eq!(b.served.load(Ordering::SeqCst), before + 1, "resent to b");
    assert_eq!(queue.waiting(), 0);
    // Calls `b` answers directly are not queued; those `a` fails are.
    gate.store(false, Ordering::SeqCst);
    let answered: Vec<_> = (0..4).map(|_| outcome_of(&whoami, &[&a, &b])).collect();
    assert_eq!(
        answered,
        [None, Some("b".to_owned()), None, Some("b".to_owned())]
    );
    assert_eq!(queue.waiting(), 2);
}

#[test]
fn failback_gives_up_after_its_retries_and_drops_calls_past_its_capacity() {
    let a = node("a", Behaviour::Status(70));
    let (queue, gate) = queue_on(&a.lb.spawner, 1);
    let invokers = invokers_of(&[&a], &[&[]]);
    let reference = Reference::builder(SERVICE)
        .cluster(Cluster::Failback { retries: 2 })
        .failback_queue(queue.clone())
        .build_with(Arc::new(StaticDirectory::new(invokers)));
    let whoami = reference.method::<(), Option<String>>("whoami");
    let (mut first, mut second) = (whoami.call(()), whoami.call(()));
    a.lb.pump();
    assert_eq!(first.try_take().expect("an outcome").unwrap(), None);
    assert_eq!(second.try_take().expect("an outcome").unwrap(), None);
    // One of them waits; the other found the queue full and was dropped.
    assert_eq!(queue.waiting(), 1);
    let requests = || a.lb.provider.lock().stats().frames_received;
    let sent = requests();
    gate.store(true, Ordering::SeqCst);
    for _ in 0..6 {
        a.lb.pump();
    }
    assert_eq!(queue.waiting(), 0, "gave up after its resends");
    assert_eq!(
        requests() - sent,
        2,
        "two resends of the queued call, none of the dropped one"
    );
    // A result type that cannot be null gets the failure itself.
    let strict = reference.method::<(), String>("whoami");
    let mut call = strict.call(());
    a.lb.pump();
    assert!(matches!(
        call.try_take().expect("an outcome"),
        Err(RpcError::Remote { .. })
    ));
}

fn outcome_of(method: &Method<(), Option<String>>, nodes: &[&Node]) -> Option<String> {
    let mut call = method.call(());
    pump(nodes);
    call.try_take().expect("the call has an outcome").unwrap()
}
