//! Response bodies (`docs/protocol.md` §3): a result flag and the value, null or exception, with
//! or without attachments for status 20; one message string for any other status.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::attachments::Attachments;
use super::encode_or_restore;
use super::error::{BodyError, Field};
use super::request::DUBBO_VERSION;
use super::serialization::{Hessian2, ObjectInput, ObjectOutput, Serialization, visit_attachments};
use crate::frame::Status;
use crate::hessian2::{DecodeError, Decoder, EncodeError, JavaClass, Value, from_value, to_value};

/// Result flags of status-20 bodies (`docs/protocol.md` §3.1).
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

/// Java's integer form of a dubbo version string (`docs/protocol.md` §3.1): the leading digits of
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
/// attachments (flags 3/4/5): versions 2.0.2 to 2.0.99 (`docs/protocol.md` §3.1).
pub fn attachments_supported(request_dubbo_version: &str) -> bool {
    // What nearly every peer sends, answered without parsing.
    request_dubbo_version == DUBBO_VERSION
        || (2_000_200..=2_009_900).contains(&version_to_int(request_dubbo_version))
}

/// A Java `Throwable` sent or received as a call's result (`docs/protocol.md` §3.3).
///
/// [`class`](Self::class) and [`message`](Self::message) are what is written, whatever
/// [`fields`](Self::fields) say: change them on a received exception, or add fields of
/// your own exception class to one built with [`new`](Self::new), and
/// [`to_value`](Self::to_value) stays consistent.
///
/// # Your own exception classes
///
/// A Java exception class with fields of its own is a Rust struct named after it
/// ([`#[java]`](crate::java), or a serde rename plus [`java_class!`](crate::java_class));
/// Throwable's message is its field `detailMessage`. A consumer decodes a received exception into it with
/// [`downcast`](Self::downcast) (or [`RpcError::business_as`](crate::consumer::RpcError::business_as)),
/// a provider throws one with [`from_typed`](Self::from_typed):
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tether_core::message::JavaException;
///
/// #[tether_core::java("com.example.order.OrderNotFound")]
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct OrderNotFound {
///     #[serde(rename = "orderId")]
///     order_id: i64,
///     #[serde(rename = "detailMessage")]
///     message: Option<String>,
///     // Optional: Java's cause, `None` when there is none.
///     cause: Option<Box<JavaException>>,
/// }
///
/// // Provider: throw it (a handler returns `Err(thrown)`).
/// let not_found = OrderNotFound { order_id: 7, message: Some("no order 7".into()), cause: None };
/// let thrown = JavaException::from_typed(&not_found)?;
/// assert_eq!(thrown.class, "com.example.order.OrderNotFound");
/// assert_eq!(thrown.message.as_deref(), Some("no order 7"));
///
/// // Consumer: the exception as received, back into the struct (`None` for another class).
/// let received = JavaException::from_value(thrown.to_value())?;
/// assert_eq!(received.downcast::<OrderNotFound>().transpose()?, Some(not_found));
/// assert!(received.downcast::<Other>().is_none());
/// # #[derive(Deserialize)] #[serde(rename = "org.acme.Other")] struct Other {}
/// # tether_core::java_class!(Other => "org.acme.Other");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A Java exception without a cause writes its `cause` as a reference to itself (Java's
/// `Throwable` keeps `cause == this` until a cause is set): that decodes as `None` in an
/// `Option` field, is skipped by a struct without a `cause` field, and is a
/// [`Value::Ref`] in [`fields`](Self::fields). A real cause decodes into a
/// `JavaException` (as above) or into a struct of your own. To send a cause, make it a
/// `JavaException` (`from_typed` of your cause type, or [`new`](Self::new)): that writes
/// Throwable's fields, which Java expects of every exception.
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

    /// The exception a Rust value stands for: an exception of `T`'s Java class
    /// ([`JavaClass::CLASS`]) whose fields are `exception`'s serde fields, its message the
    /// field `detailMessage` if `T` has one, Throwable's other fields added as
    /// [`to_value`](Self::to_value) adds them. A `cause` field that is `None` is written as
    /// Java writes "no cause" (a reference to the exception itself).
    ///
    /// Fails if `T` does not serialize as a struct, or its serde name is not
    /// [`JavaClass::CLASS`] (the two names drifted apart).
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use tether_core::message::JavaException;
    ///
    /// #[tether_core::java("org.acme.OrderNotFound")]
    /// #[derive(Serialize, Deserialize, PartialEq, Debug)]
    /// struct OrderNotFound {
    ///     order_id: i64,
    /// }
    ///
    /// let thrown = JavaException::from_typed(&OrderNotFound { order_id: 7 })?;
    /// assert_eq!(thrown.class, "org.acme.OrderNotFound");
    /// assert!(thrown.is::<OrderNotFound>());
    /// assert_eq!(thrown.downcast::<OrderNotFound>().transpose()?, Some(OrderNotFound { order_id: 7 }));
    /// assert!(JavaException::runtime("boom").downcast::<OrderNotFound>().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_typed<T: Serialize + JavaClass + ?Sized>(
        exception: &T,
    ) -> Result<Self, EncodeError> {
        let Value::Object { class, mut fields } = to_value(exception)? else {
            return Err(EncodeError::Custom(format!(
                "exception {} does not serialize as an object",
                T::CLASS
            )));
        };
        if &*class != T::CLASS {
            return Err(EncodeError::Custom(format!(
                "exception type serializes as class {class}, but its java_class! is {}",
                T::CLASS
            )));
        }
        for (name, value) in &mut fields {
            if &**name == "cause" && value.is_null() {
                *value = Value::Ref(0);
            }
        }
        let message = fields
            .iter()
            .find(|(k, _)| &**k == "detailMessage")
            .and_then(|(_, v)| v.as_str().map(str::to_owned));
        Ok(Self {
            class: class.to_string(),
            message,
            fields,
        })
    }

    /// Whether this is an exception of `T`'s Java class: exactly that class, since the wire
    /// does not say which classes a Java class extends.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use tether_core::message::JavaException;
    ///
    /// #[tether_core::java("org.acme.OrderNotFound")]
    /// #[derive(Serialize, Deserialize, PartialEq, Debug)]
    /// struct OrderNotFound {
    ///     order_id: i64,
    /// }
    ///
    /// let thrown = JavaException::from_typed(&OrderNotFound { order_id: 7 })?;
    /// assert_eq!(thrown.class, "org.acme.OrderNotFound");
    /// assert!(thrown.is::<OrderNotFound>());
    /// assert_eq!(thrown.downcast::<OrderNotFound>().transpose()?, Some(OrderNotFound { order_id: 7 }));
    /// assert!(JavaException::runtime("boom").downcast::<OrderNotFound>().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is<T: JavaClass + ?Sized>(&self) -> bool {
        self.class == T::CLASS
    }

    /// Decodes this exception into `T` if it [`is`](Self::is) of `T`'s class, `None`
    /// otherwise (see [`decode`](Self::decode)).
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use tether_core::message::JavaException;
    ///
    /// #[tether_core::java("org.acme.OrderNotFound")]
    /// #[derive(Serialize, Deserialize, PartialEq, Debug)]
    /// struct OrderNotFound {
    ///     order_id: i64,
    /// }
    ///
    /// let thrown = JavaException::from_typed(&OrderNotFound { order_id: 7 })?;
    /// assert_eq!(thrown.class, "org.acme.OrderNotFound");
    /// assert!(thrown.is::<OrderNotFound>());
    /// assert_eq!(thrown.downcast::<OrderNotFound>().transpose()?, Some(OrderNotFound { order_id: 7 }));
    /// assert!(JavaException::runtime("boom").downcast::<OrderNotFound>().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn downcast<T: DeserializeOwned + JavaClass>(&self) -> Option<Result<T, DecodeError>> {
        self.is::<T>().then(|| self.decode())
    }

    /// Decodes this exception, as [`to_value`](Self::to_value) writes it, into any `T`,
    /// whatever its class: its fields by name (Throwable's included: `detailMessage`,
    /// `cause`, `stackTrace`...; fields `T` lacks are skipped). A `cause` that refers to
    /// the exception itself (no cause) is `None`.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use tether_core::message::JavaException;
    ///
    /// /// Any exception's message, whatever its class.
    /// #[derive(Deserialize)]
    /// struct Message {
    ///     #[serde(rename = "detailMessage")]
    ///     message: Option<String>,
    /// }
    ///
    /// let thrown = JavaException::runtime("stock exhausted");
    /// let decoded: Message = thrown.decode()?;
    /// assert_eq!(decoded.message.as_deref(), Some("stock exhausted"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        from_value(self.to_value())
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

/// Written as [`to_value`](JavaException::to_value): a field of this type is a Java
/// exception (a `cause`).
impl Serialize for JavaException {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// Read as [`from_value`](JavaException::from_value): any exception object.
impl<'de> Deserialize<'de> for JavaException {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

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
/// (`docs/protocol.md` §3.4).
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
/// content are ignored (dubbo-go and dubbo-py append one, `docs/protocol.md` §1.5).
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
        // Java's attachment map: a map or null with string keys (`docs/protocol.md` §3.1), checked
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

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(rename = "org.acme.CodedException")]
    struct Coded {
        code: i32,
        detail: Option<String>,
        #[serde(rename = "detailMessage")]
        message: Option<String>,
        cause: Option<Box<JavaException>>,
    }
    crate::java_class!(Coded => "org.acme.CodedException");

    /// The same class without a `cause` or message field.
    #[derive(Deserialize, PartialEq, Debug)]
    struct CodeOnly {
        code: i32,
    }

    fn through_the_wire(e: &JavaException) -> JavaException {
        let mut out = Vec::new();
        ResponseBody::<Value>::exception(e)
            .encode(&mut out)
            .unwrap();
        match decode_response::<Value>(&out).unwrap().result {
            Returned::Exception(back) => back,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typed_exceptions_both_ways() {
        let coded = Coded {
            code: 42,
            detail: Some("d".into()),
            message: Some("bad code".into()),
            cause: None,
        };
        let thrown = JavaException::from_typed(&coded).unwrap();
        assert_eq!(thrown.class, "org.acme.CodedException");
        assert_eq!(thrown.message.as_deref(), Some("bad code"));
        // No cause is Java's cause == this.
        assert_eq!(thrown.field("cause"), Some(&Value::Ref(0)));
        let written = thrown.to_value();
        let names: Vec<&str> = match &written {
            Value::Object { fields, .. } => fields.iter().map(|(k, _)| &**k).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            names,
            [
                "suppressedExceptions",
                "stackTrace",
                "code",
                "detail",
                "detailMessage",
                "cause"
            ]
        );
        let received = through_the_wire(&thrown);
        assert!(received.is::<Coded>());
        assert_eq!(received.downcast::<Coded>().unwrap().unwrap(), coded);
        // A struct without `cause` skips the self-reference (it failed with Cyclic before).
        assert_eq!(
            received.decode::<CodeOnly>().unwrap(),
            CodeOnly { code: 42 }
        );
        // Another class is not downcast.
        let runtime = through_the_wire(&JavaException::runtime("boom"));
        assert!(runtime.downcast::<Coded>().is_none());
        assert!(!runtime.is::<Coded>());
        let rpc = crate::consumer::RpcError::Business(received);
        assert_eq!(rpc.business_as::<Coded>().unwrap().unwrap(), coded);
        assert!(
            crate::consumer::RpcError::Cancelled
                .business_as::<Coded>()
                .is_none()
        );
    }

    #[test]
    fn a_real_cause_stays_decodable() {
        let root = JavaException::new("java.lang.IllegalArgumentException", "root");
        let coded = Coded {
            code: 3,
            detail: None,
            message: Some("type 3".into()),
            cause: Some(Box::new(root.clone())),
        };
        let thrown = JavaException::from_typed(&coded).unwrap();
        let received = through_the_wire(&thrown);
        let back: Coded = received.downcast().unwrap().unwrap();
        assert_eq!(back.code, 3);
        let cause = back.cause.expect("a cause");
        assert_eq!(cause.class, "java.lang.IllegalArgumentException");
        assert_eq!(cause.message.as_deref(), Some("root"));
        // The cause has no cause of its own: Java's reference to itself, kept as received.
        assert_eq!(cause.field("cause"), Some(&Value::Ref(0)));
        #[derive(Deserialize)]
        struct CauseOnly {
            cause: Option<Box<JavaException>>,
        }
        assert!(cause.decode::<CauseOnly>().unwrap().cause.is_none());
        // The raw field, too, is an exception.
        let raw = JavaException::from_value(received.field("cause").unwrap().clone()).unwrap();
        assert_eq!(raw, *cause);
    }

    #[test]
    fn java_s_own_exception_bytes_decode_into_a_struct() {
        // §11.10: RuntimeException("boom") as Java writes it (hessian2 crate tests).
        let java = hex(
            "90 43 1a 6a 61 76 61 2e 6c 61 6e 67 2e 52 75 6e 74 69 6d 65 45 78 63 65 70 74 69 6f 6e 94 \
             14 73 75 70 70 72 65 73 73 65 64 45 78 63 65 70 74 69 6f 6e 73 \
             0a 73 74 61 63 6b 54 72 61 63 65 05 63 61 75 73 65 0d 64 65 74 61 69 6c 4d 65 73 73 61 67 65 \
             60 70 1f 6a 61 76 61 2e 75 74 69 6c 2e 43 6f 6c 6c 65 63 74 69 6f 6e 73 24 45 6d 70 74 79 4c 69 73 74 \
             70 1c 5b 6a 61 76 61 2e 6c 61 6e 67 2e 53 74 61 63 6b 54 72 61 63 65 45 6c 65 6d 65 6e 74 \
             51 90 04 62 6f 6f 6d",
        );
        let Returned::Exception(e) = decode_response::<Value>(&java).unwrap().result else {
            panic!()
        };
        #[derive(Deserialize, Debug)]
        struct Runtime {
            #[serde(rename = "detailMessage")]
            message: String,
            cause: Option<Box<JavaException>>,
            #[serde(rename = "stackTrace")]
            stack_trace: Vec<Value>,
        }
        let r: Runtime = e.decode().unwrap();
        assert_eq!(r.message, "boom");
        assert!(r.cause.is_none());
        assert!(r.stack_trace.is_empty());
    }

    #[test]
    fn from_typed_refuses_drifted_names_and_non_structs() {
        #[derive(Serialize)]
        #[serde(rename = "org.acme.Old")]
        struct Drifted {
            code: i32,
        }
        crate::java_class!(Drifted => "org.acme.New");
        let err = JavaException::from_typed(&Drifted { code: 1 }).unwrap_err();
        assert!(err.to_string().contains("org.acme.Old"), "{err}");
        struct NotAStruct;
        impl Serialize for NotAStruct {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i32(1)
            }
        }
        crate::java_class!(NotAStruct => "org.acme.N");
        assert!(JavaException::from_typed(&NotAStruct).is_err());
        // Without a detailMessage field: no message, detailMessage written as null.
        let bare = JavaException::from_typed(&Drifted2 { code: 1 }).unwrap();
        assert_eq!(bare.message, None);
        assert_eq!(bare.to_value().get("detailMessage"), Some(&Value::Null));
    }

    #[derive(Serialize)]
    #[serde(rename = "org.acme.D2")]
    struct Drifted2 {
        code: i32,
    }
    crate::java_class!(Drifted2 => "org.acme.D2");

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
