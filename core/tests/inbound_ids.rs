//! What a peer's requests can make a connection hold: ids chosen to collide in a hash table
//! must not make admitting them quadratic, and their bodies are bounded in bytes.
#![allow(clippy::disallowed_methods)] // the test reads the clock to catch a quadratic blow-up

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use tether_core::frame::{FrameKind, Header, PayloadLimit, RequestId, encode_frame};
use tether_core::{Config, Connection, Event, SerializationId, Side};

#[test]
fn chosen_request_ids_are_admitted_in_linear_time() {
    let n = 100_000u64;
    let mut config = Config::new(Side::Provider);
    config = config.max_inbound_in_flight(NonZeroUsize::new(n as usize).unwrap());
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let mut wire = Vec::new();
    for i in 0..n {
        let header = Header {
            kind: FrameKind::Request { two_way: true },
            event: false,
            serialization: SerializationId::HESSIAN2,
            // Equal low bits: one probe chain for an unseeded multiplicative hash.
            id: RequestId(i << 32),
            body_len: 0,
        };
        encode_frame(&mut wire, header, b"N", PayloadLimit::default()).unwrap();
    }
    let start = Instant::now();
    conn.handle_input(now, &wire);
    let received = std::iter::from_fn(|| conn.poll_event())
        .filter(|e| matches!(e, Event::RequestReceived(_)))
        .count();
    let elapsed = start.elapsed();
    // All admitted; those past what their expected answers leave room for are held.
    assert_eq!((received + conn.held_requests()) as u64, n);
    assert_eq!(conn.inbound_in_flight() as u64, n);
    // Linear: well under a second even in a debug build; quadratic: minutes.
    assert!(
        elapsed < Duration::from_secs(10),
        "{n} requests took {elapsed:?}"
    );
}

fn request(id: u64, body: &[u8]) -> Vec<u8> {
    let header = Header {
        kind: FrameKind::Request { two_way: true },
        event: false,
        serialization: SerializationId::HESSIAN2,
        id: RequestId(id),
        body_len: 0,
    };
    let mut wire = Vec::new();
    encode_frame(&mut wire, header, body, PayloadLimit::default()).unwrap();
    wire
}

/// The (id, status) of every response `conn` transmits.
fn answers(conn: &mut Connection, now: Instant) -> Vec<(u64, u8)> {
    let mut out = Vec::new();
    let n = conn.poll_transmit(now, &mut out);
    conn.handle_written(now, n);
    let mut decoder = tether_core::frame::FrameDecoder::new(PayloadLimit::default());
    let mut input = &out[..];
    let mut found = Vec::new();
    while let Ok(Some(tether_core::frame::Decoded::Frame(frame))) = decoder.decode(&mut input) {
        if let FrameKind::Response { status } = frame.header.kind {
            found.push((frame.header.id.0, status.0));
        }
    }
    found
}

#[test]
fn request_bodies_in_flight_are_bounded_in_bytes() {
    let mut config = Config::new(Side::Provider);
    config = config.max_inbound_bytes(NonZeroUsize::new(1000).unwrap());
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let body = [b'N'; 400];
    for id in 1..=3 {
        conn.handle_input(now, &request(id, &body));
    }
    let received = |conn: &mut Connection| {
        std::iter::from_fn(|| conn.poll_event())
            .filter(|e| matches!(e, Event::RequestReceived(_)))
            .count()
    };
    assert_eq!(
        received(&mut conn),
        2,
        "800 bytes in flight, 400 more would pass 1000"
    );
    assert_eq!(answers(&mut conn, now), [(3, 100)], "answered: server busy");
    // An answer frees its bytes.
    conn.respond(
        now,
        RequestId(1),
        tether_core::Status::OK,
        SerializationId::HESSIAN2,
        [b'N'],
    )
    .unwrap();
    conn.handle_input(now, &request(4, &body));
    assert_eq!(received(&mut conn), 1);
    assert_eq!(answers(&mut conn, now), [(1, 20)]);
    assert_eq!(conn.inbound_in_flight(), 2);
    // Alone, a request larger than the bound is still served.
    conn.respond(
        now,
        RequestId(2),
        tether_core::Status::OK,
        SerializationId::HESSIAN2,
        [b'N'],
    )
    .unwrap();
    conn.respond(
        now,
        RequestId(4),
        tether_core::Status::OK,
        SerializationId::HESSIAN2,
        [b'N'],
    )
    .unwrap();
    conn.handle_input(now, &request(5, &[b'N'; 2000]));
    assert_eq!(received(&mut conn), 1);
}
