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
    // Nobody answers; the provider runs 1,024 at once (their answers expected to take
    // 16 KiB each, up to the 16 MiB mark) and holds the rest.
    assert_eq!(pair.provider.requests.len(), 1_024);
    assert_eq!(pair.provider.conn.held_requests(), 10_000 - 1_024);
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
    config = config.keepalive(keepalive);
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
    consumer = consumer.payload_limit(PayloadLimit::new(200));
    let mut provider = Config::new(Side::Provider);
    provider = provider.payload_limit(PayloadLimit::new(100));
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
    consumer = consumer.max_in_flight(NonZeroUsize::new(10).unwrap());
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
    provider = provider.max_inbound_in_flight(NonZeroUsize::new(2).unwrap());
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
    consumer = consumer.send_buffer_high_water(NonZeroUsize::new(1_000).unwrap());
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
    // docs/protocol.md §13.3: request id 2 → reply flag 0x22, status 20, same id, body N.
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
    consumer = consumer
        .send_buffer_high_water(NonZeroUsize::new(1_000).unwrap())
        .send_buffer_limit(NonZeroUsize::new(1_000).unwrap());
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
    // Reading goes on above the high-water mark, up to the hard limit (never below it).
    let buffered = pair.consumer.conn.unwritten_bytes();
    assert!(buffered < 1_000 + 17 * 20, "buffered {buffered} bytes");
    // Once the transport drains, reading resumes and every heartbeat is answered.
    pair.consumer.stalled = false;
    pair.run_for(ms(200));
    assert_eq!(pair.provider.conn.stats().late_responses, 0);
    assert_eq!(pair.consumer.conn.stats().heartbeats_answered, 1_000);
}

/// Starts `n` calls from `end`, each with a one-byte body `first + i`.
fn start_calls(pair: &mut Pair, end: End, first: u8, n: u8) -> Vec<tether_core::Call> {
    let now = pair.now;
    (first..first + n)
        .map(|i| {
            pair.end(end)
                .conn
                .start_call(now, opts(10_000), vec![i])
                .unwrap()
        })
        .collect()
}

/// Answers every request `end` has taken with `len` bytes repeating its first body byte,
/// letting the link move after each answer. Returns the refused ones.
fn answer_all(pair: &mut Pair, end: End, len: usize) -> usize {
    let mut refused = 0;
    while let Some(request) = pair.end(end).requests.pop_front() {
        let now = pair.now;
        let answer = vec![request.body[0]; len];
        match pair
            .end(end)
            .conn
            .respond(now, request.id, Status::OK, request.serialization, answer)
        {
            Ok(()) => {}
            Err(RespondError::SendBufferFull { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
        pair.settle();
    }
    refused
}

/// Checks that every call has exactly one outcome: its own `len`-byte answer (call `i` sent
/// byte `i`) or, for `refused` of them, status 80 with the reason.
fn check_answers(pair: &mut Pair, calls: &mut [tether_core::Call], len: usize, refused: usize) {
    let mut seen_refused = 0;
    for (i, call) in calls.iter_mut().enumerate() {
        let response = outcome(&mut call.response).expect("a response");
        if response.status == Status::OK {
            assert_eq!(&response.body[..], &vec![i as u8; len][..]);
        } else {
            assert_eq!(response.status, Status::SERVER_ERROR);
            let message = String::from_utf8_lossy(&response.body).into_owned();
            assert!(message.contains("not yet read by the peer"), "{message}");
            seen_refused += 1;
        }
        assert_eq!(
            pair.consumer
                .call_deliveries
                .get(&call.id)
                .copied()
                .unwrap_or(0)
                + pair
                    .provider
                    .call_deliveries
                    .get(&call.id)
                    .copied()
                    .unwrap_or(0),
            1
        );
    }
    assert_eq!(seen_refused, refused);
}

fn small_buffers(high_water: usize, limit: usize) -> Config {
    let mut config = Config::new(Side::Provider);
    config = config
        .send_buffer_high_water(NonZeroUsize::new(high_water).unwrap())
        .send_buffer_limit(NonZeroUsize::new(limit).unwrap());
    config
}

#[test]
fn a_peer_that_does_not_read_is_sent_about_the_high_water_mark() {
    // A consumer pipelines requests and reads nothing (the provider's transport accepts no
    // bytes). The provider dispatches while the unwritten bytes plus the answers it expects
    // for the requests in progress stay under the mark, and holds the rest, in order.
    let mut pair = Pair::with(
        21,
        Config::new(Side::Consumer),
        small_buffers(10_000, 30_000),
        LinkConfig::default(),
    );
    pair.provider.stalled = true;
    let mut calls = start_calls(&mut pair, End::Consumer, 0, 50);
    pair.run_for(ms(10));
    // Before any answer, one is expected to take 16 KiB, more than the 10,000-byte mark:
    // one request at a time.
    assert_eq!(pair.provider.requests.len(), 1);
    assert_eq!(pair.provider.conn.held_requests(), 49);
    assert_eq!(answer_all(&mut pair, End::Provider, 5_000), 0);
    // Two 5,016-byte answers take the buffer over the mark: the rest wait.
    assert_eq!(pair.provider.conn.held_requests(), 48);
    assert_eq!(pair.provider.conn.unwritten_bytes(), 2 * 5_016);
    // Reading goes on meanwhile (responses to the provider's own calls still come in).
    assert!(pair.provider.conn.wants_input());

    // The consumer reads again: everything is dispatched, answered and delivered.
    pair.provider.stalled = false;
    for _ in 0..100 {
        pair.run_for(ms(1));
        answer_all(&mut pair, End::Provider, 5_000);
    }
    assert_eq!(pair.provider.conn.held_requests(), 0);
    check_answers(&mut pair, &mut calls, 5_000, 0);
}

#[test]
fn answers_larger_than_expected_meet_the_send_buffer_limit() {
    // Small answers teach the provider to expect small ones; then a consumer that does not
    // read asks for large ones: all are dispatched, and the answers past the limit become
    // status 80. Requests read meanwhile are held until the consumer reads again.
    let mut pair = Pair::with(
        22,
        Config::new(Side::Consumer),
        small_buffers(10_000, 30_000),
        LinkConfig::default(),
    );
    let mut warm = start_calls(&mut pair, End::Consumer, 0, 30);
    for _ in 0..40 {
        pair.run_for(ms(1));
        answer_all(&mut pair, End::Provider, 10);
    }
    check_answers(&mut pair, &mut warm, 10, 0);

    pair.provider.stalled = true;
    let mut calls = start_calls(&mut pair, End::Consumer, 0, 50);
    pair.run_for(ms(10));
    assert_eq!(
        pair.provider.requests.len(),
        50,
        "answers of ~26 bytes expected"
    );
    let refused = answer_all(&mut pair, End::Provider, 5_000);
    // 5,016-byte frames: two below the mark, three more up to the limit.
    assert_eq!(refused, 45);
    let held = pair.provider.conn.unwritten_bytes();
    assert!(held <= 30_000 + 45 * 200, "{held} bytes held for the peer");

    // Requests read now (as a transport's last read would hand them over) wait.
    let now = pair.now;
    calls.extend(start_calls(&mut pair, End::Consumer, 50, 10));
    let mut wire = Vec::new();
    pair.consumer.conn.poll_transmit(now, &mut wire);
    pair.consumer.conn.handle_written(now, wire.len());
    pair.provider.conn.handle_input(now, &wire);
    pair.run_for(ms(10));
    assert!(pair.provider.requests.is_empty());
    assert_eq!(pair.provider.conn.held_requests(), 10);

    pair.provider.stalled = false;
    for _ in 0..100 {
        pair.run_for(ms(1));
        answer_all(&mut pair, End::Provider, 5_000);
    }
    assert_eq!(pair.provider.conn.held_requests(), 0);
    check_answers(&mut pair, &mut calls, 5_000, 45);
}

#[test]
fn a_peer_that_reads_gets_every_answer_however_many_are_made_at_once() {
    // Fifty answers of 5,000 bytes, made 5 ms after each request, to a peer that reads
    // everything: the dispatch follows what answers cost, none meets the limit.
    let mut pair = Pair::with(
        23,
        Config::new(Side::Consumer),
        small_buffers(10_000, 30_000),
        LinkConfig::default(),
    );
    pair.provider.handler = Some(Box::new(|request| {
        Some((ms(5), Status::OK, vec![request.body[0]; 5_000]))
    }));
    let mut calls = start_calls(&mut pair, End::Consumer, 0, 50);
    pair.run_for(ms(500));
    check_answers(&mut pair, &mut calls, 5_000, 0);
}

#[test]
fn a_provider_that_does_not_read_callback_answers_is_sent_about_the_mark_too() {
    // The same on the consumer's side: callbacks are requests from the provider, and the
    // consumer owes their answers.
    let mut consumer = small_buffers(4_000, 8_000);
    consumer = consumer.keepalive(Keepalive::consumer());
    let mut pair = Pair::with(
        24,
        consumer,
        Config::new(Side::Provider),
        LinkConfig::default(),
    );
    pair.consumer.stalled = true;
    let mut calls = start_calls(&mut pair, End::Provider, 0, 20);
    pair.run_for(ms(10));
    assert_eq!(answer_all(&mut pair, End::Consumer, 2_000), 0);
    assert_eq!(pair.consumer.conn.held_requests(), 18);
    assert!(pair.consumer.conn.unwritten_bytes() <= 2 * 2_016);
    pair.consumer.stalled = false;
    for _ in 0..100 {
        pair.run_for(ms(1));
        answer_all(&mut pair, End::Consumer, 2_000);
    }
    check_answers(&mut pair, &mut calls, 2_000, 0);
}

#[test]
fn held_requests_are_bounded_even_when_empty() {
    // While requests are held, reading stops once they reach the high-water mark, counting
    // a fixed cost for each so that a flood of empty one-way requests is bounded too.
    let mut pair = Pair::with(
        25,
        Config::new(Side::Consumer),
        small_buffers(10_000, 30_000),
        LinkConfig::default(),
    );
    pair.provider.stalled = true;
    let _running = start_calls(&mut pair, End::Consumer, 0, 1);
    pair.run_for(ms(10));
    assert_eq!(answer_all(&mut pair, End::Provider, 12_000), 0);
    let now = pair.now;
    for _ in 0..10_000 {
        pair.consumer
            .conn
            .send_oneway(now, SerializationId::HESSIAN2, false, Vec::new())
            .unwrap();
    }
    pair.run_for(ms(50));
    let held = pair.provider.conn.held_requests();
    assert!(held > 0 && held < 200, "{held} requests held");
    assert!(!pair.provider.conn.wants_input());
    pair.provider.stalled = false;
    pair.run_for(ms(200));
    assert_eq!(pair.provider.requests.len(), 10_000);
}

#[test]
fn one_large_answer_does_not_keep_requests_behind_slow_ones_waiting() {
    // A 900,000-byte answer makes the provider expect large ones (one at a time under its
    // 1,000,000-byte mark). Then long polls are running and nothing answers them: the
    // estimate fades with time, and the requests behind them run within a second.
    let mut pair = Pair::with(
        26,
        Config::new(Side::Consumer),
        small_buffers(1_000_000, 3_000_000),
        LinkConfig::default(),
    );
    let mut big = start_calls(&mut pair, End::Consumer, 0, 1);
    pair.run_for(ms(10));
    answer_all(&mut pair, End::Provider, 900_000);
    pair.run_for(ms(10));
    check_answers(&mut pair, &mut big, 900_000, 0);

    let mut calls = start_calls(&mut pair, End::Consumer, 0, 6);
    pair.run_for(ms(10));
    // One runs (two answers of 900,016 bytes would pass the 1,000,000-byte mark); it hangs.
    let long_polls = std::mem::take(&mut pair.provider.requests);
    assert_eq!(long_polls.len(), 1);
    assert_eq!(pair.provider.conn.held_requests(), 5);
    // The buffer is below the mark: reading goes on (answers to the provider's own calls,
    // callbacks' among them, still come in), and a held request cannot be answered yet.
    assert!(pair.provider.conn.wants_input());
    let held_id = calls[1].id;
    let now = pair.now;
    assert_eq!(
        pair.provider
            .conn
            .respond(now, held_id, Status::OK, SerializationId::HESSIAN2, vec![1]),
        Err(RespondError::UnknownRequest(held_id))
    );
    pair.run_for(ms(1_000));
    assert_eq!(pair.provider.conn.held_requests(), 0);
    assert_eq!(pair.provider.requests.len(), 5);
    let mut requests = long_polls;
    requests.extend(std::mem::take(&mut pair.provider.requests));
    pair.provider.requests = requests;
    answer_all(&mut pair, End::Provider, 10);
    pair.run_for(ms(10));
    check_answers(&mut pair, &mut calls, 10, 0);
}

/// `queued_frames` counts exactly the frames the next `poll_transmit` hands out: a refused
/// frame is not counted, an answer replaced by an error answer counts once, and a transmit
/// takes them all.
#[test]
fn queued_frames_counts_what_the_next_transmit_carries() {
    let limited = |side| {
        let mut config = Config::new(side);
        config = config.payload_limit(PayloadLimit::new(100));
        config
    };
    let (consumer, provider) = (limited(Side::Consumer), limited(Side::Provider));
    let mut pair = Pair::with(3, consumer, provider, LinkConfig::default());
    let now = pair.now;
    assert_eq!(pair.consumer.conn.queued_frames(), 0);
    let mut calls: Vec<_> = (0..3u8)
        .map(|i| {
            pair.consumer
                .conn
                .start_call(now, opts(1_000), vec![i; 10])
                .unwrap()
        })
        .collect();
    assert!(
        pair.consumer
            .conn
            .start_call(now, opts(1_000), vec![7; 101])
            .is_err()
    );
    assert_eq!(pair.consumer.conn.queued_frames(), 3);

    pair.run_for(ms(10));
    assert_eq!(pair.consumer.conn.queued_frames(), 0);
    let requests: Vec<_> = pair.provider.requests.drain(..).collect();
    assert_eq!(requests.len(), 3);
    let now = pair.now;
    let provider = &mut pair.provider.conn;
    for request in &requests[..2] {
        provider
            .respond(
                now,
                request.id,
                Status::OK,
                SerializationId::HESSIAN2,
                b"ok".to_vec(),
            )
            .unwrap();
    }
    // Over the limit: the connection answers with an error instead, one frame still.
    let err = provider.respond(
        now,
        requests[2].id,
        Status::OK,
        SerializationId::HESSIAN2,
        vec![0; 101],
    );
    assert!(
        matches!(err, Err(RespondError::PayloadTooLarge(_))),
        "{err:?}"
    );
    assert_eq!(provider.queued_frames(), 3);

    pair.run_for(ms(10));
    assert_eq!(pair.provider.conn.queued_frames(), 0);
    let outcomes: Vec<_> = calls.iter_mut().map(|c| outcome(&mut c.response)).collect();
    assert!(outcomes[..2].iter().all(|o| o.is_ok()), "{outcomes:?}");
    assert!(
        matches!(&outcomes[2], Ok(r) if r.status == Status::SERIALIZATION_ERROR),
        "{:?}",
        outcomes[2]
    );
}
