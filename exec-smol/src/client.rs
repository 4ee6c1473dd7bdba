//! Client connections: [`connect`].

use std::io;
use std::sync::Arc;

use smol::Timer;
use smol::future::FutureExt;
use smol::net::{AsyncToSocketAddrs, TcpStream};
use tether_core::driver::Driver;
use tether_core::{Clock, Config, Connection};

use crate::Options;
use crate::runtime::SmolRuntime;

pub use tether_core::driver::ClientConnection;

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
    Ok(ClientConnection::new(shared, closed, local_addr, peer_addr))
}
