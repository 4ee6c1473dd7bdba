//! Client connections: [`connect`], and the handle every adapter's `connect` returns,
//! [`ClientConnection`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use super::transport::{Origin, establish, first_of, within};
use super::{Driver, Options, Runtime, TcpStream};
use crate::call::{Completion, Inline, pair};
use crate::config::Config;
use crate::connection::Connection;
use crate::consumer::CallbackDispatcher;
use crate::error::ConnectionError;
use crate::provider::Dispatch;
use crate::shared::SharedConnection;

/// Opens a TCP connection to the first of the addresses `addrs` resolves to that accepts
/// one, trying each in turn, all within `options.connect_timeout` (resolving included), and
/// starts driving it with `config` on a task of `runtime`.
///
/// Adapters resolve names their runtime's way: `tether_tokio::connect` and
/// `tether_smol::connect` call this.
pub async fn connect<R, I>(
    runtime: Arc<R>,
    addrs: impl Future<Output = io::Result<I>>,
    config: Config,
    options: Options,
) -> io::Result<ClientConnection>
where
    R: Runtime,
    I: IntoIterator<Item = SocketAddr>,
{
    let opened = async {
        let addrs: Vec<SocketAddr> = addrs.await?.into_iter().collect();
        first_of(addrs, |addr| runtime.connect(addr)).await
    };
    let tcp = within(&*runtime, options.connect_timeout, "connect", opened).await?;
    let local_addr = tcp.local_addr()?;
    let peer_addr = tcp.peer_addr()?;
    let stream = establish::<R>(tcp, Origin::Connected).await?;
    let conn = Connection::new(config, runtime.now());
    let handler = if options.is_default_request_handler() {
        // The callbacks this consumer exports are served with no wiring by the user.
        let spawner = Arc::new(super::reconnect::OnRuntime(runtime.clone()));
        Arc::new(CallbackDispatcher::new(Dispatch::Direct, spawner))
    } else {
        options.request_handler
    };
    let mut driver = Driver::new(
        stream,
        conn,
        runtime.clone(),
        handler,
        options.continuation_executor,
    );
    let closed = driver.on_closed();
    let shared = driver.shared().clone();
    runtime.spawn(async move {
        driver.run().await;
    });
    Ok(ClientConnection::new(shared, closed, local_addr, peer_addr))
}

/// How a connection ends: not known yet, or waited for.
#[derive(Debug)]
enum End {
    Pending(Completion<ConnectionError>),
    Known(ConnectionError),
}

/// An open client connection: the [`SharedConnection`] to issue calls on, and a way to learn
/// when and why it ended. Its IO loop runs until the connection ends (closed by either side,
/// idle timeout, transport failure); dropping this handle does not close it — call
/// [`SharedConnection::close`].
#[derive(Debug)]
pub struct ClientConnection {
    shared: SharedConnection,
    end: End,
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
            end: End::Pending(closed),
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
    /// Cancelled (the future dropped), it can be awaited again.
    pub async fn closed(&mut self) -> ConnectionError {
        let reason = match &mut self.end {
            // Polled in place: a dropped future leaves the completion to the next wait.
            End::Pending(closed) => closed.await,
            End::Known(reason) => return *reason,
        };
        self.end = End::Known(reason);
        reason
    }

    /// Blocks until the connection has ended and its socket was shut down; returns why.
    pub fn wait_closed(&mut self) -> ConnectionError {
        let reason = match std::mem::replace(&mut self.end, End::Known(ConnectionError::Dropped)) {
            End::Pending(closed) => closed.wait(),
            End::Known(reason) => reason,
        };
        self.end = End::Known(reason);
        reason
    }

    /// The connection and the completion of its end (awaitable, waitable, or continued with
    /// `on_complete`: a reconnect hook).
    pub fn into_parts(self) -> (SharedConnection, Completion<ConnectionError>) {
        let closed = match self.end {
            End::Pending(closed) => closed,
            End::Known(reason) => {
                let (completer, completion) = pair(|| ConnectionError::Dropped);
                completer.complete(reason, &Inline);
                completion
            }
        };
        (self.shared, closed)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests read the clock
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use futures::FutureExt;

    use super::*;
    use crate::{Clock, Config, Connection, Side};

    struct SystemClock;
    impl Clock for SystemClock {
        fn now(&self) -> Instant {
            Instant::now()
        }
    }

    #[test]
    fn a_cancelled_wait_for_the_end_loses_nothing() {
        let conn = Connection::new(Config::new(Side::Consumer), Instant::now());
        let shared = SharedConnection::new(conn, Arc::new(SystemClock), || {});
        let (completer, closed) = pair(|| ConnectionError::Dropped);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut client = ClientConnection::new(shared, closed, addr, addr);
        // Polled once while the connection runs, then dropped.
        assert_eq!(client.closed().now_or_never(), None);
        completer.complete(
            ConnectionError::IdleTimeout {
                idle: std::time::Duration::from_secs(3),
            },
            &Inline,
        );
        let reason = client.wait_closed();
        assert!(
            matches!(reason, ConnectionError::IdleTimeout { .. }),
            "{reason:?}"
        );
        assert_eq!(client.closed().now_or_never(), Some(reason));
    }
}
