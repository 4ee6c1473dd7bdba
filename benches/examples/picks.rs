//! Picks over 100 providers in a loop, as the `pick` bench sets them up, for counting
//! instructions per pick where timings are too noisy to compare:
//!
//! ```text
//! cargo build --release -p tether-benches --example picks
//! valgrind --tool=callgrind target/release/examples/picks "10 idle" 100000
//! ```
//!
//! The cases: least active with `"10 idle"`, `"all idle"` or `"none idle"`, and `"random"`
//! and `"roundrobin"` (weighted). Divide the inclusive count of the balancer's `select` by
//! the picks, or take the difference of two runs' totals over the difference of their picks. A third argument
//! `time` then prints the least and the median time a pick took over batches of 1,000.
#![allow(missing_docs)]

use std::hint::black_box;

use tether_benches::picks::{METHOD, SERVICE, busy_but_one_in_ten, none_idle, providers};
use tether_core::cluster::{LeastActive, LoadBalance, Random, RoundRobin, Route};

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "10 idle".into());
    let picks: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let invokers = providers(true);
    let route = Route::new(SERVICE, METHOD).with_list(&invokers);
    let (lb, _calls): (Box<dyn LoadBalance>, _) = match case.as_str() {
        "10 idle" => (Box::new(LeastActive::new()), busy_but_one_in_ten(&invokers)),
        "all idle" => (Box::new(LeastActive::new()), Vec::new()),
        "none idle" => (Box::new(LeastActive::new()), none_idle(&invokers)),
        "random" => (Box::new(Random::new()), Vec::new()),
        "roundrobin" => (Box::new(RoundRobin::new()), Vec::new()),
        other => panic!(
            "unknown case {other:?}: \"10 idle\", \"all idle\", \"none idle\", \"random\" or \"roundrobin\""
        ),
    };
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
