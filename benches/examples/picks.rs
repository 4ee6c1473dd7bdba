//! Least-active picks over 100 providers in a loop, as the `pick` bench sets them up, for
//! counting instructions per pick where timings are too noisy to compare:
//!
//! ```text
//! cargo build --release -p tether-benches --example picks
//! valgrind --tool=callgrind target/release/examples/picks "10 idle" 100000
//! ```
//!
//! Divide the inclusive count of `LeastActive::select` by the picks.
#![allow(missing_docs)]

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tether_core::cluster::{Channels, Invoker, LeastActive, LoadBalance, Route};

const METHOD: &str = "sayHello";

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "10 idle".into());
    let picks: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let route = Route::new("org.apache.dubbo.demo.DemoService", METHOD);
    // Weights 1..=100, as the bench's.
    let invokers: Vec<Invoker> = (0..100u16)
        .map(|i| {
            Invoker::new(
                format!("10.0.0.{i}:20880"),
                Arc::new(Channels::new(NonZeroUsize::MIN)),
            )
            .with_params([("weight", (i + 1).to_string())])
        })
        .collect();
    // "10 idle": every provider but one in ten has a call in flight.
    let _calls: Vec<_> = match case.as_str() {
        "10 idle" => (invokers.iter().enumerate())
            .filter(|(i, _)| i % 10 != 0)
            .map(|(_, invoker)| invoker.stats(METHOD).begin())
            .collect(),
        "all idle" => Vec::new(),
        other => panic!("unknown case {other:?}: \"10 idle\" or \"all idle\""),
    };
    let lb = LeastActive::new();
    let mut sum = 0usize;
    for _ in 0..picks {
        let picked = lb.select(black_box(&invokers), &route).expect("a pick");
        sum += picked.address().len();
    }
    println!("{picks} picks ({case}), {sum}");
}
