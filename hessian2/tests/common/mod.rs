//! What the property tests of the codec (`hessian2/tests/properties.rs`) and of the Dubbo
//! bodies built on it (`core/tests/properties.rs`, which includes this file by path) share:
//! generators of `Value`s and typed structs, byte mutations, and hostile inputs for the
//! decoder's memory budget.
#![allow(dead_code, unreachable_pub)] // each test crate uses its own part

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tether_hessian2::{self as hessian2, Binary, Date, JavaArray, Value};

pub fn leaf() -> impl Strategy<Value = Value> {
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

pub fn value() -> impl Strategy<Value = Value> {
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
                    Value::List {
                        type_name: type_name.map(Into::into),
                        items,
                    }
                }),
            (
                proptest::option::of("[a-z.]{1,12}"),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..6),
            )
                .prop_map(|(type_name, entries)| Value::Map {
                    type_name: type_name.map(Into::into),
                    entries,
                }),
            proptest::collection::vec(("[a-z]{1,6}", inner), 0..5).prop_map(|fields| {
                // One class per field list: every instance of a class has its fields.
                let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                Value::object(
                    format!("c.{}", names.join("_")),
                    fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
                )
            }),
        ]
    })
}

/// Values whose objects share a few class names and field names, so that instances of one
/// class nest in each other with differing field lists, type names repeat, and refs point
/// anywhere (or nowhere): what `value()` never generates.
pub fn shared_names_value() -> impl Strategy<Value = Value> {
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
pub enum Color {
    Red,
    Green,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(rename = "p.Inner")]
pub struct Inner {
    name: String,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(rename = "p.Outer")]
pub struct Outer {
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

pub fn outer() -> impl Strategy<Value = Outer> {
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

/// Byte overwrites for [`mutate`]: (position, new byte), positions taken modulo the length.
pub fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
}

/// Overwrites the bytes at `flips`, then truncates at `cut` (modulo the length + 1).
pub fn mutate(mut bytes: Vec<u8>, flips: &[(usize, u8)], cut: usize) -> Vec<u8> {
    for &(at, b) in flips {
        let i = at % bytes.len();
        bytes[i] = b;
    }
    bytes.truncate(cut % (bytes.len() + 1));
    bytes
}

pub fn write_int(out: &mut Vec<u8>, v: usize) {
    hessian2::to_writer(out, &i32::try_from(v).unwrap()).unwrap();
}

/// `X <n>`, a class `"a"` with one field named by `name_len` × `'a'`, then `n` × `60 4E`.
pub fn field_name_bomb(name_len: usize, n: usize) -> Vec<u8> {
    let mut b = vec![b'X'];
    write_int(&mut b, n);
    b.extend(b"C\x01a\x91");
    hessian2::write_string(&mut b, &"a".repeat(name_len));
    for _ in 0..n {
        b.extend([0x60, b'N']);
    }
    b
}

/// `X <n + 1>`, a typed empty list whose type is `len` × `'a'`, then `n` × `70 90`.
pub fn type_name_bomb(len: usize, n: usize) -> Vec<u8> {
    let mut b = vec![b'X'];
    write_int(&mut b, n + 1);
    b.push(0x70);
    hessian2::write_string(&mut b, &"a".repeat(len));
    for _ in 0..n {
        b.extend([0x70, 0x90]);
    }
    b
}

/// `X <replays + 1>`, `X <len>` + `len` × `N`, then `replays` × `51 91`.
pub fn ref_replay_bomb(len: usize, replays: usize) -> Vec<u8> {
    let mut b = vec![b'X'];
    write_int(&mut b, replays + 1);
    b.push(b'X');
    write_int(&mut b, len);
    b.extend(std::iter::repeat_n(b'N', len));
    for _ in 0..replays {
        b.extend([b'Q', 0x91]);
    }
    b
}
