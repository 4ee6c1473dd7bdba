//! tether side by side with peers: unary echo of a byte payload over loopback TCP, one
//! connection, a closed loop of N calls in flight, fixed duration after a warm-up.
//!
//! ```text
//! cargo run --release -p tether-benches --bin compare -- [--secs 2] [--warmup 0.5] [--rounds 3]
//!     [--sizes 64,4096] [--inflight 1,32,256] [--only raw,tether-tokio,...]
//! ```
//!
//! Contenders, each with its client and its server in this process (so the CPU time per call
//! covers both sides), run interleaved round by round (A B C A B C ...); the table reports the
//! median of the rounds:
//! - `raw`: a minimal hand-written tokio client/server, 16-byte-header frames, an
//!   id→oneshot map and a batching writer task: the baseline.
//! - `blocking`: a naive blocking client (a thread per call in flight writing under a lock,
//!   a reader thread handing responses over channels) against the raw server.
//! - `tether-tokio`, `tether-smol`, `tether-threadpool`: a tether provider exporting
//!   `byte[] echo(byte[])` and a consumer calling it through `Reference`/`Method::call`
//!   with `bytes::Bytes` arguments (the real Hessian2 encode and decode on both sides).
//! - `tarpc`: tarpc 0.38, bincode over TCP.
//! - `tonic`: tonic 0.12, unary gRPC carrying a `bytes` field.
//!
//! `raw`, `tether-tokio`, `tarpc` and `tonic` run both sides on one 2-worker tokio runtime.
//! `tether-smol` runs on smol's global executor instead: one thread unless `SMOL_THREADS`
//! is set. `tether-threadpool` runs on its own IO threads, its callers chained with
//! `on_complete`.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use hdrhistogram::Histogram;
use tether_benches::process_cpu;
use tether_core::consumer::{Channels, Method, Reference};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tests::exec::{self, Opts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPING: u8 = 2;

const CONTENDERS: &[&str] = &[
    "raw",
    "tether-tokio",
    "tether-smol",
    "tether-threadpool",
    "tarpc",
    "tonic",
    "blocking",
];

struct Args {
    secs: f64,
    warmup: f64,
    rounds: usize,
    sizes: Vec<usize>,
    inflight: Vec<usize>,
    only: Vec<String>,
}

const USAGE: &str = "compare: tether side by side with peers (loopback TCP echo, one connection)

usage: compare [--secs S] [--warmup S] [--rounds N] [--sizes B,..] [--inflight N,..] [--only NAME,..]

  --secs S       measured seconds per run (default 2)
  --warmup S     warm-up seconds before each measurement (default 0.5)
  --rounds N     rounds, contenders interleaved in each; medians reported (default 3)
  --sizes B,..   payload sizes in bytes (default 64,4096)
  --inflight N,..  calls in flight (default 1,32,256)
  --only NAME,..   contenders (default all): raw, tether-tokio, tether-smol,
                 tether-threadpool, tarpc, tonic, blocking";

fn list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| die(&format!("bad value {v:?}")))
        })
        .collect()
}

fn die(msg: &str) -> ! {
    eprintln!("{msg}\n\n{USAGE}");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        secs: 2.0,
        warmup: 0.5,
        rounds: 3,
        sizes: vec![64, 4096],
        inflight: vec![1, 32, 256],
        only: CONTENDERS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .unwrap_or_else(|| die(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--secs" => args.secs = list(&value)[0],
            "--warmup" => args.warmup = list(&value)[0],
            "--rounds" => args.rounds = list(&value)[0],
            "--sizes" => args.sizes = list(&value),
            "--inflight" => args.inflight = list(&value),
            "--only" => {
                args.only = list(&value);
                for name in &args.only {
                    if !CONTENDERS.contains(&name.as_str()) {
                        die(&format!("unknown contender {name:?}"));
                    }
                }
            }
            _ => die(&format!("unknown flag {flag}")),
        }
    }
    args
}

// ------------------------------------------------------------------------------------------
// Measurement

/// One run's settings and the switch the callers watch.
struct Run {
    size: usize,
    inflight: usize,
    warmup: Duration,
    secs: Duration,
    phase: Arc<AtomicU8>,
}

/// One run's outcome.
struct Sample {
    calls: u64,
    secs: f64,
    cpu: f64,
    hist: Histogram<u64>,
}

impl Sample {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.secs
    }
    fn cpu_us_per_call(&self) -> f64 {
        self.cpu * 1e6 / self.calls.max(1) as f64
    }
    fn quantile_us(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    // Nanoseconds, 1 ns to 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("histogram bounds")
}

fn record(phase: &AtomicU8, hist: &mut Histogram<u64>, start: Instant) {
    if phase.load(Ordering::Relaxed) == MEASURING {
        let _ = hist.record(start.elapsed().as_nanos().max(1) as u64);
    }
}

/// Lets the callers warm up, then measures the window; returns (elapsed, CPU) seconds.
/// The callers must be running when this is called.
fn window(run: &Run) -> (f64, f64) {
    std::thread::sleep(run.warmup);
    let cpu = process_cpu();
    let start = Instant::now();
    run.phase.store(MEASURING, Ordering::SeqCst);
    std::thread::sleep(run.secs);
    run.phase.store(STOPPING, Ordering::SeqCst);
    let elapsed = start.elapsed().as_secs_f64();
    (elapsed, (process_cpu() - cpu).as_secs_f64())
}

fn sample(
    run: &Run,
    measured: (f64, f64),
    hists: impl IntoIterator<Item = Histogram<u64>>,
) -> Sample {
    let mut hist = histogram();
    for h in hists {
        hist.add(h).expect("same bounds");
    }
    Sample {
        calls: hist.len(),
        secs: measured.0,
        cpu: measured.1,
        hist,
    }
    .check(run)
}

impl Sample {
    fn check(self, run: &Run) -> Self {
        assert!(
            self.calls > 0,
            "no call completed at {} in flight",
            run.inflight
        );
        self
    }
}

/// A caller: calls in a loop until told to stop, recording latencies while measuring.
async fn closed_loop<F, Fut>(phase: Arc<AtomicU8>, mut call: F) -> Histogram<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut hist = histogram();
    while phase.load(Ordering::Relaxed) != STOPPING {
        let start = Instant::now();
        call().await;
        record(&phase, &mut hist, start);
    }
    hist
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `inflight` callers made by `make` on `rt`, measures, and collects their histograms.
fn on_tokio<F, Fut>(rt: &tokio::runtime::Runtime, run: &Run, make: impl Fn() -> F) -> Sample
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..run.inflight)
        .map(|_| rt.spawn(closed_loop(run.phase.clone(), make())))
        .collect();
    let measured = window(run);
    let hists = rt.block_on(async {
        let mut hists = Vec::new();
        for task in tasks {
            hists.push(task.await.expect("caller task"));
        }
        hists
    });
    sample(run, measured, hists)
}

// ------------------------------------------------------------------------------------------
// raw: the hand-written baseline

const RAW_HEADER: usize = 16;

/// Echoes every complete frame back, one write per read.
async fn raw_serve(stream: tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while buf.len() >= RAW_HEADER {
            let len = u32::from_le_bytes(buf[8..12].try_into().expect("4 bytes")) as usize;
            if buf.len() < RAW_HEADER + len {
                break;
            }
            out.extend_from_slice(&buf[..RAW_HEADER + len]);
            buf.advance(RAW_HEADER + len);
        }
        if !out.is_empty() {
            if writer.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

async fn raw_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(raw_serve(stream));
        }
    });
    addr
}

type RawPending =
    parking_lot::Mutex<std::collections::HashMap<u64, tokio::sync::oneshot::Sender<Bytes>>>;

struct RawClient {
    next: AtomicU64,
    pending: Arc<RawPending>,
    queue: tokio::sync::mpsc::UnboundedSender<(u64, Bytes)>,
}

impl RawClient {
    async fn connect(addr: SocketAddr) -> Arc<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (mut reader, mut writer) = stream.into_split();
        let pending: Arc<RawPending> = Arc::default();
        let (queue, mut frames) = tokio::sync::mpsc::unbounded_channel::<(u64, Bytes)>();
        // Writer: everything queued goes out in one write; after a batch of more than one
        // frame it yields once first, letting more callers queue.
        tokio::spawn(async move {
            let mut out = Vec::with_capacity(64 * 1024);
            let mut last_batch = 0;
            while let Some(first) = frames.recv().await {
                if last_batch > 1 {
                    tokio::task::yield_now().await;
                }
                let mut batch = 0;
                let mut next = Some(first);
                while let Some((id, body)) = next {
                    out.extend_from_slice(&id.to_le_bytes());
                    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
                    out.extend_from_slice(&[0; 4]);
                    out.extend_from_slice(&body);
                    batch += 1;
                    next = frames.try_recv().ok();
                }
                if writer.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
                last_batch = batch;
            }
        });
        let responses = pending.clone();
        tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                match reader.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                while buf.len() >= RAW_HEADER {
                    let len = u32::from_le_bytes(buf[8..12].try_into().expect("4 bytes")) as usize;
                    if buf.len() < RAW_HEADER + len {
                        break;
                    }
                    let id = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
                    buf.advance(RAW_HEADER);
                    let body = buf.split_to(len).freeze();
                    if let Some(waiter) = responses.lock().remove(&id) {
                        let _ = waiter.send(body);
                    }
                }
            }
        });
        Arc::new(Self {
            next: AtomicU64::new(0),
            pending,
            queue,
        })
    }

    async fn call(&self, body: Bytes) -> Bytes {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pending.lock().insert(id, tx);
        self.queue.send((id, body)).expect("writer running");
        rx.await.expect("a response")
    }
}

fn run_raw(run: &Run) -> Sample {
    let rt = runtime();
    let client = rt.block_on(async { RawClient::connect(raw_server().await).await });
    let payload = Bytes::from(vec![7u8; run.size]);
    let size = run.size;
    on_tokio(&rt, run, || {
        let (client, payload) = (client.clone(), payload.clone());
        move || {
            let (client, payload) = (client.clone(), payload.clone());
            async move {
                let echoed = client.call(payload).await;
                debug_assert_eq!(echoed.len(), size);
            }
        }
    })
}

// ------------------------------------------------------------------------------------------
// blocking: a naive blocking client against the raw server

fn run_blocking(run: &Run) -> Sample {
    let rt = runtime();
    let addr = rt.block_on(raw_server());
    let stream = StdTcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let writer = Arc::new(parking_lot::Mutex::new(stream.try_clone().expect("clone")));
    type Waiters = parking_lot::Mutex<std::collections::HashMap<u64, mpsc::Sender<Vec<u8>>>>;
    let waiters: Arc<Waiters> = Arc::default();
    let reader = {
        let waiters = waiters.clone();
        let mut stream = stream;
        std::thread::spawn(move || {
            let mut header = [0u8; RAW_HEADER];
            while stream.read_exact(&mut header).is_ok() {
                let id = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
                let len = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
                let mut body = vec![0; len as usize];
                if stream.read_exact(&mut body).is_err() {
                    return;
                }
                if let Some(waiter) = waiters.lock().remove(&id) {
                    let _ = waiter.send(body);
                }
            }
        })
    };
    let next = Arc::new(AtomicU64::new(0));
    let callers: Vec<_> = (0..run.inflight)
        .map(|_| {
            let (writer, waiters, next, phase) = (
                writer.clone(),
                waiters.clone(),
                next.clone(),
                run.phase.clone(),
            );
            let size = run.size;
            std::thread::spawn(move || {
                let mut hist = histogram();
                let body = vec![7u8; size];
                while phase.load(Ordering::Relaxed) != STOPPING {
                    let start = Instant::now();
                    let id = next.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = mpsc::channel();
                    waiters.lock().insert(id, tx);
                    let mut frame = Vec::with_capacity(RAW_HEADER + size);
                    frame.extend_from_slice(&id.to_le_bytes());
                    frame.extend_from_slice(&(size as u32).to_le_bytes());
                    frame.extend_from_slice(&[0; 4]);
                    frame.extend_from_slice(&body);
                    writer.lock().write_all(&frame).expect("write");
                    let echoed = rx.recv().expect("a response");
                    assert_eq!(echoed.len(), size);
                    record(&phase, &mut hist, start);
                }
                hist
            })
        })
        .collect();
    let measured = window(run);
    let hists: Vec<_> = callers
        .into_iter()
        .map(|c| c.join().expect("caller thread"))
        .collect();
    let _ = writer.lock().shutdown(std::net::Shutdown::Both);
    reader.join().expect("reader thread");
    sample(run, measured, hists)
}

// ------------------------------------------------------------------------------------------
// tether on each adapter

const SERVICE: &str = "org.tether.bench.Echo";

type Echo = Method<(Bytes,), Bytes>;

fn run_tether(name: &str, run: &Run) -> Sample {
    let exec = exec::by_name(name).expect("an adapter");
    let service = Service::new(SERVICE).method("echo", |_, (bytes,): (Bytes,)| Ok(bytes));
    let provider = Provider::new(Dispatch::Direct, exec.spawner()).export(service);
    let server = exec
        .bind(
            "127.0.0.1:0",
            Config::new(Side::Provider),
            Arc::new(provider),
            Opts::default(),
        )
        .expect("bind");
    let (conn, _closed) = exec
        .connect(
            server.local_addr(),
            Config::new(Side::Consumer),
            Opts::default(),
        )
        .expect("connect");
    let reference = Reference::builder(SERVICE)
        .timeout(Duration::from_secs(30))
        .build(Arc::new(Channels::single(conn.clone())));
    let echo: Echo = reference.method("echo");
    let payload = Bytes::from(vec![7u8; run.size]);
    let (done, hists) = mpsc::channel();
    if name == "threadpool" {
        // Callers as continuations: each call's completion starts the next.
        for _ in 0..run.inflight {
            chain(Box::new(Chained {
                echo: echo.clone(),
                payload: payload.clone(),
                phase: run.phase.clone(),
                hist: histogram(),
                done: done.clone(),
            }));
        }
    } else {
        let spawner = exec.spawner();
        for _ in 0..run.inflight {
            let (echo, payload, done) = (echo.clone(), payload.clone(), done.clone());
            let phase = run.phase.clone();
            spawner.spawn(Box::pin(async move {
                let hist = closed_loop(phase, || {
                    let call = echo.call((payload.clone(),));
                    async move {
                        let echoed = call.await.expect("echo");
                        debug_assert!(!echoed.is_empty());
                    }
                })
                .await;
                let _ = done.send(hist);
            }));
        }
    }
    drop(done);
    let measured = window(run);
    let hists: Vec<_> = hists.iter().take(run.inflight).collect();
    // A caller that panicked dropped its sender without a histogram: fewer calls counted,
    // lower figures, unless we stop here.
    assert_eq!(hists.len(), run.inflight, "a caller died");
    conn.close();
    let _ = server.shutdown(Instant::now() + Duration::from_secs(2));
    sample(run, measured, hists)
}

/// A caller made of continuations, for the thread pool adapter.
struct Chained {
    echo: Echo,
    payload: Bytes,
    phase: Arc<AtomicU8>,
    hist: Histogram<u64>,
    done: mpsc::Sender<Histogram<u64>>,
}

fn chain(mut caller: Box<Chained>) {
    if caller.phase.load(Ordering::Relaxed) == STOPPING {
        let _ = caller
            .done
            .send(std::mem::replace(&mut caller.hist, histogram()));
        return;
    }
    let start = Instant::now();
    let call = caller.echo.call((caller.payload.clone(),));
    call.on_complete(move |result| {
        result.expect("echo");
        record(&caller.phase, &mut caller.hist, start);
        chain(caller);
    });
}

// ------------------------------------------------------------------------------------------
// tarpc

#[tarpc::service]
trait EchoService {
    async fn echo(data: Bytes) -> Bytes;
}

#[derive(Clone)]
struct EchoServer;

impl EchoService for EchoServer {
    async fn echo(self, _: tarpc::context::Context, data: Bytes) -> Bytes {
        data
    }
}

fn run_tarpc(run: &Run) -> Sample {
    use futures::StreamExt;
    use tarpc::server::{BaseChannel, Channel};
    use tarpc::tokio_serde::formats::Bincode;

    let rt = runtime();
    let client = rt.block_on(async {
        let mut incoming = tarpc::serde_transport::tcp::listen("127.0.0.1:0", Bincode::default)
            .await
            .expect("listen");
        let addr = incoming.local_addr();
        tokio::spawn(async move {
            while let Some(Ok(transport)) = incoming.next().await {
                tokio::spawn(
                    BaseChannel::with_defaults(transport)
                        .execute(EchoServer.serve())
                        .for_each(|response| async move {
                            tokio::spawn(response);
                        }),
                );
            }
        });
        let transport = tarpc::serde_transport::tcp::connect(addr, Bincode::default)
            .await
            .expect("connect");
        EchoServiceClient::new(tarpc::client::Config::default(), transport).spawn()
    });
    let payload = Bytes::from(vec![7u8; run.size]);
    on_tokio(&rt, run, || {
        let (client, payload) = (client.clone(), payload.clone());
        move || {
            let (client, payload) = (client.clone(), payload.clone());
            async move {
                let mut context = tarpc::context::current();
                context.deadline = Instant::now() + Duration::from_secs(30);
                let echoed = client.echo(context, payload).await.expect("echo");
                debug_assert!(!echoed.is_empty());
            }
        }
    })
}

// ------------------------------------------------------------------------------------------
// tonic, with the service and client that tonic-build would generate written by hand (no
// protoc at build time)

#[derive(Clone, PartialEq, prost::Message)]
struct EchoMessage {
    #[prost(bytes = "bytes", tag = "1")]
    data: Bytes,
}

const TONIC_PATH: &str = "/tether.bench.Echo/Echo";

#[derive(Clone)]
struct TonicEcho;

struct TonicUnary;

impl tonic::server::UnaryService<EchoMessage> for TonicUnary {
    type Response = EchoMessage;
    type Future = tonic::codegen::BoxFuture<tonic::Response<EchoMessage>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<EchoMessage>) -> Self::Future {
        Box::pin(async move { Ok(tonic::Response::new(request.into_inner())) })
    }
}

impl<B> tonic::codegen::Service<tonic::codegen::http::Request<B>> for TonicEcho
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = tonic::codegen::http::Response<tonic::body::BoxBody>;
    type Error = std::convert::Infallible;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: tonic::codegen::http::Request<B>) -> Self::Future {
        if request.uri().path() == TONIC_PATH {
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                Ok(grpc.unary(TonicUnary, request).await)
            })
        } else {
            Box::pin(async move {
                let mut response =
                    tonic::codegen::http::Response::new(tonic::codegen::empty_body());
                let headers = response.headers_mut();
                headers.insert("grpc-status", (tonic::Code::Unimplemented as i32).into());
                headers.insert(
                    tonic::codegen::http::header::CONTENT_TYPE,
                    tonic::metadata::GRPC_CONTENT_TYPE,
                );
                Ok(response)
            })
        }
    }
}

impl tonic::server::NamedService for TonicEcho {
    const NAME: &'static str = "tether.bench.Echo";
}

fn run_tonic(run: &Run) -> Sample {
    let rt = runtime();
    let client = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
            .expect("incoming");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TonicEcho)
                .serve_with_incoming(incoming),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connect");
        tonic::client::Grpc::new(channel)
    });
    let payload = Bytes::from(vec![7u8; run.size]);
    on_tokio(&rt, run, || {
        let (client, payload) = (client.clone(), payload.clone());
        move || {
            let (mut client, payload) = (client.clone(), payload.clone());
            async move {
                client.ready().await.expect("ready");
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(TONIC_PATH);
                let request = tonic::Request::new(EchoMessage { data: payload });
                let echoed: tonic::Response<EchoMessage> = client
                    .unary(request, path, tonic::codec::ProstCodec::default())
                    .await
                    .expect("echo");
                debug_assert!(!echoed.get_ref().data.is_empty());
            }
        }
    })
}

// ------------------------------------------------------------------------------------------
// main

fn run_one(name: &str, run: &Run) -> Sample {
    match name {
        "raw" => run_raw(run),
        "blocking" => run_blocking(run),
        "tarpc" => run_tarpc(run),
        "tonic" => run_tonic(run),
        "tether-tokio" => run_tether("tokio", run),
        "tether-smol" => run_tether("smol", run),
        "tether-threadpool" => run_tether("threadpool", run),
        _ => unreachable!("checked when parsing"),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let args = parse_args();
    let contenders: Vec<&str> = CONTENDERS
        .iter()
        .copied()
        .filter(|c| args.only.iter().any(|o| o == c))
        .collect();
    // samples[size][inflight][contender] = one Sample per round
    let mut samples: Vec<Vec<Vec<Vec<Sample>>>> = args
        .sizes
        .iter()
        .map(|_| {
            args.inflight
                .iter()
                .map(|_| contenders.iter().map(|_| Vec::new()).collect())
                .collect()
        })
        .collect();
    for round in 0..args.rounds {
        for (si, &size) in args.sizes.iter().enumerate() {
            for (ii, &inflight) in args.inflight.iter().enumerate() {
                for (ci, name) in contenders.iter().enumerate() {
                    let run = Run {
                        size,
                        inflight,
                        warmup: Duration::from_secs_f64(args.warmup),
                        secs: Duration::from_secs_f64(args.secs),
                        phase: Arc::new(AtomicU8::new(WARMING)),
                    };
                    let s = run_one(name, &run);
                    eprintln!(
                        "round {}: {size:>5} B {inflight:>4} in flight {name:<18} {:>10.0} calls/s  p50 {:>8.1} µs  p99 {:>8.1} µs  CPU {:>6.2} µs/call",
                        round + 1,
                        s.rate(),
                        s.quantile_us(0.5),
                        s.quantile_us(0.99),
                        s.cpu_us_per_call(),
                    );
                    samples[si][ii][ci].push(s);
                }
            }
        }
    }
    println!(
        "| payload | in flight | contender | calls/s | × raw | p50 µs | p99 µs | p999 µs | CPU µs/call |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (si, &size) in args.sizes.iter().enumerate() {
        for (ii, &inflight) in args.inflight.iter().enumerate() {
            let rows = &samples[si][ii];
            let med =
                |ci: usize, f: &dyn Fn(&Sample) -> f64| median(rows[ci].iter().map(f).collect());
            let raw = contenders.iter().position(|c| *c == "raw");
            let raw_rate = raw.map(|r| med(r, &Sample::rate));
            for (ci, name) in contenders.iter().enumerate() {
                let rate = med(ci, &Sample::rate);
                let ratio = raw_rate.map_or("–".to_owned(), |r| format!("{:.2}", rate / r));
                println!(
                    "| {size} B | {inflight} | {name} | {rate:.0} | {ratio} | {:.1} | {:.1} | {:.1} | {:.2} |",
                    med(ci, &|s| s.quantile_us(0.5)),
                    med(ci, &|s| s.quantile_us(0.99)),
                    med(ci, &|s| s.quantile_us(0.999)),
                    med(ci, &Sample::cpu_us_per_call),
                );
            }
        }
    }
}
