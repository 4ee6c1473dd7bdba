//! Client connections: [`connect`].

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};

use tether_core::call::pair;
use tether_core::{Completion, Config, ConnectionError, Inline, SharedConnection};

use crate::Options;
use crate::io::{Setup, spawn};

/// An open client connection: the [`SharedConnection`] to issue calls on, and a way to learn
/// when and why it ended. Its two IO threads run until the connection ends (closed by
/// either side, idle timeout, transport failure); dropping this handle does not close it —
/// call [`SharedConnection::close`].
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

    /// Blocks until the connection has ended and its socket was shut down; returns why.
    pub fn wait_closed(&mut self) -> ConnectionError {
        if let Some(closed) = self.closed.take() {
            self.reason = Some(closed.wait());
        }
        // Invariant: `closed` is only taken just above, which sets `reason`.
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

/// Opens a TCP connection to `addr` (each resolved address in turn, each within
/// `options.connect_timeout`), with `TCP_NODELAY`, and starts its reader and writer
/// threads with `config`. Blocks the caller while connecting.
pub fn connect(
    addr: impl ToSocketAddrs,
    config: Config,
    options: Options,
) -> io::Result<ClientConnection> {
    let mut last_error = None;
    let mut stream = None;
    for addr in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, options.connect_timeout) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let stream = stream.ok_or_else(|| {
        last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")
        })
    })?;
    let local_addr = stream.local_addr()?;
    let peer_addr = stream.peer_addr()?;
    let setup = Setup {
        config,
        handler: options.request_handler,
        executor: options.callback_executor,
    };
    let (shared, closed) = spawn(stream, &setup, None)?;
    Ok(ClientConnection {
        shared,
        closed: Some(closed),
        reason: None,
        local_addr,
        peer_addr,
    })
}
