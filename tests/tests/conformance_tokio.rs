//! The conformance suite (`tether_tests::conformance`) with the tokio adapter on both ends.

tether_tests::all_scenarios!(
    tether_tests::exec::Tokio::new(),
    tether_tests::exec::Tokio::new()
);
