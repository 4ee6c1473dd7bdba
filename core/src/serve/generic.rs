//! Generic calls (`$invoke`) answered as Java's `GenericFilter` answers them (`docs/protocol.md`
//! §2.4): the modes a caller may ask for in its `generic` attachment, and
//! `PojoUtils.generalize`, which turns a result into what a consumer without the service's
//! classes can read.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use serde::ser;

use crate::hessian2::Value;

/// How a generic call wants its answer, from its `generic` attachment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum GenericMode {
    /// `true` (or no attachment): the result is generalized (`PojoUtils.generalize`).
    Generalize,
    /// `raw.return`: the result as the method returned it (an exception is still wrapped).
    Raw,
}

impl GenericMode {
    /// The mode a `generic` attachment asks for (Java compares ignoring case). `Err` is the
    /// message a refused mode is answered with: `bean` sends `JavaBeanDescriptor`s and wants
    /// one back, `nativejava` Java-serialized bytes, `gson` and `protobuf-json` JSON text;
    /// read as plain values, their arguments would be misread and their answers unreadable.
    pub(crate) fn of(attachment: Option<&str>) -> Result<Self, String> {
        let mode = attachment.map(str::trim).unwrap_or_default();
        if mode.is_empty() || mode.eq_ignore_ascii_case("true") {
            Ok(Self::Generalize)
        } else if mode.eq_ignore_ascii_case("raw.return") {
            Ok(Self::Raw)
        } else {
            Err(format!(
                "Generic serialization [{mode}] is not supported by this provider (tether \
                 answers generic=true and generic=raw.return only)"
            ))
        }
    }
}

/// `PojoUtils.generalize` of a result that was serialized from a typed value: `enums` are the
/// classes of Java enums in it ([`enum_classes`]), which Java answers as their names.
///
/// - an enum constant becomes its name, an array of them a `String[]`;
/// - what Java counts as primitive (numbers, `BigDecimal` and `BigInteger` included, strings,
///   dates, and arrays of them) is kept as it is;
/// - a `LocalDate`, `LocalTime` or `LocalDateTime` becomes its ISO string (`toString()`);
/// - any other object becomes a `java.util.HashMap` of its fields with its class under
///   `"class"`, any other array an `Object[]`, a set a `java.util.HashSet` and any other
///   collection an `ArrayList`; maps keep their class; all of it at any depth.
///
/// Java reads an object's getters and public fields where tether has its serialized fields
/// (`docs/interop.md`).
pub(crate) fn generalize(value: Value, enums: &BTreeSet<String>) -> Value {
    match value {
        Value::Object { class, fields } => {
            if enums.contains(&*class) {
                return fields
                    .into_iter()
                    .find(|(name, _)| &**name == "name")
                    .map_or(Value::Null, |(_, name)| name);
            }
            if KEPT_CLASSES.contains(&&*class) {
                return Value::Object { class, fields };
            }
            if let Some(text) = java_time_string(&class, &fields) {
                return Value::String(text);
            }
            let mut entries = Vec::with_capacity(fields.len() + 1);
            entries.push((Value::string("class"), Value::String(class.to_string())));
            entries.extend(
                fields
                    .into_iter()
                    .map(|(name, v)| (Value::String(name.to_string()), generalize(v, enums))),
            );
            Value::Map {
                type_name: None,
                entries,
            }
        }
        Value::List { type_name, items } => {
            let type_name = match type_name.as_deref() {
                Some(array) if array.starts_with('[') => {
                    let component = &array[1..];
                    if enums.contains(component) {
                        Some(Arc::from("[string"))
                    } else if is_primitive(component.trim_start_matches('[')) {
                        return Value::List { type_name, items };
                    } else {
                        Some(Arc::from("[object"))
                    }
                }
                Some(collection) if collection.contains("Set") => {
                    Some(Arc::from("java.util.HashSet"))
                }
                _ => None,
            };
            Value::List {
                type_name,
                items: items.into_iter().map(|v| generalize(v, enums)).collect(),
            }
        }
        Value::Map { type_name, entries } => Value::Map {
            type_name,
            entries: entries
                .into_iter()
                .map(|(k, v)| (generalize(k, enums), generalize(v, enums)))
                .collect(),
        },
        other => other,
    }
}

/// Classes Java's `ReflectUtils.isPrimitive` keeps (numbers and dates that travel as
/// objects): `generalize` leaves them as they are.
const KEPT_CLASSES: [&str; 9] = [
    "java.math.BigDecimal",
    "java.math.BigInteger",
    "java.sql.Date",
    "java.sql.Time",
    "java.sql.Timestamp",
    "java.util.concurrent.atomic.AtomicInteger",
    "java.util.concurrent.atomic.AtomicLong",
    "java.util.concurrent.atomic.DoubleAdder",
    "java.util.concurrent.atomic.LongAdder",
];

/// Whether an array component (hessian-lite's name for it) is one Java's `isPrimitives`
/// keeps: primitives, strings, boxed values, numbers and dates.
fn is_primitive(component: &str) -> bool {
    matches!(
        component,
        "int"
            | "long"
            | "short"
            | "byte"
            | "boolean"
            | "double"
            | "float"
            | "char"
            | "string"
            | "date"
            | "java.lang.String"
            | "java.lang.Integer"
            | "java.lang.Long"
            | "java.lang.Short"
            | "java.lang.Byte"
            | "java.lang.Boolean"
            | "java.lang.Double"
            | "java.lang.Float"
            | "java.lang.Character"
            | "java.lang.Number"
            | "java.util.Date"
    ) || KEPT_CLASSES.contains(&component)
}

const JAVA8: &str = "com.alibaba.com.caucho.hessian.io.java8.";

/// The `toString()` of a `LocalDate`, `LocalTime` or `LocalDateTime` written as
/// hessian-lite's handle, which `generalize` answers instead of the object.
fn java_time_string(class: &str, fields: &[(Arc<str>, Value)]) -> Option<String> {
    let int = |fields: &[(Arc<str>, Value)], name: &str| {
        fields
            .iter()
            .find(|(k, _)| &**k == name)
            .and_then(|(_, v)| match v {
                Value::Int(i) => Some(i64::from(*i)),
                Value::Long(l) => Some(*l),
                _ => None,
            })
    };
    let object = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| &**k == name)
            .and_then(|(_, v)| match v {
                Value::Object { fields, .. } => Some(fields.as_slice()),
                _ => None,
            })
    };
    let date = |f: &[(Arc<str>, Value)]| {
        Some(local_date(
            int(f, "year")?,
            int(f, "month")?,
            int(f, "day")?,
        ))
    };
    let time = |f: &[(Arc<str>, Value)]| {
        Some(local_time(
            int(f, "hour")?,
            int(f, "minute")?,
            int(f, "second")?,
            int(f, "nano")?,
        ))
    };
    match class.strip_prefix(JAVA8)? {
        "LocalDateHandle" => date(fields),
        "LocalTimeHandle" => time(fields),
        "LocalDateTimeHandle" => Some(format!(
            "{}T{}",
            date(object("date")?)?,
            time(object("time")?)?
        )),
        _ => None,
    }
}

/// `LocalDate.toString()`: `yyyy-MM-dd`, a year past four digits with its sign.
fn local_date(year: i64, month: i64, day: i64) -> String {
    let year = if year.abs() < 10_000 {
        let sign = if year < 0 { "-" } else { "" };
        format!("{sign}{:04}", year.abs())
    } else if year > 0 {
        format!("+{year}")
    } else {
        year.to_string()
    };
    format!("{year}-{month:02}-{day:02}")
}

/// `LocalTime.toString()`: `HH:mm`, then `:ss` unless seconds and nanos are zero, then the
/// fraction in groups of three digits.
fn local_time(hour: i64, minute: i64, second: i64, nano: i64) -> String {
    let mut text = format!("{hour:02}:{minute:02}");
    if second > 0 || nano > 0 {
        text.push_str(&format!(":{second:02}"));
        if nano > 0 {
            if nano % 1_000_000 == 0 {
                text.push_str(&format!(".{:03}", nano / 1_000_000));
            } else if nano % 1_000 == 0 {
                text.push_str(&format!(".{:06}", nano / 1_000));
            } else {
                text.push_str(&format!(".{nano:09}"));
            }
        }
    }
    text
}

/// The Java enum classes in `value`: the names of the unit variants it serializes (a unit
/// variant is a Java enum constant, `docs/protocol.md` §11.10). The Hessian form of a constant
/// is an object like any other, so [`generalize`] needs them from the typed value.
pub(crate) fn enum_classes<T: Serialize + ?Sized>(value: &T) -> BTreeSet<String> {
    let mut walk = EnumWalk::default();
    // A value that fails to serialize fails again as the answer is encoded.
    let _ = value.serialize(&mut walk);
    walk.enums
}

#[derive(Default)]
struct EnumWalk {
    enums: BTreeSet<String>,
}

#[derive(Debug)]
struct WalkError;

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the value failed to serialize")
    }
}

impl std::error::Error for WalkError {}

impl ser::Error for WalkError {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        WalkError
    }
}

macro_rules! leaves {
    ($($f:ident($($t:ty),*)),* $(,)?) => {$(
        fn $f(self, $(_: $t),*) -> Result<(), WalkError> {
            Ok(())
        }
    )*};
}

impl ser::Serializer for &mut EnumWalk {
    type Ok = ();
    type Error = WalkError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    leaves!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), WalkError> {
        self.enums.insert(name.to_owned());
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), WalkError> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), WalkError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), WalkError> {
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, WalkError> {
        Ok(self)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self, WalkError> {
        Ok(self)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, WalkError> {
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, WalkError> {
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, WalkError> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, WalkError> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, WalkError> {
        Ok(self)
    }
}

/// Every compound visits its elements with the same walk.
macro_rules! compound {
    ($($trait:ident :: $f:ident($($key:ident),*)),* $(,)?) => {$(
        impl ser::$trait for &mut EnumWalk {
            type Ok = ();
            type Error = WalkError;

            fn $f<T: Serialize + ?Sized>(
                &mut self,
                $($key: &'static str,)*
                value: &T,
            ) -> Result<(), WalkError> {
                $(let _ = $key;)*
                value.serialize(&mut **self)
            }

            fn end(self) -> Result<(), WalkError> {
                Ok(())
            }
        }
    )*};
}

compound!(
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(key),
    SerializeStructVariant::serialize_field(key),
);

impl ser::SerializeMap for &mut EnumWalk {
    type Ok = ();
    type Error = WalkError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), WalkError> {
        key.serialize(&mut **self)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<(), WalkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Serialize;

    use super::{GenericMode, enum_classes, generalize};
    use crate::hessian2::{JavaArray, Value, to_value};

    #[derive(Serialize, Clone, Copy)]
    #[serde(rename = "org.apache.dubbo.demo.Color")]
    enum Color {
        #[serde(rename = "RED")]
        Red,
        #[serde(rename = "BLUE")]
        Blue,
    }

    crate::java_class!(Color => "org.apache.dubbo.demo.Color");

    #[derive(Serialize)]
    #[serde(rename = "org.apache.dubbo.demo.Dog")]
    struct Dog {
        name: Option<String>,
        color: Option<Color>,
    }

    /// What a generic caller gets for `value`, as the responder makes it.
    fn generic<T: Serialize>(value: &T) -> Value {
        generalize(to_value(value).unwrap(), &enum_classes(value))
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map {
            type_name: None,
            entries: entries
                .into_iter()
                .map(|(k, v)| (Value::string(k), v))
                .collect(),
        }
    }

    #[test]
    fn objects_become_maps_at_any_depth_and_enums_their_names() {
        let user = |name: &str| Value::Object {
            class: "org.apache.dubbo.demo.User".into(),
            fields: vec![
                ("name".into(), Value::string(name)),
                ("age".into(), Value::Null),
            ],
        };
        let user_map = |name: &str| {
            map(vec![
                ("class", Value::string("org.apache.dubbo.demo.User")),
                ("name", Value::string(name)),
                ("age", Value::Null),
            ])
        };
        let none = BTreeSet::new();
        assert_eq!(generalize(user("a"), &none), user_map("a"));
        let nested = Value::list(vec![user("b"), Value::Int(1)]);
        assert_eq!(
            generalize(nested, &none),
            Value::list(vec![user_map("b"), Value::Int(1)])
        );
        assert_eq!(generalize(Value::Long(7), &none), Value::Long(7));

        // Review: an enum answered as a map {class, name}; Java answers its name.
        assert_eq!(generic(&Color::Red), Value::string("RED"));
        assert_eq!(
            generic(&Dog {
                name: None,
                color: Some(Color::Blue),
            }),
            map(vec![
                ("class", Value::string("org.apache.dubbo.demo.Dog")),
                ("name", Value::Null),
                ("color", Value::string("BLUE")),
            ])
        );
        // An enum array is a String[].
        assert_eq!(
            generic(&JavaArray(vec![Color::Red, Color::Blue])),
            Value::typed_list("[string", vec!["RED".into(), "BLUE".into()])
        );
        // A one-field object that is not an enum stays a map.
        let named = Value::object("a.Tag", vec![("name".into(), "t".into())]);
        assert_eq!(
            generalize(named, &none),
            map(vec![("class", "a.Tag".into()), ("name", "t".into())])
        );
    }

    #[test]
    fn what_java_counts_as_primitive_is_kept() {
        // Review: a BigDecimal answered as a map {class, value}; Java keeps the number.
        let none = BTreeSet::new();
        let decimal = Value::object(
            "java.math.BigDecimal",
            vec![("value".into(), "1.50".into())],
        );
        assert_eq!(generalize(decimal.clone(), &none), decimal);
        let decimals = Value::typed_list("[java.math.BigDecimal", vec![decimal]);
        assert_eq!(generalize(decimals.clone(), &none), decimals);
        for kept in [
            Value::Date(1_700_000_000_000),
            Value::typed_list("[int", vec![Value::Int(1)]),
            Value::typed_list("[[int", vec![Value::typed_list("[int", vec![])]),
            Value::typed_list("[string", vec!["a".into(), Value::Null]),
            Value::typed_list("[java.lang.Integer", vec![Value::Int(2)]),
            Value::Binary(vec![1, 2]),
        ] {
            assert_eq!(generalize(kept.clone(), &none), kept);
        }
    }

    #[test]
    fn arrays_of_objects_become_object_arrays_and_sets_hash_sets() {
        let none = BTreeSet::new();
        let user = Value::object(
            "org.apache.dubbo.demo.User",
            vec![("age".into(), Value::Int(3))],
        );
        let user_map = map(vec![
            ("class", "org.apache.dubbo.demo.User".into()),
            ("age", Value::Int(3)),
        ]);
        // Review: a User[] kept its type, and a Java consumer cannot put maps in a User[].
        let users = Value::typed_list("[org.apache.dubbo.demo.User", vec![user.clone()]);
        assert_eq!(
            generalize(users.clone(), &none),
            Value::typed_list("[object", vec![user_map.clone()])
        );
        let matrix = Value::typed_list("[[org.apache.dubbo.demo.User", vec![users]);
        assert_eq!(
            generalize(matrix, &none),
            Value::typed_list(
                "[object",
                vec![Value::typed_list("[object", vec![user_map.clone()])]
            )
        );
        let set = Value::typed_list("java.util.TreeSet", vec![user]);
        assert_eq!(
            generalize(set, &none),
            Value::typed_list("java.util.HashSet", vec![user_map])
        );
        let linked = Value::typed_list("java.util.LinkedList", vec![Value::Int(1)]);
        assert_eq!(generalize(linked, &none), Value::list(vec![Value::Int(1)]));
        // Maps keep their class; keys and values are generalized.
        let tree = Value::Map {
            type_name: Some("java.util.TreeMap".into()),
            entries: vec![(Value::Int(1), Value::object("a.B", vec![]))],
        };
        assert_eq!(
            generalize(tree, &none),
            Value::Map {
                type_name: Some("java.util.TreeMap".into()),
                entries: vec![(Value::Int(1), map(vec![("class", "a.B".into())]))],
            }
        );
    }

    #[test]
    fn local_dates_and_times_become_their_iso_strings() {
        let none = BTreeSet::new();
        let handle = |class: &str, fields: Vec<(&str, Value)>| {
            Value::object(
                format!("com.alibaba.com.caucho.hessian.io.java8.{class}"),
                fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            )
        };
        let date = |y: i32, m: i32, d: i32| {
            handle(
                "LocalDateHandle",
                vec![
                    ("year", Value::Int(y)),
                    ("month", Value::Int(m)),
                    ("day", Value::Int(d)),
                ],
            )
        };
        let time = |h: i32, m: i32, s: i32, n: i32| {
            handle(
                "LocalTimeHandle",
                vec![
                    ("hour", Value::Int(h)),
                    ("minute", Value::Int(m)),
                    ("second", Value::Int(s)),
                    ("nano", Value::Int(n)),
                ],
            )
        };
        let cases = [
            (date(2024, 2, 29), "2024-02-29"),
            (date(7, 1, 2), "0007-01-02"),
            (date(-1, 12, 31), "-0001-12-31"),
            (date(12_345, 1, 1), "+12345-01-01"),
            (time(9, 5, 0, 0), "09:05"),
            (time(23, 59, 7, 0), "23:59:07"),
            (time(0, 0, 0, 120_000_000), "00:00:00.120"),
            (time(0, 0, 1, 4_000), "00:00:01.000004"),
            (time(0, 0, 1, 5), "00:00:01.000000005"),
            (
                handle(
                    "LocalDateTimeHandle",
                    vec![("date", date(2001, 9, 9)), ("time", time(1, 46, 40, 0))],
                ),
                "2001-09-09T01:46:40",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(generalize(value, &none), Value::string(want));
        }
        // Other java.time handles are objects like any other.
        let instant = handle("InstantHandle", vec![("seconds", Value::Long(1))]);
        assert!(matches!(generalize(instant, &none), Value::Map { .. }));
    }

    #[test]
    fn modes() {
        for (attachment, want) in [
            (None, Ok(GenericMode::Generalize)),
            (Some(""), Ok(GenericMode::Generalize)),
            (Some("true"), Ok(GenericMode::Generalize)),
            (Some("TRUE"), Ok(GenericMode::Generalize)),
            (Some("raw.return"), Ok(GenericMode::Raw)),
        ] {
            assert_eq!(GenericMode::of(attachment), want, "{attachment:?}");
        }
        for refused in ["bean", "nativejava", "protobuf-json", "gson", "false"] {
            let message = GenericMode::of(Some(refused)).unwrap_err();
            assert!(
                message.contains(&format!("[{refused}]")) && message.contains("not supported"),
                "{message}"
            );
        }
    }
}
