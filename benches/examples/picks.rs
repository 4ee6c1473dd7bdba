//! Least-active picks over 100 providers in a loop, as the `pick` bench sets them up, for
//! counting instructions per pick where timings are too noisy to compare:
//!
//! ```text
//! cargo build --release -p tether-benches --example picks
//! valgrind --tool=callgrind target/release/examples/picks "10 idle" 100000
//! ```
//!
//! Divide the inclusive count of `LeastActive::select` by the picks. A third argument
//! `time` then prints the least and the median time a pick took over batches of 1,000.
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
    if args.next().as_deref() == Some("time") {
        // The least of many short batches: the time a pick takes when nothing else runs,
        // which a shared machine's noise only ever lengthens.
        let mut batches: Vec<f64> = (0..2_000)
            .map(|_| {
                let start = std::time::Instant::now();
                for _ in 0..1_000 {
                    black_box(lb.select(black_box(&invokers), &route));
                }
                start.elapsed().as_nanos() as f64 / 1_000.0
            })
            .collect();
        batches.sort_by(f64::total_cmp);
        let (least, median) = (batches[0], batches[batches.len() / 2]);
        println!("per pick: least {least:.1} ns, median {median:.1} ns");
    }
}
