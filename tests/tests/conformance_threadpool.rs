//! The conformance suite (`tether_tests::conformance`) with the threadpool adapter on both ends.

tether_tests::all_scenarios!(
    tether_tests::exec::ThreadPool::new(),
    tether_tests::exec::ThreadPool::new()
);
