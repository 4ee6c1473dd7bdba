//! A server serves at most `Options::max_connections` connections at once, on every adapter:
//! those past the bound are closed as soon as they are accepted, and room frees up as
//! connections end.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::time::Duration;

use tether_core::driver::{Options, RejectRequests, ServerOptions};
use tether_tests::conformance::eventually;

const MAX: NonZeroUsize = NonZeroUsize::new(2).unwrap();

fn options() -> Options {
    Options::default().max_connections(MAX)
}

/// Connects until the server holds `MAX` connections, checks that one more is closed at
/// once, then that it takes a new one once one of its connections ended.
fn check(addr: SocketAddr, served: &dyn Fn() -> usize) {
    let mut open: Vec<TcpStream> = (0..MAX.get())
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    eventually("the server serves the first connections", || {
        served() == MAX.get()
    });
    let mut refused = TcpStream::connect(addr).unwrap();
    refused
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut byte = [0u8];
    assert_eq!(refused.read(&mut byte).unwrap(), 0, "closed at once");
    assert_eq!(served(), MAX.get());
    drop(open.pop());
    eventually("the ended connection leaves the set", || {
        served() < MAX.get()
    });
    open.push(TcpStream::connect(addr).unwrap());
    eventually("a new connection is served", || served() == MAX.get());
}

#[test]
fn tokio() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(tether_tokio::Server::bind_with(
            "127.0.0.1:0",
            RejectRequests,
            ServerOptions::new().adapter_options(options()),
        ))
        .unwrap();
    check(server.local_addr(), &|| server.connections().len());
}

#[test]
fn smol() {
    let server = smol::block_on(tether_smol::Server::bind_with(
        "127.0.0.1:0",
        RejectRequests,
        ServerOptions::new().adapter_options(options()),
    ))
    .unwrap();
    check(server.local_addr(), &|| server.connections().len());
}

#[test]
fn threadpool() {
    let server = tether_threadpool::Server::bind_with(
        "127.0.0.1:0",
        RejectRequests,
        ServerOptions::new().adapter_options(options()),
    )
    .unwrap();
    check(server.local_addr(), &|| server.connections().len());
}
