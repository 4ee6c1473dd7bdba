//! A real dubbo exchange through both layers: Hessian2 bodies encoded straight into the
//! connection, over the simulated link, decoded on the other side.

use std::time::Duration;

use tether_core::message::{
    Arguments, Attachments, DUBBO_VERSION, JavaException, Reply, RequestBody, RequestReader,
    ResponseBody, Returned, attachments_supported, decode_reply,
};
use tether_core::{CallOptions, Config, Connection, Side, Status};
use tether_tests::{Pair, hex, outcome};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

fn attachments() -> Attachments {
    let mut attachments = Attachments::new();
    attachments.insert("path", SERVICE);
    attachments.insert("interface", SERVICE);
    attachments.insert("version", "0.0.0");
    attachments.insert("timeout", "3000");
    attachments
}

#[test]
fn the_connection_writes_the_protocol_golden_request_byte_for_byte() {
    // docs/protocol.md §13.1: sayHello("world"), two-way, hessian2, id 1.
    let golden = hex("da bb c2 00 00 00 00 00 00 00 00 01 00 00 00 c3
         05 32 2e 30 2e 32 30 21 6f 72 67 2e 61 70 61 63
         68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f 2e 44 65
         6d 6f 53 65 72 76 69 63 65 05 30 2e 30 2e 30 08
         73 61 79 48 65 6c 6c 6f 12 4c 6a 61 76 61 2f 6c
         61 6e 67 2f 53 74 72 69 6e 67 3b 05 77 6f 72 6c
         64 48 04 70 61 74 68 30 21 6f 72 67 2e 61 70 61
         63 68 65 2e 64 75 62 62 6f 2e 64 65 6d 6f 2e 44
         65 6d 6f 53 65 72 76 69 63 65 09 69 6e 74 65 72
         66 61 63 65 30 21 6f 72 67 2e 61 70 61 63 68 65
         2e 64 75 62 62 6f 2e 64 65 6d 6f 2e 44 65 6d 6f
         53 65 72 76 69 63 65 07 76 65 72 73 69 6f 6e 05
         30 2e 30 2e 30 07 74 69 6d 65 6f 75 74 04 33 30
         30 30 5a");
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut conn = Connection::new(Config::new(Side::Consumer), now);
    let attachments = attachments();
    let descriptor = <(String,)>::descriptor_string();
    let body = |args| RequestBody {
        dubbo_version: DUBBO_VERSION,
        path: SERVICE,
        version: Some("0.0.0"),
        method: "sayHello",
        parameter_types: &descriptor,
        args,
        attachments: &attachments,
    };
    let options = CallOptions::new(Duration::from_secs(3));
    let world = ("world".to_owned(),);
    // Ids start at 0; the second call gets id 1 like the golden frame.
    let _first = conn.start_call(now, options, body(&world)).unwrap();
    let mut wire = Vec::new();
    conn.poll_transmit(now, &mut wire);
    let second = conn.start_call(now, options, body(&world)).unwrap();
    assert_eq!(second.id.0, 1);
    wire.clear();
    conn.poll_transmit(now, &mut wire);
    assert_eq!(wire, golden);
}

#[test]
fn typed_call_reply_and_exception_across_the_link() {
    let mut pair = Pair::new(21);
    pair.provider.handler = Some(Box::new(|request| {
        let mut reader = RequestReader::new(&request.body).unwrap();
        let head = reader.head().clone().into_owned();
        let mut out = Vec::new();
        let with = attachments_supported(&head.dubbo_version).then(Attachments::new);
        match &*head.method {
            "sayHello" => {
                let (name,): (String,) = reader.args().unwrap();
                let reply = format!("Hello {name}");
                let body = ResponseBody::value(&reply);
                match &with {
                    Some(a) => body.with_attachments(a).encode(&mut out).unwrap(),
                    None => body.encode(&mut out).unwrap(),
                }
            }
            _ => {
                let e = JavaException::runtime(format!("no method {}", head.method));
                ResponseBody::<()>::exception(&e).encode(&mut out).unwrap();
            }
        }
        Some((Duration::from_millis(1), Status::OK, out))
    }));
    let attachments = attachments();
    let descriptor = <(String,)>::descriptor_string();
    let now = pair.now;
    let mut calls = Vec::new();
    for method in ["sayHello", "missing"] {
        let args = ("tether".to_owned(),);
        let body = RequestBody {
            dubbo_version: DUBBO_VERSION,
            path: SERVICE,
            version: Some("0.0.0"),
            method,
            parameter_types: &descriptor,
            args: &args,
            attachments: &attachments,
        };
        calls.push(
            pair.consumer
                .conn
                .start_call(now, CallOptions::default(), body)
                .unwrap(),
        );
    }
    pair.run_for(Duration::from_millis(20));

    let response = outcome(&mut calls[0].response).unwrap();
    let Reply::Ok(decoded) = decode_reply::<String>(response.status, &response.body).unwrap()
    else {
        panic!("expected status 20")
    };
    assert_eq!(decoded.result, Returned::Value("Hello tether".to_owned()));
    assert_eq!(
        decoded.flag, 4,
        "a 2.0.2 request gets a reply with attachments"
    );
    assert_eq!(
        decoded.attachments.get("dubbo").and_then(|v| v.as_str()),
        Some("2.0.2")
    );

    let response = outcome(&mut calls[1].response).unwrap();
    let Reply::Ok(decoded) = decode_reply::<String>(response.status, &response.body).unwrap()
    else {
        panic!("expected status 20")
    };
    let Returned::Exception(e) = decoded.result else {
        panic!("expected an exception")
    };
    assert_eq!(e.class, "java.lang.RuntimeException");
    assert_eq!(e.message.as_deref(), Some("no method missing"));
}
