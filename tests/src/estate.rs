//! Interop with real Dubbo estates (Java Dubbo, dubbo-go) as peer processes: the call-mode
//! cases a tether consumer runs against any provider of the demo contract (beyond the
//! per-method [`consumer_cases`](crate::interop::consumer_cases)), and helpers to run peer
//! programs as child processes: a provider that prints `listening on HOST:PORT`, a consumer
//! that prints `PASS name` / `FAIL name: reason` lines and `N passed, M failed`.
//!
//! The contract is the suite provider's ([`suite_service`](crate::conformance::suite_service)):
//! the demo service plus `sleep(long)`, `log(String)` (one-way), `notify(int, Listener)`
//! (parameter callback), `boom()`.

use std::io::Read;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use tether_core::consumer::{Backoff, Callback, CallbackDispatcher, Reference, RpcError};
use tether_core::context::CallContext;
use tether_core::hessian2::Value;
use tether_core::provider::{Dispatch, Service};
use tether_core::{Config, Keepalive, SharedConnection, Side, Status};

use crate::child::{Listening, print_prefixed};
use crate::conformance::Listener;
use crate::demo;
use crate::exec::{Executor, Opts, Server};
use crate::interop::CaseResult;

/// The longest a case waits for something that should happen (a callback, an async result).
const PATIENCE: Duration = Duration::from_secs(15);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ok_if(condition: bool, otherwise: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(otherwise()) }
}

/// A reference to the demo service at `addr` on `exec`, over one connection, answering the
/// provider's callbacks (parameter callbacks need it) and with `config`.
pub fn reference_with(exec: &dyn Executor, addr: SocketAddr, config: Config) -> Reference {
    let handler = CallbackDispatcher::new(Dispatch::Direct, exec.spawner());
    let opts = Opts::default().request_handler(Arc::new(handler));
    let channels = exec
        .reference_channels(
            addr,
            NonZeroUsize::MIN,
            config,
            opts,
            Backoff::new(ms(20), ms(500)),
        )
        .unwrap_or_else(|e| panic!("{}: connect {addr}: {e}", exec.name()));
    Reference::builder(demo::SERVICE)
        .version(demo::VERSION)
        .timeout(Duration::from_secs(10))
        .build(channels)
}

/// [`reference_with`] the consumer defaults.
pub fn reference(exec: &dyn Executor, addr: SocketAddr) -> Reference {
    reference_with(exec, addr, Config::new(Side::Consumer))
}

struct Cases<'a> {
    reference: &'a Reference,
    skip: &'a [&'a str],
    results: Vec<CaseResult>,
}

impl Cases<'_> {
    /// Runs `case` unless its name starts with one of the skipped prefixes.
    fn run(&mut self, name: &str, case: impl FnOnce(&Reference) -> Result<(), String>) {
        if self.skip.iter().any(|s| name.starts_with(s)) {
            println!("SKIP {name}");
            return;
        }
        let outcome = case(self.reference);
        self.results.push(CaseResult {
            name: name.to_owned(),
            outcome,
        });
    }
}

/// The call-mode cases against a provider of the contract: sync, async, `sent=true`,
/// one-way, client-side timeout, remote exception, a failing handler, generic invocation,
/// `$echo`, attachments and a parameter callback. Cases whose name starts with an entry of
/// `skip` are not run (printed as `SKIP name`): e.g. `&["callback"]` for a peer without
/// parameter callbacks. For the callback case the reference's connection must answer
/// requests with a [`CallbackDispatcher`] (as [`reference()`] sets up).
pub fn mode_cases(reference: &Reference, skip: &[&str]) -> Vec<CaseResult> {
    let mut c = Cases {
        reference,
        skip,
        results: Vec::new(),
    };
    let hello = |r: &Reference| r.method::<(String,), String>("sayHello");
    let want_hello = |got: Result<String, RpcError>, name: &str| match got {
        Ok(s) if s == format!("Hello {name}") => Ok(()),
        other => Err(format!("got {other:?}")),
    };

    c.run("mode.sync", |r| {
        want_hello(hello(r).call_blocking(("sync".into(),)), "sync")
    });

    c.run("mode.async", |r| {
        let completion = hello(r).call(("async".into(),));
        match completion.wait_timeout(PATIENCE) {
            Ok(got) => want_hello(got, "async"),
            Err(_) => Err("no answer".into()),
        }
    });

    c.run("mode.async.parallel", |r| {
        // Ten 300 ms calls at once take far less than ten times 300 ms.
        let sleep = r.method::<(i64,), i64>("sleep").timeout(PATIENCE);
        let started = Instant::now();
        let calls: Vec<_> = (0..10).map(|_| sleep.call((300,))).collect();
        for (i, call) in calls.into_iter().enumerate() {
            match call.wait_timeout(PATIENCE) {
                Ok(Ok(300)) => {}
                Ok(other) => return Err(format!("call {i}: got {other:?}")),
                Err(_) => return Err(format!("call {i}: no answer")),
            }
        }
        let elapsed = started.elapsed();
        ok_if(elapsed < ms(2_500), || {
            format!("10 parallel sleep(300) took {elapsed:?}")
        })
    });

    c.run("mode.async.on_complete", |r| {
        let (tx, rx) = mpsc::channel();
        hello(r)
            .call(("continued".into(),))
            .on_complete(move |result| {
                let _ = tx.send(result);
            });
        match rx.recv_timeout(PATIENCE) {
            Ok(got) => want_hello(got, "continued"),
            Err(_) => Err("the continuation never ran".into()),
        }
    });

    c.run("mode.sent", |r| {
        let sent = hello(r).sent(true);
        want_hello(sent.call_blocking(("sent".into(),)), "sent")?;
        match sent.call(("sent async".into(),)).wait_timeout(PATIENCE) {
            Ok(got) => want_hello(got, "sent async"),
            Err(_) => Err("no answer".into()),
        }
    });

    c.run("mode.oneway", |r| {
        let log = r.method::<(String,), ()>("log");
        for i in 0..20 {
            log.oneway((format!("line {i}"),))
                .map_err(|e| format!("one-way {i}: {e}"))?;
        }
        log.clone()
            .sent(true)
            .oneway(("written".into(),))
            .map_err(|e| format!("one-way with sent: {e}"))?;
        // Answered in order after them, on the same connection: nothing came back for the
        // one-way requests.
        want_hello(
            hello(r).call_blocking(("after one-way".into(),)),
            "after one-way",
        )?;
        let late = crate::first_channels(r)
            .pick()
            .map(|conn| conn.with(|c, _| c.stats().late_responses))
            .unwrap_or_default();
        ok_if(late == 0, || {
            format!("{late} responses to one-way requests")
        })
    });

    c.run("mode.timeout", |r| {
        let slow = r.method::<(i64,), i64>("sleep").timeout(ms(300));
        let started = Instant::now();
        match slow.call_blocking((5_000,)) {
            Err(RpcError::Timeout { .. }) => {}
            other => return Err(format!("sync: got {other:?}")),
        }
        match slow.call((5_000,)).wait_timeout(PATIENCE) {
            Ok(Err(RpcError::Timeout { .. })) => {}
            Ok(other) => return Err(format!("async: got {other:?}")),
            Err(_) => return Err("async: no outcome".into()),
        }
        let elapsed = started.elapsed();
        ok_if(elapsed < ms(4_000), || {
            format!("timed out after {elapsed:?}")
        })?;
        // The connection goes on (the late answers are dropped).
        want_hello(
            hello(r).call_blocking(("after timeout".into(),)),
            "after timeout",
        )
    });

    c.run("mode.exception", |r| {
        match r
            .method::<(String,), String>("throwException")
            .call_blocking(("bad thing happened ☃".into(),))
        {
            Err(RpcError::Business(e))
                if e.class == "java.lang.RuntimeException"
                    && e.message.as_deref() == Some("bad thing happened ☃") =>
            {
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        }
    });

    c.run("mode.exception.async", |r| {
        match r
            .method::<(String,), String>("throwException")
            .call(("async bad".into(),))
            .wait_timeout(PATIENCE)
        {
            Ok(Err(RpcError::Business(e))) if e.message.as_deref() == Some("async bad") => Ok(()),
            Ok(other) => Err(format!("got {other:?}")),
            Err(_) => Err("no outcome".into()),
        }
    });

    c.run("mode.boom", |r| {
        // tether's suite provider panics (status 70); a Java provider throws. Either way
        // an error at once, not a timeout, and the connection goes on.
        match r.method::<(), String>("boom").call_blocking(()) {
            Err(RpcError::Remote { status, .. }) if status == Status::SERVICE_ERROR => {}
            Err(RpcError::Business(_)) => {}
            other => return Err(format!("got {other:?}")),
        }
        want_hello(hello(r).call_blocking(("after boom".into(),)), "after boom")
    });

    c.run("mode.generic.sayHello", |r| {
        match r
            .call_generic("sayHello", &["java.lang.String"], &["generic".into()])
            .wait_timeout(PATIENCE)
        {
            Ok(Ok(Value::String(s))) if s == "Hello generic" => Ok(()),
            Ok(other) => Err(format!("got {other:?}")),
            Err(_) => Err("no outcome".into()),
        }
    });

    c.run("mode.generic.join", |r| {
        match r
            .call_generic(
                "join",
                &["java.lang.String", "int", "boolean"],
                &["g".into(), Value::Int(7), Value::Bool(false)],
            )
            .wait_timeout(PATIENCE)
        {
            Ok(Ok(Value::String(s))) if s == "g:7:false" => Ok(()),
            Ok(other) => Err(format!("got {other:?}")),
            Err(_) => Err("no outcome".into()),
        }
    });

    c.run("mode.generic.echoLong", |r| {
        match r
            .call_generic("echoLong", &["long"], &[Value::Long(1 << 40)])
            .wait_timeout(PATIENCE)
        {
            Ok(Ok(Value::Long(v))) if v == 1 << 40 => Ok(()),
            Ok(other) => Err(format!("got {other:?}")),
            Err(_) => Err("no outcome".into()),
        }
    });

    c.run("mode.generic.exception", |r| {
        // tether's provider answers with the exception itself; Java's wraps it in a
        // GenericException (com.alibaba.dubbo.rpc.service.GenericException on 2.7 and 3.3)
        // whose message starts with the original's class and message.
        match r
            .call_generic("throwException", &["java.lang.String"], &["g bad".into()])
            .wait_timeout(PATIENCE)
        {
            Ok(Err(RpcError::Business(e)))
                if e.message.as_deref() == Some("g bad")
                    || (e.class.ends_with(".GenericException")
                        && e.message.as_deref().is_some_and(|m| {
                            m.starts_with("java.lang.RuntimeException: g bad")
                        })) =>
            {
                Ok(())
            }
            Ok(other) => Err(format!("got {other:?}")),
            Err(_) => Err("no outcome".into()),
        }
    });

    c.run("mode.generic.echoUser", |r| {
        // A POJO argument as a map; the result is the POJO as a map with a "class" entry
        // (providers generalize it, as Java's `GenericFilter` does).
        let user = Value::Map {
            type_name: None,
            entries: vec![("name".into(), "gus".into()), ("age".into(), Value::Int(9))],
        };
        match r
            .call_generic("echoUser", &["org.apache.dubbo.demo.User"], &[user])
            .wait_timeout(PATIENCE)
        {
            Ok(Ok(v))
                if v.get("name").and_then(Value::as_str) == Some("gus")
                    && v.get("age").and_then(Value::as_i64) == Some(9) =>
            {
                Ok(())
            }
            Ok(other) => Err(format!("got {other:?}")),
            Err(_) => Err("no outcome".into()),
        }
    });

    c.run("mode.echo", |r| {
        let echo = r.method::<(Value,), Value>("$echo");
        match echo.call_blocking((Value::String("are you there?".into()),)) {
            Ok(Value::String(s)) if s == "are you there?" => {}
            other => return Err(format!("string: got {other:?}")),
        }
        match echo.call_blocking((Value::Int(42),)) {
            Ok(Value::Int(42)) => Ok(()),
            other => Err(format!("int: got {other:?}")),
        }
    });

    c.run("mode.attachments", |r| {
        let traced = Reference::builder(r.path())
            .version(demo::VERSION)
            .attachment("traceId", "t-1")
            .attachment("tenant", "ünïcödé ☃")
            .build_with(r.directory().clone());
        let get = traced.method::<(String,), Option<String>>("getAttachment");
        for (key, want) in [("traceId", "t-1"), ("tenant", "ünïcödé ☃")] {
            match get.call_blocking((key.into(),)) {
                Ok(Some(v)) if v == want => {}
                other => return Err(format!("{key}: got {other:?}")),
            }
        }
        // Attachments are per reference: the plain reference sends none of them.
        match r
            .method::<(String,), Option<String>>("getAttachment")
            .call_blocking(("traceId".into(),))
        {
            Ok(None) => Ok(()),
            other => Err(format!("traceId without it: got {other:?}")),
        }
    });

    c.run("mode.attachments.response", |r| {
        // The provider's answer to getAttachment carries a `provider` attachment naming it
        // (Dubbo 2.0.2 response attachments): Java's "java-dubbo-<version>", tether's "tether".
        let get = r.method::<(String,), Option<String>>("getAttachment");
        let ctx = CallContext::new().attachment("traceId", "t-9");
        match get.call_with(ctx, ("traceId".into(),)).wait() {
            Ok(reply) if reply.value.as_deref() == Some("t-9") => {
                match reply.attachments.get_str("provider") {
                    Some(p) if p == "tether" || p.starts_with("java-dubbo-") => Ok(()),
                    other => Err(format!(
                        "provider attachment {other:?} in {:?}",
                        reply.attachments
                    )),
                }
            }
            other => Err(format!("got {other:?}")),
        }
    });

    c.run("mode.callback", |r| {
        let (tx, rx) = mpsc::channel();
        let listener =
            Callback::<Listener>::new(Service::new("org.apache.dubbo.demo.Listener").method(
                "changed",
                move |_, (i,): (i32,)| {
                    let _ = tx.send(i);
                    Ok(())
                },
            ));
        r.method::<(i32, Callback<Listener>), ()>("notify")
            .call_blocking((3, listener))
            .map_err(|e| format!("notify: {e}"))?;
        let mut got = Vec::new();
        for _ in 0..3 {
            match rx.recv_timeout(PATIENCE) {
                Ok(i) => got.push(i),
                Err(_) => return Err(format!("called back with {got:?} only")),
            }
        }
        ok_if(got == [0, 1, 2], || format!("called back with {got:?}"))
    });

    c.results
}

/// Heartbeats keep an idle connection to the provider at `addr` open: a reference with a
/// 200 ms heartbeat stays idle for 1.5 s, its connection is the same and has sent
/// heartbeats that were answered, and a call still works.
pub fn heartbeat_case(exec: &dyn Executor, addr: SocketAddr) -> CaseResult {
    let outcome = (|| {
        let mut config = Config::new(Side::Consumer);
        config = config.keepalive(
            Keepalive::new(Some(ms(200)), Some(ms(1_000)))
                .map_err(|e| format!("keepalive: {e:?}"))?,
        );
        let r = reference_with(exec, addr, config);
        let hello = r.method::<(String,), String>("sayHello");
        hello
            .call_blocking(("before".into(),))
            .map_err(|e| e.to_string())?;
        let first = crate::first_channels(&r).get(0).ok_or("no connection")?;
        thread::sleep(ms(1_500));
        let now = crate::first_channels(&r)
            .get(0)
            .ok_or("no connection after idling")?;
        if !now.same(&first) || first.close_reason().is_some() {
            return Err(format!(
                "the connection was replaced or closed: {:?}",
                first.close_reason()
            ));
        }
        let stats = first.with(|c, _| c.stats());
        if stats.heartbeats_sent < 3 {
            return Err(format!("{} heartbeats sent", stats.heartbeats_sent));
        }
        match hello.call_blocking(("after idle".into(),)) {
            Ok(s) if s == "Hello after idle" => Ok(()),
            other => Err(format!("got {other:?}")),
        }
    })();
    CaseResult {
        name: "mode.heartbeat".into(),
        outcome,
    }
}

// ------------------------------------------------------------------------------------------
// Peer processes.

/// Whether every tool in `tools` is on the `PATH`. When one is missing: with `CI=true` in the
/// environment, panics (CI must have them); otherwise prints a loud `SKIPPED: what (hint)`
/// and returns `false`.
pub fn tools_present(tools: &[&str], what: &str, hint: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{what}: {} not found ({hint})", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}; CI must run it");
    }
    eprintln!("\n======== SKIPPED: {message} ========\n");
    println!("SKIPPED: {message}");
    false
}

/// `target/interop-go/` (or `$INTEROP_GO_OUT`) with the dubbo-go peers (`goprovider`,
/// `goconsumer`) built by `tests/interop/go/build.sh`, once per test binary; `None` without
/// Go (after [`tools_present`]'s loud `SKIPPED`, or its panic under `CI=true`).
pub fn go_peers() -> Option<&'static Path> {
    static PEERS: OnceLock<Option<PathBuf>> = OnceLock::new();
    PEERS
        .get_or_init(|| {
            if !tools_present(&["go"], "dubbo-go interop", "install Go >= 1.25") {
                return None;
            }
            let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = std::env::var_os("INTEROP_GO_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|| tests.join("../target/interop-go"));
            let started = Instant::now();
            let status = Command::new("bash")
                .arg(tests.join("interop/go/build.sh"))
                .env("INTEROP_GO_OUT", &out)
                .status()
                .expect("bash runs tests/interop/go/build.sh");
            assert!(status.success(), "building the dubbo-go peers failed");
            println!("dubbo-go peers built in {:?}", started.elapsed());
            Some(out)
        })
        .as_deref()
}

/// A peer provider running as a child process, killed (by its PID) when dropped.
pub struct PeerProcess {
    process: Listening,
    name: String,
    /// Where it listens, from its `listening on HOST:PORT` line.
    pub addr: SocketAddr,
}

impl PeerProcess {
    /// Starts `command` (its stdin, stdout and stderr are taken) and waits up to `startup`
    /// for its `listening on HOST:PORT` line. Its other output is copied to this process's
    /// stdout (so a test harness captures it), each line prefixed with `[name]` (`[name!]`
    /// for stderr). Closing its stdin (on drop) tells it to stop, and
    /// it is killed too.
    pub fn spawn(name: &str, mut command: Command, startup: Duration) -> Self {
        command.stdin(Stdio::piped()).stderr(Stdio::piped());
        // Its stderr too, through this process's (captured) output.
        let process = Listening::spawn(name, command, startup, print_prefixed(name))
            .unwrap_or_else(|e| panic!("{name} did not start: {e}"));
        Self {
            addr: process.addr(),
            process,
            name: name.to_owned(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_alive()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        println!("[{}] stopped (pid {})", self.name, self.process.pid());
    }
}

/// What a peer consumer program printed and how it ended.
#[derive(Debug)]
pub struct ConsumerRun {
    pub stdout: String,
    pub stderr: String,
    /// `None` if it was killed at its deadline.
    pub status: Option<ExitStatus>,
    /// From its `N passed, M failed` line, if it printed one.
    pub passed: Option<usize>,
    pub failed: Option<usize>,
}

impl ConsumerRun {
    /// The `FAIL ...` lines.
    pub fn failures(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("FAIL "))
            .collect()
    }

    /// Whether it printed a summary with no failure and exited 0.
    pub fn clean(&self) -> bool {
        self.failed == Some(0) && self.status.is_some_and(|s| s.success())
    }

    /// Prints its stdout to this process's (captured) stdout, and its stderr too unless the
    /// run was [`clean`](Self::clean).
    pub fn echo(&self) {
        println!("{}", self.stdout);
        if !self.clean() {
            eprintln!("{}", self.stderr);
        }
    }
}

/// Parses a summary line `N passed, M failed` (words after it, such as `, K skipped`, are
/// ignored).
pub fn parse_summary(line: &str) -> Option<(usize, usize)> {
    let (passed, rest) = line.trim().split_once(" passed, ")?;
    let failed = rest.split(" failed").next()?;
    Some((passed.trim().parse().ok()?, failed.trim().parse().ok()?))
}

/// Runs a peer consumer program to its end (killing it after `deadline`), collecting its
/// output and its summary.
pub fn run_consumer(mut command: Command, deadline: Duration) -> ConsumerRun {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the consumer program starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < deadline => thread::sleep(ms(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let summary = stdout.lines().rev().find_map(parse_summary);
    ConsumerRun {
        status,
        passed: summary.map(|s| s.0),
        failed: summary.map(|s| s.1),
        stdout,
        stderr,
    }
}

/// [`run_consumer`] on a thread of its own against `server`, meanwhile keeping every
/// connection `server` had (polled every 50 ms), so that their counters can be read once
/// they closed.
pub fn run_consumer_watching(
    server: &dyn Server,
    command: Command,
    deadline: Duration,
) -> (ConsumerRun, Vec<SharedConnection>) {
    let running = thread::spawn(move || run_consumer(command, deadline));
    let mut seen: Vec<SharedConnection> = Vec::new();
    while !running.is_finished() {
        for conn in server.connections() {
            if !seen.iter().any(|s| s.same(&conn)) {
                seen.push(conn);
            }
        }
        thread::sleep(ms(50));
    }
    let run = running.join().expect("the consumer runner");
    (run, seen)
}

#[cfg(test)]
mod tests {
    use super::parse_summary;

    #[test]
    fn summaries() {
        assert_eq!(parse_summary("12 passed, 0 failed"), Some((12, 0)));
        assert_eq!(parse_summary("3 passed, 2 failed, 1 skipped"), Some((3, 2)));
        assert_eq!(parse_summary("PASS x"), None);
    }
}
