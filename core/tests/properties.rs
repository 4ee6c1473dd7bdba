//! Property tests of the Dubbo bodies on the Hessian codec: request and response bodies
//! round-trip arbitrary typed arguments and attachments, no byte string makes a body
//! decoder panic, hang or fail to return, and values decoded from bodies stay within the
//! codec's memory budget. The generators are the codec's own (`hessian2/tests/common`),
//! whose property tests cover single values.

#[path = "../../hessian2/tests/common/mod.rs"]
mod common;

use common::*;
use proptest::prelude::*;
use tether_core::hessian2::{self, Decoder, Value};
use tether_core::message::{
    Attachments, EventBody, RequestBody, RequestReader, ResponseBody, decode_error_message,
    decode_request, decode_response,
};

/// One to six attachments, string and other values, none named `dubbo` (the version key
/// the encoders add).
fn some_attachments() -> impl Strategy<Value = Attachments> {
    let key = "[a-z]{1,8}".prop_filter("the encoders' own key", |k| k != "dubbo");
    proptest::collection::vec((key, leaf()), 1..6).prop_map(|entries| entries.into_iter().collect())
}

/// Decodes `bytes` every way a peer's body can be decoded; returns nothing, must not panic.
fn decode_bodies(bytes: &[u8]) {
    let _ = decode_request(bytes);
    if let Ok(mut reader) = RequestReader::new(bytes) {
        let _ = reader.next_arg::<Outer>();
        let _ = reader.attachments();
    }
    let _ = decode_response::<Value>(bytes);
    let _ = decode_response::<Outer>(bytes);
    let _ = decode_error_message(bytes);
    let _ = EventBody::decode(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_bodies_round_trip(o in outer(), s in any::<String>(), keys in proptest::collection::vec("[a-z]{1,8}", 0..6)) {
        let attachments: Attachments = keys.iter().map(|k| (k.clone(), Value::from(s.clone()))).collect();
        let mut out = Vec::new();
        RequestBody {
            dubbo_version: "2.0.2",
            path: "p.Service",
            version: Some("1.0.0"),
            method: "call",
            parameter_types: "Lp/Outer;Ljava/lang/String;",
            args: &vec![hessian2::to_value(&o).unwrap(), Value::String(s.clone())],
            attachments: &attachments,
        }
        .encode(&mut out)
        .unwrap();
        let mut reader = RequestReader::new(&out).unwrap();
        let (back, back_s): (Outer, String) = reader.args().unwrap();
        prop_assert_eq!(back, o);
        prop_assert_eq!(back_s, s);
        prop_assert_eq!(reader.attachments().unwrap(), attachments);
    }

    #[test]
    fn response_bodies_round_trip(o in outer(), with in any::<bool>(), attachments in some_attachments()) {
        let mut body = ResponseBody::value(&o);
        if with {
            body = body.with_attachments(&attachments);
        }
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        let back = decode_response::<Outer>(&out).unwrap();
        prop_assert_eq!(back.result, tether_core::message::Returned::Value(o));
        if with {
            // The encoder puts the protocol version first (`docs/protocol.md` §3.1).
            let mut expected = Attachments::new();
            expected.insert("dubbo", "2.0.2");
            for (key, value) in attachments.iter() {
                expected.insert(key, value.clone());
            }
            prop_assert_eq!(back.attachments, expected);
        } else {
            prop_assert_eq!(back.attachments, Attachments::new());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_bodies(&bytes);
    }

    #[test]
    fn mutated_values_never_panic(o in outer(), flips in flips(), cut in any::<usize>()) {
        let bytes = hessian2::to_vec(&o).unwrap();
        decode_bodies(&mutate(bytes, &flips, cut));
    }

    /// Mutations of well-formed request bodies (arguments and attachments), which get past
    /// the header fields into the request decoders.
    #[test]
    fn mutated_request_bodies_never_panic(o in outer(), s in any::<String>(), attachments in some_attachments(), flips in flips(), cut in any::<usize>()) {
        let mut bytes = Vec::new();
        RequestBody {
            dubbo_version: "2.0.2",
            path: "p.Service",
            version: Some("1.0.0"),
            method: "call",
            parameter_types: "Lp/Outer;Ljava/lang/String;",
            args: &vec![hessian2::to_value(&o).unwrap(), Value::String(s)],
            attachments: &attachments,
        }
        .encode(&mut bytes)
        .unwrap();
        prop_assert!(decode_request(&bytes).is_ok());
        decode_bodies(&mutate(bytes, &flips, cut));
    }

    /// Mutations of well-formed response bodies with attachments (flags 3 to 5), which get
    /// past the flag into the response decoders.
    #[test]
    fn mutated_response_bodies_never_panic(o in outer(), attachments in some_attachments(), flips in flips(), cut in any::<usize>()) {
        let mut bytes = Vec::new();
        ResponseBody::value(&o)
            .with_attachments(&attachments)
            .encode(&mut bytes)
            .unwrap();
        prop_assert!(decode_response::<Outer>(&bytes).is_ok());
        decode_bodies(&mutate(bytes, &flips, cut));
    }
}

#[test]
fn deep_and_cyclic_values_in_bodies_terminate() {
    for opener in [&[0x79u8][..], &[b'H', 0x90], b"W", &[b'U', 0x00]] {
        let bytes: Vec<u8> = opener.iter().copied().cycle().take(1 << 20).collect();
        decode_bodies(&bytes);
        let err = decode_request(&request_with(&bytes)).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 128"), "{err}");
    }
    let mut objects = vec![b'C', 0x01, b'A', 0x91, 0x01, b'x'];
    objects.extend(std::iter::repeat_n(0x60, 1 << 16));
    decode_bodies(&objects);
    decode_bodies(&[0x79, 0x79, b'Q', 0x90]);
}

/// A request body with one `Object` argument `arg`.
fn request_with(arg: &[u8]) -> Vec<u8> {
    let mut req = Vec::new();
    for s in ["2.0.2", "p", "0.0.0", "m", "Ljava/lang/Object;"] {
        hessian2::write_string(&mut req, s);
    }
    req.extend(arg);
    req.extend(b"HZ");
    req
}

/// A response body with value `v`.
fn response_with(v: &[u8]) -> Vec<u8> {
    let mut resp = vec![0x91];
    resp.extend(v);
    resp
}

/// Decodes `bytes` as a `Value` argument of a request and as the value of a response: the
/// bodies decode exactly what the codec decodes (within its memory budget, which
/// `hessian2/tests/properties.rs` checks), or fail where it fails.
fn assert_bodies_decode_as_the_codec(bytes: &[u8]) {
    let native = Decoder::new(bytes).read_value();
    match decode_request(&request_with(bytes)) {
        Ok(r) => assert_eq!(Ok(&r.args[0]), native.as_ref()),
        Err(e) => assert!(native.is_err(), "{e}"),
    }
    match decode_response::<Value>(&response_with(bytes)) {
        Ok(r) => match r.result {
            tether_core::message::Returned::Value(v) => assert_eq!(Ok(&v), native.as_ref()),
            other => panic!("{other:?}"),
        },
        Err(e) => assert!(native.is_err(), "{e}"),
    }
}

#[test]
fn bodies_hold_values_within_the_codecs_memory_budget() {
    // The codec's hostile inputs (names shared, not copied per instance; ref replays
    // bounded), and legitimate large ones.
    assert_bodies_decode_as_the_codec(&field_name_bomb(30_000, 30_000));
    assert_bodies_decode_as_the_codec(&type_name_bomb(30_000, 30_000));
    assert_bodies_decode_as_the_codec(&ref_replay_bomb(100_000, 200));
    assert_bodies_decode_as_the_codec(&ref_replay_bomb(10_000, 20));
    let mut nulls = vec![b'X'];
    write_int(&mut nulls, 100_000);
    nulls.extend(std::iter::repeat_n(b'N', 100_000));
    assert_bodies_decode_as_the_codec(&nulls);
    let mut map = vec![b'H'];
    for i in 0..65_537 {
        write_int(&mut map, i);
        map.push(b'N');
    }
    map.push(b'Z');
    assert_bodies_decode_as_the_codec(&map);
}
