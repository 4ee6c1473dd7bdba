//! The transport seam of the async adapters: the socket types a [`Runtime`] supplies
//! ([`TcpStream`], [`TcpListener`]), and [`Transport`], the one place where a connected or
//! accepted TCP stream becomes the stream a [`Driver`](super::Driver) runs over.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::{Runtime, Timers};

/// A runtime's TCP stream, seen through `futures-io`.
pub trait TcpStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Sets `TCP_NODELAY`.
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()>;
    /// This end's address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// The peer's address.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
}

/// A runtime's listening TCP socket.
pub trait TcpListener: Send + Sync + 'static {
    /// The streams it accepts.
    type Stream: TcpStream;

    /// The next connection. Cancel-safe: dropping the future before it resolves loses no
    /// connection (tokio's and async-io's `accept` both are).
    fn accept(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_;

    /// The address it listens on.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// The stream a connection's [`Driver`](super::Driver) reads and writes on runtime `R`: today
/// the runtime's TCP stream as it is.
///
/// # Where TLS goes
/// This is the one place both async adapters' streams pass through on their way from the
/// socket to the driver: [`connect`](super::connect) and the [`Server`](super::Server)'s accept
/// loop turn every TCP stream into a `Transport` with the crate-private `establish` below,
/// and nothing else in the driver, the reconnect loop or the adapters names the stream type.
/// TLS lands here, once for tokio and smol:
///
/// - this alias becomes a TLS stream over `R::Tcp`: a `futures-io` `AsyncRead + AsyncWrite`
///   that runs a rustls `ClientConnection` or `ServerConnection` (bytes in with `read_tls`,
///   `process_new_packets`, plaintext through `reader()` / `writer()`, bytes out with
///   `write_tls`), as `futures-rustls`' `TlsStream` does;
/// - `establish` runs the handshake, client or server side by the stream's origin, with a
///   rustls config carried in [`Options`](super::Options);
/// - the server's accept loop moves `establish` into each connection's task (it is awaited
///   inline today, where it cannot block), registering the connection as it is accepted,
///   so that a slow handshake does not hold up accepting and shutdown still sees it.
///
/// The driver needs no change: it already reads into its own buffer and writes whole
/// batches, which is what a TLS record layer wants. The thread-pool adapter cannot use this
/// seam (its sockets are blocking and split across threads); its own plan is in
/// `tether_threadpool`'s crate docs, "TLS".
pub type Transport<R> = <R as Runtime>::Tcp;

/// Which end of the TCP connection a stream is (a TLS handshake's client or server side).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Origin {
    /// Opened by [`connect`](super::connect).
    Connected,
    /// Accepted by a [`Server`](super::Server).
    Accepted,
}

/// Turns a TCP stream just connected or accepted into the stream its driver runs over (see
/// [`Transport`]): sets `TCP_NODELAY`, latency over coalescing, as the driver already batches
/// frames into one write. A client whose option cannot be set fails to connect; an accepted
/// connection is served without it.
pub(super) async fn establish<R: Runtime>(tcp: R::Tcp, origin: Origin) -> io::Result<Transport<R>> {
    let nodelay = tcp.set_nodelay(true);
    if origin == Origin::Connected {
        nodelay?;
    }
    Ok(tcp)
}

/// Tries `attempt` on each of `addrs` in turn; the first success, or the last error.
pub(super) async fn first_of<T, F>(
    addrs: Vec<SocketAddr>,
    mut attempt: impl FnMut(SocketAddr) -> F,
) -> io::Result<T>
where
    F: Future<Output = io::Result<T>>,
{
    let mut last_error = None;
    for addr in addrs {
        match attempt(addr).await {
            Ok(done) => return Ok(done),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// `future`'s output, or a `TimedOut` error naming `what` if `timeout` passes first.
pub(super) async fn within<T>(
    timers: &impl Timers,
    timeout: Duration,
    what: &str,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut future = pin!(future);
    let mut timer = pin!(timers.sleep_until(timers.now() + timeout));
    poll_fn(|cx| {
        if let Poll::Ready(done) = future.as_mut().poll(cx) {
            return Poll::Ready(done);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} timed out after {timeout:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the test timers read the clock
mod tests {
    use std::future::{Pending, Ready, pending, ready};
    use std::time::Instant;

    use futures::executor::block_on;

    use super::*;
    use crate::shared::Clock;

    /// Timers whose sleeps are all due at once (`Due`) or never (`Never`).
    struct Due;
    struct Never;

    impl Clock for Due {
        fn now(&self) -> Instant {
            Instant::now()
        }
    }
    impl Clock for Never {
        fn now(&self) -> Instant {
            Instant::now()
        }
    }

    impl Timers for Due {
        type Sleep = Ready<()>;
        fn sleep_until(&self, _: Instant) -> Ready<()> {
            ready(())
        }
        fn yield_now(&self) -> impl Future<Output = ()> + Send {
            ready(())
        }
    }

    impl Timers for Never {
        type Sleep = Pending<()>;
        fn sleep_until(&self, _: Instant) -> Pending<()> {
            pending()
        }
        fn yield_now(&self) -> impl Future<Output = ()> + Send {
            ready(())
        }
    }

    #[test]
    fn within_gives_the_output_or_times_out_naming_what() {
        let timeout = Duration::from_secs(3);
        let done = block_on(within(&Never, timeout, "connect", ready(Ok(7))));
        assert_eq!(done.unwrap(), 7);
        // A ready output wins over a timer due at the same time.
        let done = block_on(within(&Due, timeout, "connect", ready(Ok(7))));
        assert_eq!(done.unwrap(), 7);
        let err = block_on(within(
            &Due,
            timeout,
            "connect",
            pending::<io::Result<()>>(),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "connect timed out after 3s");
    }

    #[test]
    fn first_of_tries_each_address_in_turn() {
        let addrs: Vec<SocketAddr> =
            vec!["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()];
        let mut tried = Vec::new();
        let second = block_on(first_of(addrs.clone(), |addr| {
            tried.push(addr);
            ready(if addr.port() == 1 {
                Err(io::Error::from(io::ErrorKind::ConnectionRefused))
            } else {
                Ok(addr)
            })
        }));
        assert_eq!(second.unwrap(), addrs[1]);
        assert_eq!(tried, addrs);
        // The last error is the one reported.
        let err = block_on(first_of(addrs, |addr| {
            ready(Err::<(), _>(io::Error::other(format!(
                "port {}",
                addr.port()
            ))))
        }))
        .unwrap_err();
        assert_eq!(err.to_string(), "port 2");
        let err = block_on(first_of(Vec::new(), |_| ready(Ok(())))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
