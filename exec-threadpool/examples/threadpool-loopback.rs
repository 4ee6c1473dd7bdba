//! End-to-end throughput over loopback: one connection, 64-byte echo calls, `N` calls in
//! flight, provider and consumer in this process on the thread-pool adapter.
//!
//! ```text
//! cargo run --release -p tether-threadpool --example threadpool-loopback -- [--threads] [SECONDS] [IN_FLIGHT...]
//! ```
//! By default each completion's continuation starts the next call (on the consumer's reader
//! thread), so any level costs no extra threads; `--threads` runs `N` caller threads that
//! each block in `wait()`, as sync callers do. Defaults: 3 seconds per level, levels 1, 32
//! and 256. Count syscalls with `strace -c -f -e trace=read,write,futex <binary> 3 256`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tether_core::{
    CallOptions, Config, InboundRequest, Keepalive, RequestHandler, SharedConnection, Side, Status,
};
use tether_threadpool::{Options, Server, ServerOptions, connect};

/// Echoes on the provider connection's reader thread.
struct Echo;

impl RequestHandler for Echo {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        if request.two_way {
            let _ = conn.respond(request.id, Status::OK, request.serialization, request.body);
        }
    }
}

const BODY: [u8; 64] = [7; 64];

/// Starts a call whose continuation starts the next one, while `running`.
fn chain(conn: SharedConnection, done: Arc<AtomicU64>, running: Arc<AtomicBool>) {
    let call = conn
        .start_call(CallOptions::new(Duration::from_secs(10)), &BODY[..])
        .expect("capacity");
    call.response.on_complete(move |result| {
        result.expect("echo");
        done.fetch_add(1, Ordering::Relaxed);
        if running.load(Ordering::Relaxed) {
            chain(conn, done, running);
        }
    });
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let threads = args.iter().any(|a| a == "--threads");
    args.retain(|a| a != "--threads");
    let secs: f64 = args.first().map_or(3.0, |s| s.parse().expect("seconds"));
    let mut levels: Vec<usize> = args
        .iter()
        .skip(1)
        .map(|s| s.parse().expect("in-flight count"))
        .collect();
    if levels.is_empty() {
        levels = vec![1, 32, 256];
    }
    let mut config = Config::new(Side::Provider);
    config = config.keepalive(Keepalive::disabled());
    let server =
        Server::bind_with("127.0.0.1:0", Echo, ServerOptions::new().config(config)).expect("bind");
    let mut config = Config::new(Side::Consumer);
    config = config.keepalive(Keepalive::disabled());
    let client = connect(server.local_addr(), config, Options::default()).expect("connect");
    let conn = client.shared().clone();
    println!(
        "callers: {}",
        if threads {
            "a blocked thread per call in flight"
        } else {
            "continuations"
        }
    );
    for in_flight in levels {
        let done = Arc::new(AtomicU64::new(0));
        let running = Arc::new(AtomicBool::new(true));
        let mut callers = Vec::new();
        for _ in 0..in_flight {
            let (conn, done, running) = (conn.clone(), done.clone(), running.clone());
            if threads {
                callers.push(thread::spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        let call = conn
                            .start_call(CallOptions::new(Duration::from_secs(10)), &BODY[..])
                            .expect("capacity");
                        call.response.wait().expect("echo");
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            } else {
                chain(conn, done, running);
            }
        }
        thread::sleep(Duration::from_millis(300));
        let (start, before) = (Instant::now(), done.load(Ordering::Relaxed));
        thread::sleep(Duration::from_secs_f64(secs));
        let calls = done.load(Ordering::Relaxed) - before;
        let elapsed = start.elapsed().as_secs_f64();
        running.store(false, Ordering::Relaxed);
        for caller in callers {
            caller.join().expect("caller");
        }
        // Let the continuation chains run out.
        while conn.with(|c, _| c.in_flight()) > 0 {
            thread::sleep(Duration::from_millis(10));
        }
        println!(
            "in flight {in_flight:>4}: {:>10.0} calls/s ({calls} calls in {elapsed:.2} s)",
            calls as f64 / elapsed,
        );
    }
    conn.close();
}
