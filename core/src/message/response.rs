//! Response bodies (`PROTOCOL.md` §3): a result flag and the value, null or exception, with
//! or without attachments for status 20; one message string for any other status.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::attachments::Attachments;
use super::encode_or_restore;
use super::error::{BodyError, Field};
use super::request::DUBBO_VERSION;
use super::serialization::{Hessian2, ObjectInput, ObjectOutput, Serialization, visit_attachments};
use crate::frame::Status;
use crate::hessian2::{Decoder, EncodeError, Value};

/// Result flags of status-20 bodies (`PROTOCOL.md` §3.1).
pub mod flag {
    /// A throwable follows.
    pub const EXCEPTION: i32 = 0;
    /// A value follows.
    pub const VALUE: i32 = 1;
    /// Nothing follows (null or void).
    pub const NULL_VALUE: i32 = 2;
    /// A throwable and attachments follow.
    pub const EXCEPTION_WITH_ATTACHMENTS: i32 = 3;
    /// A value and attachments follow.
    pub const VALUE_WITH_ATTACHMENTS: i32 = 4;
    /// Attachments follow.
    pub const NULL_VALUE_WITH_ATTACHMENTS: i32 = 5;
}

/// Java's integer form of a dubbo version string (`PROTOCOL.md` §3.1): the leading digits of
/// each `.`-separated part as base-100 digits, times 100 when there are exactly three parts
/// (`"2.0.2"` → 2 000 200).
pub fn version_to_int(version: &str) -> i64 {
    let mut n: i64 = 0;
    let mut parts = 0;
    for part in version.split('.') {
        parts += 1;
        let digits = part.bytes().take_while(u8::is_ascii_digit);
        let v = digits.fold(0i64, |v, d| {
            v.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
        n = n.saturating_mul(100).saturating_add(v);
    }
    if parts == 3 { n.saturating_mul(100) } else { n }
}

/// Whether a response to a request with this dubbo version (body field 1) carries
/// attachments (flags 3/4/5): versions 2.0.2 to 2.0.99 (`PROTOCOL.md` §3.1).
pub fn attachments_supported(request_dubbo_version: &str) -> bool {
    // What nearly every peer sends, answered without parsing.
    request_dubbo_version == DUBBO_VERSION
        || (2_000_200..=2_009_900).contains(&version_to_int(request_dubbo_version))
}

/// A Java `Throwable` sent or received as a call's result (`PROTOCOL.md` §3.3).
///
/// [`class`](Self::class) and [`message`](Self::message) are what is written, whatever
/// [`fields`](Self::fields) say: change them on a received exception, or add fields of
/// your own exception class to one built with [`new`](Self::new), and
/// [`to_value`](Self::to_value) stays consistent.
#[derive(Clone, PartialEq, Debug)]
pub struct JavaException {
    /// The Java class, e.g. `java.lang.RuntimeException`.
    pub class: String,
    /// `detailMessage`.
    pub message: Option<String>,
    /// All fields as received (empty for exceptions built locally), or fields of a custom
    /// exception class to send along.
    pub fields: Vec<(Arc<str>, Value)>,
}

/// Field order hessian-lite writes for `Throwable`s (§11.10), with a self-referencing
/// `cause` and empty stack trace and suppressed list.
const THROWABLE_FIELDS: [&str; 4] = [
    "suppressedExceptions",
    "stackTrace",
    "cause",
    "detailMessage",
];

impl JavaException {
    /// An exception of `class` with `message`.
    pub fn new(class: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            class: class.into(),
            message: Some(message.into()),
            fields: Vec::new(),
        }
    }

    /// A `java.lang.RuntimeException`, which any Java consumer can load.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new("java.lang.RuntimeException", message)
    }

    /// A received field, e.g. `stackTrace` or a custom exception's own fields.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(k, _)| **k == *name)
            .map(|(_, v)| v)
    }

    /// Reads an exception object: class, `detailMessage` (or dubbo-go's `exceptionMessage`)
    /// and the raw fields.
    pub fn from_value(value: Value) -> Result<Self, BodyError> {
        let Value::Object { class, fields } = value else {
            return Err(BodyError::NotAnException);
        };
        let message = ["detailMessage", "exceptionMessage"]
            .iter()
            .find_map(|name| {
                fields
                    .iter()
                    .find(|(k, _)| **k == **name)
                    .and_then(|(_, v)| v.as_str().map(str::to_owned))
            });
        Ok(Self {
            class: class.to_string(),
            message,
            fields,
        })
    }

    /// The object written on the wire: an object of [`class`](Self::class) with the
    /// [`fields`](Self::fields), preceded by those of hessian-lite's `Throwable` layout they
    /// lack (an empty suppressed list and stack trace, `cause` referencing the exception
    /// itself, `detailMessage`); `detailMessage` is always [`message`](Self::message). A
    /// `GenericException`'s own `exceptionMessage` (the wrapped exception's message, which
    /// differs from its `detailMessage`) is written as the fields have it. A received
    /// exception left unchanged is written back as it came.
    pub fn to_value(&self) -> Value {
        let message = self.message.clone().map_or(Value::Null, Value::String);
        let defaults = [
            Value::typed_list("java.util.Collections$EmptyList", Vec::new()),
            Value::typed_list("[java.lang.StackTraceElement", Vec::new()),
            Value::Ref(0),
            Value::Null,
        ];
        let mut fields: Vec<(Arc<str>, Value)> = THROWABLE_FIELDS
            .iter()
            .zip(defaults)
            .filter(|(name, _)| self.field(name).is_none())
            .map(|(name, value)| (Arc::from(*name), value))
            .collect();
        fields.extend(self.fields.iter().cloned());
        for (name, value) in &mut fields {
            if &**name == "detailMessage" {
                *value = message.clone();
            }
        }
        Value::Object {
            class: self.class.as_str().into(),
            fields,
        }
    }
}

impl fmt::Display for JavaException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {m}", self.class),
            None => f.write_str(&self.class),
        }
    }
}

impl std::error::Error for JavaException {}

/// What a call produced.
#[derive(Debug)]
pub enum Outcome<'a, T: ?Sized> {
    /// A value (flag 1/4).
    Value(&'a T),
    /// Null or void (flag 2/5): Java never sends flag 1 with a null (§3.2).
    Null,
    /// A thrown exception (flag 0/3).
    Exception(&'a JavaException),
}

impl<T: ?Sized> Clone for Outcome<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Outcome<'_, T> {}

/// A status-20 response body to encode.
#[derive(Debug)]
pub struct ResponseBody<'a, T: ?Sized> {
    /// The result.
    pub outcome: Outcome<'a, T>,
    /// `Some` to write flags 3/4/5 with these attachments plus `"dubbo": "2.0.2"`: do so
    /// when [`attachments_supported`] holds for the request's dubbo version.
    pub attachments: Option<&'a Attachments>,
}

impl<'a, T: Serialize + ?Sized> ResponseBody<'a, T> {
    /// A value result without attachments.
    pub fn value(value: &'a T) -> Self {
        Self {
            outcome: Outcome::Value(value),
            attachments: None,
        }
    }

    /// A null result without attachments.
    pub fn null() -> Self {
        Self {
            outcome: Outcome::Null,
            attachments: None,
        }
    }

    /// An exception result without attachments.
    pub fn exception(exception: &'a JavaException) -> Self {
        Self {
            outcome: Outcome::Exception(exception),
            attachments: None,
        }
    }

    /// The same result with attachments (flags 3/4/5).
    pub fn with_attachments(self, attachments: &'a Attachments) -> Self {
        Self {
            attachments: Some(attachments),
            ..self
        }
    }

    /// Appends the body in Hessian 2. On error `out` is left as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_with::<Hessian2>(out)
    }

    /// Appends the body with serialization `S`. On error `out` is left as it was.
    pub fn encode_with<S: Serialization>(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_or_restore(out, |out| self.write::<S>(out))
    }

    fn write<S: Serialization>(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut o = S::output(out);
        let with = if self.attachments.is_some() { 3 } else { 0 };
        match self.outcome {
            Outcome::Value(v) => {
                o.write_int(flag::VALUE + with);
                o.write_object(v)?;
            }
            Outcome::Null => o.write_int(flag::NULL_VALUE + with),
            Outcome::Exception(e) => {
                o.write_int(flag::EXCEPTION + with);
                o.write_value(&e.to_value())?;
            }
        }
        if let Some(attachments) = self.attachments {
            // A Java provider always adds the protocol version (§3.1).
            o.write_attachments(attachments, &[("dubbo", DUBBO_VERSION)])?;
        }
        Ok(())
    }
}

/// Appends the body of a non-OK response: one string, or null for no message
/// (`PROTOCOL.md` §3.4).
pub fn encode_error_message(out: &mut Vec<u8>, message: Option<&str>) {
    let mut o = Hessian2::output(out);
    match message {
        Some(m) => o.write_str(m),
        None => o.write_null(),
    }
}

/// What the method returned, decoded from a status-20 response.
#[derive(Clone, PartialEq, Debug)]
pub enum Returned<T> {
    /// A value (flags 1/4).
    Value(T),
    /// Null or void (flags 2/5, or flag 1/4 followed by null).
    Null,
    /// An exception (flags 0/3).
    Exception(JavaException),
}

/// A decoded status-20 response body.
#[derive(Clone, PartialEq, Debug)]
pub struct DecodedResponse<T> {
    /// The result flag read (0 to 5).
    pub flag: i32,
    /// The result.
    pub result: Returned<T>,
    /// The attachments (empty for flags 0/1/2).
    pub attachments: Attachments,
}

/// A decoded response: a call result for status 20, the message otherwise.
#[derive(Clone, PartialEq, Debug)]
pub enum Reply<T> {
    /// Status 20.
    Ok(DecodedResponse<T>),
    /// Any other status, with its message (null → `None`).
    Error {
        /// The header status.
        status: Status,
        /// The message string.
        message: Option<String>,
    },
}

/// Decodes a response body given the header status, reading a value as a `T`.
pub fn decode_reply<'de, T: serde::Deserialize<'de>>(
    status: Status,
    body: &'de [u8],
) -> Result<Reply<T>, BodyError> {
    if status.is_ok() {
        decode_response(body).map(Reply::Ok)
    } else {
        decode_error_message(body).map(|message| Reply::Error { status, message })
    }
}

/// Decodes a status-20 Hessian 2 body, reading a value as a `T`. Bytes after the expected
/// content are ignored (dubbo-go and dubbo-py append one, `PROTOCOL.md` §1.5).
pub fn decode_response<'de, T: serde::Deserialize<'de>>(
    body: &'de [u8],
) -> Result<DecodedResponse<T>, BodyError> {
    decode_response_from(Decoder::new(body))
}

/// [`decode_response`] over any serialization's input.
pub fn decode_response_from<'de, T: serde::Deserialize<'de>, I: ObjectInput<'de>>(
    mut input: I,
) -> Result<DecodedResponse<T>, BodyError> {
    let (flag, result) = read_result(&mut input)?;
    let attachments = if flag >= flag::EXCEPTION_WITH_ATTACHMENTS {
        input
            .read_attachments()
            .map_err(BodyError::at(Field::Attachments))?
    } else {
        Attachments::new()
    };
    Ok(DecodedResponse {
        flag,
        result,
        attachments,
    })
}

/// Decodes the result of a status-20 Hessian 2 body as [`decode_response`] does, and skips
/// the attachments that may follow (checking that they are well-formed Hessian, without
/// building them): for callers that do not read attachments.
pub fn decode_result<'de, T: serde::Deserialize<'de>>(
    body: &'de [u8],
) -> Result<Returned<T>, BodyError> {
    let mut input = Decoder::new(body);
    let (flag, result) = read_result(&mut input)?;
    if flag >= flag::EXCEPTION_WITH_ATTACHMENTS {
        // Java's attachment map: a map or null with string keys (`PROTOCOL.md` §3.1), checked
        // as `decode_response` checks it, the values skipped.
        visit_attachments(&mut input, |_, input| input.skip_value())
            .map_err(BodyError::at(Field::Attachments))?;
    }
    Ok(result)
}

/// The result flag and the result.
fn read_result<'de, T: serde::Deserialize<'de>, I: ObjectInput<'de>>(
    input: &mut I,
) -> Result<(i32, Returned<T>), BodyError> {
    let flag = input.read_int().map_err(BodyError::at(Field::ResultFlag))?;

    let result = match flag {
        flag::EXCEPTION | flag::EXCEPTION_WITH_ATTACHMENTS => {
            let value = input
                .read_value()
                .map_err(BodyError::at(Field::Exception))?;
            Returned::Exception(JavaException::from_value(value)?)
        }
        flag::VALUE | flag::VALUE_WITH_ATTACHMENTS if input.is_null_next() => {
            // Accept flag 1 followed by 'N' (§3.2).
            input.skip().map_err(BodyError::at(Field::Result))?;
            Returned::Null
        }
        flag::VALUE | flag::VALUE_WITH_ATTACHMENTS => {
            Returned::Value(input.read_object().map_err(BodyError::at(Field::Result))?)
        }
        flag::NULL_VALUE | flag::NULL_VALUE_WITH_ATTACHMENTS => Returned::Null,
        other => return Err(BodyError::UnknownResultFlag(other)),
    };
    Ok((flag, result))
}

/// Decodes the body of a non-OK response: one string or null.
pub fn decode_error_message(body: &[u8]) -> Result<Option<String>, BodyError> {
    Decoder::new(body)
        .read_str_or_null()
        .map(|m| m.map(|m| m.into_owned()))
        .map_err(BodyError::at(Field::ErrorMessage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;

    #[test]
    fn version_rule() {
        assert_eq!(version_to_int("2.0.2"), 2_000_200);
        assert_eq!(version_to_int("2.0.99"), 2_009_900);
        assert_eq!(version_to_int("2.6.5"), 2_060_500);
        assert!(attachments_supported("2.0.2"));
        assert!(attachments_supported("2.0.99"));
        assert!(!attachments_supported("2.0.1"));
        assert!(!attachments_supported("2.4.10"));
        assert!(!attachments_supported("2.5.3"));
        assert!(!attachments_supported(""));
        assert!(!attachments_supported("99999999999999999999.1.1"));
    }

    #[test]
    fn value_with_and_without_attachments_match_protocol_13_2() {
        let mut out = Vec::new();
        let attachments = Attachments::new();
        ResponseBody::value("Hello world")
            .with_attachments(&attachments)
            .encode(&mut out)
            .unwrap();
        assert_eq!(
            out,
            hex("94 0b 48 65 6c 6c 6f 20 77 6f 72 6c 64 48 05 64 75 62 62 6f 05 32 2e 30 2e 32 5a")
        );
        let back: DecodedResponse<String> = decode_response(&out).unwrap();
        assert_eq!(back.result, Returned::Value("Hello world".to_owned()));
        assert_eq!(back.attachments.get_str("dubbo"), Some("2.0.2"));

        out.clear();
        ResponseBody::value("Hello world").encode(&mut out).unwrap();
        assert_eq!(out, hex("91 0b 48 65 6c 6c 6f 20 77 6f 72 6c 64"));

        out.clear();
        ResponseBody::<Value>::null()
            .with_attachments(&attachments)
            .encode(&mut out)
            .unwrap();
        assert_eq!(out, hex("95 48 05 64 75 62 62 6f 05 32 2e 30 2e 32 5a"));
        let back: DecodedResponse<String> = decode_response(&out).unwrap();
        assert_eq!(back.result, Returned::Null);
        assert_eq!(back.flag, 5);
    }

    #[test]
    fn decode_result_agrees_with_decode_response_and_checks_attachments() {
        let attachments: Attachments = [("dubbo", "2.0.2"), ("k", "v")].into_iter().collect();
        let exception = JavaException::new("java.lang.IllegalStateException", "no");
        let mut bodies = Vec::new();
        for with in [false, true] {
            for body in [
                ResponseBody::value("v"),
                ResponseBody::null(),
                ResponseBody::exception(&exception),
            ] {
                let body = if with {
                    body.with_attachments(&attachments)
                } else {
                    body
                };
                let mut out = Vec::new();
                body.encode(&mut out).unwrap();
                bodies.push(out);
            }
        }
        for body in &bodies {
            let whole: DecodedResponse<String> = decode_response(body).unwrap();
            assert_eq!(decode_result::<String>(body).unwrap(), whole.result);
        }
        // Flag 4 with a truncated or mistyped attachment map fails both ways.
        // So does one with a key that is not a string.
        for bad in [
            hex("94 01 76 48 01 6b"),
            hex("94 01 76 91"),
            hex("94 01 76 48 91 91 5a"),
            hex("94 01 76 48 4e 91 5a"),
        ] {
            assert!(decode_response::<String>(&bad).is_err());
            let err = decode_result::<String>(&bad).unwrap_err();
            assert!(err.to_string().contains("attachments"), "{err}");
        }
        // Flag 1 ignores what follows the value, as before.
        assert_eq!(
            decode_result::<String>(&hex("91 01 76 91")).unwrap(),
            Returned::Value("v".to_owned())
        );
    }

    #[test]
    fn a_dubbo_attachment_of_the_caller_is_not_duplicated() {
        let attachments: Attachments = [("dubbo", "2.0.2"), ("k", "v")].into_iter().collect();
        let mut out = Vec::new();
        ResponseBody::<Value>::null()
            .with_attachments(&attachments)
            .encode(&mut out)
            .unwrap();
        let back: DecodedResponse<Value> = decode_response(&out).unwrap();
        assert_eq!(back.attachments, attachments);
    }

    #[test]
    fn exception_is_written_like_hessian_lite() {
        // §11.10's 152 bytes after the flag.
        let mut out = Vec::new();
        let boom = JavaException::runtime("boom");
        ResponseBody::<Value>::exception(&boom)
            .encode(&mut out)
            .unwrap();
        assert_eq!(out[0], 0x90);
        assert_eq!(out.len(), 1 + 152);
        assert_eq!(out[out.len() - 7..], hex("51 90 04 62 6f 6f 6d"));
        let back: DecodedResponse<Value> = decode_response(&out).unwrap();
        let Returned::Exception(e) = back.result else {
            panic!("{back:?}")
        };
        assert_eq!(e.class, "java.lang.RuntimeException");
        assert_eq!(e.message.as_deref(), Some("boom"));
        assert_eq!(e.field("cause"), Some(&Value::Ref(0)));
        assert_eq!(e.to_string(), "java.lang.RuntimeException: boom");
        // Received exceptions are written back field for field.
        let mut again = Vec::new();
        ResponseBody::<Value>::exception(&e)
            .encode(&mut again)
            .unwrap();
        assert_eq!(again, out);
    }

    #[test]
    fn exception_class_and_message_are_written_whatever_the_fields() {
        // Review: with fields present, `to_value` wrote them as they were, so a changed
        // message (or one given to `new` next to custom fields) never reached the wire.
        let mut out = Vec::new();
        ResponseBody::<Value>::exception(&JavaException::runtime("boom"))
            .encode(&mut out)
            .unwrap();
        let Returned::Exception(mut received) = decode_response::<Value>(&out).unwrap().result
        else {
            panic!()
        };
        received.message = Some("changed".into());
        received.class = "org.acme.Oops".into();
        let written = received.to_value();
        assert_eq!(written.class(), Some("org.acme.Oops"));
        assert_eq!(written.get("detailMessage"), Some(&Value::from("changed")));
        assert_eq!(written.get("cause"), Some(&Value::Ref(0)));
        // The fields keep their order: only the message changed.
        let mut again = Vec::new();
        ResponseBody::<Value>::exception(&received)
            .encode(&mut again)
            .unwrap();
        let Returned::Exception(back) = decode_response::<Value>(&again).unwrap().result else {
            panic!()
        };
        assert_eq!(back.message.as_deref(), Some("changed"));
        assert_eq!(back.class, "org.acme.Oops");
        assert_eq!(back.fields.len(), 4);

        // A custom exception with fields of its own keeps the Throwable layout in front.
        let mut custom = JavaException::new("org.acme.CodedException", "bad code");
        custom.fields.push(("code".into(), Value::Int(42)));
        let written = custom.to_value();
        let names: Vec<&str> = match &written {
            Value::Object { fields, .. } => fields.iter().map(|(k, _)| &**k).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            names,
            [
                "suppressedExceptions",
                "stackTrace",
                "cause",
                "detailMessage",
                "code"
            ]
        );
        out.clear();
        ResponseBody::<Value>::exception(&custom)
            .encode(&mut out)
            .unwrap();
        let Returned::Exception(back) = decode_response::<Value>(&out).unwrap().result else {
            panic!()
        };
        assert_eq!(back.message.as_deref(), Some("bad code"));
        assert_eq!(back.field("code"), Some(&Value::Int(42)));

        // No message: detailMessage is null. A GenericException's exceptionMessage is a
        // field of its own (the wrapped exception's message): kept as it is.
        let mut generic = JavaException::new("com.alibaba.dubbo.rpc.service.GenericException", "x");
        generic
            .fields
            .push(("exceptionMessage".into(), Value::from("inner")));
        generic.message = None;
        let written = generic.to_value();
        assert_eq!(written.get("detailMessage"), Some(&Value::Null));
        assert_eq!(written.get("exceptionMessage"), Some(&Value::from("inner")));
    }

    #[test]
    fn trailing_bytes_flag_1_null_and_unknown_flags() {
        // dubbo-py: 92 4e.
        let back: DecodedResponse<String> = decode_response(&hex("92 4e")).unwrap();
        assert_eq!(back.result, Returned::Null);
        let back: DecodedResponse<String> = decode_response(&hex("91 4e")).unwrap();
        assert_eq!(back.result, Returned::Null);
        // dubbo-go: a stray 'N' after a value.
        let back: DecodedResponse<i32> = decode_response(&hex("91 91 4e")).unwrap();
        assert_eq!(back.result, Returned::Value(1));
        assert!(matches!(
            decode_response::<Value>(&hex("96")),
            Err(BodyError::UnknownResultFlag(6))
        ));
        assert!(matches!(
            decode_response::<Value>(&hex("90 91")),
            Err(BodyError::NotAnException)
        ));
        let err = decode_response::<i32>(&hex("91 01 61")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "result: expected a number, found string (tag 0x01) at offset 1"
        );
        assert!(!err.is_malformed());
    }

    #[test]
    fn error_messages() {
        // §13.4.
        let mut out = Vec::new();
        encode_error_message(&mut out, Some("Not found exported service"));
        assert_eq!(out[0], 0x1a);
        assert_eq!(out.len(), 27);
        let reply: Reply<Value> = decode_reply(Status::SERVICE_ERROR, &out).unwrap();
        assert_eq!(
            reply,
            Reply::Error {
                status: Status::SERVICE_ERROR,
                message: Some("Not found exported service".into())
            }
        );
        out.clear();
        encode_error_message(&mut out, None);
        assert_eq!(out, b"N");
        assert_eq!(decode_error_message(&out).unwrap(), None);
        assert!(decode_error_message(b"\x91").is_err());
    }
}
