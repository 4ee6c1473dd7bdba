//! End-to-end throughput over loopback: one connection, 64-byte echo calls, a closed loop of
//! `N` calls in flight (N tasks, each awaiting its call before starting the next).
//!
//! ```text
//! cargo run --release -p tether-tokio --example loopback -- [--rt two|one|multi] [--spawn] [SECONDS] [IN_FLIGHT...]
//! ```
//! Defaults: `two` (a single-threaded runtime per side, each on its own thread), 3 seconds
//! per level, levels 1, 32 and 256. `one` puts both sides on one single-threaded runtime
//! (CPU cost per call, no cross-thread wake-ups); `multi` on one 2-worker runtime. `--spawn`
//! answers each request from a task of its own instead of on the provider's IO task. Count syscalls with
//! `strace -c -f -e trace=read,write,recvfrom,sendto,epoll_wait <binary> 3 256`.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tether_core::{
    CallOptions, Config, InboundRequest, Keepalive, RequestHandler, SharedConnection, Side, Status,
};
use tether_tokio::{Options, Server, ServerOptions, connect};

/// Echoes on the IO task, or (`spawn`) from a task spawned per request, as a provider that
/// dispatches to async handlers would.
struct Echo {
    spawn: bool,
}

impl RequestHandler for Echo {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        if !request.two_way {
            return;
        }
        if self.spawn {
            let conn = conn.clone();
            tokio::spawn(async move {
                let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
            });
        } else {
            let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
        }
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn bind(spawn: bool) -> Server {
    let mut config = Config::new(Side::Provider);
    config = config.keepalive(Keepalive::disabled());
    Server::bind_with(
        "127.0.0.1:0",
        Echo { spawn },
        ServerOptions::new().config(config),
    )
    .await
    .expect("bind")
}

/// Runs the closed loop at each level of calls in flight and prints calls/s.
async fn measure(addr: SocketAddr, secs: f64, levels: Vec<usize>) {
    let mut config = Config::new(Side::Consumer);
    config = config.keepalive(Keepalive::disabled());
    let client = connect(addr, config, Options::default())
        .await
        .expect("connect");
    let conn = client.shared().clone();
    for in_flight in levels {
        let done = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(true));
        let tasks: Vec<_> = (0..in_flight)
            .map(|_| {
                let (conn, done, running) = (conn.clone(), done.clone(), running.clone());
                tokio::spawn(async move {
                    let body = [7u8; 64];
                    while running.load(Ordering::Relaxed) {
                        let call = conn
                            .start_call(CallOptions::new(Duration::from_secs(10)), &body[..])
                            .expect("capacity");
                        call.response.await.expect("echo");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        // Warm up, then measure.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (start, before) = (Instant::now(), done.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let calls = done.load(Ordering::Relaxed) - before;
        let elapsed = start.elapsed().as_secs_f64();
        running.store(false, Ordering::Relaxed);
        for task in tasks {
            task.await.expect("caller task");
        }
        println!(
            "in flight {in_flight:>4}: {:>10.0} calls/s ({calls} calls in {elapsed:.2} s)",
            calls as f64 / elapsed,
        );
    }
    conn.close();
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let spawn = args.iter().any(|a| a == "--spawn");
    args.retain(|a| a != "--spawn");
    let mode = match args.first().map(String::as_str) {
        Some("--rt") => {
            args.remove(0);
            args.remove(0)
        }
        _ => "two".to_owned(),
    };
    let secs: f64 = args.first().map_or(3.0, |s| s.parse().expect("seconds"));
    let mut levels: Vec<usize> = args
        .iter()
        .skip(1)
        .map(|s| s.parse().expect("in-flight count"))
        .collect();
    if levels.is_empty() {
        levels = vec![1, 32, 256];
    }
    println!(
        "runtime: {mode}, provider handler: {}",
        if spawn {
            "a task per request"
        } else {
            "inline"
        }
    );
    match mode.as_str() {
        // Provider and consumer on one single-threaded runtime: the per-call CPU cost.
        "one" => current_thread().block_on(async move {
            let server = bind(spawn).await;
            measure(server.local_addr(), secs, levels).await;
        }),
        // Both on one 2-worker runtime.
        "multi" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(async move {
                let server = bind(spawn).await;
                let addr = server.local_addr();
                tokio::spawn(measure(addr, secs, levels))
                    .await
                    .expect("measure");
            }),
        // A single-threaded runtime each, on two threads: like two processes.
        _ => {
            let (addr_tx, addr_rx) = std::sync::mpsc::channel();
            let stop = Arc::new(AtomicBool::new(false));
            let server_stop = stop.clone();
            let server = std::thread::spawn(move || {
                current_thread().block_on(async move {
                    let server = bind(spawn).await;
                    addr_tx.send(server.local_addr()).expect("main waits");
                    while !server_stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
            });
            let addr = addr_rx.recv().expect("server address");
            current_thread().block_on(measure(addr, secs, levels));
            stop.store(true, Ordering::Relaxed);
            server.join().expect("server thread");
        }
    }
}
