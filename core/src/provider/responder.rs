//! The one answer a provider gives to a request: a value, null, an exception or an error
//! status, written in the request's serialization (`PROTOCOL.md` §3, §5.6).

use serde::Serialize;

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
    /// Whether the request's dubbo version takes result flags 3/4/5 (`PROTOCOL.md` §3.1).
    with_attachments: bool,
    answered: bool,
    /// A one-way request's place under the provider's limit, released with the responder.
    _slot: Option<OnewaySlot>,
}

/// Counts one-way requests being handled: nothing else bounds them, since no response is
/// awaited (two-way requests count against the connection's inbound limit).
#[derive(Debug)]
pub(crate) struct OnewayLimit {
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    limit: usize,
}

impl OnewayLimit {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            in_flight: Default::default(),
            limit,
        }
    }

    /// A place for one more one-way request, or `None` at the limit.
    pub(crate) fn try_acquire(&self) -> Option<OnewaySlot> {
        use std::sync::atomic::Ordering;
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(OnewaySlot(self.in_flight.clone()))
    }

    /// One-way requests being handled now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// One one-way request's place under its [`OnewayLimit`].
#[derive(Debug)]
pub(crate) struct OnewaySlot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for OnewaySlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
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
            _slot: None,
        }
    }

    pub(crate) fn with_slot(mut self, slot: OnewaySlot) -> Self {
        self._slot = Some(slot);
        self
    }

    /// Answers with what the method returned: a value, or a Java exception. A value that
    /// serializes as null (`()`, `None`) is sent as the null result, as Java does for `void`
    /// and `null` (`PROTOCOL.md` §3.2).
    pub(crate) fn reply<R: Serialize + ?Sized>(mut self, result: Result<&R, &JavaException>) {
        if !self.two_way {
            self.answered = true;
            return;
        }
        let body = match result {
            Ok(value) if serializes_as_null(value) => ResponseBody::null(),
            Ok(value) => ResponseBody::value(value),
            Err(exception) => ResponseBody::exception(exception),
        };
        let empty = Attachments::new();
        let body = if self.with_attachments {
            body.with_attachments(&empty)
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

    /// Answers with an error status and its message (`PROTOCOL.md` §3.4).
    /// Answers 40 for a request that does not decode, with Java's message.
    pub(crate) fn bad_request(self, error: impl std::fmt::Display) {
        self.fail(
            Status::BAD_REQUEST,
            &format!("Fail to decode request due to: {error}"),
        );
    }

    pub(crate) fn fail(mut self, status: Status, message: &str) {
        self.answered = true;
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

#[cfg(test)]
mod tests {
    use super::serializes_as_null;

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
