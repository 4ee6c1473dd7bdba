//! One load-balancer pick over 100 providers, per Dubbo balancer: what every call of a
//! reference to a registry's providers pays before it is sent. Each is handed the
//! directory's list with the route naming it, as the consumer hands it; one least-active
//! case is handed a list the routers narrowed, known by its providers.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tether_benches::picks::{METHOD, SERVICE, busy_but_one_in_ten, none_idle, providers};
use tether_core::cluster::{
    ConsistentHash, Invoker, Invokers, LeastActive, LoadBalance, Random, RoundRobin, Route,
    ShortestResponse,
};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick of 100");
    group.throughput(Throughput::Elements(1));
    let mut one = |name: &str, lb: &dyn LoadBalance, invokers: &Invokers, route: &Route<'_>| {
        let route = route.with_list(invokers);
        group.bench_function(name, |b| {
            b.iter(|| black_box(lb.select(black_box(invokers), &route)));
        });
    };
    let route = Route::new(SERVICE, METHOD);

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
    let calls = busy_but_one_in_ten(&busy);
    one("leastactive, 10 idle", &LeastActive::new(), &busy, &route);
    // None idle: ten tie at one call in flight.
    let loaded = providers(true);
    let loaded_calls = none_idle(&loaded);
    one(
        "leastactive, none idle",
        &LeastActive::new(),
        &loaded,
        &route,
    );
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
    // The routers narrowed the list: a new one each call, with the same providers.
    let narrowed: Vec<Invoker> = busy.to_vec();
    let lb = LeastActive::new();
    group.bench_function("leastactive, 10 idle, narrowed list", |b| {
        b.iter(|| black_box(lb.select(black_box(&narrowed), &route)));
    });
    group.finish();
    drop((calls, loaded_calls));
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
