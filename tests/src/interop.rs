//! The interop cases a tether consumer runs against any provider of the demo-service contract
//! (tether's own, or `py_provider.py`): every method, with values that exercise each compact
//! Hessian form.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tether_core::consumer::{Reference, RpcError};
use tether_core::hessian2::{Binary, JavaArray, Value};
use tether_core::message::Arguments;

use crate::demo::User;

/// One case's name and outcome.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    pub outcome: Result<(), String>,
}

struct Runner<'a> {
    reference: &'a Reference,
    results: Vec<CaseResult>,
}

impl Runner<'_> {
    fn record(&mut self, name: String, outcome: Result<(), String>) {
        self.results.push(CaseResult { name, outcome });
    }

    /// Calls `method(args)` and expects `want` back.
    /// Like [`expect`](Self::expect), comparing after `normalize` has been applied to the
    /// answer.
    fn expect_normalized<A, R>(
        &mut self,
        name: &str,
        method: &str,
        args: A,
        want: R,
        normalize: impl FnOnce(R) -> R,
    ) where
        A: Arguments + Serialize + Send + 'static,
        R: DeserializeOwned + PartialEq + Debug + Send + 'static,
    {
        let outcome = match self
            .reference
            .method::<A, R>(method)
            .call_blocking(args)
            .map(normalize)
        {
            Ok(got) if got == want => Ok(()),
            Ok(got) => Err(format!("got {got:?}, want {want:?}")),
            Err(e) => Err(format!("error: {e}")),
        };
        self.record(name.to_owned(), outcome);
    }

    fn expect<A, R>(&mut self, name: &str, method: &str, args: A, want: R)
    where
        A: Arguments + Serialize + Send + 'static,
        R: DeserializeOwned + PartialEq + Debug + Send + 'static,
    {
        let outcome = match self.reference.method::<A, R>(method).call_blocking(args) {
            Ok(got) if got == want => Ok(()),
            Ok(got) => Err(format!("got {got:?}, want {want:?}")),
            Err(e) => Err(format!("error: {e}")),
        };
        self.record(name.to_owned(), outcome);
    }
}

/// Runs every case and returns the outcomes, in order.
pub fn consumer_cases(reference: &Reference) -> Vec<CaseResult> {
    let mut r = Runner {
        reference,
        results: Vec::new(),
    };
    let s = |s: &str| s.to_owned();

    r.expect("sayHello", "sayHello", (s("world"),), s("Hello world"));
    r.expect(
        "sayHello.unicode",
        "sayHello",
        (s("héllo wörld ☃"),),
        s("Hello héllo wörld ☃"),
    );
    let long = "x".repeat(2_000);
    r.expect(
        "sayHello.2000",
        "sayHello",
        (long.clone(),),
        format!("Hello {long}"),
    );
    r.expect("ping", "ping", (), s("pong"));
    r.expect(
        "echoString",
        "echoString",
        (Some(s("abc")),),
        Some(s("abc")),
    );
    r.expect(
        "echoString.null",
        "echoString",
        (None::<String>,),
        None::<String>,
    );
    r.expect(
        "echoString.empty",
        "echoString",
        (Some(String::new()),),
        Some(String::new()),
    );
    for v in [
        0,
        47,
        -16,
        48,
        -17,
        2_047,
        -2_048,
        2_048,
        262_143,
        -262_144,
        262_144,
        i32::MIN,
        i32::MAX,
    ] {
        r.expect(&format!("echoInt.{v}"), "echoInt", (v,), v);
    }
    for v in [
        0i64,
        15,
        -8,
        16,
        2_047,
        -2_048,
        262_143,
        262_144,
        2_147_483_648,
        -(1 << 40),
        i64::MAX,
        i64::MIN,
    ] {
        r.expect(&format!("echoLong.{v}"), "echoLong", (v,), v);
    }
    for v in [
        0.0f64,
        1.0,
        -5.0,
        127.0,
        128.0,
        1_000.0,
        32_768.0,
        3.5,
        0.001,
        12.25,
        1.234_567_89,
        40_000.5,
        1e300,
        -2.5e-8,
    ] {
        r.expect(&format!("echoDouble.{v}"), "echoDouble", (v,), v);
    }
    r.expect("echoBool.true", "echoBool", (true,), true);
    r.expect("echoBool.false", "echoBool", (false,), false);

    let list = vec![
        Value::Int(1),
        Value::String(s("a")),
        Value::Null,
        Value::Double(2.5),
        Value::Long(1 << 40),
        Value::Bool(true),
    ];
    r.expect("echoList", "echoList", (list.clone(),), list);
    let many: Vec<Value> = (0..10).map(Value::Int).collect();
    r.expect("echoList.10", "echoList", (many.clone(),), many);

    let mut map = HashMap::new();
    map.insert(s("a"), Value::Int(1));
    map.insert(s("b"), Value::String(s("x")));
    map.insert(s("c"), Value::list(vec![Value::Int(2), Value::Int(3)]));
    // Java 2.7 (hessian-lite 3.2) writes a nested ArrayList with its type name; an untyped
    // list is the same `java.util.ArrayList`.
    let untyped_lists = |mut got: HashMap<String, Value>| {
        for value in got.values_mut() {
            if let Value::List { type_name, .. } = value {
                if type_name.as_deref() == Some("java.util.ArrayList") {
                    *type_name = None;
                }
            }
        }
        got
    };
    r.expect_normalized("echoMap", "echoMap", (map.clone(),), map, untyped_lists);

    for n in [4usize, 100, 2_000, 9_000] {
        let bytes = Binary((0..n).map(|i| (i * 7 % 251) as u8).collect());
        r.expect(
            &format!("echoBytes.{n}"),
            "echoBytes",
            (bytes.clone(),),
            bytes,
        );
    }
    let strings: Vec<String> = ["a", "bb", "ccc"].map(String::from).to_vec();
    r.expect(
        "echoStringArray",
        "echoStringArray",
        (JavaArray(strings.clone()),),
        JavaArray(strings),
    );
    let strings: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    r.expect(
        "echoStringArray.8",
        "echoStringArray",
        (JavaArray(strings.clone()),),
        JavaArray(strings),
    );
    let ints = vec![1, -1, 1_000, 100_000, i32::MIN];
    r.expect(
        "echoIntArray",
        "echoIntArray",
        (JavaArray(ints.clone()),),
        JavaArray(ints),
    );
    let user = User {
        name: Some(s("tom")),
        age: 18,
    };
    r.expect("echoUser", "echoUser", (user.clone(),), user);
    r.expect("join", "join", (s("x"), 5, true), s("x:5:true"));

    let traced = Reference::builder(reference.path())
        .version(crate::demo::VERSION)
        .attachment("traceId", "trace-42")
        .build_with(reference.directory().clone());
    let outcome = match traced
        .method::<(String,), Option<String>>("getAttachment")
        .call_blocking((s("traceId"),))
    {
        Ok(Some(v)) if v == "trace-42" => Ok(()),
        other => Err(format!("got {other:?}")),
    };
    r.record(s("getAttachment"), outcome);
    r.expect(
        "getAttachment.absent",
        "getAttachment",
        (s("nope"),),
        None::<String>,
    );

    let outcome = match reference
        .method::<(String,), String>("throwException")
        .call_blocking((s("bad"),))
    {
        Err(RpcError::Business(e))
            if e.message.as_deref() == Some("bad") && e.class.ends_with("Exception") =>
        {
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    };
    r.record(s("throwException"), outcome);

    // tether answers 70 (`Not found method ...`); Java 2.7 and 3.3 answer 40, their decoder
    // failing to find the method (`Fail to decode request due to: ...noSuchMethod...`).
    let outcome = match reference
        .method::<(String,), String>("noSuchMethod")
        .call_blocking((s("x"),))
    {
        Err(
            RpcError::ServiceNotFound(m)
            | RpcError::Remote { message: m, .. }
            | RpcError::BadRequest(m),
        ) if m.contains("noSuchMethod") => Ok(()),
        other => Err(format!("got {other:?}")),
    };
    r.record(s("unknownMethod"), outcome);

    // 16 calls in flight at once on one connection, each answered with its own id.
    let hello = reference
        .method::<(String,), String>("sayHello")
        .timeout(Duration::from_secs(5));
    let pending: Vec<_> = (0..16).map(|i| hello.call((format!("p{i}"),))).collect();
    let outcome = pending
        .into_iter()
        .enumerate()
        .try_for_each(|(i, call)| match call.wait() {
            Ok(got) if got == format!("Hello p{i}") => Ok(()),
            other => Err(format!("call {i}: {other:?}")),
        });
    r.record(s("concurrent16"), outcome);

    r.results
}

/// Prints one `PASS name` / `FAIL name: reason` line per case and the `N passed, M failed`
/// summary; returns the number of failures.
pub fn report(results: &[CaseResult]) -> usize {
    let mut failed = 0;
    for result in results {
        match &result.outcome {
            Ok(()) => println!("PASS {}", result.name),
            Err(reason) => {
                failed += 1;
                println!("FAIL {}: {reason}", result.name);
            }
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    failed
}
