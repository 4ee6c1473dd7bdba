//! Per-call context and filters over an in-memory loopback: attachments both ways, a
//! per-call timeout, filter order, state and short-circuits on both sides (`context`,
//! `consumer::Filter`, `provider::Filter`).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tether_core::consumer::{Channels, Filter as ConsumerFilter, Invocation, Reference, RpcError};
use tether_core::context::{CallContext, Reply};
use tether_core::hessian2::Value;
use tether_core::message::{Attachments, JavaException};
use tether_core::provider::{
    Answer, Dispatch, Filter as ProviderFilter, Outcome, Provider, Rejection, Request, Service,
};
use tether_core::{Completion, Status};
use tether_tests::{Loopback, QueueSpawner};

const SERVICE: &str = "org.apache.dubbo.demo.DemoService";

/// What filters and handlers saw, in order.
type Log = Arc<Mutex<Vec<String>>>;

fn service(log: Log) -> Service {
    let (seen, ran) = (log.clone(), log);
    Service::new(SERVICE)
        // Answers with what it received: the `k` and `timeout` attachments, and what a
        // provider filter added.
        .method("sayHello", move |ctx, (name,): (String,)| {
            let got = |key| ctx.attachment(key).unwrap_or("-").to_owned();
            seen.lock().push(format!("handler {name}"));
            Ok(Reply::new(format!(
                "Hello {name} k={} timeout={} gate={}",
                got("k"),
                got("timeout"),
                got("gate")
            ))
            .attachment("served-by", "p1")
            .attachment("hits", 7))
        })
        .method("throwException", |_, (m,): (String,)| {
            Err::<(), _>(JavaException::runtime(m))
        })
        .method("panics", |_, (): ()| -> Result<(), JavaException> {
            panic!("on purpose")
        })
        .method_async("hang", |_, (): ()| {
            std::future::pending::<Result<(), JavaException>>()
        })
        .method("ping", move |_, (): ()| {
            ran.lock().push("ping".into());
            Ok("pong")
        })
}

struct Setup {
    lb: Loopback,
    log: Log,
}

fn setup(provider: impl FnOnce(Provider) -> Provider) -> Setup {
    let spawner = QueueSpawner::default();
    let log = Log::default();
    let handler = provider(Provider::new(Dispatch::Direct, Arc::new(spawner.clone())))
        .export(service(log.clone()));
    let mut lb = Loopback::new(None, Some(Arc::new(handler)));
    lb.spawner = spawner;
    Setup { lb, log }
}

impl Setup {
    fn reference(
        &self,
        build: impl FnOnce(
            tether_core::consumer::ReferenceBuilder,
        ) -> tether_core::consumer::ReferenceBuilder,
    ) -> Reference {
        build(Reference::builder(SERVICE).attachment("k", "from-reference"))
            .build(Arc::new(Channels::single(self.lb.consumer.clone())))
    }

    fn take<T: Send + 'static>(&self, mut completion: Completion<T>) -> T {
        self.lb.pump();
        completion.try_take().expect("answered after pumping")
    }
}

#[test]
fn a_call_context_sends_attachments_and_a_timeout_and_the_reply_brings_attachments_back() {
    let s = setup(|p| p);
    let reference = s.reference(|b| b);
    let hello = reference.method::<(String,), String>("sayHello");

    // Without a context: the reference's attachment and the method's timeout.
    assert_eq!(
        s.take(hello.call(("a".into(),))).unwrap(),
        "Hello a k=from-reference timeout=1000 gate=-"
    );

    // With one: its attachment replaces the reference's, its timeout the method's.
    let ctx = CallContext::new()
        .attachment("k", "per-call")
        .timeout(Duration::from_millis(250));
    let reply = s.take(hello.call_with(ctx, ("b".into(),))).unwrap();
    assert_eq!(reply.value, "Hello b k=per-call timeout=250 gate=-");
    assert_eq!(reply.attachments.get_str("served-by"), Some("p1"));
    assert_eq!(reply.attachments.get("hits"), Some(&Value::Int(7)));
    // The per-call timeout is the call's own: 300 ms into a call the provider never
    // answers, a call with the method's 1 000 ms still waits, one with 250 ms has failed.
    let hang = reference.method::<(), ()>("hang");
    let mut patient = hang.call(());
    let mut hasty = hang.call_with(CallContext::new().timeout(Duration::from_millis(250)), ());
    s.lb.advance(Duration::from_millis(300));
    assert!(patient.try_take().is_none());
    match hasty.try_take() {
        Some(Err(RpcError::Timeout { timeout, .. })) => {
            assert_eq!(timeout, Duration::from_millis(250))
        }
        other => panic!("expected a 250 ms timeout, got {other:?}"),
    }
}

/// A consumer filter that logs its hooks, sets the `k` attachment to its name, and checks
/// that its per-call state reaches `on_outcome`. With `fail`, it stops every call.
struct Tap {
    name: &'static str,
    log: Log,
    fail: bool,
}

struct Mark(&'static str);

impl ConsumerFilter for Tap {
    fn on_call(&self, call: &mut Invocation<'_>) -> Result<(), RpcError> {
        let name = self.name;
        self.log.lock().push(format!("{name} call {}", call.method));
        if self.fail {
            return Err(RpcError::LimitExceeded(format!("{name} says no")));
        }
        call.context.attachments_mut().insert("k", name);
        call.context.extensions_mut().insert(Mark(name));
        Ok(())
    }

    fn on_outcome(&self, call: &mut Invocation<'_>, outcome: Result<&Attachments, &RpcError>) {
        let state = call.context.extensions().get::<Mark>().map(|m| m.0);
        let what = match outcome {
            Ok(attachments) => format!("ok {}", attachments.get_str("served-by").unwrap_or("-")),
            Err(error) => format!("err {}", error.code()),
        };
        let name = self.name;
        self.log.lock().push(format!(
            "{name} outcome {what} state={}",
            state.unwrap_or("none")
        ));
    }
}

/// A provider filter that logs its hooks, tells the handler its name in the `gate`
/// attachment, rejects calls carrying `deny=<its name>`, and stamps answers.
struct Gate {
    name: &'static str,
    log: Log,
}

impl ProviderFilter for Gate {
    fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
        let name = self.name;
        self.log
            .lock()
            .push(format!("{name} request {}", request.context.method));
        match request.context.attachment("deny") {
            Some(who) if who == name => {
                return Err(Rejection::Exception(JavaException::new(
                    "java.lang.SecurityException",
                    format!("{name} denies"),
                )));
            }
            Some(who) if who == format!("{name}-status") => {
                return Err(Rejection::Status(
                    Status::SERVICE_ERROR,
                    format!("{name} refuses"),
                ));
            }
            _ => {}
        }
        request.context.attachments_mut().insert("gate", name);
        request.extensions.insert(Mark(name));
        Ok(())
    }

    fn on_answer(&self, answer: &mut Answer<'_>) {
        let what = match answer.outcome {
            Outcome::Value => "value".to_owned(),
            Outcome::Exception(e) => format!("exception {}", e.class),
            Outcome::Status(status, _) => format!("status {}", status.0),
        };
        let state = answer.extensions.get::<Mark>().map_or("none", |m| m.0);
        let name = self.name;
        self.log.lock().push(format!(
            "{name} answer {} {what} state={state}",
            answer.method
        ));
        answer.attachments.insert(format!("gate-{name}"), "1");
    }
}

fn taps(log: &Log, fail: &[&'static str], names: &[&'static str]) -> Vec<Tap> {
    names
        .iter()
        .map(|&name| Tap {
            name,
            log: log.clone(),
            fail: fail.contains(&name),
        })
        .collect()
}

#[test]
fn consumer_filters_run_in_order_change_the_call_and_see_its_outcome() {
    let s = setup(|p| p);
    let reference = s.reference(|b| {
        taps(&s.log, &[], &["a", "b"])
            .into_iter()
            .fold(b, |b, tap| b.filter(tap))
    });
    let hello = reference.method::<(String,), String>("sayHello");
    // `b` runs after `a`: its `k` is the one sent.
    assert_eq!(
        s.take(hello.call(("x".into(),))).unwrap(),
        "Hello x k=b timeout=1000 gate=-"
    );
    // The blocking call, a remote exception, and the per-call API go through them too.
    let thrower = reference.method::<(String,), ()>("throwException");
    let mut thrown = thrower.call(("boom".into(),));
    s.lb.pump();
    assert!(matches!(
        thrown.try_take(),
        Some(Err(RpcError::Business(_)))
    ));
    let reply = s.take(hello.call_with(CallContext::new().attachment("k", "ctx"), ("y".into(),)));
    assert_eq!(reply.unwrap().value, "Hello y k=b timeout=1000 gate=-");
    assert_eq!(
        *s.log.lock(),
        [
            "a call sayHello",
            "b call sayHello",
            "handler x",
            "b outcome ok p1 state=b",
            "a outcome ok p1 state=b",
            "a call throwException",
            "b call throwException",
            "b outcome err 3 state=b",
            "a outcome err 3 state=b",
            "a call sayHello",
            "b call sayHello",
            "handler y",
            "b outcome ok p1 state=b",
            "a outcome ok p1 state=b",
        ]
    );
}

#[test]
fn a_consumer_filter_that_fails_stops_the_call_before_it_is_sent() {
    let s = setup(|p| p);
    let reference = s.reference(|b| {
        taps(&s.log, &["b"], &["a", "b", "c"])
            .into_iter()
            .fold(b, |b, tap| b.filter(tap))
    });
    let hello = reference.method::<(String,), String>("sayHello");
    for result in [
        s.take(hello.call(("x".into(),))),
        hello.call_blocking(("x".into(),)),
        s.take(hello.call_with(CallContext::new(), ("x".into(),)))
            .map(Reply::into_value),
    ] {
        match result {
            Err(RpcError::LimitExceeded(message)) => assert_eq!(message, "b says no"),
            other => panic!("expected b's error, got {other:?}"),
        }
    }
    let ping = reference.method::<(), String>("ping");
    assert!(matches!(ping.oneway(()), Err(RpcError::LimitExceeded(_))));
    let generic = reference.call_generic("ping", &[], &[]);
    assert!(matches!(s.take(generic), Err(RpcError::LimitExceeded(_))));
    s.lb.pump();
    // Nothing reached the provider; `a` saw each error, `c` never ran.
    let once = [
        "a call sayHello",
        "b call sayHello",
        "a outcome err 7 state=a",
    ];
    let log = s.log.lock().clone();
    assert_eq!(log[..9], [once, once, once].concat());
    assert_eq!(
        log[9..],
        [
            "a call ping",
            "b call ping",
            "a outcome err 7 state=a",
            "a call ping",
            "b call ping",
            "a outcome err 7 state=a",
        ]
    );
}

#[test]
fn provider_filters_run_around_the_handler_and_stamp_its_answer() {
    let log = Log::default();
    let gates = |log: &Log| {
        let (g1, g2) = (
            Gate {
                name: "g1",
                log: log.clone(),
            },
            Gate {
                name: "g2",
                log: log.clone(),
            },
        );
        move |p: Provider| p.filter(g1).filter(g2)
    };
    let s = setup(gates(&log));
    let reference = s.reference(|b| b);
    let hello = reference.method::<(String,), String>("sayHello");
    let reply = s
        .take(hello.call_with(CallContext::new(), ("x".into(),)))
        .unwrap();
    // `g2` ran last before the handler: its `gate` is the one the handler saw.
    assert_eq!(reply.value, "Hello x k=from-reference timeout=1000 gate=g2");
    for key in ["served-by", "gate-g1", "gate-g2"] {
        assert!(
            reply.attachments.get(key).is_some(),
            "{key} in {:?}",
            reply.attachments
        );
    }
    assert_eq!(
        std::mem::take(&mut *log.lock()),
        [
            "g1 request sayHello",
            "g2 request sayHello",
            "g2 answer sayHello value state=g2",
            "g1 answer sayHello value state=g2",
        ]
    );
    assert_eq!(*s.log.lock(), ["handler x"]);

    // Exceptions and panics pass through them as what they are answered with.
    let thrower = reference.method::<(String,), ()>("throwException");
    assert!(matches!(
        s.take(thrower.call(("t".into(),))),
        Err(RpcError::Business(_))
    ));
    let panics = reference.method::<(), ()>("panics");
    match s.take(panics.call(())) {
        Err(error) => assert!(
            error
                .to_string()
                .contains("the service handler panicked: on purpose"),
            "{error}"
        ),
        Ok(()) => panic!("a panicking handler answered a value"),
    }
    let generic = reference.call_generic("sayHello", &["java.lang.String"], &["g".into()]);
    assert!(s.take(generic).is_ok());
    assert_eq!(
        std::mem::take(&mut *log.lock()),
        [
            "g1 request throwException",
            "g2 request throwException",
            "g2 answer throwException exception java.lang.RuntimeException state=g2",
            "g1 answer throwException exception java.lang.RuntimeException state=g2",
            "g1 request panics",
            "g2 request panics",
            "g2 answer panics status 70 state=g2",
            "g1 answer panics status 70 state=g2",
            // A generic call names `$invoke` on the wire; filters see the method it runs.
            "g1 request $invoke",
            "g2 request $invoke",
            "g2 answer $invoke value state=g2",
            "g1 answer $invoke value state=g2",
        ]
    );
}

#[test]
fn a_provider_filter_rejects_a_call_with_an_exception_or_a_status() {
    let log = Log::default();
    let (g1, g2) = (
        Gate {
            name: "g1",
            log: log.clone(),
        },
        Gate {
            name: "g2",
            log: log.clone(),
        },
    );
    let s = setup(move |p| p.filter(g1).filter(g2));
    let reference = s.reference(|b| b);
    let hello = reference.method::<(String,), String>("sayHello");

    let denied =
        s.take(hello.call_with(CallContext::new().attachment("deny", "g2"), ("x".into(),)));
    match denied {
        Err(RpcError::Business(e)) => {
            assert_eq!(e.class, "java.lang.SecurityException");
            assert_eq!(e.message.as_deref(), Some("g2 denies"));
        }
        other => panic!("expected g2's exception, got {other:?}"),
    }
    let refused = s.take(hello.call_with(
        CallContext::new().attachment("deny", "g1-status"),
        ("x".into(),),
    ));
    match refused {
        Err(error) => assert!(error.to_string().contains("g1 refuses"), "{error}"),
        other => panic!("expected g1's status, got {other:?}"),
    }
    // The handler never ran; the filters before the rejecting one saw its answer.
    assert!(s.log.lock().is_empty());
    assert_eq!(
        *log.lock(),
        [
            "g1 request sayHello",
            "g2 request sayHello",
            "g1 answer sayHello exception java.lang.SecurityException state=g1",
            "g1 request sayHello",
        ]
    );
}

#[test]
fn one_way_and_generic_calls_carry_the_context_too() {
    let log = Log::default();
    let gate = Gate {
        name: "g",
        log: log.clone(),
    };
    let s = setup(move |p| p.filter(gate));
    let reference = s.reference(|b| {
        taps(&s.log, &[], &["a"])
            .into_iter()
            .fold(b, |b, tap| b.filter(tap))
    });
    let ping = reference.method::<(), ()>("ping");
    ping.oneway_with(CallContext::new().attachment("trace", "t1"), ())
        .unwrap();
    s.lb.pump();
    let generic = reference.call_generic_with(
        CallContext::new().attachment("k", "ctx"),
        "sayHello",
        &["java.lang.String"],
        &["g".into()],
    );
    let reply = s.take(generic).unwrap();
    assert_eq!(
        reply.value,
        Value::from("Hello g k=a timeout=1000 gate=g".to_owned())
    );
    assert_eq!(reply.attachments.get_str("gate-g"), Some("1"));
    assert_eq!(
        *s.log.lock(),
        [
            "a call ping",
            "a outcome ok - state=a",
            "ping",
            "a call sayHello",
            "handler g",
            "a outcome ok p1 state=a",
        ]
    );
    assert_eq!(
        *log.lock(),
        [
            "g request ping",
            "g answer ping value state=g",
            "g request $invoke",
            "g answer $invoke value state=g",
        ]
    );
}
