//! Serves the interop demo-service contract, for `py_consumer.py` or any consumer.
//!
//! `cargo run --release --example interop-provider -- [--executor tokio|smol|threadpool]
//! [--port PORT]` (PORT 0, the default, picks a free port; the executor defaults to tokio)
//! prints `listening on 127.0.0.1:PORT` once ready and serves until killed.

use std::io::Write;
use std::sync::Arc;

use tether_core::provider::{Dispatch, Provider};
use tether_core::{Config, Side};
use tether_tests::demo::demo_service;
use tether_tests::exec::{self, Opts};

const USAGE: &str = "usage: interop-provider [--executor tokio|smol|threadpool] [--port PORT]";

fn main() -> std::io::Result<()> {
    let (exec, args) = exec::from_args().map_err(std::io::Error::other)?;
    let port: u16 = match args.as_slice() {
        [] => 0,
        [flag, port] if flag == "--port" => port
            .parse()
            .map_err(|e| std::io::Error::other(format!("bad port {port:?}: {e}")))?,
        _ => return Err(std::io::Error::other(USAGE)),
    };
    let spawner = exec.spawner();
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner).export(demo_service());
    let server = exec.bind(
        &format!("127.0.0.1:{port}"),
        Config::new(Side::Provider),
        Arc::new(provider),
        Opts::default(),
    )?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    // The adapter's threads serve; this one only keeps the server alive.
    loop {
        std::thread::park();
    }
}
