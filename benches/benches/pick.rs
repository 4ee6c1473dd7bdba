//! One load-balancer pick over 100 providers, per Dubbo balancer: what every call of a
//! reference to a registry's providers pays before it is sent.
#![allow(missing_docs)]

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tether_core::cluster::{
    Channels, ConsistentHash, Invoker, LeastActive, LoadBalance, Random, RoundRobin, Route,
    ShortestResponse,
};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";
const METHOD: &str = "sayHello";
const PROVIDERS: u16 = 100;

/// 100 providers with weights 1..=100 when `weighted`, none otherwise.
fn providers(weighted: bool) -> Vec<Invoker> {
    (0..PROVIDERS)
        .map(|i| {
            let invoker = Invoker::new(
                format!("10.0.{}.{}:20880", i / 250, i % 250),
                Arc::new(Channels::new(NonZeroUsize::MIN)),
            )
            .with_params([("timeout", "3000"), ("side", "provider")]);
            if weighted {
                invoker.with_params([("weight", (i + 1).to_string())])
            } else {
                invoker
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick of 100");
    group.throughput(Throughput::Elements(1));
    let route = Route::new(SERVICE, METHOD);
    let mut one = |name: &str, lb: &dyn LoadBalance, invokers: &[Invoker], route: &Route<'_>| {
        group.bench_function(name, |b| {
            b.iter(|| black_box(lb.select(black_box(invokers), route)));
        });
    };

    let (weighted, uniform) = (providers(true), providers(false));
    one("random, weighted", &Random::new(), &weighted, &route);
    one("random, uniform", &Random::new(), &uniform, &route);
    one(
        "roundrobin, weighted",
        &RoundRobin::new(),
        &weighted,
        &route,
    );

    // Every provider has calls in flight but one in ten, which tie (weighted draw).
    let busy = providers(true);
    let calls: Vec<_> = (busy.iter().enumerate())
        .filter(|(i, _)| i % 10 != 0)
        .map(|(_, invoker)| invoker.stats(METHOD).begin())
        .collect();
    one("leastactive, 10 idle", &LeastActive::new(), &busy, &route);
    // All idle: 100 tie.
    one(
        "leastactive, all idle",
        &LeastActive::new(),
        &weighted,
        &route,
    );

    let timed = providers(true);
    for (i, invoker) in timed.iter().enumerate() {
        let ms = 1 + (i as u64 * 7) % 40;
        invoker
            .stats(METHOD)
            .begin()
            .succeeded(Duration::from_millis(ms));
    }
    one("shortestresponse", &ShortestResponse::new(), &timed, &route);

    let args = ["user-4711"];
    let hashed = Route::new(SERVICE, METHOD).with_arguments(&args);
    one("consistenthash", &ConsistentHash::new(), &uniform, &hashed);
    group.finish();
    drop(calls);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
