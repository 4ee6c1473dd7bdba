//! Client connections: [`connect`].

use std::io;
use std::sync::Arc;

use tether_core::driver::Driver;
use tether_core::{Clock, Config, Connection};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::Options;
use crate::runtime::{TokioIo, TokioRuntime};

pub use tether_core::driver::ClientConnection;

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
    Ok(ClientConnection::new(shared, closed, local_addr, peer_addr))
}
