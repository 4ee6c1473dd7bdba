//! smol as a [`Runtime`]: its clock, timers, yield, tasks and TCP sockets.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use smol::io::{AsyncRead, AsyncWrite};
use smol::net::{TcpListener, TcpStream};
use smol::{Executor, Timer};
use tether_core::driver::{self, Runtime, Timers};
use tether_core::{BoxFuture, Clock, Spawner};

/// smol's clock (the system's), async-io timers, `yield_now`, tasks (on smol's global
/// executor: `smol::spawn`) and sockets.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

impl Clock for SmolRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Timers for SmolRuntime {
    type Sleep = Timer;

    fn sleep_until(&self, deadline: Instant) -> Timer {
        Timer::at(deadline)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send {
        // Wakes itself and returns `Pending` once: the executor runs the other ready tasks
        // (queued before this one) first.
        smol::future::yield_now()
    }
}

impl Runtime for SmolRuntime {
    type Tcp = SmolStream;
    type Listener = SmolListener;

    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        smol::spawn(future).detach();
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<SmolStream> {
        TcpStream::connect(addr).await.map(SmolStream)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<SmolListener> {
        TcpListener::bind(addr).await.map(SmolListener)
    }
}

/// Spawns futures, detached, onto smol's global executor or an [`Executor`] of your own.
#[derive(Clone, Debug, Default)]
pub struct SmolSpawner(Option<Arc<Executor<'static>>>);

impl SmolSpawner {
    /// Spawns onto smol's global executor (`smol::spawn`), where this crate runs its
    /// connections: its threads, one unless `SMOL_THREADS` says otherwise, start on first
    /// use.
    pub fn global() -> Self {
        Self(None)
    }

    /// Spawns onto `executor`; something must run it (`Executor::run`).
    pub fn new(executor: Arc<Executor<'static>>) -> Self {
        Self(Some(executor))
    }
}

impl Spawner for SmolSpawner {
    fn spawn(&self, future: BoxFuture) {
        match &self.0 {
            Some(executor) => executor.spawn(future).detach(),
            None => smol::spawn(future).detach(),
        }
    }
}

/// A smol [`TcpStream`], as the core driver takes it.
#[derive(Debug)]
pub struct SmolStream(pub TcpStream);

impl AsyncRead for SmolStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SmolStream {
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
        Pin::new(&mut self.0).poll_close(cx)
    }
}

impl driver::TcpStream for SmolStream {
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

/// A smol [`TcpListener`], as the core's server takes it.
#[derive(Debug)]
pub struct SmolListener(pub TcpListener);

impl driver::TcpListener for SmolListener {
    type Stream = SmolStream;

    async fn accept(&self) -> io::Result<SmolStream> {
        self.0.accept().await.map(|(stream, _)| SmolStream(stream))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
