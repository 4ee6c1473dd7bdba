//! Property tests of the Hessian codec: encode → decode is the identity for arbitrary
//! `Value`s and typed structs, no byte string makes a decoder panic, hang or fail to
//! return, and what decoded values hold stays within the decoder's memory budget.
//! (The Dubbo bodies built on the codec have theirs in `core/tests/properties.rs`.)

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use tether_hessian2::{self as hessian2, Binary, Decoder, Encoder, JavaArray, Value};

/// Decodes `bytes` every way the codec can; returns nothing, must not panic.
fn decode_everything(bytes: &[u8]) {
    let _ = Decoder::new(bytes).read_value();
    let _ = Decoder::new(bytes).skip_value();
    let _ = hessian2::from_slice::<Value>(bytes);
    let _ = hessian2::from_slice::<Outer>(bytes);
    let _ = hessian2::from_slice::<Vec<Option<String>>>(bytes);
    let _ = hessian2::from_slice::<BTreeMap<String, Vec<i64>>>(bytes);
    let _ = hessian2::from_slice::<(Color, Binary, f64, char)>(bytes);
    // Several values in a row, as a body holds them.
    let mut d = Decoder::new(bytes);
    while !d.is_at_end() && d.read_value().is_ok() {}
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
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_values_never_panic(o in outer(), flips in flips(), cut in any::<usize>()) {
        let bytes = hessian2::to_vec(&o).unwrap();
        decode_everything(&mutate(bytes, &flips, cut));
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

// -------------------------------------------------------------------------------------
// Memory held by decoded values (review: names copied per instance, ref replays)

/// Heap held by a decoded value tree: vector buffers by capacity, string and binary bytes,
/// and each shared name once (`16` bytes of reference counts plus its bytes).
fn heap_held(v: &Value, names: &mut std::collections::HashSet<*const u8>) -> usize {
    let mut name = |n: &std::sync::Arc<str>| {
        if names.insert(n.as_ptr()) {
            16 + n.len()
        } else {
            0
        }
    };
    match v {
        Value::String(s) => s.capacity(),
        Value::Binary(b) => b.capacity(),
        Value::List { type_name, items } => {
            type_name.as_ref().map_or(0, &mut name)
                + items.capacity() * size_of::<Value>()
                + items.iter().map(|i| heap_held(i, names)).sum::<usize>()
        }
        Value::Map { type_name, entries } => {
            type_name.as_ref().map_or(0, &mut name)
                + entries.capacity() * size_of::<(Value, Value)>()
                + entries
                    .iter()
                    .map(|(k, v)| heap_held(k, names) + heap_held(v, names))
                    .sum::<usize>()
        }
        Value::Object { class, fields } => {
            let own = name(class)
                + fields.iter().map(|(f, _)| name(f)).sum::<usize>()
                + fields.capacity() * size_of::<(std::sync::Arc<str>, Value)>();
            own + fields
                .iter()
                .map(|(_, v)| heap_held(v, names))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// The documented bound: 64 bytes per input byte plus 1 MiB.
fn memory_bound(input: &[u8]) -> usize {
    64 * input.len() + (1 << 20)
}

fn assert_bounded(value: &Value, input: &[u8]) {
    let held = heap_held(value, &mut Default::default());
    assert!(
        held <= memory_bound(input),
        "{held} bytes held for {} input bytes",
        input.len()
    );
}

/// Decodes `bytes` as a `Value` natively and through serde, checking what the result
/// holds against the bound; returns the result of `read_value`.
fn decode_bounded(bytes: &[u8]) -> Result<Value, hessian2::DecodeError> {
    let native = Decoder::new(bytes).read_value();
    if let Ok(v) = &native {
        assert_bounded(v, bytes);
    }
    let serde = hessian2::from_slice::<Value>(bytes);
    assert_eq!(serde, native);
    native
}

fn is_memory_limit(r: &Result<Value, hessian2::DecodeError>) -> bool {
    matches!(
        r,
        Err(hessian2::DecodeError::Malformed(
            hessian2::MalformedError::MemoryLimit { .. }
        ))
    )
}

#[test]
fn names_are_shared_not_copied_per_instance() {
    // Review reproducers: a 30 000-byte field name and 30 000 instances (90 KB) reached
    // 862 MB as values, every instance holding its own copy of the name; likewise a
    // 30 000-byte type name referred to by index 30 000 times. Now each name is held once.
    for (bytes, len) in [
        (field_name_bomb(30_000, 30_000), 30_000),
        (type_name_bomb(30_000, 30_000), 30_001),
    ] {
        let v = decode_bounded(&bytes).unwrap();
        assert_eq!(v.as_list().unwrap().len(), len);
    }
    // The instances share one allocation for the field name.
    let v = Decoder::new(&field_name_bomb(10, 3)).read_value().unwrap();
    let names: Vec<_> = v
        .as_list()
        .unwrap()
        .iter()
        .map(|o| match o {
            Value::Object { fields, .. } => fields[0].0.as_ptr(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(names.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn ref_replays_are_bounded_by_the_memory_budget() {
    // Review reproducer: a list of 100 000 nulls referred to 200 times (100 KB) reached
    // 122 MB; each two-byte 'Q' materialized 100 000 values again. Now the replays stop
    // at 64 bytes per input byte plus 1 MiB.
    let bytes = ref_replay_bomb(100_000, 200);
    assert!(is_memory_limit(&decode_bounded(&bytes)));
    let err = Decoder::new(&bytes).read_value().unwrap_err();
    assert!(
        err.to_string().contains("exceed the memory limit of"),
        "{err}"
    );
    // The same input may be skipped (nothing is materialized), or read with a larger
    // budget.
    Decoder::new(&bytes).skip_value().unwrap();
    let roomy = hessian2::DecodeLimits::DEFAULT
        .with_memory_factor(2_000)
        .with_work_factor(1_000);
    let few = ref_replay_bomb(10_000, 20);
    assert!(is_memory_limit(&Decoder::new(&few).read_value()));
    let v = Decoder::with_limits(&few, roomy).read_value().unwrap();
    assert_eq!(v.as_list().unwrap().len(), 21);
}

#[test]
fn legitimate_large_lists_and_maps_fit_the_memory_budget() {
    // int[] of 100 000 one-byte ints.
    let ints = hessian2::to_vec(&JavaArray(vec![1i32; 100_000])).unwrap();
    assert_eq!(
        decode_bounded(&ints).unwrap().as_list().unwrap().len(),
        100_000
    );
    // A list of 100 000 nulls, fixed and variable length.
    let mut nulls = vec![b'X'];
    write_int(&mut nulls, 100_000);
    nulls.extend(std::iter::repeat_n(b'N', 100_000));
    assert_eq!(
        decode_bounded(&nulls).unwrap().as_list().unwrap().len(),
        100_000
    );
    let mut var = vec![b'W'];
    var.extend(std::iter::repeat_n(b'N', 65_537));
    var.push(b'Z');
    assert_eq!(
        decode_bounded(&var).unwrap().as_list().unwrap().len(),
        65_537
    );
    // A map of 65 537 int keys to null (the entries vector doubles past them).
    let mut map = vec![b'H'];
    for i in 0..65_537 {
        write_int(&mut map, i);
        map.push(b'N');
    }
    map.push(b'Z');
    assert!(decode_bounded(&map).is_ok());
}

#[test]
fn legitimate_objects_and_refs_fit_the_memory_budget() {
    // 1 000 refs to one 10-field object.
    let fields: Vec<(std::sync::Arc<str>, Value)> = (0..10)
        .map(|i| {
            (
                format!("field{i}").into(),
                Value::from(format!("value {i}")),
            )
        })
        .collect();
    let mut refs = vec![b'X'];
    write_int(&mut refs, 1_001);
    let obj = hessian2::to_vec(&Value::object("org.acme.Dto", fields.clone())).unwrap();
    refs.extend(&obj);
    for _ in 0..1_000 {
        refs.push(b'Q');
        write_int(&mut refs, 1);
    }
    let v = decode_bounded(&refs).unwrap();
    assert!(
        v.as_list()
            .unwrap()
            .iter()
            .all(|o| o.get("field9") == Some(&Value::from("value 9")))
    );
    // 5 000 instances of a 30-field class whose fields are all null: as many bytes per
    // input byte as any input without back-references gets.
    let mut sparse = vec![b'X'];
    write_int(&mut sparse, 5_000);
    sparse.extend(b"C\x0forg.acme.Sparse");
    write_int(&mut sparse, 30);
    for i in 0..30 {
        hessian2::write_string(&mut sparse, &format!("f{i}"));
    }
    for _ in 0..5_000 {
        sparse.push(0x60);
        sparse.extend([b'N'; 30]);
    }
    assert_eq!(
        decode_bounded(&sparse).unwrap().as_list().unwrap().len(),
        5_000
    );
}
