//! What a connection reports: received requests, completed calls, confirmed writes, peer
//! state changes, and its end.

use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use crate::call::{Completer, ContinuationExecutor, Inline};
use crate::error::{CallError, ConnectionError};
use crate::frame::{RequestId, SerializationId, Status};

/// A response frame that completed a call. The body is still serialized; for any status but
/// OK it is one string, the error message (`docs/protocol.md` §3.4).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Response {
    /// The status byte.
    pub status: Status,
    /// How the body is serialized.
    pub serialization: SerializationId,
    /// The body bytes.
    pub body: Bytes,
}

/// The outcome of a two-way call: the response frame, or why none came.
pub type CallResult = Result<Response, CallError>;

/// The outcome of a `sent` notification: the request bytes were accepted by the transport, or
/// the connection ended first.
pub type SentResult = Result<(), ConnectionError>;

/// A request from the peer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InboundRequest {
    /// Its id. Two-way requests are answered with
    /// [`Connection::respond`](crate::Connection::respond) and this id.
    pub id: RequestId,
    /// Whether the peer expects a response. One-way requests must never be answered.
    pub two_way: bool,
    /// How the body is serialized; answer in the same serialization (`docs/protocol.md` §1.1).
    pub serialization: SerializationId,
    /// The body bytes, still serialized.
    pub body: Bytes,
    /// When the bytes that completed it were handed to the connection.
    pub received_at: Instant,
}

/// A resolved outcome on its way to the completion that waits for it.
///
/// [`deliver`](Self::deliver) it outside any lock that guards the connection: it wakes the
/// waiting task or thread and runs continuations on the given executor. Dropping it delivers
/// inline, so an outcome is never lost.
pub struct Delivery<T: Send + 'static> {
    id: RequestId,
    inner: Option<(Completer<T>, T)>,
}

impl<T: Send + 'static> Delivery<T> {
    pub(crate) fn new(id: RequestId, completer: Completer<T>, outcome: T) -> Self {
        Self {
            id,
            inner: Some((completer, outcome)),
        }
    }

    /// The request this outcome belongs to.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The outcome.
    pub fn outcome(&self) -> &T {
        // `inner` is only taken by `deliver` (which consumes self) and `drop`.
        &self.inner.as_ref().expect("present until delivered").1
    }

    /// Hands the outcome to its completion; continuations run on `executor`.
    pub fn deliver(mut self, executor: &dyn ContinuationExecutor) {
        if let Some((completer, outcome)) = self.inner.take() {
            completer.complete(outcome, executor);
        }
    }
}

impl<T: Send + 'static> Drop for Delivery<T> {
    fn drop(&mut self) {
        if let Some((completer, outcome)) = self.inner.take() {
            completer.complete(outcome, &Inline);
        }
    }
}

impl<T: Send + fmt::Debug + 'static> fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("outcome", &self.inner.as_ref().map(|(_, outcome)| outcome))
            .finish()
    }
}

/// Something that happened on a connection, reported once by
/// [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The peer sent a request (not an event frame).
    RequestReceived(InboundRequest),
    /// A two-way call ended: deliver it to wake its completion.
    CallCompleted(Delivery<CallResult>),
    /// A request whose caller asked for a `sent` notification was written, or the connection
    /// ended before it was: deliver it to wake the notification.
    RequestSent(Delivery<SentResult>),
    /// The peer announced it is going read-only (`"R"` event, `docs/protocol.md` §4.2): send it no
    /// new calls; calls in flight continue.
    PeerReadOnly,
    /// The peer announced it is writeable again (`"W"` event).
    PeerWriteable,
    /// Calls refused with `TooManyInFlight` or `SendBufferFull` can be retried.
    CapacityAvailable,
    /// The connection ended; this is the last event.
    Closed(ConnectionError),
}
