//! The client half of the service layer: starting an encoded request on a connection and
//! turning its outcome into a typed result or an [`RpcError`] (`docs/protocol.md` §3, §10). The
//! consumer's references and the provider's callback proxies both call through it; it
//! depends on neither.

mod error;

use std::time::Duration;

use serde::de::DeserializeOwned;

pub use error::{RpcError, SerializationError};

use crate::call::{Completer, Completion, map_pair};
use crate::connection::{CallOptions, abandoned_call};
use crate::context::Reply;
use crate::error::TimeoutPhase;
use crate::event::{CallResult, SentResult};
use crate::hessian2::{self, Value};
use crate::message::{Returned, decode_error_message, decode_response, decode_result};
use crate::shared::SharedConnection;

/// Waits for a `sent` notification, up to `timeout` (`docs/protocol.md` §5.2).
pub(crate) fn wait_sent(sent: Completion<SentResult>, timeout: Duration) -> Result<(), RpcError> {
    match sent.wait_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(RpcError::Network(reason)),
        Err(_) => Err(RpcError::Timeout {
            phase: TimeoutPhase::ClientSide,
            timeout,
        }),
    }
}

/// The typed result of a call's outcome (`docs/protocol.md` §3, §10.2).
pub(crate) fn decode<R: DeserializeOwned>(
    result: CallResult,
    timeout: Duration,
) -> Result<R, RpcError> {
    let body = ok_body(result, timeout)?;
    let result = decode_result::<R>(&body).map_err(SerializationError::Decode)?;
    returned(result)
}

/// The typed result of a call's outcome with the attachments of the response.
pub(crate) fn decode_with_attachments<R: DeserializeOwned>(
    result: CallResult,
    timeout: Duration,
) -> Result<Reply<R>, RpcError> {
    let body = ok_body(result, timeout)?;
    let decoded = decode_response::<R>(&body).map_err(SerializationError::Decode)?;
    Ok(Reply {
        value: returned(decoded.result)?,
        attachments: decoded.attachments,
    })
}

/// The body of a status-20 response; any other status (or no response) as its error.
fn ok_body(result: CallResult, timeout: Duration) -> Result<bytes::Bytes, RpcError> {
    let response = result?;
    if !response.status.is_ok() {
        let message = decode_error_message(&response.body)
            .ok()
            .flatten()
            .unwrap_or_default();
        return Err(RpcError::from_status(response.status, message, timeout));
    }
    Ok(response.body)
}

/// A decoded result as the call's value: Java's null is fine for `Option`, `()` and the
/// like, an error for a `String`; a thrown exception is a business error.
fn returned<R: DeserializeOwned>(result: Returned<R>) -> Result<R, RpcError> {
    match result {
        Returned::Value(value) => Ok(value),
        Returned::Null => hessian2::from_value(Value::Null).map_err(|e| {
            SerializationError::Decode(crate::message::BodyError::Decode {
                field: crate::message::Field::Result,
                source: e,
            })
            .into()
        }),
        Returned::Exception(exception) => Err(RpcError::Business(exception)),
    }
}

/// A completer for a call's raw outcome and a completion of it decoded as `R`, in one
/// allocation ([`map_pair`]).
pub(crate) fn decoding_pair<R: DeserializeOwned + Send + 'static>(
    timeout: Duration,
) -> (Completer<CallResult>, Completion<Result<R, RpcError>>) {
    map_pair(
        abandoned_call,
        move |result| decode(result, timeout),
        abandoned,
    )
}

/// Starts a call of `payload` on `conn` whose response decodes as `R` (generic calls,
/// callback invocations: no listeners, no callback exports).
pub(crate) fn call_decoded<P, R>(
    conn: &SharedConnection,
    timeout: Duration,
    payload: P,
) -> Completion<Result<R, RpcError>>
where
    P: crate::Payload<Error = crate::hessian2::EncodeError>,
    R: DeserializeOwned + Send + 'static,
{
    let (completer, response) = decoding_pair(timeout);
    match conn.start_call_with(CallOptions::new(timeout), payload, completer) {
        Ok(started) => started.cancel(response),
        Err(e) => Completion::ready(Err(RpcError::from(e.kind))),
    }
}

pub(crate) fn abandoned<R>() -> Result<R, RpcError> {
    Err(RpcError::Network(crate::error::ConnectionError::Dropped))
}
