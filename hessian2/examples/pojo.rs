//! Hessian 2 without any RPC: a Java POJO and a map encoded as Java writes them, their bytes
//! printed, and both decoded back, into Rust types and into dynamic `Value`s.
//!
//! `cargo run -p tether-hessian2 --example pojo`

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tether_hessian2::{Date, Decoder, Encoder, JavaArray, Value, from_slice, to_vec};

/// `org.acme.User` on the Java side: the serde name is the Java class.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(rename = "org.acme.User")]
struct User {
    name: String,
    age: i32,
    /// A Java `int[]`, not a `List<Integer>`.
    scores: JavaArray<i32>,
    email: Option<String>,
    born: Date,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let alice = User {
        name: "Alice".into(),
        age: 30,
        scores: JavaArray(vec![7, 300]),
        email: None,
        born: Date(0),
    };

    // One value: `to_vec`. The first instance of a class carries its definition ('C').
    let bytes = to_vec(&alice)?;
    println!("User as Hessian ({} bytes):\n{}", bytes.len(), hex(&bytes));
    let back: User = from_slice(&bytes)?;
    assert_eq!(back, alice);
    println!("decoded as User: {back:?}");
    let value = Decoder::new(&bytes).read_value()?;
    println!("decoded as Value: {value:?}\n");

    // A map: `BTreeMap<String, i64>` is a Java `HashMap<String, Long>` ('H' ... 'Z').
    let counts = BTreeMap::from([("apples".to_owned(), 3i64), ("pears".to_owned(), 70_000)]);
    let bytes = to_vec(&counts)?;
    println!("map as Hessian ({} bytes):\n{}", bytes.len(), hex(&bytes));
    assert_eq!(from_slice::<BTreeMap<String, i64>>(&bytes)?, counts);
    let value = Decoder::new(&bytes).read_value()?;
    println!("decoded as Value: {value:?}");
    assert_eq!(value.get("pears"), Some(&Value::Long(70_000)));

    // Several values in one stream share class definitions: the second User is `0x60`
    // (instance of class 0) and its fields, without the definition again.
    let mut stream = Vec::new();
    let mut encoder = Encoder::new(&mut stream);
    encoder.encode(&alice)?;
    encoder.encode(&User {
        name: "Bob".into(),
        age: 41,
        scores: JavaArray(vec![]),
        email: Some("bob@acme.org".into()),
        born: Date(60_000),
    })?;
    println!(
        "\ntwo Users in one stream ({} bytes):\n{}",
        stream.len(),
        hex(&stream)
    );
    let mut decoder = Decoder::new(&stream);
    let first: User = decoder.decode()?;
    let second = decoder.read_value()?;
    println!("first: {}, second: {:?}", first.name, second.get("email"));
    assert!(decoder.is_at_end());
    Ok(())
}

/// The bytes in hex, 16 a line, with their printable ASCII.
fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            let text: String = line
                .iter()
                .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
                .collect();
            format!("  {:<48} {text}", hex.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
