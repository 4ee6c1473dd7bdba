//! Client connections: [`connect`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use smol::Timer;
use smol::future::FutureExt;
use smol::net::{AsyncToSocketAddrs, TcpStream};
use tether_core::driver::Driver;
use tether_core::{Clock, Completion, Config, Connection, ConnectionError, SharedConnection};

use crate::Options;
use crate::runtime::SmolRuntime;

/// An open client connection: the [`SharedConnection`] to issue calls on, and a way to learn
/// when and why it ended. Its IO loop runs on a task of smol's global executor until the
/// connection ends (closed by either side, idle timeout, transport failure); dropping this
/// handle does not close it — call [`SharedConnection::close`].
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
/// and starts driving it with `config` on a task of smol's global executor.
pub async fn connect(
    addr: impl AsyncToSocketAddrs,
    config: Config,
    options: Options,
) -> io::Result<ClientConnection> {
    let timeout = options.connect_timeout;
    let stream = TcpStream::connect(addr)
        .or(async {
            Timer::after(timeout).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            ))
        })
        .await?;
    stream.set_nodelay(true)?;
    let local_addr = stream.local_addr()?;
    let peer_addr = stream.peer_addr()?;
    let runtime = Arc::new(SmolRuntime);
    let conn = Connection::new(config, runtime.now());
    let mut driver = Driver::new(
        stream,
        conn,
        runtime,
        options.request_handler,
        options.callback_executor,
    );
    let closed = driver.on_closed();
    let shared = driver.shared().clone();
    smol::spawn(driver.run()).detach();
    Ok(ClientConnection {
        shared,
        closed,
        reason: None,
        local_addr,
        peer_addr,
    })
}
