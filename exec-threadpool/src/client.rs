//! Client connections: [`connect`].

use std::io;
use std::net::{TcpStream, ToSocketAddrs};

use tether_core::Config;

use crate::Options;
use crate::io::{Setup, spawn};

pub use tether_core::driver::ClientConnection;

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
    Ok(ClientConnection::new(shared, closed, local_addr, peer_addr))
}
