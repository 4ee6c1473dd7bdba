//! Servers: [`Server::bind`] accepts connections and drives each on a task of its own.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_core::driver::{ConnectionSet, Driver, drain_gracefully};
use tether_core::{CallbackExecutor, Clock, Config, Connection, RequestHandler, SharedConnection};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::Options;
use crate::runtime::{TokioIo, TokioRuntime};

/// After `accept` fails (out of file descriptors, say), wait this long before trying again
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// How long [`Server::shutdown`] waits, past its deadline, for closed connections' tasks to
/// shut their sockets down before aborting them.
const TASK_GRACE: Duration = Duration::from_secs(1);

/// A listening server. Each accepted connection is driven on its own task, with the
/// server's [`RequestHandler`].
/// At most [`Options::max_connections`] at once: connections past the bound are closed as
/// soon as they are accepted.
///
/// Dropping the server stops it at once: the listener closes and every connection's task is
/// aborted, which fails the calls pending on it. [`shutdown`](Self::shutdown) is the
/// graceful way.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    conns: Arc<ConnectionSet>,
    /// Tells the accept loop to stop; it acknowledges once the listener is closed.
    stop: Option<oneshot::Sender<oneshot::Sender<()>>>,
    accept: JoinHandle<()>,
}

/// What every accepted connection is built from.
struct Setup {
    config: Config,
    handler: Arc<dyn RequestHandler>,
    executor: Arc<dyn CallbackExecutor>,
    conns: Arc<ConnectionSet>,
}

impl Server {
    /// Listens on `addr` and serves every accepted connection with `config` (use
    /// `Config::new(Side::Provider)`) and `handler`, on the current tokio runtime.
    pub async fn bind(
        addr: impl ToSocketAddrs,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        options: Options,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let conns = Arc::new(ConnectionSet::bounded(options.max_connections));
        let setup = Setup {
            config,
            handler,
            executor: options.callback_executor,
            conns: conns.clone(),
        };
        let (stop, stopped) = oneshot::channel();
        let accept = tokio::spawn(accept_loop(listener, stopped, setup));
        Ok(Self {
            local_addr,
            conns,
            stop: Some(stop),
            accept,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connections now open.
    pub fn connections(&self) -> Vec<SharedConnection> {
        self.conns.snapshot()
    }

    /// Shuts down gracefully (`PROTOCOL.md` §4.2): stops accepting, announces read-only on
    /// every connection, waits until every request received was answered and written or
    /// until `deadline`, then closes the connections. Returns whether everything was
    /// answered before the deadline.
    pub async fn shutdown(mut self, deadline: Instant) -> bool {
        if let Some(stop) = self.stop.take() {
            let (ack, acked) = oneshot::channel();
            if stop.send(ack).is_ok() {
                // Once acknowledged, every accepted connection is in `conns`.
                let _ = acked.await;
            }
        }
        let conns = self.conns.snapshot();
        let drained = drain_gracefully(&TokioRuntime, &conns, deadline).await;
        let grace = tokio::time::Instant::from_std(deadline.max(TokioRuntime.now())) + TASK_GRACE;
        let _ = tokio::time::timeout_at(grace, &mut self.accept).await;
        drained
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Dropping the accept task drops its `JoinSet`, which aborts every connection task.
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    mut stop: oneshot::Receiver<oneshot::Sender<()>>,
    setup: Setup,
) {
    let mut tasks = JoinSet::new();
    let ack = loop {
        tokio::select! {
            ack = &mut stop => break ack.ok(),
            accepted = listener.accept() => match accepted {
                // Over the limit: dropped, the peer sees the connection closed at once.
                Ok(_) if !setup.conns.has_room() => {}
                Ok((stream, _)) => {
                    tasks.spawn(serve(stream, &setup));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    };
    drop(listener);
    if let Some(ack) = ack {
        let _ = ack.send(());
    }
    while tasks.join_next().await.is_some() {}
}

/// Builds the driver of an accepted connection and registers it, before the caller spawns
/// the returned future (so a shutdown that stopped the accept loop sees every connection).
fn serve(stream: TcpStream, setup: &Setup) -> impl Future<Output = ()> + Send + 'static {
    // Latency over coalescing: the driver already batches frames into one write.
    let _ = stream.set_nodelay(true);
    let runtime = Arc::new(TokioRuntime);
    let conn = Connection::new(setup.config.clone(), runtime.now());
    let driver = Driver::new(
        TokioIo(stream),
        conn,
        runtime,
        setup.handler.clone(),
        setup.executor.clone(),
    );
    let membership = setup.conns.insert(driver.shared().clone());
    async move {
        let _membership = membership;
        driver.run().await;
    }
}
