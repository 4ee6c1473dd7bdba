//! Criterion micro benches of tether-core: framing, the pending table, a full call
//! between two connections in memory, and the provider's request path (no sockets).
#![allow(missing_docs, clippy::disallowed_methods)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tether_core::__bench::PendingBench;
use tether_core::frame::{Decoded, FrameDecoder, FrameKind, Header, PayloadLimit, encode_frame};
use tether_core::hessian2::Binary;
use tether_core::message::{Arguments, Attachments, DUBBO_VERSION, RequestBody};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{
    BoxFuture, CallOptions, Clock, Config, Connection, Event, InboundRequest, Inline,
    RequestHandler, RequestId, SerializationId, SharedConnection, Side, Spawner, Status,
};

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let header = Header {
        kind: FrameKind::Request { two_way: true },
        event: false,
        serialization: SerializationId::HESSIAN2,
        id: RequestId(1),
        body_len: 0,
    };
    for body_len in [64usize, 4096] {
        let body = vec![0x5a; body_len];
        // 64 frames per iteration, decoded from one buffer as a socket read would deliver them.
        let batch = 64u64;
        group.throughput(Throughput::Elements(batch));
        group.bench_function(format!("encode+decode {body_len} B body"), |b| {
            let mut wire = Vec::with_capacity(batch as usize * (16 + body_len));
            let mut decoder = FrameDecoder::new(PayloadLimit::default());
            b.iter(|| {
                wire.clear();
                for _ in 0..batch {
                    encode_frame(&mut wire, header, &body, PayloadLimit::default()).unwrap();
                }
                let mut input = &wire[..];
                let mut n = 0;
                while let Ok(Some(Decoded::Frame(frame))) = decoder.decode(&mut input) {
                    black_box(&frame);
                    n += 1;
                }
                assert_eq!(n, batch);
            });
        });
    }
    group.finish();
}

fn pending_table(c: &mut Criterion) {
    let mut group = c.benchmark_group("pending");
    group.throughput(Throughput::Elements(1));
    for resident in [0usize, 10_000] {
        group.bench_function(format!("insert+remove, {resident} resident"), |b| {
            let mut table = PendingBench::new(Instant::now());
            let resident_ids: Vec<_> = (0..resident)
                .map(|_| table.insert(Duration::from_secs(60)))
                .collect();
            b.iter(|| {
                let id = table.insert(Duration::from_millis(1000));
                assert!(table.remove(black_box(id)));
            });
            assert_eq!(table.len(), resident_ids.len());
        });
    }
    group.finish();
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round trip");
    group.throughput(Throughput::Elements(1));
    group.bench_function("call + respond + deliver, in memory", |b| {
        let now = Instant::now();
        let mut consumer = Connection::new(Config::new(Side::Consumer), now);
        let mut provider = Connection::new(Config::new(Side::Provider), now);
        let mut wire = Vec::new();
        let body = [0x5au8; 64];
        b.iter_batched_ref(
            || (),
            |_| {
                let mut call = consumer
                    .start_call(now, CallOptions::default(), &body[..])
                    .unwrap();
                wire.clear();
                let n = consumer.poll_transmit(now, &mut wire);
                consumer.handle_written(now, n);
                provider.handle_input(now, &wire);
                while let Some(event) = provider.poll_event() {
                    if let Event::RequestReceived(request) = event {
                        provider
                            .respond(
                                now,
                                request.id,
                                Status::OK,
                                request.serialization,
                                &request.body[..],
                            )
                            .unwrap();
                    }
                }
                wire.clear();
                let n = provider.poll_transmit(now, &mut wire);
                provider.handle_written(now, n);
                consumer.handle_input(now, &wire);
                while let Some(event) = consumer.poll_event() {
                    if let Event::CallCompleted(delivery) = event {
                        delivery.deliver(&Inline);
                    }
                }
                black_box(call.response.try_take().unwrap().unwrap());
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

struct FixedClock(Instant);

impl Clock for FixedClock {
    fn now(&self) -> Instant {
        self.0
    }
}

/// Direct dispatch and a sync handler never spawn.
struct NoSpawn;

impl Spawner for NoSpawn {
    fn spawn(&self, _: BoxFuture) {
        unreachable!("sync handlers on direct dispatch spawn nothing")
    }
}

/// A provider connection with a `byte[] echo(byte[])` service, fed 64-byte echo requests
/// carrying the four attachments a tether consumer sends.
struct EchoProvider {
    now: Instant,
    conn: SharedConnection,
    provider: Provider,
    body: Vec<u8>,
    wire: Vec<u8>,
    out: Vec<u8>,
    id: u64,
}

impl EchoProvider {
    const SERVICE: &str = "org.apache.dubbo.bench.EchoService";

    fn new() -> Self {
        let now = Instant::now();
        let conn = SharedConnection::new(
            Connection::new(Config::new(Side::Provider), now),
            Arc::new(FixedClock(now)),
            || {},
        );
        let service =
            Service::new(Self::SERVICE).method("echo", |_, (bytes,): (Binary,)| Ok(bytes));
        let provider = Provider::new(Dispatch::Direct, Arc::new(NoSpawn)).export(service);
        let mut attachments = Attachments::new();
        attachments.insert("path", Self::SERVICE);
        attachments.insert("interface", Self::SERVICE);
        attachments.insert("version", "0.0.0");
        attachments.insert("timeout", "3000");
        let descriptor = <(Binary,)>::descriptor_string();
        let mut body = Vec::new();
        RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: Self::SERVICE,
            version: Some("0.0.0"),
            method: "echo",
            parameter_types: &descriptor,
            args: &(Binary(vec![0x5a; 64]),),
            attachments: &attachments,
        }
        .encode(&mut body)
        .unwrap();
        Self {
            now,
            conn,
            provider,
            body,
            wire: Vec::new(),
            out: Vec::new(),
            id: 0,
        }
    }

    /// The next request, as the connection hands it to the provider.
    fn receive(&mut self) -> InboundRequest {
        self.id += 1;
        let header = Header {
            kind: FrameKind::Request { two_way: true },
            event: false,
            serialization: SerializationId::HESSIAN2,
            id: RequestId(self.id),
            body_len: 0,
        };
        self.wire.clear();
        encode_frame(&mut self.wire, header, &self.body, PayloadLimit::default()).unwrap();
        let mut c = self.conn.lock();
        c.handle_input(self.now, &self.wire);
        match c.poll_event() {
            Some(Event::RequestReceived(request)) => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// Takes the answer the provider wrote.
    fn transmit(&mut self) {
        let mut c = self.conn.lock();
        self.out.clear();
        let n = c.poll_transmit(self.now, &mut self.out);
        c.handle_written(self.now, n);
        assert_eq!(self.out[3], Status::OK.0, "answered OK");
    }
}

/// One 64 B `byte[]` echo through a provider connection: frame in, `Provider::on_request`
/// (head, attachments, lookup, argument decoding, reply encoding), frame out; and
/// `on_request` alone.
fn provider(c: &mut Criterion) {
    let mut group = c.benchmark_group("provider");
    group.throughput(Throughput::Elements(1));
    group.bench_function("frame in + on_request + frame out, 64 B byte[] echo", |b| {
        let mut echo = EchoProvider::new();
        b.iter(|| {
            let request = echo.receive();
            echo.provider.on_request(&echo.conn, request);
            echo.transmit();
        });
    });
    // 256 requests received untimed, then handed to the provider in a timed loop (the
    // profile's 256 calls in flight): the clock is read once per batch.
    group.bench_function("on_request alone, 64 B byte[] echo", |b| {
        const BATCH: u64 = 256;
        let mut echo = EchoProvider::new();
        let mut requests = Vec::with_capacity(BATCH as usize);
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BATCH);
                left -= n;
                requests.extend((0..n).map(|_| echo.receive()));
                let start = Instant::now();
                for request in requests.drain(..) {
                    echo.provider.on_request(&echo.conn, request);
                }
                elapsed += start.elapsed();
                echo.transmit();
            }
            elapsed
        });
    });
    group.finish();
}

criterion_group!(benches, frames, pending_table, round_trip, provider);
criterion_main!(benches);
