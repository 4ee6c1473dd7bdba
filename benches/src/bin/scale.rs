//! Scale: the memory core spends per pending call, and a million calls in flight on one
//! connection.
//!
//! ```text
//! cargo run --release -p tether-benches --bin scale -- [--pending N] [--inflight N]
//! ```
//! - `--pending N` (default 1,000,000): starts N calls with an 8-byte body on a bare core
//!   `Connection` (no IO; the frames are taken and reported written so that only the pending
//!   state stays) and reports the resident-set growth per call, from `/proc/self/statm`.
//! - `--inflight N` (default 1,000,000): a tether-tokio provider echoing `byte[]` and a
//!   consumer on one connection that starts N `Method::call` calls before awaiting any;
//!   reports the time until all completed, errors (must be 0) and the peak RSS (`VmHWM`).
//!
//! `0` skips a part.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_benches::{rss_bytes, status_kib};
use tether_core::consumer::{Channels, Reference};
use tether_core::hessian2::Binary;
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{Call, CallOptions, Config, Connection, Keepalive, Side};

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n.max(1)).expect("positive")
}

/// RSS growth per pending call on a bare core connection.
fn pending_memory(n: usize) {
    let mut config = Config::new(Side::Consumer);
    config = config
        .keepalive(Keepalive::disabled())
        .max_in_flight(nz(n + 1))
        .send_buffer_high_water(nz(1 << 40));
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let mut calls: Vec<Call> = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(1 << 20);
    let body = [0u8; 8];
    let before = rss_bytes();
    for i in 0..n {
        let call = conn
            .start_call(now, CallOptions::new(Duration::from_secs(600)), &body[..])
            .unwrap_or_else(|e| panic!("start_call {i}: {:?}", e.kind));
        calls.push(call);
        if i % 4096 == 4095 {
            out.clear();
            let written = conn.poll_transmit(now, &mut out);
            conn.handle_written(now, written);
        }
    }
    out.clear();
    let written = conn.poll_transmit(now, &mut out);
    conn.handle_written(now, written);
    let after = rss_bytes();
    assert_eq!(conn.in_flight(), n);
    let handle = std::mem::size_of::<Call>();
    let per_call = (after - before) as f64 / n as f64;
    println!(
        "pending calls: {n}; RSS growth {:.1} MiB = {per_call:.0} B per call, of which \
         {handle} B is the caller's `Call` handle in a Vec: core {:.0} B per pending call",
        (after - before) as f64 / (1 << 20) as f64,
        per_call - handle as f64,
    );
    drop(calls);
    drop(conn);
}

/// A million calls in flight on one tether-tokio connection.
fn million(n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let service = Service::new("org.tether.bench.Echo").method("echo", |_, (b,): (Binary,)| Ok(b));
    let spawner = Arc::new(tether_tokio::TokioSpawner::new(rt.handle().clone()));
    let provider = Provider::new(Dispatch::Direct, spawner).export(service);
    let mut provider_config = Config::new(Side::Provider);
    provider_config = provider_config
        .max_inbound_in_flight(nz(n + 1))
        .send_buffer_high_water(nz(1 << 32));
    let server = rt
        .block_on(tether_tokio::Server::bind_with(
            "127.0.0.1:0",
            provider,
            tether_tokio::ServerOptions::new().config(provider_config),
        ))
        .expect("bind");
    let mut consumer_config = Config::new(Side::Consumer);
    consumer_config = consumer_config
        .max_in_flight(nz(n + 1))
        .send_buffer_high_water(nz(1 << 32));
    let client = rt
        .block_on(tether_tokio::connect(
            server.local_addr(),
            consumer_config,
            tether_tokio::Options::default(),
        ))
        .expect("connect");
    let (conn, _closed) = client.into_parts();
    let reference = Reference::builder("org.tether.bench.Echo")
        .timeout(Duration::from_secs(300))
        .build(Arc::new(Channels::single(conn.clone())));
    let echo = reference.method::<(Binary,), Binary>("echo");
    let rss_before = rss_bytes();
    let start = Instant::now();
    let calls: Vec<_> = (0..n)
        .map(|i| echo.call((Binary((i as u64).to_le_bytes().to_vec()),)))
        .collect();
    let started = start.elapsed();
    let (ok, errors) = rt.block_on(async move {
        let (mut ok, mut errors) = (0usize, 0usize);
        for (i, call) in calls.into_iter().enumerate() {
            match call.await {
                Ok(echoed) if echoed.0 == (i as u64).to_le_bytes() => ok += 1,
                Ok(_) => errors += 1,
                Err(e) => {
                    if errors == 0 {
                        eprintln!("call {i}: {e}");
                    }
                    errors += 1;
                }
            }
        }
        (ok, errors)
    });
    let elapsed = start.elapsed();
    println!(
        "{n} calls in flight on one tether-tokio connection: all started in {:.2} s, all \
         completed in {:.2} s ({:.0} calls/s); {ok} ok, {errors} errors; RSS before {:.0} MiB, \
         peak RSS (VmHWM, provider and consumer in this process) {:.0} MiB",
        started.as_secs_f64(),
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        rss_before as f64 / (1 << 20) as f64,
        status_kib("VmHWM") as f64 / 1024.0,
    );
    conn.close();
    drop(server);
    assert_eq!(errors, 0, "every call must succeed");
}

fn main() {
    let mut pending = 1_000_000;
    let mut inflight = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{flag} needs a count"))
        };
        match flag.as_str() {
            "--pending" => pending = value(),
            "--inflight" => inflight = value(),
            _ => {
                println!("usage: scale [--pending N] [--inflight N]   (0 skips a part)");
                return;
            }
        }
    }
    if pending > 0 {
        pending_memory(pending);
    }
    if inflight > 0 {
        million(inflight);
    }
}
