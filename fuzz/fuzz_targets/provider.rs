//! Feeds arbitrary request bodies through a provider: the head, the routing scan of the
//! attachments, service and method lookup, argument decoding, handlers that read the
//! attachments (decoded lazily) and the answer. None may panic or hang; every two-way
//! request gets exactly one answer (`cargo +nightly fuzz run provider`).
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tether_core::frame::{FrameKind, HEADER_LEN, Header, PayloadLimit, RequestId, encode_frame};
use tether_core::hessian2::Value;
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{
    BoxFuture, Clock, Config, Connection, Event, RequestHandler, SerializationId,
    SharedConnection, Side, Spawner,
};

struct FixedClock(Instant);

impl Clock for FixedClock {
    fn now(&self) -> Instant {
        self.0
    }
}

/// Sync handlers on direct dispatch spawn nothing; async ones are dropped unpolled (their
/// responders answer 70 when dropped).
struct DropSpawn;

impl Spawner for DropSpawn {
    fn spawn(&self, _: BoxFuture) {}
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let conn = SharedConnection::new(
        Connection::new(Config::new(Side::Provider), now),
        Arc::new(FixedClock(now)),
        || {},
    );
    let service = Service::new("demo.Svc")
        .method("echo", |_, (bytes,): (Bytes,)| Ok(bytes))
        .method("value", |ctx, (v,): (Value,)| {
            // Reads the attachments: the lazy decode runs here.
            Ok(ctx.attachments().len() as i64 + i64::from(v.is_null()))
        })
        .method_async("later", |_, (s,): (String,)| async move { Ok(s) });
    let provider = Provider::new(Dispatch::Direct, Arc::new(DropSpawn)).export(service);
    let mut wire = Vec::new();
    for (id, two_way) in [(1, true), (2, false)] {
        let header = Header {
            kind: FrameKind::Request { two_way },
            event: false,
            serialization: SerializationId::HESSIAN2,
            id: RequestId(id),
            body_len: 0,
        };
        let _ = encode_frame(&mut wire, header, data, PayloadLimit::default());
    }
    let requests: Vec<_> = {
        let mut c = conn.lock();
        c.handle_input(now, &wire);
        std::iter::from_fn(|| c.poll_event()).collect()
    };
    for event in requests {
        if let Event::RequestReceived(request) = event {
            provider.on_request(&conn, request);
        }
    }
    let mut out = Vec::new();
    conn.lock().poll_transmit(now, &mut out);
    // The two-way request was answered, once, and nothing else was written: `out` is one
    // whole response frame to id 1 (the one-way request gets none).
    let mut frames = Vec::new();
    let mut at = 0;
    while at < out.len() {
        let bytes = out[at..]
            .first_chunk::<HEADER_LEN>()
            .unwrap_or_else(|| panic!("a partial header at {at} of {}", out.len()));
        let header = Header::decode(bytes).expect("a valid header");
        frames.push(header);
        at += HEADER_LEN + header.body_len as usize;
    }
    assert_eq!(frames.len(), 1, "not exactly one answer: {frames:?}");
    let answer = frames[0];
    assert!(
        matches!(answer.kind, FrameKind::Response { .. }),
        "{answer:?}"
    );
    assert_eq!(answer.id, RequestId(1));
    assert_eq!(HEADER_LEN + answer.body_len as usize, out.len());
});
