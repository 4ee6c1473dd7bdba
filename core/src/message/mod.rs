//! dubbo bodies (`docs/protocol.md` §2–§4): requests, responses and events, encoded straight into
//! the caller's buffer and decoded from a frame body.
//!
//! The serialization of a body is chosen by the header's serialization id
//! ([`SerializationKind::from_id`]); [`Hessian2`] is the default and the only one
//! implemented. Every body gets a fresh Hessian context (`docs/protocol.md` §11.1), and decoders
//! ignore bytes after the expected content (`docs/protocol.md` §1.5).

mod args;
mod attachments;
mod error;
mod event;
mod request;
mod response;
mod serialization;
mod template;

pub use args::{Arguments, DecodeArgs, EncodeArgs};
pub use attachments::{Attachments, AttachmentsIntoIter};
pub use error::{BodyError, Field};
pub use event::EventBody;
pub use request::{
    ArgsStart, DUBBO_VERSION, DecodedRequest, ECHO_DESCRIPTOR, ECHO_METHOD, GENERIC_ASYNC_METHOD,
    GENERIC_DESCRIPTOR, GENERIC_METHOD, GenericArgs, GenericCall, RequestBody, RequestHead,
    RequestReader, decode_request,
};
pub use response::{
    DecodedResponse, JavaException, Outcome, Reply, ResponseBody, Returned, attachments_supported,
    decode_error_message, decode_reply, decode_response, decode_response_from, decode_result,
    encode_error_message, flag, version_to_int,
};
pub use serialization::{
    Hessian2, ObjectInput, ObjectOutput, Serialization, SerializationKind, UnsupportedSerialization,
};
pub use template::{RequestTemplate, TemplateBody};

/// Runs `write` on `out`, and on error cuts `out` back to where it was: bodies are encoded
/// straight into the outbound buffer, which must not keep half a body.
fn encode_or_restore<E>(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let start = out.len();
    let result = write(out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

// Bodies encode straight into the connection's outbound buffer.
impl<A: EncodeArgs + ?Sized> crate::Payload for RequestBody<'_, A> {
    type Error = crate::hessian2::EncodeError;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Self::Error> {
        RequestBody::encode(self, out)
    }
}

impl<T: serde::Serialize + ?Sized> crate::Payload for ResponseBody<'_, T> {
    type Error = crate::hessian2::EncodeError;

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Self::Error> {
        ResponseBody::encode(self, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::SerializationId;

    #[test]
    fn serialization_lookup_by_id() {
        assert_eq!(
            SerializationKind::from_id(SerializationId::HESSIAN2),
            Ok(SerializationKind::Hessian2)
        );
        assert_eq!(SerializationKind::Hessian2.name(), "hessian2");
        let fastjson2 = SerializationId::new(23).unwrap();
        let err = SerializationKind::from_id(fastjson2).unwrap_err();
        assert_eq!(err.to_string(), "unsupported serialization id 23");
        assert!(SerializationKind::from_id(SerializationId::new(0).unwrap()).is_err());
    }
}
