//! The conformance suite (`tether_tests::conformance`) with the smol adapter on both ends.

tether_tests::all_scenarios!(
    tether_tests::exec::Smol::new(),
    tether_tests::exec::Smol::new()
);
