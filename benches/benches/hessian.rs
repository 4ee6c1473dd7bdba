//! Hessian request/response bodies: encode and decode of a small `sayHello("world")`
//! request with the four standard attachments, and of a request with a 4 KiB `byte[]`.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tether_core::hessian2::Binary;
use tether_core::message::{
    Arguments, Attachments, DUBBO_VERSION, RequestBody, RequestReader, ResponseBody,
    decode_response,
};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

fn attachments() -> Attachments {
    [
        ("path", SERVICE),
        ("interface", SERVICE),
        ("version", "0.0.0"),
        ("timeout", "3000"),
    ]
    .into_iter()
    .collect()
}

fn bench_say_hello(c: &mut Criterion) {
    let attachments = attachments();
    let descriptor = <(&str,)>::descriptor_string();
    let body = RequestBody {
        dubbo_version: DUBBO_VERSION,
        path: SERVICE,
        version: Some("0.0.0"),
        method: "sayHello",
        parameter_types: &descriptor,
        args: &("world",),
        attachments: &attachments,
    };
    let mut encoded = Vec::new();
    body.encode(&mut encoded).unwrap();
    assert_eq!(encoded.len(), 195);

    let mut group = c.benchmark_group("say_hello_request");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut out = Vec::with_capacity(4096);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&body).encode(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut reader = RequestReader::new(black_box(&encoded)).unwrap();
            let (name,): (&str,) = reader.args().unwrap();
            let attachments = reader.attachments().unwrap();
            black_box((name, attachments))
        })
    });
    group.finish();

    let mut response = Vec::new();
    ResponseBody::value("Hello world")
        .with_attachments(&Attachments::new())
        .encode(&mut response)
        .unwrap();
    let mut group = c.benchmark_group("say_hello_response");
    group.throughput(Throughput::Bytes(response.len() as u64));
    let empty = Attachments::new();
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            ResponseBody::value(black_box("Hello world"))
                .with_attachments(&empty)
                .encode(&mut out)
                .unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| black_box(decode_response::<String>(black_box(&response)).unwrap()))
    });
    group.finish();
}

fn bench_bytes_4k(c: &mut Criterion) {
    let attachments = attachments();
    let data = Binary((0..4096).map(|i| i as u8).collect());
    let args = (data,);
    let descriptor = <(Binary,)>::descriptor_string();
    let body = RequestBody {
        dubbo_version: DUBBO_VERSION,
        path: SERVICE,
        version: Some("0.0.0"),
        method: "echoBytes",
        parameter_types: &descriptor,
        args: &args,
        attachments: &attachments,
    };
    let mut encoded = Vec::new();
    body.encode(&mut encoded).unwrap();

    let mut group = c.benchmark_group("bytes_4k_request");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    let mut out = Vec::with_capacity(8192);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&body).encode(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut reader = RequestReader::new(black_box(&encoded)).unwrap();
            let (bytes,): (bytes::Bytes,) = reader.args().unwrap();
            let attachments = reader.attachments().unwrap();
            black_box((bytes, attachments))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_say_hello, bench_bytes_4k);
criterion_main!(benches);
