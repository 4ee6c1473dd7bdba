//! The peer picks the ids of its requests: ids chosen to collide in a hash table must not
//! make admitting them quadratic.
#![allow(clippy::disallowed_methods)] // the test reads the clock to catch a quadratic blow-up

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use tether_core::frame::{FrameKind, Header, PayloadLimit, RequestId, encode_frame};
use tether_core::{Config, Connection, Event, SerializationId, Side};

#[test]
fn chosen_request_ids_are_admitted_in_linear_time() {
    let n = 100_000u64;
    let mut config = Config::new(Side::Provider);
    config.max_inbound_in_flight(NonZeroUsize::new(n as usize).unwrap());
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
    assert_eq!(received as u64, n);
    assert_eq!(conn.inbound_in_flight() as u64, n);
    // Linear: well under a second even in a debug build; quadratic: minutes.
    assert!(
        elapsed < Duration::from_secs(10),
        "{n} requests took {elapsed:?}"
    );
}
