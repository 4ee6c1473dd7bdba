//! Property tests of the frame codec: round trip, any chunking, any bytes.

use proptest::prelude::*;
use tether_core::frame::{
    Decoded, Frame, FrameDecoder, FrameKind, HEADER_LEN, Header, PayloadLimit, encode_frame,
};
use tether_core::{RequestId, SerializationId, Status};

fn header() -> impl Strategy<Value = Header> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<u8>(),
        0u8..32,
        any::<u64>(),
    )
        .prop_map(|(request, two_way, event, status, ser, id)| Header {
            kind: if request {
                FrameKind::Request { two_way }
            } else {
                FrameKind::Response {
                    status: Status(status),
                }
            },
            event,
            serialization: SerializationId::new(ser).expect("5 bits"),
            id: RequestId(id),
            body_len: 0,
        })
}

fn frames() -> impl Strategy<Value = Vec<(Header, Vec<u8>)>> {
    prop::collection::vec(
        (header(), prop::collection::vec(any::<u8>(), 0..300)),
        0..20,
    )
}

/// Decodes `stream` fed in pieces cut at `cuts`, returning the items and the largest amount
/// of memory the decoder held at any point.
fn decode_chunked(
    stream: &[u8],
    cuts: &[usize],
    limit: PayloadLimit,
) -> (Vec<Decoded>, Option<tether_core::frame::FrameError>, usize) {
    let mut dec = FrameDecoder::new(limit);
    let mut items = Vec::new();
    let mut max_held = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    for pair in points.windows(2) {
        let mut input = &stream[pair[0]..pair[1]];
        loop {
            match dec.decode(&mut input) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(err) => return (items, Some(err), max_held),
            }
            max_held = max_held.max(dec.buffered());
        }
        max_held = max_held.max(dec.buffered());
    }
    (items, None, max_held)
}

proptest! {
    #[test]
    fn round_trip_under_any_chunking(
        frames in frames(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let mut stream = Vec::new();
        for (header, body) in &frames {
            encode_frame(&mut stream, *header, body, PayloadLimit::default()).unwrap();
        }
        let (items, err, _) = decode_chunked(&stream, &cuts, PayloadLimit::default());
        prop_assert_eq!(err, None);
        let expected: Vec<Decoded> = frames
            .iter()
            .map(|(header, body)| {
                Decoded::Frame(Frame {
                    header: Header { body_len: body.len() as u32, ..*header },
                    body: body.clone().into(),
                })
            })
            .collect();
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn oversized_frames_keep_the_stream_in_sync(
        frames in frames(),
        limit in 0u32..300,
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let limit = PayloadLimit::new(limit);
        let mut stream = Vec::new();
        for (header, body) in &frames {
            encode_frame(&mut stream, *header, body, PayloadLimit::unlimited()).unwrap();
        }
        let (items, err, max_held) = decode_chunked(&stream, &cuts, limit);
        prop_assert_eq!(err, None);
        prop_assert_eq!(items.len(), frames.len());
        for (item, (header, body)) in items.iter().zip(&frames) {
            match item {
                Decoded::Frame(frame) => {
                    prop_assert!(!limit.is_exceeded_by(body.len()));
                    prop_assert_eq!(frame.header.id, header.id);
                    prop_assert_eq!(&frame.body[..], &body[..]);
                }
                Decoded::Oversized(h) => {
                    prop_assert!(limit.is_exceeded_by(body.len()));
                    prop_assert_eq!(h.id, header.id);
                }
            }
        }
        // Never more than one header plus one in-limit body.
        prop_assert!(max_held <= HEADER_LEN + limit.get().unwrap() as usize);
    }

    #[test]
    fn any_bytes_decode_without_panic_and_within_bounds(
        bytes in prop::collection::vec(any::<u8>(), 0..2_000),
        magic_prefix in any::<bool>(),
        limit in 0u32..1_000,
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // Half the inputs start like a frame so that the interesting paths are reached.
        let mut stream = if magic_prefix { vec![0xDA, 0xBB] } else { Vec::new() };
        stream.extend_from_slice(&bytes);
        let (_, _, max_held) = decode_chunked(&stream, &cuts, PayloadLimit::new(limit));
        prop_assert!(max_held <= HEADER_LEN + limit as usize);
    }

    #[test]
    fn connection_survives_any_input(
        bytes in prop::collection::vec(any::<u8>(), 0..2_000),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        use std::time::Instant;
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut stream = vec![0xDA, 0xBB];
        stream.extend_from_slice(&bytes);
        let mut conn = tether_core::Connection::new(tether_core::Config::new(tether_core::Side::Provider), now);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.extend([0, stream.len()]);
        points.sort_unstable();
        let mut out = Vec::new();
        for w in points.windows(2) {
            conn.handle_input(now, &stream[w[0]..w[1]]);
            conn.poll_transmit(now, &mut out);
            while conn.poll_event().is_some() {}
        }
        conn.handle_timeout(now);
    }
}
