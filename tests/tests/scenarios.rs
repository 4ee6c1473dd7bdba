//! Scenario tests of the sans-IO connection: two cores over a simulated link, virtual time.

use std::num::NonZeroUsize;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tether_core::{
    Announcement, CallError, CallOptions, Config, ConnectionError, Keepalive, PayloadLimit,
    RespondError, SerializationId, Side, StartErrorKind, Status, TimeoutPhase,
};
use tether_tests::{End, LinkConfig, Observed, Pair, SeedGuard, body, outcome};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn opts(timeout_ms: u64) -> CallOptions {
    CallOptions::new(ms(timeout_ms))
}

/// A provider handler that echoes the body after a random delay in `0..max_delay_ms`.
fn echo_with_random_delay(pair: &mut Pair, max_delay_ms: u64) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(pair.seed ^ 0xEC40);
    pair.provider.handler = Some(Box::new(move |req| {
        let delay = Duration::from_micros(rng.gen_range(0..max_delay_ms * 1000));
        Some((delay, Status::OK, req.body.to_vec()))
    }));
}

#[test]
fn many_calls_in_flight_complete_out_of_order_with_their_own_responses() {
    for seed in 0..20 {
        let _guard = SeedGuard(seed);
        let mut pair = Pair::new(seed);
        echo_with_random_delay(&mut pair, 50);
        let now = pair.now;
        let mut calls: Vec<_> = (0..1_000u32)
            .map(|i| {
                let call = pair
                    .consumer
                    .conn
                    .start_call(now, opts(1_000), i.to_be_bytes().to_vec())
                    .unwrap();
                (i, call)
            })
            .collect();
        assert_eq!(pair.consumer.conn.in_flight(), 1_000);
        pair.run_for(ms(200));
        let mut order = Vec::new();
        for (i, call) in &mut calls {
            assert_eq!(&body(outcome(&mut call.response))[..], i.to_be_bytes());
            order.push(call.id);
        }
        assert_eq!(pair.consumer.conn.in_flight(), 0);
        assert_eq!(pair.provider.conn.inbound_in_flight(), 0);
        assert!(pair.consumer.call_deliveries.values().all(|&n| n == 1));
        assert_eq!(pair.consumer.call_deliveries.len(), 1_000);
        // Ids are distinct.
        order.sort();
        order.dedup();
        assert_eq!(order.len(), 1_000);
    }
}

#[test]
fn timeout_then_late_response_is_dropped_and_counted() {
    let mut pair = Pair::new(1);
    pair.provider.handler = Some(Box::new(|req| {
        Some((ms(150), Status::OK, req.body.to_vec()))
    }));
    let now = pair.now;
    let mut call = pair
        .consumer
        .conn
        .start_call(now, opts(100), b"x".to_vec())
        .unwrap();
    pair.run_for(ms(99));
    assert!(call.response.try_take().is_none());
    pair.run_for(ms(2));
    assert_eq!(
        outcome(&mut call.response),
        Err(CallError::Timeout {
            phase: TimeoutPhase::ServerSide,
            timeout: ms(100)
        })
    );
    pair.run_for(ms(100));
    assert_eq!(pair.consumer.conn.stats().late_responses, 1);
    assert_eq!(pair.consumer.call_deliveries[&call.id], 1);
    assert!(
        pair.consumer.closed().is_none(),
        "a late response is not an error"
    );
}

#[test]
fn timeout_of_a_request_never_written_is_client_side() {
    let mut pair = Pair::new(2);
    pair.consumer.stalled = true;
    let now = pair.now;
    let mut call = pair
        .consumer
        .conn
        .start_call(now, opts(100), b"x".to_vec())
        .unwrap();
    pair.run_for(ms(150));
    assert_eq!(
        outcome(&mut call.response),
        Err(CallError::Timeout {
            phase: TimeoutPhase::ClientSide,
            timeout: ms(100)
        })
    );
    assert_eq!(
        CallError::Timeout {
            phase: TimeoutPhase::ClientSide,
            timeout: ms(1)
        }
        .status(),
        Status::CLIENT_TIMEOUT
    );
}

#[test]
fn timeout_races_response_with_exactly_one_outcome() {
    // Responses land around the deadline; whichever the connection sees first wins.
    for seed in 0..300 {
        let _guard = SeedGuard(seed);
        let mut pair = Pair::new(seed);
        echo_with_random_delay(&mut pair, 40);
        let now = pair.now;
        let mut calls: Vec<_> = (0..50u8)
            .map(|i| {
                pair.consumer
                    .conn
                    .start_call(now, opts(20), vec![i])
                    .unwrap()
            })
            .collect();
        pair.run_for(ms(100));
        let late = pair.consumer.conn.stats().late_responses;
        let mut timeouts = 0;
        for call in &mut calls {
            match outcome(&mut call.response) {
                Ok(response) => assert_eq!(response.status, Status::OK),
                Err(CallError::Timeout {
                    phase: TimeoutPhase::ServerSide,
                    ..
                }) => timeouts += 1,
                other => panic!("unexpected outcome {other:?}"),
            }
            assert_eq!(pair.consumer.call_deliveries[&call.id], 1);
        }
        assert_eq!(
            timeouts, late,
            "every timed-out call's response arrived late"
        );
    }
}

#[test]
fn cancel_races_response_with_exactly_one_outcome() {
    for seed in 0..300 {
        let _guard = SeedGuard(seed);
        let mut pair = Pair::new(seed);
        echo_with_random_delay(&mut pair, 10);
        let now = pair.now;
        let mut calls: Vec<_> = (0..20u8)
            .map(|i| {
                pair.consumer
                    .conn
                    .start_call(now, opts(1_000), vec![i])
                    .unwrap()
            })
            .collect();
        let cancel_at = Duration::from_micros(pair.rng().gen_range(0..12_000));
        pair.run_for(cancel_at);
        let now = pair.now;
        let mut cancelled = 0;
        for call in &calls {
            if pair.consumer.conn.cancel(now, call.id) {
                cancelled += 1;
            }
        }
        pair.run_for(ms(50));
        let mut seen_cancelled = 0;
        for call in &mut calls {
            match outcome(&mut call.response) {
                Ok(_) => {}
                Err(CallError::Cancelled) => seen_cancelled += 1,
                other => panic!("unexpected outcome {other:?}"),
            }
            assert_eq!(pair.consumer.call_deliveries[&call.id], 1);
        }
        assert_eq!(seen_cancelled, cancelled);
        assert_eq!(pair.consumer.conn.stats().late_responses, cancelled);
        assert_eq!(pair.consumer.conn.in_flight(), 0);
    }
}

#[test]
fn dropping_a_completion_cancels_its_call() {
    let mut pair = Pair::new(3);
    pair.provider.handler = Some(Box::new(|req| {
        Some((ms(10), Status::OK, req.body.to_vec()))
    }));
    let now = pair.now;
    let call = pair
        .consumer
        .conn
        .start_call(now, opts(1_000), b"x".to_vec())
        .unwrap();
    let id = call.id;
    assert!(pair.consumer.conn.is_pending(id));
    drop(call);
    // Applied on the connection's next input or command.
    pair.run_for(ms(1));
    assert!(!pair.consumer.conn.is_pending(id));
    assert_eq!(pair.consumer.conn.in_flight(), 0);
    pair.run_for(ms(50));
    assert_eq!(pair.consumer.conn.stats().late_responses, 1);
    assert!(!pair.consumer.call_deliveries.contains_key(&id));
}

#[test]
fn disconnect_fails_ten_thousand_pending_calls_at_once() {
    let mut pair = Pair::new(4);
    let now = pair.now;
    let mut calls: Vec<_> = (0..10_000u32)
        .map(|i| {
            pair.consumer
                .conn
                .start_call(now, opts(60_000), i.to_le_bytes().to_vec())
                .unwrap()
        })
        .collect();
    pair.run_for(ms(20));
    assert_eq!(pair.provider.requests.len(), 10_000, "nobody answers");
    let before = pair.now;
    pair.reset();
    assert_eq!(
        pair.now, before,
        "no time passes: nobody waits for a timeout"
    );
    for call in &mut calls {
        assert_eq!(
            outcome(&mut call.response),
            Err(CallError::ConnectionLost(ConnectionError::TransportClosed))
        );
        assert_eq!(pair.consumer.call_deliveries[&call.id], 1);
    }
    assert_eq!(
        pair.consumer.closed(),
        Some(ConnectionError::TransportClosed)
    );
    // Later commands get the same sticky error, and hand the payload back.
    let err = pair
        .consumer
        .conn
        .start_call(pair.now, opts(10), b"again".to_vec())
        .unwrap_err();
    assert!(matches!(
        err.kind,
        StartErrorKind::Closed(ConnectionError::TransportClosed)
    ));
    assert_eq!(err.payload, b"again");
    assert_eq!(pair.consumer.conn.poll_timeout(), None);
}

fn keepalive_config(side: Side, heartbeat_s: u64) -> Config {
    let mut config = Config::new(side);
    let hb = Duration::from_secs(heartbeat_s);
    let keepalive = match side {
        Side::Consumer => Keepalive::new(Some(hb), Some(hb * 3)).unwrap(),
        Side::Provider => Keepalive::new(None, Some(hb * 3)).unwrap(),
    };
    config.keepalive(keepalive);
    config
}

#[test]
fn heartbeats_keep_a_quiet_connection_alive() {
    let mut pair = Pair::with(
        5,
        keepalive_config(Side::Consumer, 1),
        keepalive_config(Side::Provider, 1),
        LinkConfig::default(),
    );
    pair.run_for(Duration::from_secs(60));
    // Let the last heartbeat's reply arrive.
    pair.run_for(ms(20));
    assert_eq!(pair.consumer.closed(), None);
    assert_eq!(pair.provider.closed(), None);
    let sent = pair.consumer.conn.stats().heartbeats_sent;
    assert!(
        (55..=60).contains(&sent),
        "one heartbeat per idle second, got {sent}"
    );
    assert_eq!(pair.provider.conn.stats().heartbeats_answered, sent);
    assert_eq!(
        pair.provider.conn.stats().heartbeats_sent,
        0,
        "providers only answer"
    );
}

#[test]
fn a_dead_peer_is_detected_after_three_silent_intervals() {
    let mut pair = Pair::with(
        6,
        keepalive_config(Side::Consumer, 1),
        keepalive_config(Side::Provider, 1),
        LinkConfig::default(),
    );
    let now = pair.now;
    let mut call = pair
        .consumer
        .conn
        .start_call(now, opts(3_600_000), b"x".to_vec())
        .unwrap();
    pair.run_for(ms(10));
    pair.provider.deaf = true;
    pair.consumer.deaf = true;
    let dead_at = pair.now;
    pair.run_while(Duration::from_secs(10), |p| p.consumer.closed().is_some());
    let waited = pair.now - dead_at;
    assert!(
        waited >= ms(2_980) && waited <= ms(3_010),
        "closed after {waited:?}"
    );
    assert_eq!(
        pair.consumer.closed(),
        Some(ConnectionError::IdleTimeout {
            idle: Duration::from_secs(3)
        })
    );
    assert_eq!(
        outcome(&mut call.response),
        Err(CallError::ConnectionLost(ConnectionError::IdleTimeout {
            idle: Duration::from_secs(3)
        }))
    );
    // Two heartbeats went out while waiting (after 1 s and 2 s of silence).
    assert_eq!(pair.consumer.conn.stats().heartbeats_sent, 2);
}

#[test]
fn one_way_requests_have_no_pending_entry_and_cannot_be_answered() {
    let mut pair = Pair::new(7);
    let now = pair.now;
    let sent = pair
        .consumer
        .conn
        .send_oneway(now, SerializationId::HESSIAN2, false, b"fire".to_vec())
        .unwrap();
    assert!(sent.sent.is_none());
    assert_eq!(pair.consumer.conn.in_flight(), 0);
    pair.run_for(ms(10));
    let request = pair.provider.requests.pop_front().unwrap();
    assert!(!request.two_way);
    assert_eq!(&request.body[..], b"fire");
    assert_eq!(pair.provider.conn.inbound_in_flight(), 0);
    let err = pair
        .provider
        .conn
        .respond(
            pair.now,
            request.id,
            Status::OK,
            request.serialization,
            b"no".to_vec(),
        )
        .unwrap_err();
    assert_eq!(err, tether_core::RespondError::UnknownRequest(request.id));
}

#[test]
fn sent_notification_follows_the_transport() {
    let mut pair = Pair::new(8);
    pair.consumer.stalled = true;
    let now = pair.now;
    let mut call = pair
        .consumer
        .conn
        .start_call(now, opts(1_000).notify_sent(true), b"x".to_vec())
        .unwrap();
    let mut oneway = pair
        .consumer
        .conn
        .send_oneway(now, SerializationId::HESSIAN2, true, b"y".to_vec())
        .unwrap();
    pair.run_for(ms(5));
    let sent = call.sent.as_mut().unwrap();
    assert!(
        sent.try_take().is_none(),
        "not accepted by the transport yet"
    );
    pair.consumer.stalled = false;
    pair.run_for(ms(1));
    assert_eq!(call.sent.unwrap().try_take(), Some(Ok(())));
    assert_eq!(oneway.sent.as_mut().unwrap().try_take(), Some(Ok(())));

    // A connection that dies first fails the notification.
    pair.consumer.stalled = true;
    let mut call = pair
        .consumer
        .conn
        .start_call(pair.now, opts(1_000).notify_sent(true), b"z".to_vec())
        .unwrap();
    pair.run_for(ms(5));
    pair.reset();
    assert_eq!(
        call.sent.as_mut().unwrap().try_take(),
        Some(Err(ConnectionError::TransportClosed))
    );
}

#[test]
fn payload_limit_holds_in_both_directions_and_keeps_the_stream_in_sync() {
    let mut consumer = Config::new(Side::Consumer);
    consumer.payload_limit(PayloadLimit::new(200));
    let mut provider = Config::new(Side::Provider);
    provider.payload_limit(PayloadLimit::new(100));
    let mut pair = Pair::with(9, consumer, provider, LinkConfig::default());
    let now = pair.now;

    // Outbound over the consumer's own limit: refused at start, payload handed back.
    let err = pair
        .consumer
        .conn
        .start_call(now, opts(100), vec![7; 201])
        .unwrap_err();
    assert!(matches!(err.kind, StartErrorKind::PayloadTooLarge(e) if e.len == 201));
    assert_eq!(err.payload, vec![7; 201]);

    // Over the provider's limit: the provider answers 40 without buffering the body, and the
    // next request on the same connection works.
    let mut big = pair
        .consumer
        .conn
        .start_call(now, opts(100), vec![1; 150])
        .unwrap();
    let mut small = pair
        .consumer
        .conn
        .start_call(now, opts(100), vec![2; 8])
        .unwrap();
    pair.run_for(ms(10));
    let response = outcome(&mut big.response).unwrap();
    assert_eq!(response.status, Status::BAD_REQUEST);
    // A Hessian string of 75 chars: the two-byte length form 0x30 0x4b.
    assert_eq!(response.body[..2], [0x30, 75]);
    let message = String::from_utf8_lossy(&response.body[2..]).to_string();
    assert_eq!(
        message,
        "Fail to decode request due to: Data length too large: 150, max payload: 100"
    );
    assert_eq!(pair.provider.conn.stats().oversized_frames, 1);
    let request = pair.provider.requests.pop_front().unwrap();
    assert_eq!(&request.body[..], &[2; 8]);

    // A response over the provider's limit is replaced by status 25.
    let err = pair
        .provider
        .conn
        .respond(
            pair.now,
            request.id,
            Status::OK,
            request.serialization,
            vec![3; 101],
        )
        .unwrap_err();
    assert!(matches!(err, tether_core::RespondError::PayloadTooLarge(e) if e.len == 101));
    pair.run_for(ms(10));
    let response = outcome(&mut small.response).unwrap();
    assert_eq!(response.status, Status::SERIALIZATION_ERROR);

    // A response over the consumer's limit fails its call with a client-side error; the
    // stream stays in sync for the next response.
    let mut call = pair
        .consumer
        .conn
        .start_call(pair.now, opts(100), vec![4])
        .unwrap();
    let mut next = pair
        .consumer
        .conn
        .start_call(pair.now, opts(100), vec![5])
        .unwrap();
    pair.run_for(ms(10));
    let first = pair.provider.requests.pop_front().unwrap();
    let second = pair.provider.requests.pop_front().unwrap();
    // Write an oversized response by hand (the provider's own limit would refuse it).
    let mut frame = Vec::new();
    tether_core::frame::encode_frame(
        &mut frame,
        tether_core::frame::Header {
            kind: tether_core::frame::FrameKind::Response { status: Status::OK },
            event: false,
            serialization: SerializationId::HESSIAN2,
            id: first.id,
            body_len: 0,
        },
        &[9; 300],
        PayloadLimit::unlimited(),
    )
    .unwrap();
    pair.inject(End::Consumer, &frame);
    pair.provider
        .conn
        .respond(
            pair.now,
            second.id,
            Status::OK,
            second.serialization,
            vec![6],
        )
        .unwrap();
    pair.run_for(ms(10));
    assert!(matches!(
        outcome(&mut call.response),
        Err(CallError::ResponseTooLarge(e)) if e.len == 300
    ));
    assert_eq!(&body(outcome(&mut next.response))[..], [6]);
    assert!(pair.consumer.closed().is_none());
}

#[test]
fn in_flight_limit_refuses_with_the_payload_and_reports_capacity() {
    let mut consumer = Config::new(Side::Consumer);
    consumer.max_in_flight(NonZeroUsize::new(10).unwrap());
    let mut pair = Pair::with(
        10,
        consumer,
        Config::new(Side::Provider),
        LinkConfig::default(),
    );
    let now = pair.now;
    let mut calls: Vec<_> = (0..10u8)
        .map(|i| {
            pair.consumer
                .conn
                .start_call(now, opts(1_000), vec![i])
                .unwrap()
        })
        .collect();
    let err = pair
        .consumer
        .conn
        .start_call(now, opts(1_000), vec![10])
        .unwrap_err();
    assert!(matches!(
        err.kind,
        StartErrorKind::TooManyInFlight { limit: 10 }
    ));
    assert_eq!(err.payload, vec![10]);
    assert!(!pair.consumer.conn.has_capacity());
    pair.run_for(ms(10));
    let request = pair.provider.requests.pop_front().unwrap();
    pair.provider
        .conn
        .respond(
            pair.now,
            request.id,
            Status::OK,
            request.serialization,
            vec![],
        )
        .unwrap();
    pair.run_for(ms(10));
    assert_eq!(pair.consumer.observed, [Observed::CapacityAvailable]);
    assert!(
        pair.consumer
            .conn
            .start_call(pair.now, opts(1_000), vec![11])
            .is_ok()
    );
    assert!(outcome(&mut calls[0].response).is_ok());
}

#[test]
fn inbound_limit_answers_status_100() {
    let mut provider = Config::new(Side::Provider);
    provider.max_inbound_in_flight(NonZeroUsize::new(2).unwrap());
    let mut pair = Pair::with(
        11,
        Config::new(Side::Consumer),
        provider,
        LinkConfig::default(),
    );
    let now = pair.now;
    let mut calls: Vec<_> = (0..3u8)
        .map(|i| {
            pair.consumer
                .conn
                .start_call(now, opts(1_000), vec![i])
                .unwrap()
        })
        .collect();
    pair.run_for(ms(10));
    assert_eq!(pair.provider.requests.len(), 2);
    assert_eq!(
        outcome(&mut calls[2].response).unwrap().status,
        Status::SERVER_THREADPOOL_EXHAUSTED
    );
    assert_eq!(pair.provider.conn.stats().requests_rejected, 1);
}

#[test]
fn send_buffer_high_water_applies_backpressure() {
    let mut consumer = Config::new(Side::Consumer);
    consumer.send_buffer_high_water(NonZeroUsize::new(1_000).unwrap());
    let mut pair = Pair::with(
        12,
        consumer,
        Config::new(Side::Provider),
        LinkConfig::default(),
    );
    pair.consumer.stalled = true;
    let now = pair.now;
    let mut accepted = Vec::new();
    let err = loop {
        match pair
            .consumer
            .conn
            .send_oneway(now, SerializationId::HESSIAN2, false, vec![0; 100])
        {
            Ok(sent) => accepted.push(sent),
            Err(err) => break err,
        }
    };
    assert!(matches!(
        err.kind,
        StartErrorKind::SendBufferFull {
            high_water: 1_000,
            ..
        }
    ));
    assert_eq!(accepted.len(), 9, "9 frames of 116 bytes fit under 1000");
    pair.run_for(ms(5));
    assert!(pair.consumer.observed.is_empty());
    pair.consumer.stalled = false;
    pair.run_for(ms(5));
    assert_eq!(pair.consumer.observed, [Observed::CapacityAvailable]);
    assert_eq!(pair.provider.requests.len(), 9);
}

#[test]
fn read_only_announcement_keeps_calls_in_flight_going() {
    let mut pair = Pair::new(13);
    let now = pair.now;
    let mut call = pair
        .consumer
        .conn
        .start_call(now, opts(1_000), b"x".to_vec())
        .unwrap();
    pair.run_for(ms(5));
    let mut sent = pair
        .provider
        .conn
        .announce(pair.now, Announcement::ReadOnly, true)
        .unwrap();
    pair.run_for(ms(5));
    assert_eq!(sent.sent.as_mut().unwrap().try_take(), Some(Ok(())));
    assert_eq!(pair.consumer.observed, [Observed::PeerReadOnly]);
    assert!(pair.consumer.conn.is_peer_read_only());
    let request = pair.provider.requests.pop_front().unwrap();
    pair.provider
        .conn
        .respond(
            pair.now,
            request.id,
            Status::OK,
            request.serialization,
            b"ok".to_vec(),
        )
        .unwrap();
    pair.run_for(ms(5));
    assert_eq!(&body(outcome(&mut call.response))[..], b"ok");
    pair.provider
        .conn
        .announce(pair.now, Announcement::Writeable, false)
        .unwrap();
    pair.run_for(ms(5));
    assert!(!pair.consumer.conn.is_peer_read_only());
}

#[test]
fn malformed_bytes_close_only_that_connection_and_fail_its_calls() {
    let mut pair = Pair::new(14);
    let now = pair.now;
    let mut call = pair
        .consumer
        .conn
        .start_call(now, opts(1_000), b"x".to_vec())
        .unwrap();
    pair.inject(End::Consumer, b"\r\nhello telnet");
    assert!(matches!(
        pair.consumer.closed(),
        Some(ConnectionError::Malformed(
            tether_core::frame::FrameError::BadMagic(_)
        ))
    ));
    assert!(matches!(
        outcome(&mut call.response),
        Err(CallError::ConnectionLost(ConnectionError::Malformed(_)))
    ));
}

#[test]
fn provider_answers_heartbeats_with_golden_bytes() {
    // PROTOCOL.md §13.3: request id 2 → reply flag 0x22, status 20, same id, body N.
    let mut pair = Pair::new(15);
    let request = [
        0xda, 0xbb, 0xe2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0x4e,
    ];
    pair.provider.conn.handle_input(pair.now, &request);
    let mut out = Vec::new();
    pair.provider.conn.poll_transmit(pair.now, &mut out);
    assert_eq!(
        out,
        [
            0xda, 0xbb, 0x22, 0x14, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0x4e
        ]
    );
    // A one-way heartbeat (dubbo-py) is not answered; an event response is ignored.
    pair.provider.conn.handle_input(
        pair.now,
        &[
            0xda, 0xbb, 0xa2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0x4e,
        ],
    );
    pair.provider.conn.handle_input(
        pair.now,
        &[
            0xda, 0xbb, 0x22, 0x14, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0x4e,
        ],
    );
    out.clear();
    assert_eq!(pair.provider.conn.poll_transmit(pair.now, &mut out), 0);
    assert_eq!(pair.provider.conn.stats().late_responses, 0);
}

#[test]
fn duplicate_inbound_request_id_is_answered_without_disturbing_the_first() {
    let mut pair = Pair::new(16);
    let frame = |body: u8| {
        vec![
            0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, body,
        ]
    };
    pair.provider.conn.handle_input(pair.now, &frame(1));
    pair.provider.conn.handle_input(pair.now, &frame(2));
    let mut received = 0;
    while let Some(event) = pair.provider.conn.poll_event() {
        assert!(matches!(event, tether_core::Event::RequestReceived(r) if r.body[..] == [1]));
        received += 1;
    }
    assert_eq!(received, 1);
    assert_eq!(pair.provider.conn.inbound_in_flight(), 1);
    assert_eq!(pair.provider.conn.stats().requests_rejected, 1);
    let mut out = Vec::new();
    pair.provider.conn.poll_transmit(pair.now, &mut out);
    assert_eq!(out[3], Status::BAD_REQUEST.0);
}

#[test]
fn a_peer_that_sends_without_reading_is_pushed_back() {
    // The provider floods heartbeats at a consumer whose transport accepts no bytes: the
    // replies pile up only to the high-water mark, then the consumer stops reading.
    let mut consumer = Config::new(Side::Consumer);
    consumer.send_buffer_high_water(NonZeroUsize::new(1_000).unwrap());
    let mut pair = Pair::with(
        17,
        consumer,
        Config::new(Side::Provider),
        LinkConfig::default(),
    );
    pair.consumer.stalled = true;
    for _ in 0..1_000 {
        pair.provider.conn.send_heartbeat(pair.now).unwrap();
    }
    pair.run_for(ms(50));
    assert!(!pair.consumer.conn.wants_input());
    let buffered = pair.consumer.conn.unwritten_bytes();
    assert!(buffered < 1_000 + 17 * 20, "buffered {buffered} bytes");
    // Once the transport drains, reading resumes and every heartbeat is answered.
    pair.consumer.stalled = false;
    pair.run_for(ms(200));
    assert_eq!(pair.provider.conn.stats().late_responses, 0);
    assert_eq!(pair.consumer.conn.stats().heartbeats_answered, 1_000);
}

#[test]
fn a_peer_that_does_not_read_its_answers_is_held_to_the_send_buffer_limit() {
    // A consumer pipelines requests and stops reading (the provider's transport accepts no
    // bytes). The answers pile up to the limit, answers beyond it become status 80, and
    // requests read meanwhile wait undispatched, with reading stopped, until it reads again.
    let mut provider = Config::new(Side::Provider);
    provider
        .send_buffer_high_water(NonZeroUsize::new(10_000).unwrap())
        .send_buffer_limit(NonZeroUsize::new(30_000).unwrap());
    let mut pair = Pair::with(
        21,
        Config::new(Side::Consumer),
        provider,
        LinkConfig::default(),
    );
    pair.provider.stalled = true;
    let now = pair.now;
    let mut calls: Vec<_> = (0..50u8)
        .map(|i| {
            pair.consumer
                .conn
                .start_call(now, opts(10_000), vec![i])
                .unwrap()
        })
        .collect();
    pair.run_for(ms(10));
    assert_eq!(
        pair.provider.requests.len(),
        50,
        "read while nothing was owed"
    );

    let now = pair.now;
    let mut refused = 0;
    for request in std::mem::take(&mut pair.provider.requests) {
        let answer = vec![request.body[0]; 5_000];
        match pair
            .provider
            .conn
            .respond(now, request.id, Status::OK, request.serialization, answer)
        {
            Ok(()) => {}
            Err(RespondError::SendBufferFull { limit: 30_000, .. }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    // 5,016-byte frames: two below the mark, three more up to the limit.
    assert_eq!(refused, 45);
    let held = pair.provider.conn.unwritten_bytes();
    assert!(held <= 30_000 + 45 * 200, "{held} bytes held for the peer");
    assert!(!pair.provider.conn.wants_input());

    // The provider reads no more; requests already read (here handed straight to it, as a
    // transport's last read would) wait: dispatching them would only add unread answers.
    let now = pair.now;
    calls.extend((50..60u8).map(|i| {
        pair.consumer
            .conn
            .start_call(now, opts(10_000), vec![i])
            .unwrap()
    }));
    let mut wire = Vec::new();
    pair.consumer.conn.poll_transmit(now, &mut wire);
    pair.consumer.conn.handle_written(now, wire.len());
    pair.provider.conn.handle_input(now, &wire);
    pair.run_for(ms(10));
    assert!(pair.provider.requests.is_empty());
    assert_eq!(pair.provider.conn.held_requests(), 10);
    assert!(!pair.provider.conn.wants_input());

    // The consumer reads again: the held requests are dispatched and answered in full (each
    // written before the next is made, as a reading peer allows).
    pair.provider.stalled = false;
    pair.run_for(ms(10));
    assert_eq!(pair.provider.conn.held_requests(), 0);
    assert!(pair.provider.conn.wants_input());
    let now = pair.now;
    for request in std::mem::take(&mut pair.provider.requests) {
        let answer = vec![request.body[0]; 5_000];
        pair.provider
            .conn
            .respond(now, request.id, Status::OK, request.serialization, answer)
            .unwrap();
        pair.settle();
    }
    pair.run_for(ms(10));

    let mut answered = 0;
    for (i, call) in calls.iter_mut().enumerate() {
        let response = outcome(&mut call.response).expect("a response");
        if response.status == Status::OK {
            assert_eq!(&response.body[..], &vec![i as u8; 5_000][..]);
            answered += 1;
        } else {
            assert_eq!(response.status, Status::SERVER_ERROR);
            let message = String::from_utf8_lossy(&response.body).into_owned();
            assert!(message.contains("not yet read by the peer"), "{message}");
        }
        assert_eq!(pair.consumer.call_deliveries[&call.id], 1);
    }
    assert_eq!(answered, 15);
}

#[test]
fn a_provider_that_does_not_read_callback_answers_is_held_to_the_limit_too() {
    // The same bound on the consumer's side of the connection: callbacks are requests from
    // the provider, and the consumer owes their answers.
    let mut consumer = Config::new(Side::Consumer);
    consumer
        .send_buffer_high_water(NonZeroUsize::new(4_000).unwrap())
        .send_buffer_limit(NonZeroUsize::new(8_000).unwrap());
    let mut pair = Pair::with(
        22,
        consumer,
        Config::new(Side::Provider),
        LinkConfig::default(),
    );
    pair.consumer.stalled = true;
    let now = pair.now;
    let mut calls: Vec<_> = (0..20u8)
        .map(|i| {
            pair.provider
                .conn
                .start_call(now, opts(10_000), vec![i])
                .unwrap()
        })
        .collect();
    pair.run_for(ms(10));
    let now = pair.now;
    let results: Vec<_> = std::mem::take(&mut pair.consumer.requests)
        .into_iter()
        .map(|request| {
            pair.consumer.conn.respond(
                now,
                request.id,
                Status::OK,
                request.serialization,
                vec![0; 2_000],
            )
        })
        .collect();
    assert_eq!(results.len(), 20);
    // 2,016-byte frames: two below the mark, one more up to the limit.
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    assert!(pair.consumer.conn.unwritten_bytes() <= 8_000 + 16 * 200);
    pair.consumer.stalled = false;
    pair.run_for(ms(10));
    let statuses: Vec<_> = calls
        .iter_mut()
        .map(|call| outcome(&mut call.response).expect("a response").status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == Status::OK).count(), 3);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == Status::SERVER_ERROR)
            .count(),
        17
    );
}
