//! The service layer in memory: a typed call through `Reference`/`Method` to a `Provider`
//! and back over a `Loopback` (no sockets, virtual clock), with and without filters. The
//! `no filter` case is the one to compare across versions: an installed-nothing filter
//! chain must cost nothing measurable.
#![allow(missing_docs, clippy::disallowed_methods)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tether_core::consumer::{Channels, Reference, ReferenceBuilder};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

fn echo() -> Service {
    Service::new(SERVICE).method("echoBytes", |_, (b,): (bytes::Bytes,)| Ok(b))
}

fn bench(
    c: &mut Criterion,
    name: &str,
    provider: impl FnOnce(Provider) -> Provider,
    reference: impl FnOnce(ReferenceBuilder) -> ReferenceBuilder,
) {
    let spawner = QueueSpawner::default();
    let handler =
        provider(Provider::new(Dispatch::Direct, Arc::new(spawner.clone()))).export(echo());
    let lb = Loopback::new(None, Some(Arc::new(handler)));
    let reference = reference(Reference::builder(SERVICE))
        .build(Arc::new(Channels::single(lb.consumer.clone())));
    let method = reference.method::<(bytes::Bytes,), bytes::Bytes>("echoBytes");
    let payload = bytes::Bytes::from(vec![0x5a; 64]);
    let mut group = c.benchmark_group("service round trip, in memory");
    group.throughput(Throughput::Elements(1));
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut call = method.call((payload.clone(),));
            lb.pump();
            black_box(call.try_take().unwrap().unwrap());
        })
    });
    group.finish();
}

fn no_filter(c: &mut Criterion) {
    bench(c, "64 B byte[] echo, no filter", |p| p, |r| r);
}

// FILTERS-START (the part that needs the filter API)
struct Noop;
impl tether_core::consumer::Filter for Noop {}
impl tether_core::provider::Filter for Noop {}

fn noop_filters(c: &mut Criterion) {
    bench(
        c,
        "64 B byte[] echo, a no-op filter each side",
        |p| p.filter(Noop),
        |r| r.filter(Noop),
    );
}
// FILTERS-END

/// One provider through the cluster machinery: `available` always runs a call as a chain of
/// attempts (the path failover takes with several providers), against the plain path above.
fn through_cluster(c: &mut Criterion) {
    bench(
        c,
        "64 B byte[] echo, one provider through the cluster layer",
        |p| p,
        |r| r.cluster(tether_core::cluster::Cluster::Available),
    );
}

/// Failover over three providers (round robin), each on its own loopback.
fn failover_over_three(c: &mut Criterion) {
    use tether_core::cluster::{Invoker, StaticDirectory};
    let loopbacks: Vec<Loopback> = (0..3)
        .map(|_| {
            let spawner = QueueSpawner::default();
            let handler = Provider::new(Dispatch::Direct, Arc::new(spawner)).export(echo());
            Loopback::new(None, Some(Arc::new(handler)))
        })
        .collect();
    let invokers = loopbacks.iter().enumerate().map(|(i, lb)| {
        Invoker::new(
            format!("10.0.0.{i}:20880"),
            Arc::new(Channels::single(lb.consumer.clone())),
        )
    });
    let reference =
        Reference::builder(SERVICE).build_with(Arc::new(StaticDirectory::new(invokers)));
    let method = reference.method::<(bytes::Bytes,), bytes::Bytes>("echoBytes");
    let payload = bytes::Bytes::from(vec![0x5a; 64]);
    let mut group = c.benchmark_group("service round trip, in memory");
    group.throughput(Throughput::Elements(1));
    group.bench_function("64 B byte[] echo, failover over three providers", |b| {
        b.iter(|| {
            let mut call = method.call((payload.clone(),));
            for lb in &loopbacks {
                lb.pump();
            }
            black_box(call.try_take().unwrap().unwrap());
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    no_filter,
    noop_filters,
    through_cluster,
    failover_over_three
);
criterion_main!(benches);
