//! What a consumer's call can fail with, in Dubbo's kinds (`docs/protocol.md` §10).

use std::time::Duration;

use crate::error::{CallError, ConnectionError, StartErrorKind, TimeoutPhase};
use crate::frame::{PayloadTooLarge, Status};
use crate::hessian2::EncodeError;
use crate::message::{BodyError, JavaException};

/// Why serialization failed, and on which side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SerializationError {
    /// The arguments could not be encoded.
    #[error("failed to encode the request: {0}")]
    Encode(#[from] EncodeError),
    /// The request body exceeds the payload limit.
    #[error("{0}")]
    PayloadTooLarge(PayloadTooLarge),
    /// The response could not be decoded as the expected type.
    #[error("failed to decode the response: {0}")]
    Decode(#[from] BodyError),
    /// The provider reported status 25 (its response could not be encoded).
    #[error("provider failed to serialize its response: {0}")]
    Remote(String),
}

/// How a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The provider's method threw (result flag 0/3): a business exception.
    #[error("{0}")]
    Business(JavaException),
    /// No response in time: client-side if the request was never written, server-side if it
    /// was (or the provider reported that the caller's deadline had passed).
    #[error("{} after {timeout:?}", match .phase {
        TimeoutPhase::ClientSide => "sending request timeout in client-side",
        TimeoutPhase::ServerSide => "waiting server-side response timeout",
    })]
    Timeout {
        /// Whether the request had been written.
        phase: TimeoutPhase,
        /// The call's timeout.
        timeout: Duration,
    },
    /// The connection failed or closed.
    #[error("network error: {0}")]
    Network(ConnectionError),
    /// No connection is available (all down, reconnecting, or read-only).
    #[error("no available connection to {0}")]
    NoConnection(String),
    /// Encoding or decoding failed.
    #[error("serialization error: {0}")]
    Serialization(#[from] SerializationError),
    /// The provider has no such service or method.
    #[error("service not found: {0}")]
    ServiceNotFound(String),
    /// The provider could not decode the request (status 40).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The provider refused the call (a wrong or missing token).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A concurrency limit was hit: calls in flight or send buffer here, or the provider's
    /// pool (status 100).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// Any other error status from the provider, with its message.
    #[error("remote error, status {}: {message}", .status.0)]
    Remote {
        /// The response status.
        status: Status,
        /// The message the provider sent.
        message: String,
    },
    /// The call was cancelled.
    #[error("call cancelled")]
    Cancelled,
    /// A blocking call (`call_blocking`, `call_with_blocking`) made on the thread that
    /// drives the connection's IO (an async runtime's thread, the thread-pool adapter's
    /// reader): waiting there would stop the IO that brings the answer, so it fails at once.
    /// Await `call(..)` on such a thread, or make blocking calls from a thread of your own
    /// (`tokio::task::spawn_blocking`, `smol::unblock`, a worker pool).
    #[error(
        "blocking call of {0} on the thread that drives its connection's IO (an async runtime's \
         thread?): the answer could never arrive; await `call(..)` here, or block on a thread of \
         your own (spawn_blocking, unblock, a worker pool)"
    )]
    BlockingOnIoThread(String),
}

impl RpcError {
    /// The exception the provider's method threw, if that is how the call failed.
    pub fn business(&self) -> Option<&JavaException> {
        match self {
            Self::Business(e) => Some(e),
            _ => None,
        }
    }

    /// The exception the provider's method threw decoded into `T`, if the call failed with
    /// an exception of `T`'s Java class (see [`JavaException::downcast`]).
    ///
    /// ```
    /// # use tether_core::consumer::RpcError;
    /// # use tether_core::message::JavaException;
    /// #[tether_core::java("com.example.order.OrderNotFound")]
    /// #[derive(serde::Serialize, serde::Deserialize, Debug)]
    /// struct OrderNotFound {
    ///     #[serde(rename = "orderId")]
    ///     order_id: i64,
    /// }
    ///
    /// # let thrown = JavaException::from_typed(&OrderNotFound { order_id: 7 })?;
    /// # let error = RpcError::Business(thrown);
    /// // error: RpcError, from a call
    /// match error.business_as::<OrderNotFound>() {
    ///     Some(Ok(not_found)) => assert_eq!(not_found.order_id, 7),
    ///     Some(Err(undecodable)) => panic!("{undecodable}"),
    ///     None => panic!("another failure: {error}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn business_as<T>(&self) -> Option<Result<T, crate::hessian2::DecodeError>>
    where
        T: serde::de::DeserializeOwned + crate::hessian2::JavaClass,
    {
        self.business()?.downcast()
    }

    /// Dubbo's `RpcException` code for this error (`docs/protocol.md` §10.1).
    pub fn code(&self) -> i32 {
        match self {
            Self::Business(_) => 3,
            // No time budget left before sending: Dubbo's TIMEOUT_TERMINATE.
            Self::Timeout { timeout, .. } if timeout.is_zero() => 8,
            Self::Timeout { .. } => 2,
            Self::Network(_) | Self::BadRequest(_) | Self::Remote { .. } | Self::Cancelled => 1,
            Self::BlockingOnIoThread(_) => 0,
            Self::ServiceNotFound(_) => 1,
            Self::NoConnection(_) => 6,
            Self::Serialization(_) => 5,
            Self::Forbidden(_) => 4,
            Self::LimitExceeded(_) => 7,
        }
    }

    /// Maps a non-OK response status and its message (`docs/protocol.md` §10.2).
    pub(crate) fn from_status(status: Status, message: String, timeout: Duration) -> Self {
        match status {
            Status::SERIALIZATION_ERROR => SerializationError::Remote(message).into(),
            Status::CLIENT_TIMEOUT | Status::SERVER_TIMEOUT => Self::Timeout {
                phase: TimeoutPhase::ServerSide,
                timeout,
            },
            Status::BAD_REQUEST => Self::BadRequest(message),
            Status::SERVICE_NOT_FOUND => Self::ServiceNotFound(message),
            Status::SERVER_THREADPOOL_EXHAUSTED => Self::LimitExceeded(message),
            // Java reports a missing exporter and a bad token as 70; their messages tell.
            Status::SERVICE_ERROR if message.starts_with("Not found ") => {
                Self::ServiceNotFound(message)
            }
            Status::SERVICE_ERROR if message.starts_with("Invalid token") => {
                Self::Forbidden(message)
            }
            _ => Self::Remote { status, message },
        }
    }
}

impl From<CallError> for RpcError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Timeout { phase, timeout } => Self::Timeout { phase, timeout },
            CallError::ConnectionLost(reason) => Self::Network(reason),
            CallError::ResponseTooLarge(e) => Self::Remote {
                status: Status::CLIENT_ERROR,
                message: format!("response discarded: {e}"),
            },
            CallError::Cancelled => Self::Cancelled,
        }
    }
}

impl From<StartErrorKind<EncodeError>> for RpcError {
    fn from(kind: StartErrorKind<EncodeError>) -> Self {
        match kind {
            StartErrorKind::Closed(reason) => Self::Network(reason),
            StartErrorKind::PayloadTooLarge(e) => SerializationError::PayloadTooLarge(e).into(),
            StartErrorKind::Encode(e) => SerializationError::Encode(e).into(),
            StartErrorKind::NoTimeBudget => Self::Timeout {
                phase: TimeoutPhase::ClientSide,
                timeout: Duration::ZERO,
            },
            other => Self::LimitExceeded(other.to_string()),
        }
    }
}
