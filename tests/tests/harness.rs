//! The test harness itself: a livelock in the in-memory pair or loopback fails the test with
//! a message instead of hanging it.

use std::sync::Arc;
use std::time::Duration;

use tether_core::{
    Call, CallOptions, Config, InboundRequest, RequestHandler, SerializationId, SharedConnection,
    Side, Status,
};
use tether_tests::{LinkConfig, Loopback, Pair, SETTLE_ROUNDS};

/// A pair on a link with no latency, an echoing provider and one call started.
fn round_trip() -> (Pair, Call) {
    let link = LinkConfig {
        latency: (Duration::ZERO, Duration::ZERO),
        max_chunk: 1 << 20,
    };
    let consumer = Config::new(Side::Consumer);
    let mut pair = Pair::with(1, consumer, Config::new(Side::Provider), link);
    pair.provider.handler = Some(Box::new(|req| {
        Some((Duration::ZERO, Status::OK, req.body.to_vec()))
    }));
    let now = pair.now;
    let call = pair
        .consumer
        .conn
        .start_call(now, CallOptions::new(Duration::from_secs(1)), vec![1])
        .unwrap();
    (pair, call)
}

/// A round trip at one instant takes a few rounds to settle: more than one, far fewer than
/// the bound.
#[test]
fn settling_is_bounded_and_a_round_trip_stays_within_the_bound() {
    let (mut pair, _call) = round_trip();
    assert!(
        !pair.settle_bounded(1),
        "a round trip needs more than one round"
    );
    let (mut pair, mut call) = round_trip();
    pair.settle();
    assert!(call.response.try_take().is_some_and(|r| r.is_ok()));
}

/// Answers every one-way request with another: two of them keep a loopback busy forever.
struct PingPong;

impl RequestHandler for PingPong {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        let _ = conn.send_oneway(SerializationId::HESSIAN2, false, request.body);
    }
}

#[test]
#[should_panic(expected = "livelock: Loopback::pump")]
fn a_livelocked_loopback_fails_instead_of_hanging() {
    let lb = Loopback::new(Some(Arc::new(PingPong)), Some(Arc::new(PingPong)));
    lb.consumer
        .send_oneway(SerializationId::HESSIAN2, false, vec![1])
        .unwrap();
    lb.pump();
}

#[test]
fn a_livelocked_loopback_reports_it_when_bounded() {
    let lb = Loopback::new(Some(Arc::new(PingPong)), Some(Arc::new(PingPong)));
    assert!(lb.pump_bounded(SETTLE_ROUNDS), "quiet until the first ping");
    lb.consumer
        .send_oneway(SerializationId::HESSIAN2, false, vec![1])
        .unwrap();
    assert!(!lb.pump_bounded(100));
}
