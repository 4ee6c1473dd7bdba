//! Client connections: [`connect`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tether_core::driver::Driver;
use tether_core::{Clock, Completion, Config, Connection, ConnectionError, SharedConnection};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::Options;
use crate::runtime::{TokioIo, TokioRuntime};

/// An open client connection: the [`SharedConnection`] to issue calls on, and a way to learn
/// when and why it ended. Its IO loop runs on a task of its own until the connection ends
/// (closed by either side, idle timeout, transport failure); dropping this handle does not
/// close it — call [`SharedConnection::close`].
#[derive(Debug)]
pub struct ClientConnection {
    shared: SharedConnection,
    closed: Completion<ConnectionError>,
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

    /// Resolves once the connection has ended and its socket was shut down, with the reason.
    pub async fn closed(&mut self) -> ConnectionError {
        if let Some(reason) = self.reason {
            return reason;
        }
        let reason = (&mut self.closed).await;
        self.reason = Some(reason);
        reason
    }

    /// The connection and the completion of its end (awaitable, waitable from a thread, or
    /// continued with `on_complete`: a reconnect hook).
    pub fn into_parts(self) -> (SharedConnection, Completion<ConnectionError>) {
        (self.shared, self.closed)
    }
}

/// Opens a TCP connection to `addr` (within `options.connect_timeout`), with `TCP_NODELAY`,
/// and starts driving it with `config` on a new task of the current tokio runtime.
pub async fn connect(
    addr: impl ToSocketAddrs,
    config: Config,
    options: Options,
) -> io::Result<ClientConnection> {
    let stream = tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {:?}", options.connect_timeout),
            )
        })??;
    stream.set_nodelay(true)?;
    let local_addr = stream.local_addr()?;
    let peer_addr = stream.peer_addr()?;
    let runtime = Arc::new(TokioRuntime);
    let conn = Connection::new(config, runtime.now());
    let mut driver = Driver::new(
        TokioIo(stream),
        conn,
        runtime,
        options.request_handler,
        options.callback_executor,
    );
    let closed = driver.on_closed();
    let shared = driver.shared().clone();
    tokio::spawn(driver.run());
    Ok(ClientConnection {
        shared,
        closed,
        reason: None,
        local_addr,
        peer_addr,
    })
}
