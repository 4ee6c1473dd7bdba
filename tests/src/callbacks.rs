//! Parameter callbacks beyond one listener, as a tether consumer runs them against any
//! provider of the demo contract that allows three listeners per connection (`JavaProvider`
//! sets `callbacks=3`; tether's suite provider takes `Config::callback_limit`):
//! subscribing up to the limit and past it, unsubscribing with a `callback="false"` argument
//! (tether's [`Method::callback_release`](tether_core::consumer::Method::callback_release)),
//! and what the provider's proxy does once the consumer's connection closed. The same cases
//! run from a Java consumer are in `interop.CallbackCases`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_core::consumer::{Callback, Reference, RpcError};
use tether_core::provider::Service;

use crate::conformance::Listener;
use crate::estate::reference;
use crate::exec::Executor;
use crate::interop::CaseResult;

/// The listeners a provider of the contract takes per connection in these cases.
pub const LIMIT: usize = 3;

const PATIENCE: Duration = Duration::from_secs(10);

/// A listener and what it was called with.
struct Recorder {
    callback: Callback<Listener>,
    got: mpsc::Receiver<i32>,
}

impl Recorder {
    fn new() -> Self {
        let (tx, got) = mpsc::channel();
        let service = Service::new("org.apache.dubbo.demo.Listener").method(
            "changed",
            move |_, (i,): (i32,)| {
                let _ = tx.send(i);
                Ok(())
            },
        );
        Self {
            callback: Callback::new(service),
            got,
        }
    }

    fn next(&self, wait: Duration) -> Option<i32> {
        self.got.recv_timeout(wait).ok()
    }
}

fn add(r: &Reference, key: &str, listener: &Recorder) -> Result<(), RpcError> {
    r.method::<(String, Callback<Listener>), ()>("addListener")
        .call_blocking((key.to_owned(), listener.callback.clone()))
}

fn remove(r: &Reference, key: &str, listener: &Recorder) -> Result<(), RpcError> {
    r.method::<(String, Callback<Listener>), ()>("removeListener")
        .callback_release(true)
        .call_blocking((key.to_owned(), listener.callback.clone()))
}

fn fire(r: &Reference, key: &str, value: i32) -> Result<String, String> {
    r.method::<(String, i32), String>("fire")
        .call_blocking((key.to_owned(), value))
        .map_err(|e| format!("fire({key}): {e}"))
}

/// `fire(key, value)` answers "ok" and `listener` gets `value`.
fn fired(r: &Reference, key: &str, listener: &Recorder, value: i32) -> Result<(), String> {
    match fire(r, key, value)?.as_str() {
        "ok" => {}
        other => return Err(format!("fire({key}, {value}): {other}")),
    }
    match listener.next(PATIENCE) {
        Some(v) if v == value => Ok(()),
        other => Err(format!("{key}'s listener got {other:?}, want {value}")),
    }
}

/// Keys unique to this run: a provider (Java's) may outlive a run and keep its keys.
fn run_prefix(exec: &dyn Executor) -> String {
    static RUN: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        exec.name(),
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    )
}

/// The callback cases against a provider at `addr`, each on references (connections) of
/// their own made on `exec`.
pub fn callback_cases(exec: &dyn Executor, addr: SocketAddr) -> Vec<CaseResult> {
    let prefix = run_prefix(exec);
    let key = |k: &str| format!("{prefix}-{k}");
    let mut results = Vec::new();
    let mut case = |name: &str, outcome: Result<(), String>| {
        results.push(CaseResult {
            name: format!("callback.{name}"),
            outcome,
        });
    };
    let r = reference(exec, addr);
    let (a, b, c, late) = (
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
        Recorder::new(),
    );

    case(
        "subscribe",
        (|| {
            for (k, listener) in [("a", &a), ("b", &b), ("c", &c)] {
                add(&r, &key(k), listener).map_err(|e| format!("addListener({k}): {e}"))?;
            }
            for (k, listener) in [("a", &a), ("b", &b), ("c", &c)] {
                fired(&r, &key(k), listener, 1)?;
            }
            Ok(())
        })(),
    );

    case(
        "limit",
        (|| {
            // Past the provider's limit: refused while decoding (status 40). Java 3.3 names
            // the invocation only; 2.7 and tether say why.
            match add(&r, &key("d"), &late) {
                Err(RpcError::BadRequest(message))
                    if message.starts_with("Fail to decode request due to: ")
                        && (message.contains(&format!(
                            "callback instances num exceed providers limit :{LIMIT}"
                        )) || message.contains("methodName=addListener")) => {}
                other => return Err(format!("a fourth listener: got {other:?}")),
            }
            match fire(&r, &key("d"), 2)?.as_str() {
                "absent" => {}
                other => return Err(format!("the refused listener: {other}")),
            }
            // The first three keep working.
            for (k, listener) in [("a", &a), ("b", &b), ("c", &c)] {
                fired(&r, &key(k), listener, 2)?;
            }
            Ok(())
        })(),
    );

    case(
        "unsubscribe",
        (|| {
            remove(&r, &key("a"), &a).map_err(|e| format!("removeListener: {e}"))?;
            let after = fire(&r, &key("a"), 3)?;
            if !after.starts_with("failed: ") {
                return Err(format!("fire after unsubscribing: {after}"));
            }
            if let Some(v) = a.next(Duration::from_millis(300)) {
                return Err(format!("called with {v} after unsubscribing"));
            }
            // The place it freed takes the listener refused before.
            add(&r, &key("d"), &late).map_err(|e| format!("addListener(d) again: {e}"))?;
            fired(&r, &key("d"), &late, 4)?;
            fired(&r, &key("b"), &b, 4)
        })(),
    );

    case(
        "disconnect",
        (|| {
            let gone = Recorder::new();
            {
                let own = reference(exec, addr);
                add(&own, &key("gone"), &gone).map_err(|e| format!("addListener: {e}"))?;
                fired(&own, &key("gone"), &gone, 5)?;
                let conn = crate::first_channels(&own).get(0).ok_or("no connection")?;
                // Dropping the reference closes its connection (its channels own it).
                drop(own);
                let deadline = Instant::now() + PATIENCE;
                while conn.close_reason().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            // The provider's proxy is bound to a closed connection: its calls fail.
            let deadline = Instant::now() + PATIENCE;
            let after = loop {
                while gone.next(Duration::ZERO).is_some() {}
                let after = fire(&r, &key("gone"), 6)?;
                if after.starts_with("failed: ") || Instant::now() >= deadline {
                    break after;
                }
            };
            if !after.starts_with("failed: ") {
                return Err(format!("fire after disconnecting: {after}"));
            }
            match gone.next(Duration::from_millis(300)) {
                None => Ok(()),
                Some(v) => Err(format!("called with {v} after disconnecting")),
            }
        })(),
    );
    results
}
