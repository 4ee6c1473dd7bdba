//! Property tests of the Hessian codec and the dubbo bodies: encode → decode is the
//! identity for arbitrary `Value`s and typed structs, and no byte string makes a decoder
//! panic, hang or fail to return.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tether_core::hessian2::{self, Binary, Date, Decoder, Encoder, JavaArray, Value};
use tether_core::message::{
    Attachments, EventBody, RequestBody, RequestReader, ResponseBody, decode_error_message,
    decode_request, decode_response,
};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::Int),
        prop_oneof![any::<i32>().prop_map(i32::into), any::<i64>()].prop_map(Value::Long),
        prop_oneof![
            any::<f64>().prop_filter("NaN has no equality", |v| !v.is_nan()),
            (-100_000i32..100_000).prop_map(|m| f64::from(m) * 0.001),
            any::<i16>().prop_map(f64::from),
        ]
        .prop_map(Value::Double),
        any::<i64>().prop_map(Value::Date),
        (-1000i64..1000).prop_map(|m| Value::Date(m * 60_000)),
        any::<String>().prop_map(Value::String),
        "[a-z😀é]{0,40}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Binary),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            (
                proptest::option::of("\\[?[a-z.]{1,12}"),
                proptest::collection::vec(inner.clone(), 0..10),
                any::<bool>(),
            )
                .prop_map(|(type_name, mut items, self_ref)| {
                    if self_ref {
                        // A reference back to this very list (a cycle).
                        items.push(Value::Ref(0));
                    }
                    Value::List { type_name, items }
                }),
            (
                proptest::option::of("[a-z.]{1,12}"),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..6),
            )
                .prop_map(|(type_name, entries)| Value::Map { type_name, entries }),
            proptest::collection::vec(("[a-z]{1,6}", inner), 0..5).prop_map(|fields| {
                // One class per field list: every instance of a class has its fields.
                let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                Value::Object {
                    class: format!("c.{}", names.join("_")),
                    fields,
                }
            }),
        ]
    })
}

/// Values whose objects share a few class names and field names, so that instances of one
/// class nest in each other with differing field lists, type names repeat, and refs point
/// anywhere (or nowhere): what `value()` never generates.
fn shared_names_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            4 => (
                proptest::option::of(prop_oneof![Just("[int"), Just("java.util.HashSet"), Just("[object")]),
                proptest::collection::vec(inner.clone(), 0..10),
            )
                .prop_map(|(type_name, items)| Value::List {
                    type_name: type_name.map(Into::into),
                    items,
                }),
            4 => (
                proptest::option::of(Just("java.util.TreeMap")),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4),
            )
                .prop_map(|(type_name, entries)| Value::Map {
                    type_name: type_name.map(Into::into),
                    entries,
                }),
            4 => (
                prop_oneof![Just("A"), Just("B"), Just("C")],
                proptest::collection::vec((prop_oneof![Just("x"), Just("y"), Just("z")], inner), 0..3),
            )
                .prop_map(|(class, fields)| {
                    Value::object(class, fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
                }),
            1 => (0usize..3).prop_map(Value::Ref),
        ]
    })
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone, Copy)]
#[serde(rename = "p.Color")]
enum Color {
    Red,
    Green,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(rename = "p.Inner")]
struct Inner {
    name: String,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(rename = "p.Outer")]
struct Outer {
    id: i64,
    n: i32,
    small: i16,
    ratio: f64,
    flag: bool,
    label: Option<String>,
    ints: JavaArray<i32>,
    longs: Vec<i64>,
    bytes: Binary,
    map: BTreeMap<String, i32>,
    color: Color,
    inners: Vec<Inner>,
    first: Option<Inner>,
    when: Date,
    any: Value,
}

fn outer() -> impl Strategy<Value = Outer> {
    let inner = ("\\PC{0,10}", proptest::collection::vec("[a-z]{0,5}", 0..4))
        .prop_map(|(name, tags)| Inner { name, tags });
    (
        (
            any::<i64>(),
            any::<i32>(),
            any::<i16>(),
            any::<f64>().prop_filter("NaN", |v| !v.is_nan()),
            any::<bool>(),
            proptest::option::of(any::<String>()),
            proptest::collection::vec(any::<i32>(), 0..12).prop_map(JavaArray),
            proptest::collection::vec(any::<i64>(), 0..12),
        ),
        (
            proptest::collection::vec(any::<u8>(), 0..100).prop_map(Binary),
            proptest::collection::btree_map("[a-z]{0,4}", any::<i32>(), 0..5),
            prop_oneof![Just(Color::Red), Just(Color::Green)],
            proptest::collection::vec(inner.clone(), 0..4),
            proptest::option::of(inner),
            any::<i64>().prop_map(Date),
            value(),
        ),
    )
        .prop_map(
            |(
                (id, n, small, ratio, flag, label, ints, longs),
                (bytes, map, color, inners, first, when, any),
            )| {
                Outer {
                    id,
                    n,
                    small,
                    ratio,
                    flag,
                    label,
                    ints,
                    longs,
                    bytes,
                    map,
                    color,
                    inners,
                    first,
                    when,
                    any,
                }
            },
        )
}

/// Decodes `bytes` every way a peer's body can be decoded; returns nothing, must not panic.
fn decode_everything(bytes: &[u8]) {
    let _ = Decoder::new(bytes).read_value();
    let _ = Decoder::new(bytes).skip_value();
    let _ = hessian2::from_slice::<Value>(bytes);
    let _ = hessian2::from_slice::<Outer>(bytes);
    let _ = hessian2::from_slice::<Vec<Option<String>>>(bytes);
    let _ = hessian2::from_slice::<BTreeMap<String, Vec<i64>>>(bytes);
    let _ = hessian2::from_slice::<(Color, Binary, f64, char)>(bytes);
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
    fn values_round_trip(v in value()) {
        let bytes = hessian2::to_vec(&v).unwrap();
        let mut native = Vec::new();
        Encoder::new(&mut native).write_value(&v).unwrap();
        prop_assert_eq!(&bytes, &native);
        prop_assert_eq!(Decoder::new(&bytes).read_value().unwrap(), v.clone());
        prop_assert_eq!(hessian2::from_slice::<Value>(&bytes).unwrap(), v.clone());
        // Several values in one body share the context.
        let mut body = Vec::new();
        let mut enc = Encoder::new(&mut body);
        enc.write_value(&v).unwrap();
        enc.write_value(&v).unwrap();
        let mut dec = Decoder::new(&body);
        prop_assert_eq!(dec.read_value().unwrap(), v.clone());
        prop_assert_eq!(dec.read_value().unwrap(), v);
        prop_assert!(dec.is_at_end());
    }

    /// Found the nested-instance desync: whenever encoding succeeds, every reader gets the
    /// values back; a value that cannot be written must be an error, never wrong bytes.
    #[test]
    fn values_with_shared_class_names_round_trip_or_fail_to_encode(
        vals in proptest::collection::vec(shared_names_value(), 1..4),
    ) {
        let mut bytes = Vec::new();
        let mut enc = Encoder::new(&mut bytes);
        let native = vals.iter().try_for_each(|v| enc.write_value(v));
        let mut serde = Vec::new();
        let mut enc = Encoder::new(&mut serde);
        let through_serde = vals.iter().try_for_each(|v| enc.encode(v));
        prop_assert_eq!(&native, &through_serde);
        if native.is_ok() {
            prop_assert_eq!(&bytes, &serde);
            let mut d = Decoder::new(&bytes);
            for v in &vals {
                let back = d.read_value();
                prop_assert_eq!(back.as_ref(), Ok(v), "bytes {:02x?}", bytes);
            }
            prop_assert!(d.is_at_end());
            let mut d = Decoder::new(&bytes);
            for v in &vals {
                let back = d.decode::<Value>();
                prop_assert_eq!(back.as_ref(), Ok(v));
            }
            let mut d = Decoder::new(&bytes);
            for _ in &vals {
                prop_assert!(d.skip_value().is_ok());
            }
            prop_assert!(d.is_at_end());
        }
    }

    #[test]
    fn typed_structs_round_trip(o in outer()) {
        let bytes = hessian2::to_vec(&o).unwrap();
        prop_assert_eq!(hessian2::from_slice::<Outer>(&bytes).unwrap(), o.clone());
        // Through a Value and back.
        let v = hessian2::to_value(&o).unwrap();
        prop_assert_eq!(hessian2::to_vec(&v).unwrap(), bytes);
        prop_assert_eq!(hessian2::from_value::<Outer>(v).unwrap(), o);
    }

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
    fn response_bodies_round_trip(o in outer(), with in any::<bool>()) {
        let attachments = Attachments::new();
        let mut body = ResponseBody::value(&o);
        if with {
            body = body.with_attachments(&attachments);
        }
        let mut out = Vec::new();
        body.encode(&mut out).unwrap();
        let back = decode_response::<Outer>(&out).unwrap();
        prop_assert_eq!(back.result, tether_core::message::Returned::Value(o));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_bodies_never_panic(o in outer(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut bytes = hessian2::to_vec(&o).unwrap();
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        decode_everything(&bytes);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // 1 MiB of nested list and map openers, and nested objects.
    for opener in [&[0x79u8][..], &[b'H', 0x90], b"W", &[b'U', 0x00]] {
        let bytes: Vec<u8> = opener.iter().copied().cycle().take(1 << 20).collect();
        let err = Decoder::new(&bytes).read_value().unwrap_err();
        assert!(err.to_string().contains("nested deeper than 128"), "{err}");
        assert!(hessian2::from_slice::<Value>(&bytes).is_err());
        assert!(Decoder::new(&bytes).skip_value().is_err());
        decode_everything(&bytes);
    }
    let mut objects = vec![b'C', 0x01, b'A', 0x91, 0x01, b'x'];
    objects.extend(std::iter::repeat_n(0x60, 1 << 16));
    assert!(Decoder::new(&objects).read_value().is_err());
    decode_everything(&objects);
}

#[test]
fn self_references_terminate() {
    // A list containing a reference to itself, nested under many lists each referring to
    // the outermost one: cycles become `Ref` markers, never loops.
    let bytes = [0x79, 0x79, b'Q', 0x90];
    let v = Decoder::new(&bytes).read_value().unwrap();
    assert_eq!(v, Value::list(vec![Value::list(vec![Value::Ref(1)])]));
    assert!(hessian2::from_slice::<Vec<Vec<Vec<i32>>>>(&bytes).is_err());
    decode_everything(&bytes);
}

/// `depth` untyped lists nested in one another around a null.
fn nested_lists(depth: usize) -> Value {
    let mut v = Value::Null;
    for _ in 0..depth {
        v = Value::list(vec![v]);
    }
    v
}

#[test]
#[allow(clippy::disallowed_methods)] // a thread of a known stack size is the point of the test
fn deep_values_are_an_encode_error_on_a_small_stack() {
    // Review reproducer: with a limit of 1024, encoding 1 000 nested lists overflowed a
    // 2 MiB stack in a debug build, through `to_vec` and through `write_value`.
    let run = || {
        let deep = nested_lists(1_000);
        assert!(matches!(
            hessian2::to_vec(&deep),
            Err(hessian2::EncodeError::TooDeep(128))
        ));
        let mut out = Vec::new();
        assert!(matches!(
            Encoder::new(&mut out).write_value(&deep),
            Err(hessian2::EncodeError::TooDeep(128))
        ));
        // The limit is the decoder's default depth: what we write, we can read back.
        let max = nested_lists(128);
        let bytes = hessian2::to_vec(&max).unwrap();
        let mut native = Vec::new();
        Encoder::new(&mut native).write_value(&max).unwrap();
        assert_eq!(bytes, native);
        assert_eq!(Decoder::new(&bytes).read_value().unwrap(), max);
        assert_eq!(hessian2::from_slice::<Value>(&bytes).unwrap(), max);
        assert!(hessian2::to_vec(&nested_lists(129)).is_err());
    };
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}
