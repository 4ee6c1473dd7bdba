//! tokio as a [`Runtime`]: its clock, timers, yield, tasks and TCP sockets.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use tether_core::driver::{self, Runtime, Timers};
use tether_core::{BoxFuture, Clock, Spawner};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;

/// tokio's clock (paused time in tests included), timers, `yield_now`, tasks (on the current
/// runtime: `tokio::spawn`) and sockets.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

impl Clock for TokioRuntime {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl Timers for TokioRuntime {
    type Sleep = tokio::time::Sleep;

    fn sleep_until(&self, deadline: Instant) -> tokio::time::Sleep {
        tokio::time::sleep_until(deadline.into())
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send {
        // tokio defers the wake-up until other ready tasks ran and the IO driver was polled.
        tokio::task::yield_now()
    }
}

impl Runtime for TokioRuntime {
    type Tcp = TokioIo;
    type Listener = TokioListener;

    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(future);
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<TokioIo> {
        TcpStream::connect(addr).await.map(TokioIo)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<TokioListener> {
        TcpListener::bind(addr).await.map(TokioListener)
    }
}

/// Spawns onto a tokio runtime from any thread (it holds the runtime's handle).
#[derive(Clone, Debug)]
pub struct TokioSpawner(Handle);

impl TokioSpawner {
    /// Spawns onto `handle`'s runtime.
    pub fn new(handle: Handle) -> Self {
        Self(handle)
    }

    /// Spawns onto the runtime this is called in. Panics outside a tokio runtime.
    pub fn current() -> Self {
        Self(Handle::current())
    }
}

impl Spawner for TokioSpawner {
    fn spawn(&self, future: BoxFuture) {
        self.0.spawn(future);
    }
}

/// A tokio [`TcpStream`] seen through `futures-io`'s traits, which the core driver takes.
#[derive(Debug)]
pub struct TokioIo(pub TcpStream);

impl futures_io::AsyncRead for TokioIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl futures_io::AsyncWrite for TokioIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl driver::TcpStream for TokioIo {
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.0.set_nodelay(nodelay)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

/// A tokio [`TcpListener`], as the core's server takes it.
#[derive(Debug)]
pub struct TokioListener(pub TcpListener);

impl driver::TcpListener for TokioListener {
    type Stream = TokioIo;

    async fn accept(&self) -> io::Result<TokioIo> {
        self.0.accept().await.map(|(stream, _)| TokioIo(stream))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
