//! Serves the interop demo-service contract on tokio, for `py_consumer.py` or any consumer.
//!
//! `cargo run --release --example interop-provider -- --port PORT` (PORT 0 picks a free port)
//! prints `listening on 127.0.0.1:PORT` once ready and serves until killed.

use std::io::Write;
use std::sync::Arc;

use tether_core::provider::{Dispatch, Provider};
use tether_core::{Config, Side};
use tether_tests::demo::demo_service;
use tether_tokio::{Options, Server, TokioSpawner};

fn port_from_args() -> Result<u16, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(0),
        [flag, port] if flag == "--port" => {
            port.parse().map_err(|e| format!("bad port {port:?}: {e}"))
        }
        _ => Err("usage: interop-provider [--port PORT]".to_owned()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = port_from_args().map_err(std::io::Error::other)?;
    let spawner = Arc::new(TokioSpawner::current());
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner).export(demo_service());
    let server = Server::bind(
        ("127.0.0.1", port),
        Config::new(Side::Provider),
        Arc::new(provider),
        Options::default(),
    )
    .await?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
