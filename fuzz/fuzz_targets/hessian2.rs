//! Feeds arbitrary bytes to the Hessian 2 decoder of `tether-hessian2`, every way it reads:
//! as `Value`s, skipped, through serde into dynamic and typed targets, and with the
//! low-level reader. None may panic, hang or allocate beyond the input; whatever decodes
//! must encode again (`cargo +nightly fuzz run hessian2`).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tether_hessian2::{self as hessian2, Binary, Date, Decoder, Head, JavaArray, Value};

#[derive(serde::Deserialize)]
#[serde(rename = "fuzz.Pojo")]
#[allow(dead_code)] // only decoded
struct Pojo {
    name: Option<String>,
    id: i64,
    ints: JavaArray<i32>,
    bytes: Binary,
    when: Date,
    tags: BTreeMap<String, Value>,
    next: Option<Box<Pojo>>,
}

fuzz_target!(|data: &[u8]| {
    // A body of several values, as a stream holds them.
    let mut decoder = Decoder::new(data);
    while !decoder.is_at_end() {
        match decoder.read_value() {
            // Whatever decodes must encode again.
            Ok(value) => drop(hessian2::to_vec(&value)),
            Err(_) => break,
        }
    }
    let _ = Decoder::new(data).skip_value();
    let _ = hessian2::from_slice::<Value>(data);
    let _ = hessian2::from_slice::<Vec<(String, i64, Option<f64>)>>(data);
    let _ = hessian2::from_slice::<Pojo>(data);
    let _ = hessian2::from_slice::<(char, bool, Vec<u8>, BTreeMap<i32, Vec<Value>>)>(data);
    walk(&mut Decoder::new(data), 0);
});

/// Walks one value with the low-level reader: heads, names, references.
fn walk(d: &mut Decoder<'_>, depth: u32) -> Option<()> {
    if depth > 200 {
        return None;
    }
    match d.read_head().ok()? {
        Head::Str(tag) => drop(d.read_str_after(tag).ok()?),
        Head::Binary(tag) => drop(d.read_binary_after(tag).ok()?),
        Head::List { ty, len } => {
            let _ = ty.map(|ty| d.type_name(ty));
            match len {
                Some(n) => (0..n).try_for_each(|_| walk(d, depth + 1))?,
                None => {
                    while !d.at_end_marker().ok()? {
                        walk(d, depth + 1)?;
                    }
                }
            }
            d.leave();
        }
        Head::Map { ty } => {
            let _ = ty.map(|ty| d.type_name(ty));
            while !d.at_end_marker().ok()? {
                walk(d, depth + 1)?;
                walk(d, depth + 1)?;
            }
            d.leave();
        }
        Head::Object { class } => {
            let _ = d.class_name(class);
            let fields = d.field_names(class)?.len();
            (0..fields).try_for_each(|_| walk(d, depth + 1))?;
            d.leave();
        }
        Head::Ref { index } => drop(d.read_ref(index).ok()?),
        _ => {}
    }
    Some(())
}
