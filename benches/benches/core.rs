//! Criterion micro benches of tether-core: framing, the pending table, and a full call
//! between two connections in memory (no sockets).
#![allow(missing_docs, clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tether_core::__bench::PendingBench;
use tether_core::frame::{Decoded, FrameDecoder, FrameKind, Header, PayloadLimit, encode_frame};
use tether_core::{
    CallOptions, Config, Connection, Event, Inline, RequestId, SerializationId, Side, Status,
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

criterion_group!(benches, frames, pending_table, round_trip);
criterion_main!(benches);
