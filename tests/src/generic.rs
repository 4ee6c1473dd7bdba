//! Generic calls (`$invoke`) in detail, as a tether consumer sees the answers of any provider
//! of the demo contract: each case states what Java's `GenericFilter` answers (enums as
//! their names, `Date` and `BigDecimal` kept, arrays of objects as `Object[]` of maps,
//! nested POJOs as maps with `"class"`, null fields, `LocalDate`s as strings, exceptions
//! wrapped in a `GenericException`, the `raw.return` mode, and the modes whose arguments
//! are not plain values). The cases pass against Java's provider (`JavaProvider`, both
//! lines), which makes them Java's behaviour, and against tether's suite provider.

use std::time::Duration;

use tether_core::consumer::{Reference, RpcError};
use tether_core::hessian2::Value;
use tether_core::message::JavaException;

use crate::demo;
use crate::interop::CaseResult;

const PATIENCE: Duration = Duration::from_secs(15);

/// `value` in a canonical form for comparing answers of different providers: map entries
/// and object fields sorted (Java answers `HashMap`s, in hash order), and Java's default
/// collection classes (`ArrayList`, `HashMap`, which hessian-lite 2.7 names and 3.3 does
/// not) written as the untyped forms.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::List { type_name, items } => Value::List {
            type_name: type_name.clone().filter(|t| &**t != "java.util.ArrayList"),
            items: items.iter().map(canonical).collect(),
        },
        Value::Map { type_name, entries } => {
            let mut entries: Vec<(Value, Value)> = entries
                .iter()
                .map(|(k, v)| (canonical(k), canonical(v)))
                .collect();
            entries.sort_by_key(|(k, _)| format!("{k:?}"));
            Value::Map {
                type_name: type_name.clone().filter(|t| &**t != "java.util.HashMap"),
                entries,
            }
        }
        Value::Object { class, fields } => {
            let mut fields: Vec<_> = fields
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object {
                class: class.clone(),
                fields,
            }
        }
        other => other.clone(),
    }
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

fn user_map(name: Option<&str>, age: i32) -> Value {
    map(vec![
        ("class", Value::string("org.apache.dubbo.demo.User")),
        ("name", name.map_or(Value::Null, Value::string)),
        ("age", Value::Int(age)),
    ])
}

fn java8(class: &str, fields: Vec<(&str, Value)>) -> Value {
    Value::object(
        format!("com.alibaba.com.caucho.hessian.io.java8.{class}"),
        fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
    )
}

fn local_date(year: i32, month: i32, day: i32) -> Value {
    java8(
        "LocalDateHandle",
        vec![
            ("year", Value::Int(year)),
            ("month", Value::Int(month)),
            ("day", Value::Int(day)),
        ],
    )
}

fn local_time(hour: i32, minute: i32, second: i32, nano: i32) -> Value {
    java8(
        "LocalTimeHandle",
        vec![
            ("hour", Value::Int(hour)),
            ("minute", Value::Int(minute)),
            ("second", Value::Int(second)),
            ("nano", Value::Int(nano)),
        ],
    )
}

struct Generic<'a> {
    reference: &'a Reference,
    results: Vec<CaseResult>,
}

impl Generic<'_> {
    fn outcome(
        reference: &Reference,
        method: &str,
        types: &[&str],
        args: Vec<Value>,
    ) -> Result<Result<Value, RpcError>, String> {
        reference
            .call_generic(method, types, &args)
            .wait_timeout(PATIENCE)
            .map_err(|_| "no outcome".to_owned())
    }

    fn push(&mut self, name: &str, outcome: Result<(), String>) {
        self.results.push(CaseResult {
            name: format!("generic.{name}"),
            outcome,
        });
    }

    /// `method(args)` must answer `want` (compared in [`canonical`] form).
    fn expect(&mut self, name: &str, method: &str, types: &[&str], args: Vec<Value>, want: Value) {
        let outcome = match Self::outcome(self.reference, method, types, args) {
            Ok(Ok(got)) if canonical(&got) == canonical(&want) => Ok(()),
            Ok(got) => Err(format!("got {got:?}, want {want:?}")),
            Err(e) => Err(e),
        };
        self.push(name, outcome);
    }

    /// `method(args)` must answer a value `check` accepts.
    fn check(
        &mut self,
        name: &str,
        method: &str,
        types: &[&str],
        args: Vec<Value>,
        check: impl FnOnce(&Value) -> Result<(), String>,
    ) {
        let outcome = match Self::outcome(self.reference, method, types, args) {
            Ok(Ok(got)) => check(&got).map_err(|e| format!("{e}: got {got:?}")),
            Ok(Err(e)) => Err(format!("error: {e:?}")),
            Err(e) => Err(e),
        };
        self.push(name, outcome);
    }

    /// `method(args)` must throw; `check` judges the exception.
    fn throws(
        &mut self,
        name: &str,
        method: &str,
        types: &[&str],
        args: Vec<Value>,
        check: impl FnOnce(&JavaException) -> Result<(), String>,
    ) {
        let outcome = match Self::outcome(self.reference, method, types, args) {
            Ok(Err(RpcError::Business(e))) => check(&e).map_err(|why| format!("{why}: {e:?}")),
            Ok(other) => Err(format!("got {other:?}, want an exception")),
            Err(e) => Err(e),
        };
        self.push(name, outcome);
    }
}

/// Checks a `GenericException` as Java's `GenericFilter` wraps an exception: the original's
/// class and message in `exceptionClass` and `exceptionMessage`, its `toString()` on the
/// first line of the message.
fn generic_exception(e: &JavaException, class: &str, message: Option<&str>) -> Result<(), String> {
    if !e.class.ends_with(".rpc.service.GenericException") {
        return Err("not a GenericException".into());
    }
    if e.field("exceptionClass").and_then(Value::as_str) != Some(class) {
        return Err(format!("exceptionClass is not {class}"));
    }
    let got = e.field("exceptionMessage");
    let want = message.map_or(Value::Null, Value::string);
    if got != Some(&want) {
        return Err(format!("exceptionMessage {got:?}, want {want:?}"));
    }
    let first = match message {
        Some(m) => format!("{class}: {m}"),
        None => class.to_owned(),
    };
    let line = e.message.as_deref().and_then(|m| m.lines().next());
    if line != Some(first.as_str()) {
        return Err(format!(
            "the message's first line is {line:?}, want {first:?}"
        ));
    }
    Ok(())
}

/// The generic cases against a provider of the demo contract at `reference`'s channels.
pub fn generic_cases(reference: &Reference) -> Vec<CaseResult> {
    let mut g = Generic {
        reference,
        results: Vec::new(),
    };
    let color = "org.apache.dubbo.demo.Color";

    // PojoUtils.generalize: an enum is its name (the argument may be the name too).
    g.expect(
        "enum",
        "echoColor",
        &[color],
        vec!["GREEN".into()],
        "GREEN".into(),
    );
    g.expect(
        "enum-array",
        "echoColorArray",
        &["org.apache.dubbo.demo.Color[]"],
        vec![Value::list(vec!["RED".into(), "BLUE".into()])],
        Value::typed_list("[string", vec!["RED".into(), "BLUE".into()]),
    );
    // Dates and numbers are "primitive" to Java: kept.
    g.expect(
        "date",
        "echoDate",
        &["java.util.Date"],
        vec![Value::Date(1_700_000_000_123)],
        Value::Date(1_700_000_000_123),
    );
    let decimal = Value::object(
        "java.math.BigDecimal",
        vec![("value".into(), "-12.50".into())],
    );
    g.expect(
        "bigdecimal",
        "echoBigDecimal",
        &["java.math.BigDecimal"],
        vec![decimal.clone()],
        decimal,
    );
    let ints = Value::typed_list(
        "[int",
        vec![Value::Int(1), Value::Int(-1), Value::Int(70_000)],
    );
    g.expect(
        "int-array",
        "echoIntArray",
        &["int[]"],
        vec![ints.clone()],
        ints,
    );
    // An array of objects is an Object[] of maps.
    g.expect(
        "user-array",
        "echoUserArray",
        &["org.apache.dubbo.demo.User[]"],
        vec![Value::list(vec![
            map(vec![("name", "a".into()), ("age", Value::Int(1))]),
            Value::Null,
        ])],
        Value::typed_list("[object", vec![user_map(Some("a"), 1), Value::Null]),
    );
    // Nested POJOs inside collections, keys kept.
    let nested = Value::Map {
        type_name: None,
        entries: vec![(
            Value::Int(7),
            Value::list(vec![map(vec![
                ("name", "n".into()),
                ("age", Value::Int(2)),
            ])]),
        )],
    };
    g.expect(
        "nested",
        "echoNested",
        &["java.util.Map"],
        vec![nested],
        Value::Map {
            type_name: None,
            entries: vec![(Value::Int(7), Value::list(vec![user_map(Some("n"), 2)]))],
        },
    );
    // A null field is there, as null.
    g.expect(
        "null-field",
        "echoUser",
        &["org.apache.dubbo.demo.User"],
        vec![map(vec![("name", Value::Null), ("age", Value::Int(5))])],
        user_map(None, 5),
    );
    g.expect(
        "null",
        "echoUser",
        &["org.apache.dubbo.demo.User"],
        vec![Value::Null],
        Value::Null,
    );
    // A subclass, its class named. Java reads getters (Dog has none of its own: breed,
    // color and good are left out), tether its fields (docs/interop.md); and 2.7's
    // PojoUtils.realize sets a field only through a setter or if it is public (Animal's
    // name and legs have neither: they stay null), 3.3's any field. The common part.
    g.check(
        "subclass",
        "echoDog",
        &["org.apache.dubbo.demo.Dog"],
        vec![map(vec![
            ("class", "org.apache.dubbo.demo.Dog".into()),
            ("name", "rex".into()),
            ("legs", Value::Int(4)),
            ("breed", "collie".into()),
            ("color", "RED".into()),
            ("good", Value::Bool(true)),
        ])],
        |got| {
            let is =
                |key: &str, want: Value| got.get(key).is_none_or(|v| v.is_null() || *v == want);
            let ok = got.get("class").and_then(Value::as_str) == Some("org.apache.dubbo.demo.Dog")
                && got.get("name").is_some()
                && is("name", "rex".into())
                && is("legs", Value::Int(4))
                && is("color", "RED".into());
            if ok {
                Ok(())
            } else {
                Err("not the dog".into())
            }
        },
    );
    // LocalDate, LocalTime and LocalDateTime: their toString().
    g.expect(
        "local-date",
        "echoLocalDate",
        &["java.time.LocalDate"],
        vec![local_date(2024, 2, 29)],
        "2024-02-29".into(),
    );
    g.expect(
        "local-time",
        "echoLocalTime",
        &["java.time.LocalTime"],
        vec![local_time(7, 5, 0, 250_000_000)],
        "07:05:00.250".into(),
    );
    g.expect(
        "local-date-time",
        "echoLocalDateTime",
        &["java.time.LocalDateTime"],
        vec![java8(
            "LocalDateTimeHandle",
            vec![
                ("date", local_date(2001, 9, 9)),
                ("time", local_time(1, 46, 40, 0)),
            ],
        )],
        "2001-09-09T01:46:40".into(),
    );

    // Exceptions: wrapped in a GenericException naming the original.
    g.throws(
        "exception",
        "throwException",
        &["java.lang.String"],
        vec!["g bad ☃".into()],
        |e| generic_exception(e, "java.lang.RuntimeException", Some("g bad ☃")),
    );
    g.throws(
        "exception.null-message",
        "throwException",
        &["java.lang.String"],
        vec![Value::Null],
        |e| generic_exception(e, "java.lang.RuntimeException", None),
    );
    g.throws(
        "exception.typed",
        "throwTyped",
        &["int", "java.lang.String"],
        vec![Value::Int(7), "d".into()],
        |e| generic_exception(e, "org.apache.dubbo.demo.TypeException", Some("type 7")),
    );

    // generic=raw.return: the result as the method returned it; exceptions still wrapped.
    let raw = Reference::builder(reference.path())
        .version(demo::VERSION)
        .attachment("generic", "raw.return")
        .build_with(reference.directory().clone());
    let raw_reference = Generic {
        reference: &raw,
        results: Vec::new(),
    };
    let mut raw_cases = raw_reference;
    raw_cases.expect(
        "raw-return",
        "echoUser",
        &["org.apache.dubbo.demo.User"],
        vec![map(vec![("name", "r".into()), ("age", Value::Int(3))])],
        Value::object(
            "org.apache.dubbo.demo.User",
            vec![("name".into(), "r".into()), ("age".into(), Value::Int(3))],
        ),
    );
    raw_cases.expect(
        "raw-return.enum",
        "echoColor",
        &[color],
        vec!["BLUE".into()],
        Value::object(color, vec![("name".into(), "BLUE".into())]),
    );
    raw_cases.throws(
        "raw-return.exception",
        "throwException",
        &["java.lang.String"],
        vec!["raw bad".into()],
        |e| generic_exception(e, "java.lang.RuntimeException", Some("raw bad")),
    );
    g.results.append(&mut raw_cases.results);

    // Modes whose arguments are not plain values are refused, naming the mode: Java's
    // provider refuses a String where bean wants a JavaBeanDescriptor, and nativejava
    // altogether (unless enabled); tether refuses both modes.
    for (mode, java_says) in [
        ("bean", "Generic serialization [bean]"),
        ("nativejava", "Native Java Serializer is not allowed"),
    ] {
        let moded = Reference::builder(reference.path())
            .version(demo::VERSION)
            .attachment("generic", mode)
            .build_with(reference.directory().clone());
        let outcome =
            match Generic::outcome(&moded, "sayHello", &["java.lang.String"], vec!["x".into()]) {
                Ok(Err(e)) => {
                    let text = e.to_string();
                    let tether_says = format!("Generic serialization [{mode}] is not supported");
                    if text.contains(java_says) || text.contains(&tether_says) {
                        Ok(())
                    } else {
                        Err(format!("the error does not name the mode: {e:?}"))
                    }
                }
                Ok(Ok(v)) => Err(format!("answered {v:?}")),
                Err(e) => Err(e),
            };
        g.push(&format!("mode.{mode}"), outcome);
    }

    g.results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_ignore_order_and_default_collection_names() {
        let a = Value::Map {
            type_name: Some("java.util.HashMap".into()),
            entries: vec![
                ("b".into(), Value::Int(1)),
                ("a".into(), Value::typed_list("java.util.ArrayList", vec![])),
            ],
        };
        let b = Value::Map {
            type_name: None,
            entries: vec![
                ("a".into(), Value::list(vec![])),
                ("b".into(), Value::Int(1)),
            ],
        };
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(canonical(&a), canonical(&Value::list(vec![])));
    }
}
