//! The one answer a provider gives to a request: a value, null, an exception or an error
//! status, written in the request's serialization (`docs/protocol.md` §3, §5.6).

use serde::Serialize;

use super::generic::{self, GenericMode};
use crate::hessian2::Value;

use super::filter::{FilterRun, Outcome};
use crate::frame::{RequestId, SerializationId, Status};
use crate::message::{Attachments, JavaException, ResponseBody};
use crate::shared::SharedConnection;

/// Answers one request exactly once. Dropped without answering (a handler that forgot, or
/// panicked), it answers status 70 so that no two-way request is left waiting.
#[derive(Debug)]
pub(crate) struct Responder {
    conn: SharedConnection,
    id: RequestId,
    serialization: SerializationId,
    two_way: bool,
    /// Whether the request's dubbo version takes result flags 3/4/5 (`docs/protocol.md` §3.1).
    with_attachments: bool,
    answered: bool,
    /// A generic call (`$invoke`): the answer is made as Java's `GenericFilter` makes it, in
    /// the mode the caller asked for (`docs/protocol.md` §2.4).
    generic: Option<GenericMode>,
    /// A one-way request's place under the provider's limit, released with the responder.
    _slot: Option<OnewaySlot>,
    /// The provider's filters, when it has any, with this request's state.
    filters: Option<Box<FilterRun>>,
}

/// Counts one-way requests being handled, and their body bytes: nothing else bounds them,
/// since no response is awaited (two-way requests count against the connection's inbound
/// limits).
#[derive(Debug)]
pub(crate) struct OnewayLimit {
    gauge: std::sync::Arc<OnewayGauge>,
    limit: usize,
    byte_limit: usize,
}

#[derive(Debug, Default)]
struct OnewayGauge {
    count: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicUsize,
}

impl OnewayLimit {
    pub(crate) fn new(limit: usize, byte_limit: usize) -> Self {
        Self {
            gauge: Default::default(),
            limit,
            byte_limit,
        }
    }

    /// A place for one more one-way request of `len` body bytes, or `None` past either
    /// limit (a lone request is always taken, whatever its size).
    pub(crate) fn try_acquire(&self, len: usize) -> Option<OnewaySlot> {
        use std::sync::atomic::Ordering;
        let count = self.gauge.count.fetch_add(1, Ordering::AcqRel);
        let bytes = self.gauge.bytes.fetch_add(len, Ordering::AcqRel);
        let slot = OnewaySlot {
            gauge: self.gauge.clone(),
            len,
        };
        if count >= self.limit || (count > 0 && bytes.saturating_add(len) > self.byte_limit) {
            drop(slot);
            return None;
        }
        Some(slot)
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn byte_limit(&self) -> usize {
        self.byte_limit
    }

    /// One-way requests being handled now.
    pub(crate) fn in_flight(&self) -> usize {
        self.gauge.count.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// One one-way request's place under its [`OnewayLimit`].
#[derive(Debug)]
pub(crate) struct OnewaySlot {
    gauge: std::sync::Arc<OnewayGauge>,
    len: usize,
}

impl Drop for OnewaySlot {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        self.gauge.bytes.fetch_sub(self.len, Ordering::AcqRel);
        self.gauge.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Responder {
    pub(crate) fn new(
        conn: SharedConnection,
        id: RequestId,
        serialization: SerializationId,
        two_way: bool,
        with_attachments: bool,
    ) -> Self {
        Self {
            conn,
            id,
            serialization,
            two_way,
            with_attachments,
            answered: false,
            generic: None,
            _slot: None,
            filters: None,
        }
    }

    /// Runs `filters`' answer hooks before answering.
    pub(crate) fn with_filters(mut self, filters: FilterRun) -> Self {
        self.filters = Some(Box::new(filters));
        self
    }

    /// The filters' state, for their request hooks.
    pub(crate) fn filters_mut(&mut self) -> Option<&mut FilterRun> {
        self.filters.as_deref_mut()
    }

    /// Lets the filters see the answer, and add attachments to it.
    fn run_filters(&mut self, outcome: Outcome<'_>, attachments: &mut Attachments) {
        if let Some(filters) = &mut self.filters {
            filters.answer(outcome, attachments);
        }
    }

    /// Marks the answer as one to a generic call in `mode`.
    pub(crate) fn generic(mut self, mode: GenericMode) -> Self {
        self.generic = Some(mode);
        self
    }

    pub(crate) fn with_slot(mut self, slot: OnewaySlot) -> Self {
        self._slot = Some(slot);
        self
    }

    /// Answers with what the method returned: a value, or a Java exception. A value that
    /// serializes as null (`()`, `None`) is sent as the null result, as Java does for `void`
    /// and `null` (`docs/protocol.md` §3.2).
    pub(crate) fn reply<R: Serialize + ?Sized>(self, result: Result<&R, &JavaException>) {
        self.reply_with(result, Attachments::new());
    }

    /// [`reply`](Self::reply) with attachments, sent when the caller's Dubbo version has a
    /// place for them (flags 3/4/5), dropped otherwise.
    pub(crate) fn reply_with<R: Serialize + ?Sized>(
        mut self,
        result: Result<&R, &JavaException>,
        mut attachments: Attachments,
    ) {
        if let Some(mode) = self.generic {
            return self.reply_generic(mode, result, attachments);
        }
        let outcome = match result {
            Ok(_) => Outcome::Value,
            Err(exception) => Outcome::Exception(exception),
        };
        self.run_filters(outcome, &mut attachments);
        if !self.two_way {
            self.answered = true;
            return;
        }
        let body = match result {
            Ok(value) if serializes_as_null(value) => ResponseBody::null(),
            Ok(value) => ResponseBody::value(value),
            Err(exception) => ResponseBody::exception(exception),
        };
        let body = if self.with_attachments {
            body.with_attachments(&attachments)
        } else {
            body
        };
        // A closed connection has nobody to answer; an over-limit or unencodable body was
        // already replaced by status 25 or 50 by the connection. Marked answered only after:
        // if encoding the value panics, `drop` answers 70 instead.
        let _ = self
            .conn
            .respond(self.id, Status::OK, self.serialization, body);
        self.answered = true;
    }

    /// The answer to a generic call, as Java's `GenericFilter` makes it: in the default mode
    /// objects become maps with their class under `"class"` (`PojoUtils.generalize`), enums
    /// their names; and an exception becomes a `com.alibaba.dubbo.rpc.service.GenericException`
    /// naming the original.
    fn reply_generic<R: Serialize + ?Sized>(
        mut self,
        mode: GenericMode,
        result: Result<&R, &JavaException>,
        attachments: Attachments,
    ) {
        self.generic = None;
        match result {
            Ok(value) if mode == GenericMode::Raw => {
                self.reply_with(Ok::<_, &JavaException>(value), attachments)
            }
            Ok(value) => match crate::hessian2::to_value(value) {
                Ok(plain) => {
                    let enums = generic::enum_classes(value);
                    let generalized = generic::generalize(plain, &enums);
                    self.reply_with(Ok::<_, &JavaException>(&generalized), attachments);
                }
                // Fails again as it is encoded: answered 50 by the connection.
                Err(_) => self.reply_with(Ok::<_, &JavaException>(value), attachments),
            },
            Err(exception) if exception.class.ends_with(".rpc.service.GenericException") => {
                self.reply_with(Err::<&(), _>(exception), attachments);
            }
            Err(exception) => {
                let wrapped = generic_exception(exception);
                self.reply_with(Err::<&(), _>(&wrapped), attachments);
            }
        }
    }

    /// Answers with an error status and its message (`docs/protocol.md` §3.4).
    /// Answers 40 for a request that does not decode, with Java's message.
    pub(crate) fn bad_request(self, error: impl std::fmt::Display) {
        self.fail(
            Status::BAD_REQUEST,
            &format!("Fail to decode request due to: {error}"),
        );
    }

    pub(crate) fn fail(mut self, status: Status, message: &str) {
        self.answered = true;
        // An error status has no attachments: the filters' are dropped.
        self.run_filters(Outcome::Status(status, message), &mut Attachments::new());
        self.send_error(status, message);
    }

    fn send_error(&self, status: Status, message: &str) {
        if !self.two_way {
            return;
        }
        let mut body = Vec::with_capacity(message.len() + 3);
        crate::message::encode_error_message(&mut body, Some(message));
        // Error bodies are Hessian2 strings, so the header says Hessian2 (§1.1).
        let _ = self
            .conn
            .respond(self.id, status, SerializationId::HESSIAN2, body);
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let message = if std::thread::panicking() {
                "the service handler panicked"
            } else {
                "the service handler finished without answering"
            };
            let outcome = Outcome::Status(Status::SERVICE_ERROR, message);
            // Filter code running during a panic's unwinding must not panic again.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.run_filters(outcome, &mut Attachments::new())
            }));
            self.send_error(Status::SERVICE_ERROR, message);
        }
    }
}

/// Whether `value` serializes as null, found without encoding it: a serializer that stops at
/// the first call.
fn serializes_as_null<T: Serialize + ?Sized>(value: &T) -> bool {
    value.serialize(NullProbe).unwrap_or(false)
}

/// Answers `Ok(true)` for null-like values and fails fast for everything else.
struct NullProbe;

#[derive(Debug)]
struct NotNull;

impl std::fmt::Display for NotNull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not null")
    }
}

impl std::error::Error for NotNull {}

impl serde::ser::Error for NotNull {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotNull
    }
}

macro_rules! not_null {
    ($($f:ident($($t:ty),* $(,)?)),* $(,)?) => {$(
        fn $f(self, $(_: $t),*) -> Result<bool, NotNull> {
            Err(NotNull)
        }
    )*};
}

macro_rules! not_null_compound {
    ($($f:ident($($t:ty),* $(,)?) -> $out:ident),* $(,)?) => {$(
        fn $f(self, $(_: $t),*) -> Result<Self::$out, NotNull> {
            Err(NotNull)
        }
    )*};
}

impl serde::Serializer for NullProbe {
    type Ok = bool;
    type Error = NotNull;
    type SerializeSeq = serde::ser::Impossible<bool, NotNull>;
    type SerializeTuple = serde::ser::Impossible<bool, NotNull>;
    type SerializeTupleStruct = serde::ser::Impossible<bool, NotNull>;
    type SerializeTupleVariant = serde::ser::Impossible<bool, NotNull>;
    type SerializeMap = serde::ser::Impossible<bool, NotNull>;
    type SerializeStruct = serde::ser::Impossible<bool, NotNull>;
    type SerializeStructVariant = serde::ser::Impossible<bool, NotNull>;

    fn serialize_none(self) -> Result<bool, NotNull> {
        Ok(true)
    }

    fn serialize_unit(self) -> Result<bool, NotNull> {
        Ok(true)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<bool, NotNull> {
        Ok(true)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, NotNull> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<bool, NotNull> {
        value.serialize(self)
    }

    not_null!(
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
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    not_null_compound!(
        serialize_seq(Option<usize>) -> SerializeSeq,
        serialize_tuple(usize) -> SerializeTuple,
        serialize_tuple_struct(&'static str, usize) -> SerializeTupleStruct,
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> SerializeTupleVariant,
        serialize_map(Option<usize>) -> SerializeMap,
        serialize_struct(&'static str, usize) -> SerializeStruct,
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> SerializeStructVariant,
    );

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<bool, NotNull> {
        Err(NotNull)
    }
}

/// The exception class Java's `GenericFilter` wraps a generic call's exception in (2.7 and
/// 3.x alike).
const GENERIC_EXCEPTION: &str = "com.alibaba.dubbo.rpc.service.GenericException";

/// `new GenericException(cause)`: `exceptionClass` and `exceptionMessage` are the original's
/// class and message, and its message (`detailMessage`) is Java's `StringUtils.toString` of
/// the original: its `toString()` on a line, then its stack trace, of which tether has none
/// but the first line.
fn generic_exception(original: &JavaException) -> JavaException {
    let message = original.message.clone().map_or(Value::Null, Value::String);
    JavaException {
        class: GENERIC_EXCEPTION.to_owned(),
        message: Some(format!("{original}\n{original}\n")),
        fields: vec![
            (
                "exceptionClass".into(),
                Value::String(original.class.clone()),
            ),
            ("exceptionMessage".into(), message),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::{OnewayLimit, generic_exception, serializes_as_null};
    use crate::hessian2::Value;
    use crate::message::JavaException;

    #[test]
    fn a_generic_exception_names_the_original_as_java_wraps_it() {
        // Review: exceptionMessage came out as "java.lang.RuntimeException: g bad" (the
        // wrapper's own message), where Java keeps the original's message, which a Java
        // consumer calling through an interface turns back into the exception's message.
        let wrapped = generic_exception(&JavaException::runtime("g bad"));
        assert_eq!(
            wrapped.class,
            "com.alibaba.dubbo.rpc.service.GenericException"
        );
        let written = wrapped.to_value();
        assert_eq!(
            written.get("exceptionClass"),
            Some(&Value::from("java.lang.RuntimeException"))
        );
        assert_eq!(written.get("exceptionMessage"), Some(&Value::from("g bad")));
        assert_eq!(
            written.get("detailMessage"),
            Some(&Value::from(
                "java.lang.RuntimeException: g bad\njava.lang.RuntimeException: g bad\n"
            ))
        );
        let silent = generic_exception(&JavaException {
            message: None,
            ..JavaException::runtime("")
        })
        .to_value();
        assert_eq!(silent.get("exceptionMessage"), Some(&Value::Null));
        assert_eq!(
            silent.get("detailMessage"),
            Some(&Value::from(
                "java.lang.RuntimeException\njava.lang.RuntimeException\n"
            ))
        );
    }

    #[test]
    fn oneway_limit_counts_requests_and_bytes() {
        let limit = OnewayLimit::new(3, 1_000);
        // A lone request is taken whatever its size.
        let huge = limit.try_acquire(5_000).expect("a lone request");
        assert!(limit.try_acquire(1).is_none(), "over the byte limit");
        drop(huge);
        let a = limit.try_acquire(600).expect("room");
        assert!(limit.try_acquire(401).is_none(), "1,001 bytes");
        let b = limit.try_acquire(400).expect("1,000 bytes");
        let c = limit.try_acquire(0).expect("three requests");
        assert!(limit.try_acquire(0).is_none(), "a fourth request");
        assert_eq!(limit.in_flight(), 3);
        drop((a, b, c));
        assert_eq!(limit.in_flight(), 0);
        assert!(limit.try_acquire(1_000).is_some(), "everything given back");
    }

    #[test]
    fn null_like_values() {
        assert!(serializes_as_null(&()));
        assert!(serializes_as_null(&None::<String>));
        assert!(serializes_as_null(&Some(None::<i32>)));
        assert!(!serializes_as_null(&Some(1)));
        assert!(!serializes_as_null("text"));
        assert!(!serializes_as_null(&vec![(); 0]));
    }
}
