//! The provider pipeline over an in-memory loopback: lookup, handlers, statuses, deadlines.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tether_core::hessian2::Value;
use tether_core::message::{
    Arguments, Attachments, EncodeArgs, GENERIC_DESCRIPTOR, GENERIC_METHOD, GenericArgs,
    JavaException, Reply, RequestBody, Returned, decode_reply,
};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{BoxFuture, CallOptions, Completion, Response, SerializationId, Spawner, Status};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

fn demo_service() -> Service {
    Service::new(SERVICE)
        .version("1.0.0")
        .method("sayHello", |_, (name,): (String,)| {
            Ok(format!("Hello {name}"))
        })
        .method("echoString", |_, (s,): (Option<String>,)| Ok(s))
        .method("join", |_, (s, i, b): (String, i32, bool)| {
            Ok(format!("{s}:{i}:{b}"))
        })
        .method("getAttachment", |ctx, (key,): (String,)| {
            Ok(ctx.attachment(&key).map(str::to_owned))
        })
        .method("throwException", |_, (msg,): (String,)| {
            Err::<String, _>(JavaException::runtime(msg))
        })
        .method(
            "panics",
            |_, (_,): (String,)| -> Result<String, JavaException> { panic!("boom") },
        )
}

fn loopback(provider: Provider) -> Loopback {
    Loopback::new(None, Some(Arc::new(provider)))
}

struct Caller<'a> {
    lb: &'a Loopback,
    dubbo_version: &'a str,
    version: &'a str,
    extra: Vec<(&'a str, &'a str)>,
}

impl<'a> Caller<'a> {
    fn new(lb: &'a Loopback) -> Self {
        Self {
            lb,
            dubbo_version: "2.0.2",
            version: "1.0.0",
            extra: Vec::new(),
        }
    }

    fn start<A: EncodeArgs + ?Sized>(
        &self,
        method: &str,
        descriptor: &str,
        args: &A,
    ) -> Completion<tether_core::CallResult> {
        let mut attachments = Attachments::new();
        attachments.insert("path", SERVICE);
        attachments.insert("interface", SERVICE);
        attachments.insert("version", self.version);
        attachments.insert("timeout", "1000");
        for (k, v) in &self.extra {
            attachments.insert(*k, *v);
        }
        let body = RequestBody {
            dubbo_version: self.dubbo_version,
            path: SERVICE,
            version: Some(self.version),
            method,
            parameter_types: descriptor,
            args,
            attachments: &attachments,
        };
        let options = CallOptions::new(Duration::from_secs(1));
        match self.lb.consumer.start_call(options, body) {
            Ok(call) => call.response,
            Err(e) => panic!("{}", e.kind),
        }
    }

    fn call<A: Arguments>(&self, method: &str, args: A) -> Response {
        let mut completion = self.start(method, &A::descriptor_string(), &args);
        self.lb.pump();
        completion
            .try_take()
            .expect("answered")
            .expect("a response")
    }
}

fn returned(response: &Response) -> (i32, Returned<Value>) {
    match decode_reply::<Value>(response.status, &response.body).unwrap() {
        Reply::Ok(decoded) => (decoded.flag, decoded.result),
        Reply::Error { status, message } => panic!("status {status:?}: {message:?}"),
    }
}

fn error(response: &Response) -> (Status, String) {
    match decode_reply::<Value>(response.status, &response.body).unwrap() {
        Reply::Error { status, message } => (status, message.unwrap_or_default()),
        Reply::Ok(decoded) => panic!("expected an error status, got {decoded:?}"),
    }
}

fn provider() -> Provider {
    Provider::new(Dispatch::Direct, Arc::new(QueueSpawner::default())).export(demo_service())
}

#[test]
fn values_nulls_and_exceptions_follow_the_version_rule() {
    let lb = loopback(provider());
    let mut caller = Caller::new(&lb);
    let s = |s: &str| Value::String(s.to_owned());
    // 2.0.2 takes result flags 3/4/5 (with attachments).
    let (flag, result) = returned(&caller.call("sayHello", ("world".to_owned(),)));
    assert_eq!((flag, result), (4, Returned::Value(s("Hello world"))));
    let (flag, result) = returned(&caller.call("echoString", (None::<String>,)));
    assert_eq!((flag, result), (5, Returned::Null));
    let (flag, result) = returned(&caller.call("throwException", ("bad".to_owned(),)));
    assert_eq!(flag, 3);
    let Returned::Exception(e) = result else {
        panic!()
    };
    assert_eq!(e.class, "java.lang.RuntimeException");
    assert_eq!(e.message.as_deref(), Some("bad"));
    // The Python clients send 2.4.10 / 2.5.3: flags 0/1/2.
    caller.dubbo_version = "2.5.3";
    let (flag, result) = returned(&caller.call("join", ("x".to_owned(), 5, true)));
    assert_eq!((flag, result), (1, Returned::Value(s("x:5:true"))));
    let (flag, _) = returned(&caller.call("echoString", (None::<String>,)));
    assert_eq!(flag, 2);
    let (flag, _) = returned(&caller.call("throwException", ("bad".to_owned(),)));
    assert_eq!(flag, 0);
}

#[test]
fn handlers_see_the_attachments() {
    let lb = loopback(provider());
    let mut caller = Caller::new(&lb);
    caller.extra.push(("traceId", "abc-123"));
    let (_, result) = returned(&caller.call("getAttachment", ("traceId".to_owned(),)));
    assert_eq!(result, Returned::Value(Value::String("abc-123".into())));
    let (_, result) = returned(&caller.call("getAttachment", ("missing".to_owned(),)));
    assert_eq!(result, Returned::Null);
}

#[test]
fn unknown_service_method_and_version_are_named_in_status_70() {
    let lb = loopback(provider());
    let mut caller = Caller::new(&lb);
    let (status, message) = error(&caller.call("nope", ("x".to_owned(),)));
    assert_eq!(status, Status::SERVICE_ERROR);
    assert!(
        message.contains("nope") && message.contains(SERVICE),
        "{message}"
    );
    // Same name, other parameter types: a different method in Java.
    let (status, message) = error(&caller.call("sayHello", (1i32,)));
    assert_eq!(status, Status::SERVICE_ERROR);
    assert!(message.contains("sayHello(I)"), "{message}");
    caller.version = "2.0.0";
    let (status, message) = error(&caller.call("sayHello", ("x".to_owned(),)));
    assert_eq!(status, Status::SERVICE_ERROR);
    assert!(
        message.contains("Not found exported service") && message.contains(":2.0.0"),
        "{message}"
    );
}

#[test]
fn token_is_checked() {
    let service = Service::new(SERVICE)
        .version("1.0.0")
        .token("secret")
        .method("sayHello", |_, (name,): (String,)| {
            Ok(format!("Hello {name}"))
        });
    let lb = loopback(
        Provider::new(Dispatch::Direct, Arc::new(QueueSpawner::default())).export(service),
    );
    let mut caller = Caller::new(&lb);
    let (status, message) = error(&caller.call("sayHello", ("x".to_owned(),)));
    assert_eq!(status, Status::SERVICE_ERROR);
    assert!(message.starts_with("Invalid token"), "{message}");
    caller.extra.push(("token", "secret"));
    let (_, result) = returned(&caller.call("sayHello", ("x".to_owned(),)));
    assert_eq!(result, Returned::Value(Value::String("Hello x".into())));
}

#[test]
fn a_panicking_handler_answers_70_and_the_provider_keeps_serving() {
    let lb = loopback(provider());
    let caller = Caller::new(&lb);
    let (status, message) = error(&caller.call("panics", ("x".to_owned(),)));
    assert_eq!(status, Status::SERVICE_ERROR);
    assert!(message.contains("panicked: boom"), "{message}");
    let (_, result) = returned(&caller.call("sayHello", ("again".to_owned(),)));
    assert_eq!(result, Returned::Value(Value::String("Hello again".into())));
}

#[test]
fn async_handlers_answer_when_their_future_completes() {
    let gate: Arc<Mutex<Option<futures::channel::oneshot::Sender<()>>>> = Arc::default();
    let gate_for_handler = gate.clone();
    let service = Service::new(SERVICE).version("1.0.0").method_async(
        "slow",
        move |_, (name,): (String,)| {
            let (tx, rx) = futures::channel::oneshot::channel();
            *gate_for_handler.lock() = Some(tx);
            async move {
                rx.await.ok();
                Ok::<_, JavaException>(format!("done {name}"))
            }
        },
    );
    let spawner = QueueSpawner::default();
    let provider = Provider::new(Dispatch::Direct, Arc::new(spawner.clone())).export(service);
    let mut lb = loopback(provider);
    lb.spawner = spawner;
    let caller = Caller::new(&lb);
    let mut completion = caller.start(
        "slow",
        &<(String,)>::descriptor_string(),
        &("x".to_owned(),),
    );
    lb.pump();
    assert!(completion.try_take().is_none(), "waits for the future");
    gate.lock().take().unwrap().send(()).unwrap();
    lb.pump();
    let response = completion.try_take().unwrap().unwrap();
    assert_eq!(
        returned(&response).1,
        Returned::Value(Value::String("done x".into()))
    );
}

/// Holds pool jobs until released, to model a busy worker pool.
#[derive(Clone, Default)]
struct HeldPool(Arc<Mutex<Vec<BoxFuture>>>);

impl Spawner for HeldPool {
    fn spawn(&self, future: BoxFuture) {
        self.0.lock().push(future);
    }
}

#[test]
fn a_request_past_its_deadline_before_dispatch_is_not_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let service = Service::new(SERVICE)
        .version("1.0.0")
        .method("count", move |_, (): ()| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(1)
        });
    let pool = HeldPool::default();
    let provider = Provider::new(
        Dispatch::Pool(Arc::new(pool.clone())),
        Arc::new(QueueSpawner::default()),
    )
    .export(service);
    let lb = loopback(provider);
    let caller = Caller::new(&lb);
    // The caller's `timeout` attachment says 1000 ms.
    let mut late = caller.start("count", "", &());
    lb.pump();
    lb.clock.advance(Duration::from_millis(1_500));
    let jobs: Vec<_> = std::mem::take(&mut *pool.0.lock());
    let mut on_time = caller.start("count", "", &());
    lb.pump();
    let more: Vec<_> = std::mem::take(&mut *pool.0.lock());
    for mut job in jobs.into_iter().chain(more) {
        let waker = futures::task::noop_waker();
        assert!(
            job.as_mut()
                .poll(&mut std::task::Context::from_waker(&waker))
                .is_ready()
        );
    }
    lb.pump();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "only the call still in time ran"
    );
    // The late call's consumer timed out locally; the provider's 31 was dropped as late.
    assert!(matches!(
        late.try_take(),
        Some(Err(tether_core::CallError::Timeout { .. }))
    ));
    assert_eq!(on_time.try_take().unwrap().unwrap().status, Status::OK);
    assert_eq!(lb.consumer.lock().stats().late_responses, 1);
}

#[test]
fn undecodable_bodies_and_unknown_serializations_get_40() {
    let lb = loopback(provider());
    let options = CallOptions::new(Duration::from_secs(1));
    let mut garbage = lb
        .consumer
        .start_call(options, vec![0x05, b'2'])
        .unwrap()
        .response;
    let mut fastjson = lb
        .consumer
        .start_call(
            options.serialization(SerializationId::new(6).unwrap()),
            vec![b'{', b'}'],
        )
        .unwrap()
        .response;
    lb.pump();
    let (status, message) = error(&garbage.try_take().unwrap().unwrap());
    assert_eq!(status, Status::BAD_REQUEST);
    assert!(
        message.starts_with("Fail to decode request due to:"),
        "{message}"
    );
    let (status, message) = error(&fastjson.try_take().unwrap().unwrap());
    assert_eq!(status, Status::BAD_REQUEST);
    assert!(
        message.contains("serialize type from consumer: 6"),
        "{message}"
    );
}

#[test]
fn generic_invoke_and_echo() {
    let lb = loopback(provider());
    let caller = Caller::new(&lb);
    let types = ["java.lang.String"];
    let values = [Value::String("generic".into())];
    let args = GenericArgs {
        method: "sayHello",
        parameter_types: &types,
        args: &values,
    };
    let mut completion = caller.start(GENERIC_METHOD, GENERIC_DESCRIPTOR, &args);
    lb.pump();
    let response = completion.try_take().unwrap().unwrap();
    assert_eq!(
        returned(&response).1,
        Returned::Value(Value::String("Hello generic".into()))
    );

    let echo = vec![Value::Int(42)];
    let mut completion = caller.start("$echo", "Ljava/lang/Object;", &echo);
    lb.pump();
    let response = completion.try_take().unwrap().unwrap();
    assert_eq!(returned(&response).1, Returned::Value(Value::Int(42)));
}

#[test]
fn one_way_requests_run_and_are_never_answered() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let service = Service::new(SERVICE)
        .version("1.0.0")
        .method("fire", move |_, (): ()| {
            counter.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(JavaException::runtime("even errors are not sent"))
        });
    let lb = loopback(
        Provider::new(Dispatch::Direct, Arc::new(QueueSpawner::default())).export(service),
    );
    let mut attachments = Attachments::new();
    attachments.insert("path", SERVICE);
    attachments.insert("version", "1.0.0");
    let body = RequestBody {
        dubbo_version: "2.0.2",
        path: SERVICE,
        version: Some("1.0.0"),
        method: "fire",
        parameter_types: "",
        args: &(),
        attachments: &attachments,
    };
    lb.consumer
        .send_oneway(SerializationId::HESSIAN2, false, body)
        .unwrap();
    lb.pump();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(lb.provider.lock().stats().frames_sent, 0);
}

#[test]
fn services_of_one_path_are_told_apart_by_version_and_group() {
    let named = |name: &'static str| move |_, (): ()| Ok(name.to_owned());
    let provider = Provider::new(Dispatch::Direct, Arc::new(QueueSpawner::default()))
        .export(Service::new(SERVICE).method("who", named("stale")))
        .export(Service::new(SERVICE).method("who", named("none")))
        .export(
            Service::new(SERVICE)
                .version("1.0.0")
                .method("who", named("v1")),
        )
        .export(
            Service::new(SERVICE)
                .version("2.0.0")
                .method("who", named("v2")),
        )
        .export(
            Service::new(SERVICE)
                .version("1.0.0")
                .group("g")
                .method("who", named("g/v1")),
        );
    let lb = loopback(provider);
    let mut caller = Caller::new(&lb);
    let mut who = |version, group: Option<&'static str>| {
        caller.version = version;
        caller.extra = group.map(|g| ("group", g)).into_iter().collect();
        match returned(&caller.call("who", ())).1 {
            Returned::Value(Value::String(s)) => s,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(who("1.0.0", None), "v1");
    assert_eq!(who("2.0.0", None), "v2");
    assert_eq!(who("1.0.0", Some("g")), "g/v1");
    assert_eq!(who("1.0.0", Some("")), "v1");
    // "0.0.0", "*" and "" all mean no version; exporting the same key again replaced it.
    assert_eq!(who("0.0.0", None), "none");
    assert_eq!(who("*", None), "none");
    caller.version = "2.0.0";
    caller.extra = vec![("group", "g")];
    let (status, message) = error(&caller.call("who", ()));
    assert_eq!(status, Status::SERVICE_ERROR);
    assert!(
        message.starts_with(&format!(
            "Not found exported service: g/{SERVICE}:2.0.0 in ["
        )) && message.contains(&format!("g/{SERVICE}:1.0.0"))
            && message.ends_with(", may be version or group mismatch, method: who"),
        "{message}"
    );
}

#[test]
fn handlers_see_the_method_and_dubbo_version() {
    let service = Service::new(SERVICE)
        .version("1.0.0")
        .method("describe", |ctx, (tag,): (String,)| {
            Ok(format!("{tag}: {} {}", ctx.method, ctx.dubbo_version))
        });
    let lb = loopback(
        Provider::new(Dispatch::Direct, Arc::new(QueueSpawner::default())).export(service),
    );
    let mut caller = Caller::new(&lb);
    let s = |s: &str| Value::String(s.to_owned());
    let describe = |caller: &Caller<'_>| returned(&caller.call("describe", ("x".to_owned(),))).1;
    assert_eq!(describe(&caller), Returned::Value(s("x: describe 2.0.2")));
    caller.dubbo_version = "2.0.10";
    assert_eq!(describe(&caller), Returned::Value(s("x: describe 2.0.10")));

    caller.dubbo_version = "2.0.2";
    let args = GenericArgs {
        method: "describe",
        parameter_types: &["java.lang.String"],
        args: &[Value::String("g".into())],
    };
    let mut completion = caller.start(GENERIC_METHOD, GENERIC_DESCRIPTOR, &args);
    lb.pump();
    let response = completion.try_take().unwrap().unwrap();
    assert_eq!(
        returned(&response).1,
        Returned::Value(s("g: $invoke 2.0.2"))
    );
}

#[test]
fn bad_arguments_get_40_naming_the_argument_and_its_body_offset() {
    let lb = loopback(provider());
    let caller = Caller::new(&lb);
    // `join(String, int, boolean)` sent an int first: found by its descriptor, refused by
    // the handler's decoding.
    let args = vec![Value::Int(1), Value::Int(5), Value::Bool(true)];
    let mut completion = caller.start("join", "Ljava/lang/String;IZ", &args);
    lb.pump();
    let (status, message) = error(&completion.try_take().unwrap().unwrap());
    assert_eq!(status, Status::BAD_REQUEST);
    // The offset is the argument's place in the whole body, past the 5 head strings.
    let attachments: Attachments = [
        ("path", SERVICE),
        ("interface", SERVICE),
        ("version", "1.0.0"),
        ("timeout", "1000"),
    ]
    .into_iter()
    .collect();
    let mut body = Vec::new();
    RequestBody {
        dubbo_version: "2.0.2",
        path: SERVICE,
        version: Some("1.0.0"),
        method: "join",
        parameter_types: "Ljava/lang/String;IZ",
        args: &args,
        attachments: &attachments,
    }
    .encode(&mut body)
    .unwrap();
    let expected = tether_core::message::RequestReader::new(&body)
        .unwrap()
        .args::<(String, i32, bool)>()
        .unwrap_err();
    assert_eq!(
        message,
        format!("Fail to decode request due to: {expected}")
    );
    assert!(
        message.contains("argument 0") && message.contains("at offset"),
        "{message}"
    );
}
