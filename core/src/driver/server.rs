//! Servers: [`Server::bind`] accepts connections on a task and drives each on a task of its
//! own, on any async [`Runtime`].

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::transport::{Origin, establish, first_of};
use super::{ConnectionSet, Driver, Options, Runtime, TcpListener, drain_gracefully};
use crate::call::{Completer, Completion, ContinuationExecutor, Inline, pair};
use crate::config::Config;
use crate::connection::Connection;
use crate::shared::{RequestHandler, SharedConnection};

/// After `accept` fails (out of file descriptors, say), wait this long before trying again
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// How long [`Server::shutdown`] waits, past its deadline, for closed connections' tasks to
/// shut their streams down.
const TASK_GRACE: Duration = Duration::from_secs(1);
/// How often [`Server::shutdown`] looks whether those tasks are done.
const EXIT_POLL: Duration = Duration::from_millis(5);

/// How the accept loop is told to stop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// [`Server::shutdown`]: stop accepting; the connections are drained by the caller.
    Graceful,
    /// The server was dropped: stop accepting and close every connection, including any
    /// accepted after the server looked.
    Abort,
}

/// A listening server on runtime `R`. Each accepted connection is driven on its own task,
/// with the server's [`RequestHandler`]. At most [`Options::max_connections`] at once:
/// connections past the bound are closed as soon as they are accepted.
///
/// Dropping the server stops it at once: the accept loop ends, which closes the listener, and
/// every connection is closed, which fails the calls pending on it.
/// [`shutdown`](Self::shutdown) is the graceful way.
#[derive(Debug)]
pub struct Server<R: Runtime> {
    runtime: Arc<R>,
    local_addr: SocketAddr,
    conns: Arc<ConnectionSet>,
    /// Tells the accept loop to stop (dropped: [`Stop::Abort`]).
    stop: Option<Completer<Stop>>,
    /// Resolves once the accept loop has ended: the listener is closed, and every connection
    /// it accepted is in `conns`.
    stopped: Completion<()>,
}

/// What every accepted connection is built from.
struct Setup {
    config: Config,
    handler: Arc<dyn RequestHandler>,
    executor: Arc<dyn ContinuationExecutor>,
    conns: Arc<ConnectionSet>,
}

impl<R: Runtime> Server<R> {
    /// Listens on the first of the addresses `addrs` resolves to that can be bound, and
    /// serves every accepted connection with `config` (use `Config::new(Side::Provider)`)
    /// and `handler`, on tasks of `runtime`.
    ///
    /// Adapters resolve names their runtime's way: `tether_tokio::Server::bind` and
    /// `tether_smol::Server::bind` call this.
    pub async fn bind<I>(
        runtime: Arc<R>,
        addrs: impl Future<Output = io::Result<I>>,
        config: Config,
        handler: Arc<dyn RequestHandler>,
        options: Options,
    ) -> io::Result<Self>
    where
        I: IntoIterator<Item = SocketAddr>,
    {
        let addrs: Vec<SocketAddr> = addrs.await?.into_iter().collect();
        let listener = first_of(addrs, |addr| runtime.bind(addr)).await?;
        let local_addr = listener.local_addr()?;
        let conns = Arc::new(ConnectionSet::bounded(options.max_connections));
        let setup = Setup {
            config,
            handler,
            executor: options.continuation_executor,
            conns: conns.clone(),
        };
        let (stop, stop_signal) = pair(|| Stop::Abort);
        let (done, stopped) = pair(|| ());
        runtime.spawn(accept_loop(
            runtime.clone(),
            listener,
            stop_signal,
            done,
            setup,
        ));
        Ok(Self {
            runtime,
            local_addr,
            conns,
            stop: Some(stop),
            stopped,
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

    /// Dubbo's graceful offline: withdraws `publication` from its registry, gives consumers
    /// `notify_wait` to hear of it (they stop sending new calls; calls they still send are
    /// served), then [`shutdown`](Self::shutdown)s by `deadline` (read-only event, drain,
    /// close). A registry that does not answer within `notify_wait` does not hold the
    /// shutdown up. Returns whether every request received was answered in time.
    pub async fn shutdown_offline(
        self,
        publication: &crate::registry::Publication,
        notify_wait: std::time::Duration,
        deadline: Instant,
    ) -> bool {
        let offline = publication.offline();
        let until = self.runtime.now() + notify_wait;
        self.runtime.sleep_until(until).await;
        drop(offline);
        self.shutdown(deadline).await
    }

    /// Shuts down gracefully (`docs/protocol.md` §4.2): stops accepting, announces read-only on
    /// every connection, keeps serving until every request received was answered and
    /// written and no request has arrived for 100 ms (a consumer may send one before it
    /// reads the announcement, which nothing acknowledges), or until `deadline`, then
    /// closes the connections. Returns whether everything was answered before the deadline.
    pub async fn shutdown(mut self, deadline: Instant) -> bool {
        if let Some(stop) = self.stop.take() {
            stop.complete(Stop::Graceful, &Inline);
        }
        (&mut self.stopped).await;
        let runtime = self.runtime.clone();
        let conns = self.conns.snapshot();
        let drained = drain_gracefully(&*runtime, &conns, deadline).await;
        // The drivers leave the set once they shut their streams down.
        let grace = deadline.max(runtime.now()) + TASK_GRACE;
        while !self.conns.is_empty() {
            let now = runtime.now();
            if now >= grace {
                break;
            }
            runtime.sleep_until(grace.min(now + EXIT_POLL)).await;
        }
        drained
    }
}

impl<R: Runtime> Drop for Server<R> {
    fn drop(&mut self) {
        // Dropping the signal tells the accept loop to abort; close what is open already, in
        // case that loop no longer runs.
        self.stop.take();
        for conn in self.conns.snapshot() {
            conn.close();
        }
    }
}

async fn accept_loop<R: Runtime>(
    runtime: Arc<R>,
    listener: R::Listener,
    mut stop: Completion<Stop>,
    done: Completer<()>,
    setup: Setup,
) {
    let stop = loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            poll_fn(|cx| match Pin::new(&mut stop).poll(cx) {
                Poll::Ready(stop) => Poll::Ready(Err(stop)),
                Poll::Pending => accept.as_mut().poll(cx).map(Ok),
            })
            .await
        };
        match accepted {
            Err(stop) => break stop,
            // Over the limit: dropped, the peer sees the connection closed at once.
            Ok(Ok(_)) if !setup.conns.has_room() => {}
            Ok(Ok(tcp)) => {
                // Built and registered before the next accept, so a shutdown that stopped
                // this loop sees every connection. A connection that cannot be set up is
                // dropped (closed).
                if let Ok(served) = serve(&runtime, tcp, &setup).await {
                    runtime.spawn(served);
                }
            }
            Ok(Err(_)) => {
                runtime.sleep_until(runtime.now() + ACCEPT_BACKOFF).await;
            }
        }
    };
    drop(listener);
    if stop == Stop::Abort {
        for conn in setup.conns.snapshot() {
            conn.close();
        }
    }
    done.complete((), &Inline);
}

/// Builds the driver of an accepted connection and registers it; the caller spawns the
/// returned future, which drives the connection and leaves the set when it ends.
async fn serve<R: Runtime>(
    runtime: &Arc<R>,
    tcp: R::Tcp,
    setup: &Setup,
) -> io::Result<impl Future<Output = ()> + Send + 'static> {
    let stream = establish::<R>(tcp, Origin::Accepted).await?;
    let conn = Connection::new(setup.config.clone(), runtime.now());
    let driver = Driver::new(
        stream,
        conn,
        runtime.clone(),
        setup.handler.clone(),
        setup.executor.clone(),
    );
    let membership = setup.conns.insert(driver.shared().clone());
    Ok(async move {
        let _membership = membership;
        driver.run().await;
    })
}
