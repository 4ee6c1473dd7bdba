//! tether's consumer runs the interop cases against tether's demo provider, in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tether_core::consumer::{Channels, Reference};
use tether_core::provider::{Dispatch, Provider};
use tether_tests::demo::{SERVICE, VERSION, demo_service};
use tether_tests::interop::{consumer_cases, report};
use tether_tests::{Loopback, QueueSpawner};

#[test]
fn every_interop_case_passes_against_the_demo_provider() {
    let spawner = QueueSpawner::default();
    let provider =
        Provider::new(Dispatch::Direct, Arc::new(spawner.clone())).export(demo_service());
    let mut lb = Loopback::new(None, Some(Arc::new(provider)));
    lb.spawner = spawner;
    let lb = Arc::new(lb);
    let stop = Arc::new(AtomicBool::new(false));
    let io = {
        let (lb, stop) = (lb.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                lb.advance(Duration::from_micros(100));
                std::thread::yield_now();
            }
        })
    };
    let reference = Reference::builder(SERVICE)
        .version(VERSION)
        .build(Arc::new(Channels::single(lb.consumer.clone())));
    let results = consumer_cases(&reference);
    stop.store(true, Ordering::Relaxed);
    io.join().unwrap();
    assert!(results.len() > 60, "{} cases", results.len());
    assert_eq!(report(&results), 0);
}

#[test]
fn the_type_matrix_passes_against_tether_s_own_provider() {
    // The Java type matrix (tests/src/types.rs), tether on both sides: typed exceptions
    // thrown with `JavaException::from_typed` and read with `RpcError::business_as`, the
    // BigDecimal/BigInteger/Date types, and every echo.
    let spawner = QueueSpawner::default();
    let service = tether_tests::types::type_methods(demo_service());
    let provider = Provider::new(Dispatch::Direct, Arc::new(spawner.clone())).export(service);
    let mut lb = Loopback::new(None, Some(Arc::new(provider)));
    lb.spawner = spawner;
    let lb = Arc::new(lb);
    let stop = Arc::new(AtomicBool::new(false));
    let io = {
        let (lb, stop) = (lb.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                lb.advance(Duration::from_micros(100));
                std::thread::yield_now();
            }
        })
    };
    let reference = Reference::builder(SERVICE)
        .version(VERSION)
        .build(Arc::new(Channels::single(lb.consumer.clone())));
    let results = tether_tests::types::type_cases(&reference);
    stop.store(true, Ordering::Relaxed);
    io.join().unwrap();
    assert!(results.len() > 50, "{} cases", results.len());
    assert_eq!(report(&results), 0);
}
