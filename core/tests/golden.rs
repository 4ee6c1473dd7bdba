//! Golden frames captured between real Dubbo peers (`testdata/golden/`, a copy of
//! `shared/interop/golden/`): every frame decodes to the values of `cases.json`, and every
//! frame Java re-encodes identically ("canonical") is re-encoded byte for byte, both through
//! dynamic `Value`s and through typed serde values. (The single Hessian values of that
//! folder, `hessian_values.json`, are the codec's own golden test:
//! `hessian2/tests/golden.rs`.)

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tether_core::frame::{FrameKind, HEADER_LEN, Header, Status};
use tether_core::hessian2::{self, Binary, Decoder, Encoder, JavaArray, Value};
use tether_core::message::{
    Attachments, DecodedResponse, EncodeArgs, EventBody, ObjectOutput, Outcome, RequestBody,
    RequestReader, ResponseBody, Returned, decode_error_message, decode_request, decode_response,
    encode_error_message,
};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/golden")
        .join(name)
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn frame(file: &str) -> (Header, Vec<u8>) {
    let bytes = hex(&std::fs::read_to_string(golden(file)).unwrap());
    let header = Header::decode(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
    let body = bytes[HEADER_LEN..].to_vec();
    assert_eq!(header.body_len as usize, body.len(), "{file}: body length");
    (header, body)
}

/// Whether a decoded value is what `cases.json` describes.
fn matches(v: &Value, j: &Json) -> bool {
    match (v, j) {
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Int(a), Json::Number(n)) => n.as_i64() == Some(i64::from(*a)),
        (Value::Long(a), Json::Number(n)) => n.as_i64() == Some(*a),
        (Value::Double(a), Json::Number(n)) => n.as_f64() == Some(*a),
        (Value::String(a), Json::String(b)) => a == b,
        (Value::List { items, .. }, Json::Array(b)) => {
            items.len() == b.len() && items.iter().zip(b).all(|(x, y)| matches(x, y))
        }
        (Value::Binary(a), Json::Object(o)) if o.contains_key("$hex") => {
            *a == hex(o["$hex"].as_str().unwrap())
        }
        (Value::Object { class, fields }, Json::Object(o)) if o.contains_key("$class") => {
            o["$class"] == **class
                && o.iter()
                    .filter(|(k, _)| *k != "$class")
                    .all(|(k, jv)| fields.iter().any(|(f, fv)| **f == **k && matches(fv, jv)))
                && fields.len() == o.len() - 1
        }
        (Value::Map { entries, .. }, Json::Object(o)) => {
            entries.len() == o.len()
                && o.iter().all(|(k, jv)| {
                    entries
                        .iter()
                        .any(|(ek, ev)| ek.as_str() == Some(k) && matches(ev, jv))
                })
        }
        _ => false,
    }
}

/// The Java type a descriptor asks for, checked beyond value equality: `J` must be a long,
/// `I` an int, `D` a double (`docs/protocol.md` §2.2, "type-strict").
fn type_ok(v: &Value, descriptor: &str) -> bool {
    match descriptor {
        "I" => matches!(v, Value::Int(_)),
        "J" => matches!(v, Value::Long(_)),
        "D" => matches!(v, Value::Double(_)),
        "Z" => matches!(v, Value::Bool(_)),
        "[I" => matches!(v, Value::List { type_name: Some(t), .. } if &**t == "[int"),
        "[Ljava/lang/String;" => {
            matches!(v, Value::List { type_name: Some(t), .. } if &**t == "[string")
        }
        "[B" => matches!(v, Value::Binary(_)),
        _ => true,
    }
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(rename = "org.apache.dubbo.demo.User")]
struct User {
    name: String,
    age: i32,
}
tether_core::java_class!(User => "org.apache.dubbo.demo.User");

/// One argument or result decoded into the Rust type its descriptor maps to.
#[derive(Debug)]
enum Typed {
    Str(Option<String>),
    Int(i32),
    Long(i64),
    Double(f64),
    Bool(bool),
    IntArray(JavaArray<i32>),
    StrArray(JavaArray<String>),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Bytes(Binary),
    User(User),
}

impl Typed {
    fn read(dec: &mut Decoder<'_>, descriptor: &str) -> Result<Self, hessian2::DecodeError> {
        Ok(match descriptor {
            "Ljava/lang/String;" => Typed::Str(dec.decode()?),
            "I" => Typed::Int(dec.decode()?),
            "J" => Typed::Long(dec.decode()?),
            "D" => Typed::Double(dec.decode()?),
            "Z" => Typed::Bool(dec.decode()?),
            "[I" => Typed::IntArray(dec.decode()?),
            "[Ljava/lang/String;" => Typed::StrArray(dec.decode()?),
            "Ljava/util/List;" => Typed::List(dec.decode()?),
            "Ljava/util/Map;" => Typed::Map(dec.decode()?),
            "[B" => Typed::Bytes(dec.decode()?),
            "Lorg/apache/dubbo/demo/User;" => Typed::User(dec.decode()?),
            other => panic!("no Rust type for {other}"),
        })
    }

    fn write<O: ObjectOutput>(&self, out: &mut O) -> Result<(), hessian2::EncodeError> {
        match self {
            Typed::Str(v) => out.write_object(v),
            Typed::Int(v) => out.write_object(v),
            Typed::Long(v) => out.write_object(v),
            Typed::Double(v) => out.write_object(v),
            Typed::Bool(v) => out.write_object(v),
            Typed::IntArray(v) => out.write_object(v),
            Typed::StrArray(v) => out.write_object(v),
            Typed::List(v) => out.write_object(v),
            Typed::Map(v) => out.write_object(v),
            Typed::Bytes(v) => out.write_object(v),
            Typed::User(v) => out.write_object(v),
        }
    }
}

struct TypedArgs(Vec<Typed>);

impl EncodeArgs for TypedArgs {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn encode<O: ObjectOutput>(&self, out: &mut O) -> Result<(), hessian2::EncodeError> {
        self.0.iter().try_for_each(|t| t.write(out))
    }
}

fn descriptors(d: &str) -> Vec<&str> {
    hessian2::descriptors(d).map(Result::unwrap).collect()
}

/// The Java return type of a demo-service method (README contract).
fn return_descriptor(method: &str, params: &str) -> String {
    if method.starts_with("echo") {
        params.to_owned()
    } else {
        "Ljava/lang/String;".to_owned()
    }
}

#[derive(Default, Debug)]
struct Tally {
    requests_decoded: usize,
    requests_reencoded: usize,
    requests_typed: usize,
    responses_decoded: usize,
    responses_reencoded: usize,
    responses_typed: usize,
}

fn check_request(case: &Json, tally: &mut Tally) {
    let name = case["name"].as_str().unwrap();
    let (header, body) = frame(case["request"].as_str().unwrap());
    let flag = u8::from_str_radix(
        case["request_flag"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(header.encode()[2], flag, "{name}: flag");
    assert!(header.is_request());
    let canonical = case["java_request"]["canonical"] == true;

    if case["method"].is_null() {
        // A heartbeat.
        assert!(header.event, "{name}");
        assert_eq!(
            EventBody::decode(&body).unwrap(),
            EventBody::Heartbeat,
            "{name}"
        );
        let mut out = Vec::new();
        EventBody::Heartbeat.encode(&mut out);
        assert_eq!(out, body, "{name}");
        tally.requests_decoded += 1;
        tally.requests_reencoded += 1;
        return;
    }

    // Dynamic decode.
    let decoded = decode_request(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        decoded.head.method,
        case["method"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        decoded.head.path,
        case["service"].as_str().unwrap(),
        "{name}"
    );
    let desc = case["parameter_desc"].as_str().unwrap();
    assert_eq!(decoded.head.parameter_types, desc, "{name}");
    let args = case["args"].as_array().unwrap();
    assert_eq!(decoded.args.len(), args.len(), "{name}");
    for ((v, j), d) in decoded.args.iter().zip(args).zip(descriptors(desc)) {
        assert!(matches(v, j), "{name}: {v:?} vs {j}");
        assert!(type_ok(v, d), "{name}: {v:?} is not a {d}");
    }
    assert!(
        decoded
            .attachments
            .get_str("path")
            .is_none_or(|p| p == case["service"])
    );
    tally.requests_decoded += 1;

    // Re-encode from the dynamic values: exact even where Java is not (`Value` keeps
    // HashMap entries in wire order).
    let mut out = Vec::new();
    RequestBody {
        dubbo_version: &decoded.head.dubbo_version,
        path: &decoded.head.path,
        version: decoded.head.version.as_deref(),
        method: &decoded.head.method,
        parameter_types: &decoded.head.parameter_types,
        args: &decoded.args,
        attachments: &decoded.attachments,
    }
    .encode(&mut out)
    .unwrap();
    assert_eq!(out, body, "{name}: Value re-encoding");
    tally.requests_reencoded += 1;
    if !canonical {
        return;
    }

    // Typed decode and re-encode.
    let mut reader = RequestReader::new(&body).unwrap();
    let head = reader.head().clone();
    let mut typed = Vec::new();
    for d in descriptors(desc) {
        typed.push(match d {
            "Ljava/lang/String;" => Typed::Str(reader.next_arg().unwrap()),
            "I" => Typed::Int(reader.next_arg().unwrap()),
            "J" => Typed::Long(reader.next_arg().unwrap()),
            "D" => Typed::Double(reader.next_arg().unwrap()),
            "Z" => Typed::Bool(reader.next_arg().unwrap()),
            "[I" => Typed::IntArray(reader.next_arg().unwrap()),
            "[Ljava/lang/String;" => Typed::StrArray(reader.next_arg().unwrap()),
            "Ljava/util/List;" => Typed::List(reader.next_arg().unwrap()),
            "Ljava/util/Map;" => Typed::Map(reader.next_arg().unwrap()),
            "[B" => Typed::Bytes(reader.next_arg().unwrap()),
            "Lorg/apache/dubbo/demo/User;" => Typed::User(reader.next_arg().unwrap()),
            other => panic!("{name}: no Rust type for {other}"),
        });
    }
    let attachments: Attachments = reader.attachments().unwrap();
    let mut out = Vec::new();
    RequestBody {
        dubbo_version: &head.dubbo_version,
        path: &head.path,
        version: head.version.as_deref(),
        method: &head.method,
        parameter_types: &head.parameter_types,
        args: &TypedArgs(typed),
        attachments: &attachments,
    }
    .encode(&mut out)
    .unwrap();
    assert_eq!(out, body, "{name}: typed re-encoding");
    tally.requests_typed += 1;
}

fn check_response(case: &Json, tally: &mut Tally) {
    let name = case["name"].as_str().unwrap();
    let (header, body) = frame(case["response"].as_str().unwrap());
    assert!(!header.is_request(), "{name}");
    let FrameKind::Response { status } = header.kind else {
        unreachable!()
    };
    assert_eq!(
        i64::from(status.0),
        case["response_status"].as_i64().unwrap(),
        "{name}"
    );
    let canonical = case["java_response"]["canonical"] == true;
    let expected = &case["expected"];

    if header.event {
        assert_eq!(
            EventBody::decode(&body).unwrap(),
            EventBody::Heartbeat,
            "{name}"
        );
        let mut out = Vec::new();
        EventBody::Heartbeat.encode(&mut out);
        assert_eq!(out, body, "{name}");
        tally.responses_decoded += 1;
        tally.responses_reencoded += 1;
        return;
    }

    if status != Status::OK {
        let message = decode_error_message(&body).unwrap().unwrap();
        assert!(
            message.contains(expected["$contains"].as_str().unwrap()),
            "{name}: {message}"
        );
        tally.responses_decoded += 1;
        let mut out = Vec::new();
        encode_error_message(&mut out, Some(&message));
        assert_eq!(out, body, "{name}");
        tally.responses_reencoded += 1;
        return;
    }

    let response: DecodedResponse<Value> =
        decode_response(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
    let flag = i64::from_str_radix(
        case["response_result_flag"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(i64::from(response.flag) + 0x90, flag, "{name}");
    let desc = case["parameter_desc"].as_str().unwrap();
    let ret = return_descriptor(case["method"].as_str().unwrap(), desc);
    match (&response.result, expected) {
        (Returned::Exception(e), Json::Object(o)) if o.contains_key("$exception") => {
            assert_eq!(e.class, o["$exception"].as_str().unwrap(), "{name}");
            assert_eq!(e.message.as_deref(), o["detailMessage"].as_str(), "{name}");
        }
        (Returned::Null, Json::Null) => {}
        (Returned::Value(v), j) => {
            assert!(matches(v, j), "{name}: {v:?} vs {j}");
            assert!(type_ok(v, &ret), "{name}: {v:?} is not a {ret}");
        }
        (r, j) => panic!("{name}: {r:?} vs {j}"),
    }
    tally.responses_decoded += 1;

    // Re-encode from the dynamic result.
    let mut out = Vec::new();
    let outcome = match &response.result {
        Returned::Value(v) => Outcome::Value(v),
        Returned::Null => Outcome::Null,
        Returned::Exception(e) => Outcome::Exception(e),
    };
    let with = (response.flag >= 3).then_some(&response.attachments);
    ResponseBody {
        outcome,
        attachments: with,
    }
    .encode(&mut out)
    .unwrap();
    if name == "dpy_echoString_null" {
        // dubbo-py's stray 'N' after flag 2 is not ours to write (§3.2).
        assert_eq!(out, body[..1], "{name}: Value re-encoding");
    } else {
        assert_eq!(out, body, "{name}: Value re-encoding");
        tally.responses_reencoded += 1;
    }
    if !canonical {
        return;
    }

    // Typed decode and re-encode of values.
    if let Returned::Value(_) = response.result {
        let mut dec = Decoder::new(&body[1..]);
        let typed = Typed::read(&mut dec, &ret).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = vec![body[0]];
        typed.write(&mut Encoder::new(&mut out)).unwrap();
        assert_eq!(out, body, "{name}: typed re-encoding");
    }
    tally.responses_typed += 1;
}

#[test]
fn every_golden_frame_decodes_and_canonical_frames_reencode() {
    let cases: Json =
        serde_json::from_str(&std::fs::read_to_string(golden("cases.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 50);
    let mut tally = Tally::default();
    let mut not_canonical = Vec::new();
    for case in cases {
        check_request(case, &mut tally);
        check_response(case, &mut tally);
        for side in ["java_request", "java_response"] {
            if case[side]["canonical"] != true {
                not_canonical.push(format!("{} {side}", case["name"].as_str().unwrap()));
            }
        }
    }
    // 50 cases = 100 frame checks (java_throwException re-checks ssl_throwException's request).
    assert_eq!(tally.requests_decoded, 50);
    assert_eq!(tally.responses_decoded, 50);
    // Every frame re-encodes exactly from its decoded values, except dubbo-py's `92 4e`.
    assert_eq!(tally.requests_reencoded, 50);
    assert_eq!(tally.responses_reencoded, 49);
    // Every canonical call frame also round-trips through typed Rust values (all but the
    // 3 heartbeats of the 49 canonical requests; all but the 3 heartbeat replies and the
    // status-70 string of the 46 canonical responses).
    assert_eq!(tally.requests_typed, 46);
    assert_eq!(tally.responses_typed, 42);
    println!("{tally:?}");
    assert_eq!(
        not_canonical,
        [
            "ssl_throwException java_response",
            "dpy_echoString_null java_response",
            "dpy_echoMap java_request",
            "dpy_echoMap java_response",
            "java_throwException java_response",
        ]
    );
}

#[test]
fn java_exception_with_stack_trace_decodes_and_reencodes() {
    // Not canonical for Java only because Java's decoded EmptyList re-encodes untyped; our
    // Value keeps the list type, so the frame re-encodes exactly.
    let (_, body) = frame("java_throwException.response.hex");
    let response: DecodedResponse<Value> = decode_response(&body).unwrap();
    let Returned::Exception(e) = &response.result else {
        panic!()
    };
    assert_eq!(e.class, "java.lang.RuntimeException");
    assert_eq!(e.message.as_deref(), Some("bad"));
    assert_eq!(e.field("cause"), Some(&Value::Ref(0)));
    let trace = e.field("stackTrace").unwrap().as_list().unwrap();
    assert_eq!(
        trace[0].get("methodName"),
        Some(&Value::from("throwException"))
    );
    assert_eq!(trace[0].get("lineNumber"), Some(&Value::Int(42)));
    let mut out = Vec::new();
    ResponseBody::<Value>::exception(e)
        .encode(&mut out)
        .unwrap();
    assert_eq!(out, body);
}

#[test]
fn dpy_echo_map_matches_javas_reencoding_up_to_hashmap_order() {
    let cases: Json =
        serde_json::from_str(&std::fs::read_to_string(golden("cases.json")).unwrap()).unwrap();
    let case = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dpy_echoMap")
        .unwrap();
    // Java re-encodes in its HashMap order; writing the entries in that order gives Java's
    // bytes exactly.
    let java = hex(case["java_response"]["java_reencoding"].as_str().unwrap());
    let value: DecodedResponse<Value> = decode_response(&java).unwrap();
    let mut out = Vec::new();
    let Returned::Value(v) = &value.result else {
        panic!()
    };
    ResponseBody::value(v).encode(&mut out).unwrap();
    assert_eq!(out, java);
}

#[test]
fn frame_header_and_body_are_written_into_one_buffer() {
    // The connection writes header + body into its outbound buffer without a copy: reserve
    // the header, encode the body after it, patch the length.
    let (header, body) = frame("ssl_sayHello.response.hex");
    let mut out = vec![0u8; HEADER_LEN];
    ResponseBody::value("Hello world").encode(&mut out).unwrap();
    let mut h = header;
    h.body_len = (out.len() - HEADER_LEN) as u32;
    out[..HEADER_LEN].copy_from_slice(&h.encode());
    assert_eq!(&out[HEADER_LEN..], &body[..]);
}
