//! Interop with dubbo-go v3 (`tests/interop/go/`: `dubbo.apache.org/dubbo-go/v3` over
//! `dubbo://` with Hessian2, direct connections, no registry), both directions, on each
//! adapter (tokio, smol, thread pool):
//!
//! - `goconsumer` (dubbo-go's client) runs its cases against tether's suite provider;
//! - tether's consumer runs [`consumer_cases`], [`mode_cases`] and [`heartbeat_case`]
//!   against `goprovider` (dubbo-go's server), one process for the three adapters.
//!
//! `tests/interop/go/build.sh` builds both peers into `target/interop-go/` once per test
//! binary (Go's caches make a rebuild quick). Without `go` on the `PATH` the tests print
//! `SKIPPED` and pass, except under `CI=true`, where they fail.
//!
//! Differences of dubbo-go's own (it is not Java) are listed with their reason in
//! [`GO_PROVIDER_DIFFERENCES`]; differences of tether's are listed in the peer programs
//! (`goconsumer`'s `knownDifferences`): such a case prints `XFAIL` while it fails.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tether_core::consumer::Reference;
use tether_core::hessian2::{Binary, JavaArray, Value};
use tether_core::message::Arguments;
use tether_core::{Config, Keepalive, Side};
use tether_tests::conformance::provider_on;
use tether_tests::demo::User;
use tether_tests::estate::{
    PeerProcess, go_peers, heartbeat_case, mode_cases, reference, run_consumer_watching,
};
use tether_tests::exec::{Executor, Smol, ThreadPool, Tokio};
use tether_tests::interop::{CaseResult, consumer_cases};

/// How many one-way `log` calls `goconsumer` sends (its `OnewayLogs`).
const ONEWAY_LOGS: usize = 5;

/// The cases tether's consumer runs that dubbo-go's provider answers otherwise than a Java
/// provider, and why. Each must fail (a case that starts passing is reported, so that the
/// list stays true); every other case must pass.
const GO_PROVIDER_DIFFERENCES: &[(&str, &str)] = &[
    (
        "unknownMethod",
        "dubbo-go answers a call of a method it does not have with status 20 and a thrown \
         java.lang.Throwable (\"cannot find method [noSuchMethod] of service [...] in dubbo\"), \
         where Java answers status 70 (SERVICE_ERROR) with the message",
    ),
    (
        "extra.echoUser.null",
        "dubbo-go hands a null argument to a method's typed parameter as a zero value \
         (reflect.New of the type), so EchoUser(*User) sees User{\"\", 0} and returns it: \
         the answer is a User with name \"\" and age 0, not null",
    ),
    (
        "mode.callback",
        "dubbo-go v3 has no parameter callbacks on dubbo:// (it neither proxies a callback \
         argument nor calls back over the consumer's connection); goprovider has no notify",
    ),
];

/// Cases beyond [`consumer_cases`] for a provider written in another language: supplementary
/// characters (UTF-16 surrogate pairs), strings and bytes past both sides' chunk sizes, empty
/// and nested containers, typed nulls.
fn extra_cases(reference: &Reference) -> Vec<CaseResult> {
    fn case<A, R>(reference: &Reference, name: &str, method: &str, args: A, want: R) -> CaseResult
    where
        A: Arguments + Serialize + Send + 'static,
        R: DeserializeOwned + PartialEq + std::fmt::Debug + Send + 'static,
    {
        let outcome = match reference.method::<A, R>(method).call_blocking(args) {
            Ok(got) if got == want => Ok(()),
            Ok(got) => Err(format!("got {:.200}", format!("{got:?}"))),
            Err(e) => Err(format!("error: {e}")),
        };
        CaseResult {
            name: format!("extra.{name}"),
            outcome,
        }
    }
    let s = |s: &str| s.to_owned();
    let large = "abcdé☃😀".repeat(10_000);
    let bytes = Binary((0..70_000).map(|i| (i * 7 % 251) as u8).collect());
    let nested = HashMap::from([
        (s("list"), Value::list(vec![Value::Int(1), Value::Null])),
        (
            s("map"),
            Value::Map {
                type_name: None,
                entries: vec![("k".into(), "v".into())],
            },
        ),
        (s("long"), Value::Long(1 << 40)),
        (s("unicode"), "😀 ☃".into()),
    ]);
    vec![
        case(
            reference,
            "sayHello.supplementary",
            "sayHello",
            (s("😀 𝄞 z"),),
            s("Hello 😀 𝄞 z"),
        ),
        case(
            reference,
            "sayHello.large",
            "sayHello",
            (large.clone(),),
            format!("Hello {large}"),
        ),
        case(
            reference,
            "echoString.emptyVsNull",
            "echoString",
            (Some(String::new()),),
            Some(String::new()),
        ),
        case(
            reference,
            "echoBytes.70000",
            "echoBytes",
            (bytes.clone(),),
            bytes,
        ),
        case(
            reference,
            "echoBytes.empty",
            "echoBytes",
            (Binary(Vec::new()),),
            Binary(Vec::new()),
        ),
        case(
            reference,
            "echoList.empty",
            "echoList",
            (Vec::<Value>::new(),),
            Vec::<Value>::new(),
        ),
        case(
            reference,
            "echoMap.nested",
            "echoMap",
            (nested.clone(),),
            nested,
        ),
        case(
            reference,
            "echoIntArray.empty",
            "echoIntArray",
            (JavaArray(Vec::<i32>::new()),),
            JavaArray(Vec::<i32>::new()),
        ),
        case(
            reference,
            "echoUser.unicode",
            "echoUser",
            (User {
                name: Some(s("Zoë ☃ 😀")),
                age: -1,
            },),
            User {
                name: Some(s("Zoë ☃ 😀")),
                age: -1,
            },
        ),
        case(
            reference,
            "echoUser.null",
            "echoUser",
            (None::<User>,),
            None::<User>,
        ),
        case(
            reference,
            "join.null",
            "join",
            (None::<String>, -1, false),
            s("null:-1:false"),
        ),
        case(reference, "sleep", "sleep", (20i64,), 20i64),
    ]
}

/// `goconsumer`'s cases against tether's suite provider on `exec`. The provider sends
/// heartbeats every 300 ms, so dubbo-go answers tether's heartbeats as well as sending its
/// own.
fn go_consumer_against(exec: &dyn Executor) {
    let Some(peers) = go_peers() else { return };
    let mut config = Config::new(Side::Provider);
    config = config.keepalive(
        Keepalive::new(
            Some(Duration::from_millis(300)),
            Keepalive::provider().idle_timeout(),
        )
        .expect("a valid keepalive"),
    );
    let fixture = provider_on(exec, "127.0.0.1:0", false, config);
    let port = fixture.addr().port().to_string();

    let mut command = Command::new(peers.join("goconsumer"));
    command.args(["127.0.0.1", &port]);
    let started = Instant::now();
    // Meanwhile, the heartbeats tether's provider sends, from its connections' counters.
    let (run, seen) = run_consumer_watching(&*fixture.server, command, Duration::from_secs(240));
    let took = started.elapsed();
    let heartbeats: u64 = seen
        .iter()
        .map(|c| c.with(|c, _| c.stats().heartbeats_sent))
        .sum();
    run.echo();
    println!(
        "goconsumer against the {} provider: {:?} passed, {:?} failed, {} known differences, \
         in {took:?}; tether's provider sent it {heartbeats} heartbeats",
        exec.name(),
        run.passed,
        run.failed,
        run.stdout
            .lines()
            .filter(|l| l.starts_with("XFAIL "))
            .count(),
    );
    assert!(
        run.clean(),
        "goconsumer against the {} provider: {:?}, failures: {:#?}",
        exec.name(),
        run.status,
        run.failures()
    );
    assert!(
        run.passed.unwrap_or(0) >= 90,
        "goconsumer ran too few cases"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while fixture.state.logged.load(Ordering::SeqCst) < ONEWAY_LOGS && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        fixture.state.logged.load(Ordering::SeqCst),
        ONEWAY_LOGS,
        "the provider counts goconsumer's one-way log calls"
    );
    assert!(heartbeats > 0, "tether's provider sent dubbo-go heartbeats");
    let answered: u64 = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("NOTE heartbeat requests from the provider answered: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("goconsumer says how many heartbeat requests it answered");
    assert!(answered > 0, "dubbo-go answered tether's heartbeats");
}

tether_tests::on_each_executor!(go_consumer_against =>
    the_go_consumer_passes_against_the_tokio_provider,
    the_go_consumer_passes_against_the_smol_provider,
    the_go_consumer_passes_against_the_threadpool_provider
);

/// Checks `results` against [`GO_PROVIDER_DIFFERENCES`]; prints one line per case and the
/// counts; returns the problems (an unexpected failure, a known difference that passed).
fn judge(results: &[CaseResult], label: &str) -> Vec<String> {
    let (mut passed, mut known, mut problems) = (0, 0, Vec::new());
    for result in results {
        let difference = GO_PROVIDER_DIFFERENCES
            .iter()
            .find(|(name, _)| *name == result.name);
        match (&result.outcome, difference) {
            (Ok(()), None) => {
                passed += 1;
                println!("PASS {}", result.name);
            }
            (Err(reason), Some((_, why))) => {
                known += 1;
                println!("XFAIL {}: {reason} [dubbo-go: {why}]", result.name);
            }
            (Err(reason), None) => {
                println!("FAIL {}: {reason}", result.name);
                problems.push(format!("{label}: {}: {reason}", result.name));
            }
            (Ok(()), Some(_)) => {
                println!("XPASS {}: no longer differs", result.name);
                problems.push(format!(
                    "{label}: {} passes: take it off GO_PROVIDER_DIFFERENCES",
                    result.name
                ));
            }
        }
    }
    println!(
        "{label}: {passed} passed, {} failed, {known} known differences of dubbo-go",
        problems.len()
    );
    problems
}

/// tether's consumer on each adapter against one `goprovider` process: the per-method
/// cases, the call-mode cases and heartbeats.
#[test]
fn tether_consumers_on_each_adapter_pass_against_the_go_provider() {
    let Some(peers) = go_peers() else { return };
    let mut command = Command::new(peers.join("goprovider"));
    command.arg("0");
    let provider = PeerProcess::spawn("goprovider", command, Duration::from_secs(60));
    println!("goprovider (pid {}) on {}", provider.pid(), provider.addr);
    let addr: SocketAddr = provider.addr;
    let executors: [&dyn Executor; 3] = [&Tokio::new(), &Smol::new(), &ThreadPool::new()];
    let mut problems = Vec::new();
    for exec in executors {
        let started = Instant::now();
        let reference = reference(exec, addr);
        let mut results = consumer_cases(&reference);
        results.extend(extra_cases(&reference));
        let per_method = results.len();
        // goprovider's getAttachment sends no `provider` response attachment (the case
        // checks one naming the peer): response attachments are checked against Java.
        results.extend(mode_cases(&reference, &["mode.attachments.response"]));
        results.push(heartbeat_case(exec, addr));
        // goprovider sends a heartbeat every 500 ms: tether's consumer answers them.
        let answered = tether_tests::first_channels(&reference)
            .get(0)
            .map(|conn| conn.with(|c, _| c.stats().heartbeats_answered))
            .unwrap_or_default();
        results.push(CaseResult {
            name: "heartbeat.fromProvider".into(),
            outcome: if answered > 0 {
                Ok(())
            } else {
                Err("no heartbeat from goprovider answered".into())
            },
        });
        let label = format!("tether consumer on {} against goprovider", exec.name());
        problems.extend(judge(&results, &label));
        println!(
            "{label}: {per_method} per-method and {} call-mode cases in {:?}",
            results.len() - per_method,
            started.elapsed()
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
    drop(provider);
}
