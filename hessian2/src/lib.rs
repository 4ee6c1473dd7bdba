//! Hessian 2.0 for Rust, with serde: the binary format Java RPC frameworks use (Apache
//! Dubbo's default, Caucho's Hessian), written byte for byte as Java writes it and read from
//! whatever Java, Go, Python and JavaScript peers write.
//!
//! Nothing here knows about Dubbo or any transport: values go to and from byte buffers.
//! Encode any `Serialize` type as Hessian and decode Hessian into any `Deserialize` type,
//! or into a dynamic [`Value`] when the shape is not known in advance. The bytes match
//! Java's `Hessian2Output` as Dubbo's hessian-lite configures it (shortest forms, class
//! definitions, chunking), checked against Caucho's output for 78 golden values and against
//! live Java, Go and Python peers in tether's interop tests.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tether_hessian2::{Decoder, Value, from_slice, to_vec};
//!
//! // A Java POJO: the serde name is the Java class.
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! #[serde(rename = "org.acme.User")]
//! struct User {
//!     name: String,
//!     age: i32,
//!     tags: Vec<String>,
//! }
//!
//! let alice = User { name: "Alice".into(), age: 30, tags: vec!["admin".into()] };
//! let bytes = to_vec(&alice)?;
//! // 'C' defines the class (its name, then its fields), 0x60 is an instance of it.
//! assert_eq!(&bytes[..2], b"C\x0d");
//! assert_eq!(from_slice::<User>(&bytes)?, alice);
//!
//! // The same bytes without the Rust type.
//! let value = Decoder::new(&bytes).read_value()?;
//! assert_eq!(value.class(), Some("org.acme.User"));
//! assert_eq!(value.get("age"), Some(&Value::Int(30)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/pojo.rs` prints the bytes of a POJO and a map and decodes them both ways
//! (`cargo run -p tether-hessian2 --example pojo`).
//!
//! # One context per stream
//!
//! Hessian 2 streams share state between values: a class is defined once and its later
//! instances refer to the definition by number, list and map types likewise, and lists,
//! maps and objects can be referred back to (`'Q'`). One [`Encoder`] or [`Decoder`] is one
//! such context (a Dubbo body, a Hessian call or reply): write or read several values
//! through it in order, and start a new one for the next stream. [`to_vec`],
//! [`to_writer`], [`from_slice`] and [`to_value`] are one value in a fresh context. The
//! encoder appends to the caller's buffer; the decoder borrows strings and binaries from
//! the input where it can (a `&str` or `&[u8]` target borrows, and fails on the strings and
//! binaries that must be reassembled: chunked, or holding CESU-8 surrogate pairs).
//!
//! # Mapping between Rust and Java
//!
//! | Rust (serde) | Hessian / Java |
//! |---|---|
//! | `bool` | `'T'`/`'F'` (`boolean`) |
//! | `i8`, `i16`, `i32`, `u8`, `u16` | int (`byte`, `short`, `int`) |
//! | `i64`, `u32`, `u64` | long (unsigned values beyond `i64` fail) |
//! | `f32`, `f64` | double (`float`, `double`), Java's shortest form incl. `0x5F` |
//! | `char`, `&str`, `String` | string (`char`, `String`): lengths in UTF-16 units, supplementary characters as CESU-8 surrogate pairs |
//! | bytes ([`Binary`], `bytes::Bytes`, `serde_bytes`) | binary (`byte[]`); `Vec<u8>` is a sequence to serde, hence a list, but a `byte[]` decodes into it |
//! | `None`, `()` | null |
//! | sequences, tuples (`Vec<T>`, `[T; N]`) | untyped fixed-length list (`ArrayList`) |
//! | [`JavaArray<T>`] | typed list `"[int"`, `"[string"`, `"[object"`, `"[<class>"` (Java arrays; `char[]` is a string, as hessian-lite writes it) |
//! | [`TypedList<T>`] | typed list of any type (`java.util.HashSet`...) |
//! | maps | `'H'` map (`HashMap`) |
//! | struct | object of the Java class named by the struct's serde name (`#[serde(rename = "org.acme.User")]`); fields in declaration order; a field skipped by `skip_serializing_if` is written as null |
//! | unit struct | object of that class with no fields |
//! | unit enum variant | Java enum: object of the enum's class with one field `name` |
//! | other enum variants | `'H'` map with one entry `{variant: content}` |
//! | [`Date`]; `SystemTime` (and `chrono`, `time` types) through [`date`] | `java.util.Date`, milliseconds since the epoch (finer instants round down to the millisecond, as Java's `Date.from(Instant)`) |
//! | [`BigDecimal`] | `java.math.BigDecimal` (object with its string `value`, as hessian-lite writes it) |
//! | [`BigInteger`] | `java.math.BigInteger` (object with the JVM fields `signum` and `mag`) |
//! | [`Value`] | anything, losslessly |
//!
//! Decoding is lenient where Java is: ints are accepted for longs and doubles, objects
//! match struct fields by name in any order and skip unknown fields, maps with string keys
//! can fill structs, enums are read from an enum object, a name string or a one-entry map,
//! `byte[]` can fill a `Vec<u8>`. Variable-length and typed forms are read everywhere, and
//! so are 4-byte UTF-8 sequences in strings (peers that count code points write them). A
//! Rust `char` beyond the Basic Multilingual Plane is refused for a Java `char`, which
//! cannot hold it ([`EncodeError::CharOutsideBmp`]); as a string it goes.
//!
//! Back-references (`'Q'`) to complete containers are read again; a reference into an
//! enclosing container (a cycle) is `None` for an `Option` (the Java `cause == this` idiom
//! of exceptions), a [`Value::Ref`] in a [`Value`], and an error elsewhere (see
//! [below](#shared-references-decode-into-copies)).
//!
//! # `Value`: anything, without a Rust type
//!
//! [`Value`] is the dynamic model: null, bool, int and long (kept apart, as Java keeps
//! them), double, date, string, binary, lists and maps with their Java type names, objects
//! with their class and fields in wire order, and [`Value::Ref`] for cycles. Decoded values
//! share class, field and type names (`Arc<str>`) instead of copying them per instance.
//! [`Decoder::read_value`] and [`Encoder::write_value`] read and write one natively; it
//! also implements `Serialize` and `Deserialize`, losslessly through this crate and as plain
//! data for other formats (objects as maps with a `"$class"` entry). [`to_value`] and
//! [`from_value`] convert between typed data and `Value`s as a peer would see them.
//!
//! # Java class names and types
//!
//! The Java class of a struct or enum is its serde name: `#[serde(rename =
//! "org.acme.User")]` (and `#[serde(rename = "RED")]` on enum constants whose Java name
//! differs). Where Java needs more than the value, wrappers say it: [`JavaArray`] for Java
//! arrays (`int[]` is a list typed `"[int"`, not an `ArrayList`), [`TypedList`] for other
//! collection classes, [`Binary`] for `byte[]`, [`BigDecimal`] and [`BigInteger`] for
//! `java.math`'s, [`Date`] for `java.util.Date` (a
//! `SystemTime` field is written as one with `#[serde(with = "tether_hessian2::date")]`).
//!
//! # Crate features
//!
//! None is on by default; each adds conversions for another crate's types.
//!
//! | feature | adds |
//! |---|---|
//! | `chrono` | `java.util.Date` ↔ `chrono::DateTime<Utc>` ([`date`]) |
//! | `time` | `java.util.Date` ↔ `time::OffsetDateTime` ([`date`]) |
//! | `rust_decimal` | [`BigDecimal`] ↔ `rust_decimal::Decimal` |
//! | `num-bigint` | [`BigInteger`] ↔ `num_bigint::BigInt`, [`BigDecimal`] from and to a `BigInt` unscaled value |
//!
//! [`JavaType`] gives a Rust type's JVM descriptor (`i32` → `I`, `String` →
//! `Ljava/lang/String;`, `Option<i32>` → `Ljava/lang/Integer;`) and the type name Java gives
//! arrays of it; implement it for your structs with [`java_class!`], which also implements
//! [`JavaClass`] (the class name, for exceptions). The attribute
//! `#[tether_core::java("org.acme.User")]` (crate `tether-derive`) names the class once for
//! both serde and these traits. [`descriptors`],
//! [`count_parameters`] and [`java_type_name`] read descriptor strings such as
//! `"Ljava/lang/String;[II"`, as RPC frameworks name method parameters.
//!
//! # Low level
//!
//! Below serde, [`Decoder::read_head`] reads the next value's [`Head`] (a scalar whole, or
//! the header of a string, binary, list, map or object), for readers that look at a value
//! before deciding how to read it, or walk a map without building it; the [`tag`] module
//! names the tag bytes. The [`Encoder`] writes scalars directly (`write_int`, `write_str`...),
//! streams a map entry by entry ([`Encoder::begin_map`]) and appends values encoded earlier
//! ([`Encoder::write_raw`]).
//!
//! # Limits
//!
//! Decoding hostile input cannot overflow the stack, loop, or allocate beyond the input
//! ([`DecodeLimits`], per decoder):
//!
//! | limit | default | past it |
//! |---|---|---|
//! | nesting of lists, maps, objects and followed references ([`DecodeLimits::max_depth`]) | 128 | [`MalformedError::TooDeep`] |
//! | bytes re-read to resolve back-references ([`DecodeLimits::work_factor`]) | 16 × the input + 64 KiB | [`MalformedError::WorkLimit`] |
//! | memory held by the [`Value`]s decoded ([`DecodeLimits::memory_factor`]) | 64 × the input + 1 MiB | [`MalformedError::MemoryLimit`] |
//! | capacity reserved for announced lengths | the bytes left in the input | (grows as items arrive) |
//!
//! A reference to a complete container is re-read, so a two-byte `'Q'` could otherwise
//! stand for a copy of any size; the work budget bounds the re-reading (also for typed
//! targets), the memory budget what the copies hold as [`Value`]s. Writing is limited to
//! 128 levels (the decoder's default depth), so what is written can be read back, and
//! fails with [`EncodeError::TooDeep`] beyond.
//!
//! Errors say who is to blame: [`DecodeError::Malformed`] ([`MalformedError`]) for bytes
//! that are not Hessian, [`DecodeError::Type`] ([`TypeError`]) for well-formed values that
//! do not fit the requested Rust type, [`EncodeError`] for values that cannot be written.
//! After a decoding error the decoder's state is unspecified: drop it.
//!
//! # Deliberate limits
//!
//! Two things Java keeps do not survive a trip through Rust values. Both are choices, and
//! tether's interop tests against Java report them on every run as known differences.
//!
//! ## Lone surrogates decode to U+FFFD
//!
//! A Java `String` is UTF-16 and may hold a surrogate without its pair (`'\uD83D'`);
//! hessian-lite writes every UTF-16 unit of a string as its own 1- to 3-byte sequence, so a
//! lone surrogate goes out as a 3-byte CESU-8 sequence (`'\uD83D'` → `ed a0 bd`). A Rust
//! `String` or `char` holds Unicode scalar values only and cannot represent a surrogate,
//! and the Hessian 2 specification defines strings as UTF-8, which cannot encode surrogate
//! code points (RFC 3629 §3). So the decoder joins surrogate *pairs* into their character
//! (also across chunks), and decodes a surrogate without its pair as U+FFFD REPLACEMENT
//! CHARACTER, which goes back out as `ef bf bd`: Java's `'\uD83D'` and `"a\uDC00b"` come
//! back as `'\uFFFD'` and `"a\uFFFDb"`. Java's own UTF-8 codec keeps them no better:
//! `"\uD83D".getBytes(UTF_8)` is `"?"`, and `new String(ed a0 bd, UTF_8)` is `"\uFFFD"`.
//! Keeping them would need a string type of its own (WTF-8) in every API that takes
//! `&str`.
//!
//! ## Shared references decode into copies
//!
//! Java writes an object that a graph holds twice in full once, and then a back-reference
//! (`'Q'`) to it; its reader restores one shared instance. This crate resolves a reference
//! to a complete list, map or object by decoding that container again: the data is kept,
//! the object identity is not, since serde values have no identity (a Rust value owns its
//! parts, and serde's data model has no "the same object as before"). A list holding one
//! `User` twice decodes into two equal `User`s (or two equal [`Value::Object`]s), and is
//! written back as two instances. Cycles are kept: a reference into a container still
//! being decoded is a [`Value::Ref`] (levels up) in a [`Value`], `None` for an `Option`,
//! and [`TypeError::Cyclic`] for other typed targets. The copying is bounded by the
//! decoder's budgets (see [Limits](#limits)).
//!
//! Section references in the docs (`docs/protocol.md` §11.x) are to tether's protocol notes,
//! whose chapter 11 is Hessian 2.0 as hessian-lite writes it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod budget;
pub mod date;
mod de;
mod decoder;
mod encoder;
mod error;
mod java;
mod math;
mod ser;
mod stack;
mod string;
pub mod tag;
#[cfg(test)]
mod test_util;
mod token;
mod value;

pub use budget::DecodeLimits;
pub use date::{AsDate, DateRangeError};
pub use decoder::{Decoder, Head};
pub use encoder::Encoder;
pub use error::{DecodeError, EncodeError, MalformedError, TypeError};
pub use java::{
    Binary, Date, DescriptorError, Descriptors, JavaArray, JavaArrayRef, JavaClass, JavaType,
    TypedList, class_descriptor, count_parameters, descriptors, java_type_name,
};
pub use math::{BigDecimal, BigInteger, NumberError};
pub use ser::Compound;

/// A newtype-struct name the Hessian serializer writes as null whatever the newtype wraps:
/// for values that are null on the wire but carry meaning for other serializers.
pub const NULL_NEWTYPE: &str = token::NULL;
pub use string::write_string;
pub use value::{Value, ValueDeserializer};

/// Appends `value` to `out` as one Hessian value in a fresh context.
pub fn to_writer<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), EncodeError> {
    Encoder::new(out).encode(value)
}

/// Encodes `value` as one Hessian value in a fresh context.
pub fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    to_writer(&mut out, value)?;
    Ok(out)
}

/// Decodes the first value of `input` as a `T` (trailing bytes are ignored).
pub fn from_slice<'de, T: serde::Deserialize<'de>>(input: &'de [u8]) -> Result<T, DecodeError> {
    Decoder::new(input).decode()
}

/// Converts a [`Value`] into a `T`.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, DecodeError> {
    T::deserialize(ValueDeserializer::new(value))
}

/// Converts a `T` into a [`Value`] (through its Hessian encoding, so the result is what a
/// peer would decode).
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, EncodeError> {
    let bytes = to_vec(value)?;
    Decoder::new(&bytes)
        .read_value()
        .map_err(|e| EncodeError::Custom(format!("re-reading the encoded value failed: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::test_util::hex;
    use std::collections::{BTreeMap, HashMap};

    use serde::{Deserialize, Serialize};

    use super::*;

    #[test]
    fn char_arrays_travel_as_strings_as_hessian_lite_writes_them() {
        let chars = JavaArray(vec!['a', '\u{2603}', 'z']);
        assert_eq!(to_vec(&chars).unwrap(), hex("03 61 e2 98 83 7a"));
        let back: JavaArray<char> = from_slice(&hex("03 61 e2 98 83 7a")).unwrap();
        assert_eq!(back, chars);
        // A list of one-char strings (other writers) reads too.
        let list = to_vec(&vec!['a', 'b']).unwrap();
        let back: JavaArray<char> = from_slice(&list).unwrap();
        assert_eq!(back, JavaArray(vec!['a', 'b']));
        assert!(matches!(
            to_vec(&JavaArray(vec!['\u{1F600}'])),
            Err(EncodeError::Custom(_))
        ));
        // Other arrays are typed lists as before.
        assert_eq!(to_vec(&JavaArray(vec![1i32])).unwrap()[0], 0x71);
    }

    #[test]
    fn a_char_beyond_the_bmp_is_refused() {
        assert_eq!(to_vec(&'\u{FFFF}').unwrap(), hex("01 ef bf bf"));
        assert!(matches!(
            to_vec(&'\u{1F600}'),
            Err(EncodeError::CharOutsideBmp('\u{1F600}'))
        ));
        // As a string it goes, as a surrogate pair.
        assert_eq!(to_vec("\u{1F600}").unwrap(), hex("02 ed a0 bd ed b8 80"));
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
    #[serde(rename = "org.apache.dubbo.demo.User")]
    struct User {
        name: String,
        age: i32,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug, Clone, Copy)]
    #[serde(rename = "demo.Color")]
    enum Color {
        #[serde(rename = "RED")]
        Red,
        #[serde(rename = "GREEN")]
        Green,
    }

    const USER_ALICE: &str = "43 1a 6f 72 67 2e 61 70 61 63 68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f \
                              2e 55 73 65 72 92 04 6e 61 6d 65 03 61 67 65 60 05 41 6c 69 63 65 ae";

    #[test]
    fn struct_is_a_java_object_like_caucho_writes_it() {
        let alice = User {
            name: "Alice".into(),
            age: 30,
        };
        assert_eq!(to_vec(&alice).unwrap(), hex(USER_ALICE));
        assert_eq!(from_slice::<User>(&hex(USER_ALICE)).unwrap(), alice);
    }

    #[test]
    fn second_instance_reuses_the_class_definition() {
        // hessian_values.json "user_pair": ArrayList[User(A, 1), User(B, 2)].
        let pair = vec![
            User {
                name: "A".into(),
                age: 1,
            },
            User {
                name: "B".into(),
                age: 2,
            },
        ];
        let java = hex(
            "7a 43 1a 6f 72 67 2e 61 70 61 63 68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f \
                        2e 55 73 65 72 92 04 6e 61 6d 65 03 61 67 65 60 01 41 91 60 01 42 92",
        );
        assert_eq!(to_vec(&pair).unwrap(), java);
        assert_eq!(from_slice::<Vec<User>>(&java).unwrap(), pair);
    }

    #[test]
    fn fields_match_by_name_in_any_order_and_unknown_fields_are_skipped() {
        // §11.10's Java order [age, name] plus an unknown nested field.
        let mut bytes = hex(
            "43 1a 6f 72 67 2e 61 70 61 63 68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f \
                             2e 55 73 65 72 93 03 61 67 65 05 65 78 74 72 61 04 6e 61 6d 65",
        );
        bytes.extend(hex("60 a2 79 48 01 6b 91 5a 03 74 6f 6d"));
        let user: User = from_slice(&bytes).unwrap();
        assert_eq!(
            user,
            User {
                name: "tom".into(),
                age: 18
            }
        );
        // A map with string keys fills a struct too (generic POJOs, §2.4).
        let map = hex("48 05 63 6c 61 73 73 01 78 04 6e 61 6d 65 01 62 03 61 67 65 93 5a");
        assert_eq!(
            from_slice::<User>(&map).unwrap(),
            User {
                name: "b".into(),
                age: 3
            }
        );
    }

    #[test]
    fn refs_to_complete_values_are_re_read() {
        // §11.10: List[u1, u2, u1] with demo.User{age, name}.
        #[derive(Deserialize, PartialEq, Debug)]
        #[serde(rename = "demo.User")]
        struct DemoUser {
            name: String,
            age: i32,
        }
        let bytes = hex(
            "7b 43 09 64 65 6d 6f 2e 55 73 65 72 92 03 61 67 65 04 6e 61 6d 65 \
                         60 a2 03 74 6f 6d 60 a4 03 61 6d 79 51 91",
        );
        let users: Vec<DemoUser> = from_slice(&bytes).unwrap();
        assert_eq!(users[2], users[0]);
        assert_eq!(users[1].name, "amy");
        let value = Decoder::new(&bytes).read_value().unwrap();
        let items = value.as_list().unwrap();
        assert_eq!(items[2], items[0]);
        assert_eq!(items[0].get("name"), Some(&Value::from("tom")));
    }

    #[test]
    fn enums_are_java_enum_objects() {
        // §11.10: demo.Color.RED → 43 0A "demo.Color" 91 04 "name" 60 03 "RED".
        let java = hex("43 0a 64 65 6d 6f 2e 43 6f 6c 6f 72 91 04 6e 61 6d 65 60 03 52 45 44");
        assert_eq!(to_vec(&Color::Red).unwrap(), java);
        assert_eq!(from_slice::<Color>(&java).unwrap(), Color::Red);
        // Generic callers send the constant's name.
        assert_eq!(from_slice::<Color>(b"\x05GREEN").unwrap(), Color::Green);
        let both = to_vec(&(Color::Red, Color::Green)).unwrap();
        assert_eq!(
            from_slice::<(Color, Color)>(&both).unwrap(),
            (Color::Red, Color::Green)
        );
    }

    #[test]
    fn non_unit_variants_are_one_entry_maps() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        enum Shape {
            Circle(f64),
            Rect { w: i32, h: i32 },
            Pair(i32, String),
            Empty,
        }
        for shape in [
            Shape::Circle(1.5),
            Shape::Rect { w: 2, h: 3 },
            Shape::Pair(1, "x".into()),
            Shape::Empty,
        ] {
            let bytes = to_vec(&shape).unwrap();
            assert_eq!(from_slice::<Shape>(&bytes).unwrap(), shape);
            let value = from_value::<Shape>(Decoder::new(&bytes).read_value().unwrap()).unwrap();
            assert_eq!(value, shape);
        }
        assert_eq!(
            to_vec(&Shape::Circle(2.0)).unwrap(),
            hex("48 06 43 69 72 63 6c 65 5d 02 5a")
        );
    }

    #[test]
    fn java_arrays_and_lists_differ_on_the_wire() {
        // §11.8: int[]{1,2} → 72 04 "[int" 91 92; ArrayList[1,2] → 7a 91 92.
        assert_eq!(
            to_vec(&JavaArray(vec![1, 2])).unwrap(),
            hex("72 04 5b 69 6e 74 91 92")
        );
        assert_eq!(to_vec(&vec![1, 2]).unwrap(), hex("7a 91 92"));
        // new Object[]{"a", 1} → 72 07 "[object" 01 61 91.
        let objs = JavaArray(vec![Value::from("a"), Value::Int(1)]);
        assert_eq!(
            to_vec(&objs).unwrap(),
            hex("72 07 5b 6f 62 6a 65 63 74 01 61 91")
        );
        // HashSet{"a"} → 71 11 "java.util.HashSet" 01 61.
        let set = TypedList {
            type_name: "java.util.HashSet".into(),
            items: vec!["a"],
        };
        assert_eq!(
            to_vec(&set).unwrap(),
            hex("71 11 6a 61 76 61 2e 75 74 69 6c 2e 48 61 73 68 53 65 74 01 61")
        );
        // Two int[] in one context: the second names its type by index (§11.12).
        let two = (JavaArray(vec![1]), JavaArray(vec![2]));
        assert_eq!(
            to_vec(&two).unwrap(),
            hex("7a 71 04 5b 69 6e 74 91 71 90 92")
        );
        let back: (JavaArray<i32>, Vec<i64>) = from_slice(&to_vec(&two).unwrap()).unwrap();
        assert_eq!(back, (JavaArray(vec![1]), vec![2]));
        // Long arrays use 'V' type int-length; variable lists are read too.
        let long: Vec<i32> = (0..10).collect();
        let bytes = to_vec(&JavaArray(long.clone())).unwrap();
        assert_eq!(bytes[..7], hex("56 04 5b 69 6e 74 9a"));
        assert_eq!(from_slice::<Vec<i32>>(&bytes).unwrap(), long);
        assert_eq!(from_slice::<Vec<i32>>(&hex("57 91 92 5a")).unwrap(), [1, 2]);
        assert_eq!(
            from_slice::<Vec<i32>>(&hex("55 04 5b 69 6e 74 91 5a")).unwrap(),
            [1]
        );
    }

    #[test]
    fn maps_hashmap_untyped_and_typed_accepted() {
        // §11.9: {1:"x"} → 48 91 01 78 5a; LinkedHashMap {"a":1} → 4d 17 ... 01 61 91 5a.
        let m: BTreeMap<i32, String> = [(1, "x".to_owned())].into();
        assert_eq!(to_vec(&m).unwrap(), hex("48 91 01 78 5a"));
        let typed = hex(
            "4d 17 6a 61 76 61 2e 75 74 69 6c 2e 4c 69 6e 6b 65 64 48 61 73 68 4d 61 70 01 61 91 5a",
        );
        let back: HashMap<String, i32> = from_slice(&typed).unwrap();
        assert_eq!(back["a"], 1);
        let value = Decoder::new(&typed).read_value().unwrap();
        assert_eq!(
            value,
            Value::Map {
                type_name: Some("java.util.LinkedHashMap".into()),
                entries: vec![(Value::from("a"), Value::Int(1))],
            }
        );
        assert_eq!(to_vec(&value).unwrap(), typed);
    }

    #[test]
    fn scalars_and_coercions() {
        assert_eq!(to_vec(&5i64).unwrap(), hex("e5"));
        assert_eq!(to_vec(&5u32).unwrap(), hex("e5"));
        assert_eq!(to_vec(&1.5f32).unwrap(), hex("5f 00 00 05 dc"));
        assert_eq!(to_vec(&'x').unwrap(), hex("01 78"));
        assert_eq!(to_vec(&()).unwrap(), hex("4e"));
        assert_eq!(to_vec(&None::<i32>).unwrap(), hex("4e"));
        assert!(matches!(to_vec(&u64::MAX), Err(EncodeError::OutOfRange(_))));
        // Readers accept int forms for longs and doubles.
        assert_eq!(from_slice::<i64>(&hex("91")).unwrap(), 1);
        assert_eq!(from_slice::<f64>(&hex("91")).unwrap(), 1.0);
        assert_eq!(from_slice::<i32>(&hex("e1")).unwrap(), 1);
        assert!(from_slice::<i32>(&hex("4c 00 00 00 01 00 00 00 00")).is_err());
        assert!(from_slice::<u8>(&hex("80")).is_err());
        let err = from_slice::<i32>(b"\x01a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a number, found string (tag 0x01) at offset 0"
        );
        assert_eq!(from_slice::<Option<String>>(b"N").unwrap(), None);
        assert_eq!(from_slice::<char>(b"\x01x").unwrap(), 'x');
        assert_eq!(
            from_slice::<Date>(&hex("4b 00 00 00 01")).unwrap(),
            Date(60_000)
        );
        assert_eq!(to_vec(&Date(60_000)).unwrap(), hex("4b 00 00 00 01"));
        // Strings are borrowed from the input when possible.
        let bytes = b"\x05hello";
        let s: &str = from_slice(bytes).unwrap();
        assert_eq!(s, "hello");
    }

    #[test]
    fn binary_and_bytes() {
        assert_eq!(to_vec(&Binary(vec![1, 2])).unwrap(), hex("22 01 02"));
        assert_eq!(
            to_vec(&bytes::Bytes::from_static(&[1])).unwrap(),
            hex("21 01")
        );
        assert_eq!(
            from_slice::<Binary>(&hex("22 01 02")).unwrap(),
            Binary(vec![1, 2])
        );
        // byte[] fills a Vec<u8>.
        assert_eq!(from_slice::<Vec<u8>>(&hex("22 01 02")).unwrap(), [1, 2]);
        let chunked = hex("41 00 01 07 21 08");
        assert_eq!(from_slice::<bytes::Bytes>(&chunked).unwrap(), &[7u8, 8][..]);
    }

    #[test]
    fn skipped_fields_are_written_as_null_to_keep_the_class_shape() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        #[serde(rename = "P")]
        struct P {
            #[serde(skip_serializing_if = "Option::is_none")]
            a: Option<i32>,
            b: i32,
        }
        let both = vec![P { a: Some(1), b: 2 }, P { a: None, b: 3 }];
        let bytes = to_vec(&both).unwrap();
        assert_eq!(bytes, hex("7a 43 01 50 92 01 61 01 62 60 91 92 60 4e 93"));
        assert_eq!(from_slice::<Vec<P>>(&bytes).unwrap(), both);
    }

    #[test]
    fn recursive_struct_defines_its_class_once() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        #[serde(rename = "Node")]
        struct Node {
            v: i32,
            next: Option<Box<Node>>,
        }
        let list = Node {
            v: 1,
            next: Some(Box::new(Node { v: 2, next: None })),
        };
        let bytes = to_vec(&list).unwrap();
        assert_eq!(
            bytes,
            hex("43 04 4e 6f 64 65 92 01 76 04 6e 65 78 74 60 91 60 92 4e")
        );
        assert_eq!(from_slice::<Node>(&bytes).unwrap(), list);
    }

    #[test]
    fn exception_cause_is_a_ref_to_itself() {
        // §11.10: RuntimeException("boom") with an empty stack trace, as Java writes it.
        let java = hex(
            "43 1a 6a 61 76 61 2e 6c 61 6e 67 2e 52 75 6e 74 69 6d 65 45 78 63 65 70 74 69 6f 6e 94 \
             14 73 75 70 70 72 65 73 73 65 64 45 78 63 65 70 74 69 6f 6e 73 \
             0a 73 74 61 63 6b 54 72 61 63 65 05 63 61 75 73 65 0d 64 65 74 61 69 6c 4d 65 73 73 61 67 65 \
             60 70 1f 6a 61 76 61 2e 75 74 69 6c 2e 43 6f 6c 6c 65 63 74 69 6f 6e 73 24 45 6d 70 74 79 4c 69 73 74 \
             70 1c 5b 6a 61 76 61 2e 6c 61 6e 67 2e 53 74 61 63 6b 54 72 61 63 65 45 6c 65 6d 65 6e 74 \
             51 90 04 62 6f 6f 6d",
        );
        assert_eq!(java.len(), 152);
        let value = Decoder::new(&java).read_value().unwrap();
        assert_eq!(value.class(), Some("java.lang.RuntimeException"));
        assert_eq!(value.get("cause"), Some(&Value::Ref(0)));
        assert_eq!(value.get("detailMessage"), Some(&Value::from("boom")));
        assert_eq!(to_vec(&value).unwrap(), java, "re-encodes byte for byte");
        // Typed: the self-reference is an absent cause.
        #[derive(Deserialize, Debug)]
        struct Ex {
            #[serde(rename = "detailMessage")]
            message: Option<String>,
            cause: Option<Box<Ex>>,
        }
        let ex: Ex = from_slice(&java).unwrap();
        assert_eq!(ex.message.as_deref(), Some("boom"));
        assert!(ex.cause.is_none());
        // ... but not where a value is required.
        #[derive(Deserialize, Debug)]
        struct Strict {
            #[allow(dead_code)]
            cause: Box<Value2>,
        }
        #[derive(Deserialize, Debug)]
        struct Value2 {}
        let err = from_slice::<Strict>(&java).unwrap_err();
        assert!(
            matches!(err, DecodeError::Type(TypeError::Cyclic { .. })),
            "{err}"
        );
        // Through a Value the same: the self-reference is no cause, or skipped by a struct
        // without a `cause` field (it failed with `Cyclic` before: issue 13, F5).
        let ex: Ex = from_value(value.clone()).unwrap();
        assert_eq!(ex.message.as_deref(), Some("boom"));
        assert!(ex.cause.is_none());
        #[derive(Deserialize, Debug)]
        struct NoCause {
            #[serde(rename = "detailMessage")]
            message: String,
        }
        let ex: NoCause = from_value(value.clone()).unwrap();
        assert_eq!(ex.message, "boom");
        let err = from_value::<Strict>(value).unwrap_err();
        assert!(
            matches!(err, DecodeError::Type(TypeError::Cyclic { .. })),
            "{err}"
        );
    }

    #[test]
    fn value_round_trips_through_serde_losslessly() {
        let value = Value::List {
            type_name: None,
            items: vec![
                Value::Null,
                Value::Bool(true),
                Value::Int(1),
                Value::Long(1),
                Value::Double(2.5),
                Value::Date(60_000),
                Value::from("s"),
                Value::Binary(vec![1]),
                Value::List {
                    type_name: Some("[int".into()),
                    items: vec![Value::Int(7)],
                },
                Value::Map {
                    type_name: Some("java.util.TreeMap".into()),
                    entries: vec![(Value::Int(1), Value::Null)],
                },
                Value::object("a.B", vec![("x".into(), Value::Ref(1))]),
                Value::Ref(0),
            ],
        };
        let bytes = to_vec(&value).unwrap();
        let mut native = Vec::new();
        Encoder::new(&mut native).write_value(&value).unwrap();
        assert_eq!(bytes, native, "serde and native writers agree");
        assert_eq!(Decoder::new(&bytes).read_value().unwrap(), value);
        assert_eq!(from_slice::<Value>(&bytes).unwrap(), value);
        // Value inside a typed struct keeps its Java types.
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        #[serde(rename = "W")]
        struct W {
            v: Value,
            n: i32,
        }
        let w = W {
            v: value.clone(),
            n: 1,
        };
        assert_eq!(from_slice::<W>(&to_vec(&w).unwrap()).unwrap(), w);
        // Value → Value through the Value deserializer is lossless too.
        assert_eq!(from_value::<Value>(value.clone()).unwrap(), value);
        // Other formats see plain data.
        let json =
            serde_json::to_value(Value::object("a.B", vec![("x".into(), Value::Int(1))])).unwrap();
        assert_eq!(json, serde_json::json!({"$class": "a.B", "x": 1}));
    }

    #[test]
    fn to_value_and_from_value() {
        let alice = User {
            name: "Alice".into(),
            age: 30,
        };
        let value = to_value(&alice).unwrap();
        assert_eq!(
            value,
            Value::object(
                "org.apache.dubbo.demo.User",
                vec![
                    ("name".into(), Value::from("Alice")),
                    ("age".into(), Value::Int(30))
                ]
            )
        );
        assert_eq!(from_value::<User>(value).unwrap(), alice);
        assert_eq!(
            from_value::<Color>(to_value(&Color::Green).unwrap()).unwrap(),
            Color::Green
        );
    }

    #[test]
    fn one_context_spans_several_values() {
        let alice = User {
            name: "Alice".into(),
            age: 30,
        };
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out);
        enc.encode(&alice).unwrap();
        enc.encode(&alice).unwrap();
        drop(enc);
        let mut second = hex(USER_ALICE);
        second.extend(hex("60 05 41 6c 69 63 65 ae"));
        assert_eq!(out, second);
        let mut dec = Decoder::new(&out);
        assert_eq!(dec.decode::<User>().unwrap(), alice);
        assert_eq!(dec.read_value().unwrap().get("age"), Some(&Value::Int(30)));
        assert!(dec.is_at_end());
    }

    #[test]
    fn exponential_ref_expansion_hits_the_work_or_memory_limit() {
        // list0 = [list1, Q1], list1 = [list2, Q2], ...: every level doubles the re-reads.
        let levels = 60;
        let mut bytes = vec![0x7a; levels as usize];
        bytes.push(0x90);
        bytes.push(0x90);
        for level in (1..=levels).rev() {
            if level < levels {
                bytes.push(b'Q');
                encoder::write_int(&mut bytes, level);
            }
        }
        // As values, the copies run out of memory budget first...
        let err = Decoder::new(&bytes).read_value();
        assert!(
            matches!(
                err,
                Err(DecodeError::Malformed(MalformedError::MemoryLimit { .. }))
            ),
            "{err:?}"
        );
        let err = from_slice::<Value>(&bytes);
        assert!(err.is_err());
        // ... and the work budget stops the re-reading itself.
        let unbounded_memory = DecodeLimits::DEFAULT.with_memory_factor(u32::MAX);
        let err = Decoder::with_limits(&bytes, unbounded_memory).read_value();
        assert!(
            matches!(
                err,
                Err(DecodeError::Malformed(MalformedError::WorkLimit { .. }))
            ),
            "{err:?}"
        );
        // Skipping does not expand references at all.
        Decoder::new(&bytes).skip_value().unwrap();
    }

    #[test]
    fn lone_surrogates_decode_to_the_replacement_character() {
        // What Java writes for the char '\uD83D' and the string "a\uDC00b" (crate docs,
        // "Deliberate limits"; tests/src/types.rs `types.*.lone-surrogate`).
        assert_eq!(from_slice::<char>(&hex("01 ed a0 bd")).unwrap(), '\u{FFFD}');
        assert_eq!(to_vec(&'\u{FFFD}').unwrap(), hex("01 ef bf bd"));
        let java = hex("03 61 ed b0 80 62");
        assert_eq!(from_slice::<String>(&java).unwrap(), "a\u{FFFD}b");
        assert_eq!(
            Decoder::new(&java).read_value().unwrap(),
            Value::from("a\u{FFFD}b")
        );
        assert_eq!(to_vec("a\u{FFFD}b").unwrap(), hex("03 61 ef bf bd 62"));
        // A pair is joined, also across chunks; a borrowed target cannot take the result.
        let pair = hex("52 00 01 ed a0 bd 01 ed b8 80");
        assert_eq!(from_slice::<String>(&pair).unwrap(), "\u{1F600}");
        assert!(from_slice::<&str>(&pair).is_err());
    }

    #[test]
    fn shared_references_decode_into_copies_and_cycles_stay_references() {
        // Java's list holding one User twice (tests/src/types.rs `types.shared-reference`):
        // 7a, class User [age, name], 60 91 01 73, then 51 91 (reference #1, the User).
        let java = hex(
            "7a 43 1a 6f 72 67 2e 61 70 61 63 68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f \
             2e 55 73 65 72 92 03 61 67 65 04 6e 61 6d 65 60 91 01 73 51 91",
        );
        let users: Vec<User> = from_slice(&java).unwrap();
        let s = User {
            name: "s".into(),
            age: 1,
        };
        assert_eq!(users, [s.clone(), s]);
        let value = Decoder::new(&java).read_value().unwrap();
        let items = value.as_list().unwrap();
        assert_eq!(items[0], items[1]);
        assert!(matches!(items[1], Value::Object { .. }));
        // Written back, the copy is an instance of its own.
        let mut twice = java[..java.len() - 2].to_vec();
        twice.extend(hex("60 91 01 73"));
        assert_eq!(to_vec(&value).unwrap(), twice);
        // A reference to an enclosing list is a cycle: kept as Value::Ref.
        let cycle = hex("79 51 90");
        assert_eq!(
            Decoder::new(&cycle).read_value().unwrap(),
            Value::list(vec![Value::Ref(0)])
        );
    }

    #[test]
    fn huge_announced_lengths_do_not_allocate() {
        // 'X' with 2^31-1 items, 'V' likewise, a 64K string chunk with 3 bytes, a class with
        // 2^31-1 fields: all fail at the end of input (for the missing item, or the rest of
        // the announced chunk) without reserving for the announced length.
        let eof = |offset, needed| {
            Err::<(), _>(DecodeError::from(MalformedError::UnexpectedEof {
                offset,
                needed,
            }))
        };
        for (bytes, offset, needed) in [
            (hex("58 49 7f ff ff ff 91"), 7, 1),
            (hex("56 04 5b 69 6e 74 49 7f ff ff ff 91"), 12, 1),
            (hex("53 ff ff 61 62 63"), 6, 0xffff - 3),
            (hex("52 ff ff 61"), 4, 0xffff - 1),
            (hex("41 ff ff 01"), 3, 0xffff - 1),
            (hex("43 01 41 49 7f ff ff ff"), 8, 1),
        ] {
            let expected = eof(offset, needed);
            assert_eq!(Decoder::new(&bytes).read_value().map(drop), expected);
            assert_eq!(Decoder::new(&bytes).skip_value(), expected);
            let typed = if matches!(bytes[0], b'R' | b'S') {
                from_slice::<String>(&bytes).map(drop)
            } else {
                from_slice::<Vec<i32>>(&bytes).map(drop)
            };
            assert_eq!(typed, expected, "{bytes:02x?}");
        }
    }

    #[test]
    fn announced_lengths_reserve_at_most_the_input() {
        // A list of 2^31-1 lists of 2^31-1 ...: nothing is reserved beyond the bytes present.
        let mut bytes = Vec::new();
        for _ in 0..100 {
            bytes.extend(hex("58 49 7f ff ff ff"));
        }
        let mut d = Decoder::new(&bytes);
        assert!(d.read_value().is_err());
        // The outer list reserves what is left after its header, the next one the rest of
        // the budget (the input length), deeper ones nothing: they grow as items arrive.
        assert_eq!(d.reserved(), bytes.len());
        // A class with 2^31-1 fields: room for the 2 bytes after the count.
        let bytes = hex("43 01 41 49 7f ff ff ff 01 61");
        let mut d = Decoder::new(&bytes);
        assert!(d.read_value().is_err());
        assert_eq!(d.reserved(), 2);
        // Two nested lists of 2^31-1 items, as `Value`s and through serde's `Vec`: the outer
        // one reserves the 7 bytes after its header, the inner one the 1 after its own.
        let bytes = hex("58 49 7f ff ff ff 58 49 7f ff ff ff 91");
        let mut d = Decoder::new(&bytes);
        assert!(d.read_value().is_err());
        assert_eq!(d.reserved(), 7 + 1);
        let mut t = Decoder::new(&bytes);
        assert!(t.decode::<Vec<Vec<Value>>>().is_err());
        assert_eq!(t.reserved(), 7 + 1);
    }
}
