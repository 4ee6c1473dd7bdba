//! Client connections: [`connect`].

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

use tether_core::consumer::CallbackDispatcher;
use tether_core::provider::Dispatch;
use tether_core::{BoxFuture, Config, RequestHandler, Spawner};
use tether_pool::WorkerPool;

use crate::Options;
use crate::io::{Setup, spawn};

pub use tether_core::driver::ClientConnection;

/// Opens a TCP connection to `addr` (each resolved address in turn, each within
/// `options.connect_timeout`), with `TCP_NODELAY`, and starts its reader and writer
/// threads with `config`. Blocks the caller while connecting.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use std::sync::Arc;
/// # use tether_threadpool::prelude::*;
/// # let workers = WorkerPool::new(std::num::NonZeroUsize::MIN, std::num::NonZeroUsize::MIN)?;
/// # let provider = Provider::new(Dispatch::Direct, Arc::new(workers))
/// #     .export(Service::new("demo.Echo").method("echo", |_, (s,): (String,)| Ok(s)));
/// use tether_threadpool::tether_core::{Config, Side};
/// use tether_threadpool::{Options, connect};
///
/// let server = Server::bind("127.0.0.1:0", provider)?;
/// let client = connect(server.local_addr(), Config::new(Side::Consumer), Options::default())?;
/// assert_eq!(client.peer_addr(), server.local_addr());
/// # Ok(()) }
/// ```
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
    let handler: Arc<dyn RequestHandler> = if options.is_default_request_handler() {
        // The callbacks this consumer exports are served with no wiring by the user:
        // handlers on the reader thread, async ones on a worker started on first use.
        Arc::new(CallbackDispatcher::new(
            Dispatch::Direct,
            Arc::new(CallbackWorkers),
        ))
    } else {
        options.request_handler
    };
    let setup = Setup {
        config,
        handler,
        executor: options.continuation_executor,
    };
    let (shared, closed) = spawn(stream, &setup, None)?;
    Ok(ClientConnection::new(shared, closed, local_addr, peer_addr))
}

/// Runs async callback handlers of connections opened with default options: one shared
/// worker thread, started by the first such handler.
struct CallbackWorkers;

impl Spawner for CallbackWorkers {
    fn spawn(&self, future: BoxFuture) {
        const QUEUE: NonZeroUsize = NonZeroUsize::new(1024).unwrap();
        static WORKERS: OnceLock<Option<WorkerPool>> = OnceLock::new();
        let workers = WORKERS.get_or_init(|| WorkerPool::new(NonZeroUsize::MIN, QUEUE).ok());
        match workers {
            Some(workers) => workers.spawn(future),
            // No thread could be started: run it here, to its end, rather than drop it.
            None => futures::executor::block_on(future),
        }
    }
}
