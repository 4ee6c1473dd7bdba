//! A tether consumer while its provider shuts down gracefully (`docs/protocol.md` §4.2): the
//! provider announces read-only with calls in flight; the consumer sees it on the connection
//! (`SharedConnection::is_peer_read_only`), sends no new call there (its channels skip a
//! read-only connection: with none left a call fails with `NoConnection`, unsent), and the
//! calls in flight are answered. Run against Java's provider (stopped with SIGTERM, Dubbo's
//! shutdown hook) and tether's (`Server::shutdown`).

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use tether_core::consumer::RpcError;

use crate::estate::reference;
use crate::exec::Executor;
use crate::interop::CaseResult;

/// How long each in-flight call sleeps on the provider.
pub const IN_FLIGHT_MS: i64 = 1_500;

fn until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while !condition() {
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Starts three `sleep(IN_FLIGHT_MS)` calls on a provider at `addr`, calls `shut_down` (which
/// must start the provider's graceful shutdown and return), then checks what the consumer
/// on `exec` sees.
pub fn shutdown_cases(
    exec: &dyn Executor,
    addr: SocketAddr,
    shut_down: Box<dyn FnOnce() + Send>,
) -> Vec<CaseResult> {
    let mut results = Vec::new();
    let mut case = |name: &str, outcome: Result<(), String>| {
        results.push(CaseResult {
            name: format!("shutdown.{name}"),
            outcome,
        });
    };
    let r = reference(exec, addr);
    let hello = r.method::<(String,), String>("sayHello");
    let Some(conn) = crate::first_channels(&r).get(0) else {
        case("connected", Err("no connection".into()));
        return results;
    };
    case(
        "connected",
        match hello.call_blocking(("before".into(),)) {
            Ok(s) if s == "Hello before" => Ok(()),
            other => Err(format!("got {other:?}")),
        },
    );
    let sleep = r
        .method::<(i64,), i64>("sleep")
        .timeout(Duration::from_secs(15));
    let in_flight: Vec<_> = (0..3).map(|_| sleep.call((IN_FLIGHT_MS,))).collect();
    // The provider has taken them in once it answered a call sent after them on the same
    // (only) connection: Dubbo decodes a connection's frames in order and hands each request
    // to its executor as it is decoded. The Java provider cannot report its requests in
    // flight, and the fixed pause this replaces was a guess that a loaded machine could beat.
    case(
        "in-flight-received",
        match hello.call_blocking(("barrier".into(),)) {
            Ok(s) if s == "Hello barrier" => Ok(()),
            other => Err(format!("the call after them got {other:?}")),
        },
    );
    shut_down();

    let seen = until(Duration::from_secs(10), || conn.is_peer_read_only());
    case(
        "read-only-seen",
        if !seen {
            Err("the connection never became read-only".into())
        } else if let Some(reason) = conn.close_reason() {
            Err(format!(
                "closed already ({reason}): read-only was not announced first"
            ))
        } else {
            Ok(())
        },
    );

    let sent_before = conn.with(|c, _| c.stats().frames_sent);
    let outcome = hello.call_blocking(("after".into(),));
    let sent_after = conn.with(|c, _| c.stats().frames_sent);
    case(
        "no-new-calls",
        match outcome {
            // It failed at once, unsent.
            Err(RpcError::NoConnection(_)) if sent_after == sent_before => Ok(()),
            other => Err(format!(
                "got {other:?}, {} frames sent meanwhile",
                sent_after - sent_before
            )),
        },
    );

    let answers: Vec<_> = in_flight
        .into_iter()
        .map(|call| call.wait_timeout(Duration::from_secs(15)))
        .collect();
    case(
        "in-flight-answered",
        if answers
            .iter()
            .all(|a| matches!(a, Ok(Ok(v)) if *v == IN_FLIGHT_MS))
        {
            Ok(())
        } else {
            Err(format!("got {answers:?}"))
        },
    );

    let closed = until(Duration::from_secs(20), || conn.close_reason().is_some());
    case(
        "closed",
        if !closed {
            Err("the provider never closed the connection".into())
        } else {
            match hello.call_blocking(("gone".into(),)) {
                Err(RpcError::NoConnection(_)) => Ok(()),
                other => Err(format!("a call once it closed: {other:?}")),
            }
        },
    );
    results
}
