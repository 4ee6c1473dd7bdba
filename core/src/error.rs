//! Errors, one enum per failure domain: why a connection ended, how a call failed, and why a
//! command was refused at its start.

use std::time::Duration;

use crate::frame::{FrameError, PayloadTooLarge, RequestId, Status};

/// Why a connection ended. Cheap to clone: every pending call and every later command gets a
/// copy.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// This side closed it ([`Connection::close`](crate::Connection::close)).
    #[error("connection closed locally")]
    LocallyClosed,
    /// The transport reported the connection gone: end of stream, reset, or an I/O error
    /// ([`Connection::handle_closed`](crate::Connection::handle_closed)).
    #[error("connection closed by the transport")]
    TransportClosed,
    /// Nothing was read for the idle timeout (`docs/protocol.md` §4.1).
    #[error("nothing read for {idle:?}, connection considered dead")]
    IdleTimeout {
        /// The idle timeout that elapsed.
        idle: Duration,
    },
    /// The peer sent bytes that cannot be framed (`docs/protocol.md` §1.5).
    #[error("peer sent malformed bytes: {0}")]
    Malformed(#[from] FrameError),
    /// The connection state was dropped while the call was pending.
    #[error("connection dropped")]
    Dropped,
}

/// Whether a timed-out request had reached the transport (`docs/protocol.md` §10.3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimeoutPhase {
    /// The request was never fully written (Dubbo status 30, CLIENT_TIMEOUT).
    ClientSide,
    /// The request was written but no response arrived (Dubbo status 31, SERVER_TIMEOUT).
    ServerSide,
}

/// How a two-way call ended without a response frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The call's deadline passed.
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
    /// The connection ended while the call was pending.
    #[error("connection lost: {0}")]
    ConnectionLost(ConnectionError),
    /// The response's header announced a body over this side's payload limit; the body was
    /// discarded.
    #[error("response too large: {0}")]
    ResponseTooLarge(PayloadTooLarge),
    /// The call was cancelled with [`Connection::cancel`](crate::Connection::cancel).
    #[error("request future has been canceled")]
    Cancelled,
}

impl CallError {
    /// The Dubbo status a Java consumer would record for this outcome (`docs/protocol.md` §1.2).
    pub fn status(&self) -> Status {
        match self {
            Self::Timeout {
                phase: TimeoutPhase::ClientSide,
                ..
            } => Status::CLIENT_TIMEOUT,
            Self::Timeout {
                phase: TimeoutPhase::ServerSide,
                ..
            } => Status::SERVER_TIMEOUT,
            Self::ConnectionLost(_) => Status::CHANNEL_INACTIVE,
            Self::ResponseTooLarge(_) | Self::Cancelled => Status::CLIENT_ERROR,
        }
    }
}

/// Why a call, one-way request or event could not start. Nothing was sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartErrorKind<E> {
    /// The connection has ended.
    #[error("connection closed: {0}")]
    Closed(ConnectionError),
    /// The connection already has its maximum number of calls in flight.
    #[error("{limit} calls already in flight on this connection")]
    TooManyInFlight {
        /// The configured limit.
        limit: usize,
    },
    /// The send buffer is at its high-water mark: wait for
    /// [`Event::CapacityAvailable`](crate::Event::CapacityAvailable), or fail.
    #[error("send buffer full: {buffered} bytes not yet written (high-water mark {high_water})")]
    SendBufferFull {
        /// Bytes queued or in the transport, not yet accepted.
        buffered: u64,
        /// The configured high-water mark.
        high_water: usize,
    },
    /// The timeout was zero: no time budget left (Dubbo's `TIMEOUT_TERMINATE`).
    #[error("no time budget left for the call")]
    NoTimeBudget,
    /// The encoded body exceeds the payload limit (Dubbo status 25 semantics).
    #[error("{0}")]
    PayloadTooLarge(PayloadTooLarge),
    /// The payload failed to encode.
    #[error("failed to encode request: {0}")]
    Encode(E),
}

/// A refused start, handing the payload back to the caller.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct StartError<P, E> {
    /// Why it was refused.
    pub kind: StartErrorKind<E>,
    /// The payload, unsent.
    pub payload: P,
}

/// Why a response could not be sent as given.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError<E> {
    /// The connection has ended.
    #[error("connection closed: {0}")]
    Closed(ConnectionError),
    /// No two-way request with this id awaits a response: it was never received, was
    /// one-way, or was answered already.
    #[error("no request {0} awaits a response")]
    UnknownRequest(RequestId),
    /// The response body exceeded the payload limit. The request was answered with status 25
    /// and the `Data length too large` message instead (`docs/protocol.md` §1.4).
    #[error("{0}; answered with status 25")]
    PayloadTooLarge(PayloadTooLarge),
    /// The response body failed to encode. The request was answered with status 50 instead
    /// (`docs/protocol.md` §5.6 step 7).
    #[error("failed to encode response: {0}; answered with status 50")]
    Encode(E),
    /// The peer is not reading fast enough: the response of `len` bytes would have taken the
    /// send buffer past [`Config::send_buffer_limit`](crate::Config::send_buffer_limit). The
    /// request was answered with status 80 and a message saying so instead.
    #[error(
        "response of {len} bytes dropped: {buffered} bytes not yet read by the peer \
         (limit {limit}); answered with status 80"
    )]
    SendBufferFull {
        /// The encoded response frame's length.
        len: usize,
        /// Bytes queued for the peer but not yet accepted by the transport.
        buffered: u64,
        /// The configured limit.
        limit: usize,
    },
}

/// An invalid configuration.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The idle timeout must be at least twice the heartbeat interval (`docs/protocol.md` §4.1).
    #[error("idle timeout {idle:?} is shorter than twice the heartbeat interval {heartbeat:?}")]
    IdleTimeoutTooShort {
        /// The heartbeat interval.
        heartbeat: Duration,
        /// The idle timeout.
        idle: Duration,
    },
    /// A zero duration where a positive one is needed.
    #[error("{0} must be positive")]
    Zero(&'static str),
}
