//! The handle every adapter's `connect` returns: [`ClientConnection`].

use std::net::SocketAddr;

use crate::call::{Completion, Inline, pair};
use crate::error::ConnectionError;
use crate::shared::SharedConnection;

/// An open client connection: the [`SharedConnection`] to issue calls on, and a way to learn
/// when and why it ended. Its IO loop runs until the connection ends (closed by either side,
/// idle timeout, transport failure); dropping this handle does not close it — call
/// [`SharedConnection::close`].
#[derive(Debug)]
pub struct ClientConnection {
    shared: SharedConnection,
    /// `None` once waited on; `reason` holds the outcome then.
    closed: Option<Completion<ConnectionError>>,
    reason: Option<ConnectionError>,
    local_addr: SocketAddr,
    peer_addr: SocketAddr,
}

impl ClientConnection {
    /// For adapters: the handle of a connection whose IO loop resolves `closed` when it ends.
    pub fn new(
        shared: SharedConnection,
        closed: Completion<ConnectionError>,
        local_addr: SocketAddr,
        peer_addr: SocketAddr,
    ) -> Self {
        Self {
            shared,
            closed: Some(closed),
            reason: None,
            local_addr,
            peer_addr,
        }
    }

    /// The connection, to issue calls on (cheap to clone).
    pub fn shared(&self) -> &SharedConnection {
        &self.shared
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The provider's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// Resolves once the connection has ended and its socket was shut down, with the reason.
    pub async fn closed(&mut self) -> ConnectionError {
        if let Some(closed) = self.closed.take() {
            self.reason = Some(closed.await);
        }
        self.reason()
    }

    /// Blocks until the connection has ended and its socket was shut down; returns why.
    pub fn wait_closed(&mut self) -> ConnectionError {
        if let Some(closed) = self.closed.take() {
            self.reason = Some(closed.wait());
        }
        self.reason()
    }

    fn reason(&self) -> ConnectionError {
        // Invariant: `closed` is only taken by the two methods above, which set `reason`.
        self.reason.unwrap_or(ConnectionError::Dropped)
    }

    /// The connection and the completion of its end (awaitable, waitable, or continued with
    /// `on_complete`: a reconnect hook).
    pub fn into_parts(self) -> (SharedConnection, Completion<ConnectionError>) {
        let closed = self.closed.unwrap_or_else(|| {
            let (completer, completion) = pair(|| ConnectionError::Dropped);
            completer.complete(self.reason.unwrap_or(ConnectionError::Dropped), &Inline);
            completion
        });
        (self.shared, closed)
    }
}
