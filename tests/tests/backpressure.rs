//! A peer that does not read what it is owed must not grow our memory (`Config::
//! send_buffer_high_water`, `Config::send_buffer_limit`), on every adapter, over real
//! sockets, both ways.
//!
//! A consumer that does not read: a raw socket driven by a bare core `Connection` pipelines
//! [`REQUESTS`] requests, each asking for a [`REPLY`]-byte answer (256 MiB owed in all), and
//! reads nothing. The provider, in a process of its own so that its resident size is its
//! alone, must stay within [`GROWTH_BOUND`] of its size before the attack, and once the
//! consumer reads again every request must have exactly one answer: the value, or status 80
//! for those past the limit.
//!
//! A provider that does not read: see [`provider_that_does_not_read`].

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tether_core::call::Inline;
use tether_core::consumer::RpcError;
use tether_core::hessian2::Binary;
use tether_core::message::{
    Arguments, Attachments, DUBBO_VERSION, Reply, RequestBody, decode_reply,
};
use tether_core::{Call, CallOptions, Config, Connection, Event, Side, Status};
use tether_tests::conformance;
use tether_tests::demo::{SERVICE, VERSION};
use tether_tests::faults::{ChildPeer, Direction, Proxy};

/// Requests pipelined by the consumer that does not read.
const REQUESTS: usize = 256;
/// How long the provider takes to make each answer.
const DELAY_MS: i64 = 300;
/// The answer each asks for: a string of this many `x`s.
const REPLY: i32 = 1 << 20;
/// What the provider may grow by: the default send buffer limit (64 MiB), plus room for the
/// handlers' answers being built, the allocator and the runtime (32 MiB). Before the limit,
/// the same test grew the provider by about 260 MiB.
const GROWTH_BOUND: u64 = (64 + 32) << 20;

/// A request body of the demo service's `method` with `args` (and a 60 s `timeout`).
fn request<A: Arguments>(method: &str, args: &A) -> Vec<u8> {
    let mut attachments = Attachments::new();
    attachments.insert("path", SERVICE);
    attachments.insert("interface", SERVICE);
    attachments.insert("version", VERSION);
    attachments.insert("timeout", "60000");
    let body = RequestBody {
        dubbo_version: DUBBO_VERSION,
        path: SERVICE,
        version: Some(VERSION),
        method,
        parameter_types: &A::descriptor_string(),
        args,
        attachments: &attachments,
    };
    let mut out = Vec::new();
    body.encode(&mut out).expect("encodes");
    out
}

/// `bytesAfter(len, delay_ms)`: `len` bytes, `delay_ms` later.
fn bytes_request(len: i32, delay_ms: i64) -> Vec<u8> {
    request("bytesAfter", &(len, delay_ms))
}

/// Starts `n` calls with `body` on `conn` and writes them to `stream`.
fn send(conn: &mut Connection, stream: &mut TcpStream, n: usize, body: Vec<u8>) -> Vec<Call> {
    let now = Instant::now();
    let calls = (0..n)
        .map(|_| {
            conn.start_call(now, CallOptions::new(Duration::from_secs(60)), body.clone())
                .expect("room")
        })
        .collect();
    let mut out = Vec::new();
    conn.poll_transmit(now, &mut out);
    stream.write_all(&out).expect("write the requests");
    conn.handle_written(Instant::now(), out.len());
    calls
}

/// Reads from `stream` into `conn` until `n` calls completed.
fn read_answers(
    executor: &str,
    conn: &mut Connection,
    stream: &mut TcpStream,
    buf: &mut [u8],
    n: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = 0;
    while done < n {
        assert!(Instant::now() < deadline, "[{executor}] {done} answered");
        match stream.read(buf) {
            Ok(0) => panic!("[{executor}] the provider closed the connection"),
            Ok(read) => conn.handle_input(Instant::now(), &buf[..read]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("[{executor}] read: {e}"),
        }
        while let Some(event) = conn.poll_event() {
            if let Event::CallCompleted(delivery) = event {
                delivery.deliver(&Inline);
                done += 1;
            }
        }
    }
}

/// Pipelines [`REQUESTS`] requests for [`REPLY`]-byte answers on `conn`, reads nothing for
/// `pause` while sampling the provider's resident size, then reads every answer. Returns the
/// provider's growth over `baseline` and how many answers were the value (the others are
/// status 80, checked).
fn burst(
    executor: &str,
    conn: &mut Connection,
    stream: &mut TcpStream,
    pause: Duration,
    rss: &dyn Fn() -> u64,
) -> (u64, usize) {
    let baseline = rss();
    let mut calls = send(conn, stream, REQUESTS, bytes_request(REPLY, DELAY_MS));
    let mut peak = baseline;
    let watch_until = Instant::now() + pause;
    while Instant::now() < watch_until {
        peak = peak.max(rss());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut buf = vec![0; 1 << 16];
    read_answers(executor, conn, stream, &mut buf, REQUESTS);
    let mut values = 0;
    for call in &mut calls {
        let response = call
            .response
            .try_take()
            .expect("answered")
            .expect("a response");
        if response.status == Status::OK {
            // The value is 1 MiB of bytes: its length is enough.
            assert!(
                response.body.len() > REPLY as usize,
                "[{executor}] short answer"
            );
            values += 1;
        } else {
            match decode_reply::<()>(response.status, &response.body).expect("decodes") {
                Reply::Error { status, message } => {
                    assert_eq!(status, Status::SERVER_ERROR);
                    let message = message.unwrap_or_default();
                    assert!(message.contains("not yet read by the peer"), "{message}");
                }
                Reply::Ok(_) => unreachable!("not status 20"),
            }
        }
    }
    (peak.saturating_sub(baseline), values)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn consumer_that_does_not_read(executor: &str) {
    let peer = ChildPeer::spawn(env!("CARGO_BIN_EXE_fault-peer"), executor, None)
        .expect("the provider process starts");
    let rss = || peer.rss_bytes().expect("the provider's resident size");
    let mut stream = TcpStream::connect(peer.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut conn = Connection::new(Config::new(Side::Consumer), Instant::now());
    let mut buf = vec![0; 1 << 16];
    // One answered call first, so that the baseline is a provider that has served.
    let mut warm = send(&mut conn, &mut stream, 1, bytes_request(1, 0));
    read_answers(executor, &mut conn, &mut stream, &mut buf, 1);
    assert!(warm[0].response.try_take().expect("answered").is_ok());
    std::thread::sleep(Duration::from_millis(200));

    // The connection has only seen a tiny answer: all 256 requests run at once, and the
    // answers past the limit are refused.
    let pause = Duration::from_secs(3);
    let (growth, values) = burst(executor, &mut conn, &mut stream, pause, &rss);
    eprintln!(
        "[{executor}] consumer that does not read, first burst: {REQUESTS} x {} KiB owed, \
         provider grew by {:.1} MiB (bound {} MiB); once read, {values} answered with the \
         value, {} with status 80",
        REPLY >> 10,
        mib(growth),
        GROWTH_BOUND >> 20,
        REQUESTS - values,
    );
    assert!(
        growth <= GROWTH_BOUND,
        "[{executor}] the provider grew by {growth} bytes for a peer that does not read"
    );
    assert!(values > 0);

    // Now it expects 1 MiB answers: it runs about 16 at once and holds the rest until they
    // are read. Nothing is refused.
    let (growth, values) = burst(executor, &mut conn, &mut stream, pause, &rss);
    eprintln!(
        "[{executor}] consumer that does not read, second burst: provider grew by {:.1} MiB; \
         once read, {values} answered with the value",
        mib(growth),
    );
    assert!(growth <= GROWTH_BOUND);
    assert_eq!(values, REQUESTS, "[{executor}] answers refused");

    // A consumer that reads at full speed gets every answer.
    let (_, values) = burst(executor, &mut conn, &mut stream, Duration::ZERO, &rss);
    eprintln!("[{executor}] consumer that reads: {values} answered with the value");
    assert_eq!(values, REQUESTS, "[{executor}] answers refused");

    // The same on a new connection, which has not learned what answers cost yet: answers
    // made faster than the socket drains may meet the limit (reported, not asserted).
    let mut stream = TcpStream::connect(peer.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut conn = Connection::new(Config::new(Side::Consumer), Instant::now());
    let (_, values) = burst(executor, &mut conn, &mut stream, Duration::ZERO, &rss);
    eprintln!(
        "[{executor}] consumer that reads, new connection: {values} answered with the value, \
         {} with status 80",
        REQUESTS - values
    );
}

/// The other way: the provider stops reading (a proxy between them stops reading from the
/// consumer). The consumer's calls fill its send buffer to the high-water mark, then further
/// calls are refused at once with `LimitExceeded`: its memory holds at most the mark and one
/// call. Once the provider reads again, every accepted call completes with its echo.
fn provider_that_does_not_read(executor: &str) {
    const CALLS: usize = 64;
    const ARG: usize = 1 << 20;
    let exec = tether_tests::exec::by_name(executor).expect("an executor");
    let peer = ChildPeer::spawn(env!("CARGO_BIN_EXE_fault-peer"), executor, None)
        .expect("the provider process starts");
    let proxy = Proxy::start(peer.addr()).expect("the proxy starts");
    let (reference, conn, _closed) =
        conformance::single(&*exec, proxy.addr(), Config::new(Side::Consumer));
    let echo = reference
        .method::<(Option<Binary>,), Option<Binary>>("echoBytes")
        .timeout(Duration::from_secs(60));
    assert!(
        echo.call_blocking((Some(Binary(vec![1])),)).is_ok(),
        "a first call"
    );

    proxy.pause_reading(Direction::Upstream);
    let mut accepted = Vec::new();
    let mut refused = 0;
    let mut most_buffered = 0;
    for i in 0..CALLS {
        let call = echo.call((Some(Binary(vec![i as u8; ARG])),));
        // A refused call resolves at once; give an accepted one time to be written.
        match call.wait_timeout(Duration::from_millis(20)) {
            Ok(Err(RpcError::LimitExceeded(message))) => {
                assert!(message.contains("send buffer full"), "{message}");
                refused += 1;
            }
            Ok(other) => panic!("[{executor}] call {i} ended early: {other:?}"),
            Err(pending) => accepted.push((i, pending)),
        }
        most_buffered = most_buffered.max(conn.lock().unwritten_bytes());
    }
    let high_water = Config::DEFAULT_SEND_BUFFER_HIGH_WATER as u64;
    eprintln!(
        "[{executor}] provider that does not read: {} calls of 1 MiB accepted, {refused} \
         refused, at most {:.1} MiB buffered (high-water mark {} MiB)",
        accepted.len(),
        most_buffered as f64 / (1 << 20) as f64,
        high_water >> 20
    );
    assert!(refused > 0, "[{executor}] nothing pushed back");
    assert!(
        most_buffered <= high_water + 2 * ARG as u64,
        "[{executor}] {most_buffered} bytes buffered"
    );

    proxy.resume_reading(Direction::Upstream);
    for (i, call) in accepted {
        let echoed = call
            .wait_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("[{executor}] call {i} never ended"))
            .unwrap_or_else(|e| panic!("[{executor}] call {i}: {e}"));
        assert_eq!(echoed, Some(Binary(vec![i as u8; ARG])));
    }
}

/// Requests held while the answers owed fill the send buffer are released by writes, on the
/// thread pool adapter's writer thread: they must still run where directly dispatched
/// handlers run, on the connection's reader, in order.
#[test]
fn threadpool_held_requests_run_on_the_reader() {
    let exec = tether_tests::exec::ThreadPool::new();
    let mut config = Config::new(Side::Provider);
    config = config.send_buffer_high_water(std::num::NonZeroUsize::new(64 * 1024).unwrap());
    let fixture = conformance::provider_on(&exec, "127.0.0.1:0", true, config);
    let mut stream = TcpStream::connect(fixture.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut conn = Connection::new(Config::new(Side::Consumer), Instant::now());
    // Answers of 4 MiB (more than the socket buffers take), unread for a while: the
    // requests behind them are held.
    let mut big = send(&mut conn, &mut stream, 8, bytes_request(4 << 20, 0));
    let mut names = send(&mut conn, &mut stream, 20, request("threadName", &()));
    std::thread::sleep(Duration::from_millis(300));
    let held = fixture.server.connections()[0].lock().held_requests();
    assert!(held > 0, "nothing was held");
    let mut buf = vec![0; 1 << 16];
    read_answers("threadpool", &mut conn, &mut stream, &mut buf, 28);
    for call in &mut big {
        let response = call
            .response
            .try_take()
            .expect("answered")
            .expect("a response");
        assert_eq!(response.status, Status::OK);
    }
    for call in &mut names {
        let response = call
            .response
            .try_take()
            .expect("answered")
            .expect("a response");
        let name = match decode_reply::<String>(response.status, &response.body).expect("decodes") {
            Reply::Ok(reply) => match reply.result {
                tether_core::message::Returned::Value(name) => name,
                other => panic!("{other:?}"),
            },
            Reply::Error { status, message } => panic!("{status:?}: {message:?}"),
        };
        assert!(
            name.starts_with("tether-read"),
            "a held request ran on {name}"
        );
    }
    eprintln!("[threadpool] {held} held requests ran on the reader once released");
}

/// Both ends send large bodies at once: each end's send buffer goes over its mark, and each
/// must still read the other's answers, or both would wait for the other to read.
fn large_bodies_both_ways(executor: &str) {
    const THREADS: usize = 16;
    const CALLS: usize = 4;
    let exec = tether_tests::exec::by_name(executor).expect("an executor");
    let fixture =
        conformance::provider_on(&*exec, "127.0.0.1:0", false, Config::new(Side::Provider));
    let (reference, _conn, _closed) =
        conformance::single(&*exec, fixture.addr(), Config::new(Side::Consumer));
    let started = Instant::now();
    let (mut ok, mut refused) = (0, 0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let reference = &reference;
                scope.spawn(move || {
                    let echo = reference
                        .method::<(Option<Binary>,), Option<Binary>>("echoBytes")
                        .timeout(Duration::from_secs(20));
                    let (mut ok, mut refused) = (0, 0);
                    for i in 0..CALLS {
                        let body = vec![(t * CALLS + i) as u8; 4 << 20];
                        // A send buffer that never drains fails the test instead of hanging it.
                        let given_up = Instant::now() + Duration::from_secs(60);
                        loop {
                            assert!(
                                Instant::now() < given_up,
                                "[{executor}] refused for 60 s ({refused} refusals): the send buffer never drained"
                            );
                            match echo.call_blocking((Some(Binary(body.clone())),)) {
                                Ok(echoed) => {
                                    assert_eq!(echoed, Some(Binary(body)));
                                    ok += 1;
                                    break;
                                }
                                // The consumer's own send buffer is full: refused at once,
                                // tried again shortly.
                                Err(RpcError::LimitExceeded(_)) => {
                                    refused += 1;
                                    std::thread::sleep(Duration::from_millis(10));
                                }
                                // A stall shows as a timeout here.
                                Err(e) => panic!("[{executor}] call failed: {e}"),
                            }
                        }
                    }
                    (ok, refused)
                })
            })
            .collect();
        for worker in workers {
            let (o, r) = worker.join().expect("a worker");
            ok += o;
            refused += r;
        }
    });
    eprintln!(
        "[{executor}] 4 MiB echoes from {THREADS} threads: {ok} answered, {refused} refused \
         for a full send buffer and tried again, in {:?}",
        started.elapsed()
    );
    assert_eq!(ok, THREADS * CALLS);
}

#[test]
fn tokio_large_bodies_both_ways() {
    large_bodies_both_ways("tokio");
}

#[test]
fn smol_large_bodies_both_ways() {
    large_bodies_both_ways("smol");
}

#[test]
fn threadpool_large_bodies_both_ways() {
    large_bodies_both_ways("threadpool");
}

#[test]
fn tokio_provider_that_does_not_read() {
    provider_that_does_not_read("tokio");
}

#[test]
fn smol_provider_that_does_not_read() {
    provider_that_does_not_read("smol");
}

#[test]
fn threadpool_provider_that_does_not_read() {
    provider_that_does_not_read("threadpool");
}

#[test]
fn tokio_consumer_that_does_not_read() {
    consumer_that_does_not_read("tokio");
}

#[test]
fn smol_consumer_that_does_not_read() {
    consumer_that_does_not_read("smol");
}

#[test]
fn threadpool_consumer_that_does_not_read() {
    consumer_that_does_not_read("threadpool");
}
