//! The conformance suite's provider (`tether_tests::conformance::suite_service`, handlers
//! on the executor's pool) in a process of its own, for the fault matrix
//! (`tests/tests/fault_matrix.rs`, driven through `tether_tests::faults::ChildPeer`): a
//! provider to kill, freeze and restart.
//!
//! `fault-peer [--executor tokio|smol|threadpool] [--port PORT] [--heartbeat-ms N]
//! [--idle-ms N] [--high-water BYTES] [--callbacks N] [--direct]` (PORT 0, the default,
//! picks a free port; `--callbacks` is the callback limit per interface per connection,
//! 3 in the Java interop cases; `--direct` runs handlers on the IO threads) prints
//! `listening on 127.0.0.1:PORT` once ready. Then it answers one line per command read from stdin, `COMMAND VALUE`:
//!
//! - `inflight`: two-way requests awaiting an answer, summed over its connections;
//! - `connections`: connections open;
//! - `logged`: one-way `log` calls received;
//! - `hung`: `hang` calls held; `release`: lets them return (answers how many);
//! - `pid`: its process id;
//! - `shutdown MS`: a graceful shutdown with a deadline MS milliseconds away (with
//!   `--registry`, Dubbo's graceful offline: unregistered first, then 300 ms for consumers
//!   to hear it); answers whether everything drained, then exits;
//! - `offline` / `online` (with `--registry`): withdraws / registers its URL again.
//!
//! With `--registry HOST:PORT` it registers the demo service's provider URL in that
//! ZooKeeper (Dubbo's layout) once it listens.
//!
//! Unknown commands get `error ...`. It exits when stdin closes: it never outlives the
//! process that spawned it.

use std::io::{BufRead, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tether_core::{Config, Keepalive, Side};
use tether_tests::conformance::{Fixture, provider_on};
use tether_tests::exec;

const USAGE: &str = "usage: fault-peer [--executor tokio|smol|threadpool] [--port PORT] \
                     [--heartbeat-ms N] [--idle-ms N] [--high-water BYTES] [--callbacks N] \
                     [--direct] [--registry ZOOKEEPER_HOST:PORT]";

fn main() -> Result<(), String> {
    let (exec, args) = exec::from_args()?;
    let mut port = 0u16;
    let mut heartbeat = None;
    let mut idle = Keepalive::provider().idle_timeout();
    let mut config = Config::new(Side::Provider);
    let mut direct = false;
    let mut zookeeper = None;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--direct" {
            direct = true;
            continue;
        }
        if flag == "--registry" {
            zookeeper = Some(args.next().ok_or(USAGE)?);
            continue;
        }
        let value = args.next().ok_or(USAGE)?;
        let number: u64 = value
            .parse()
            .map_err(|e| format!("{flag} {value:?}: {e}"))?;
        match flag.as_str() {
            "--port" => port = u16::try_from(number).map_err(|e| e.to_string())?,
            "--heartbeat-ms" => heartbeat = Some(Duration::from_millis(number)),
            "--idle-ms" => idle = Some(Duration::from_millis(number)),
            "--high-water" => {
                let bytes = usize::try_from(number).ok().and_then(|n| n.try_into().ok());
                config = config.send_buffer_high_water(bytes.ok_or("--high-water: positive")?);
            }
            "--callbacks" => {
                let limit = usize::try_from(number).ok().and_then(|n| n.try_into().ok());
                config = config.callback_limit(limit.ok_or("--callbacks: positive")?);
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    config = config.keepalive(Keepalive::new(heartbeat, idle).map_err(|e| e.to_string())?);

    let Fixture { server, state } =
        provider_on(&*exec, &format!("127.0.0.1:{port}"), direct, config);
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock<'_>, line: String| {
        // The parent is gone if this fails: so is the reason to serve.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            std::process::exit(0);
        }
    };
    let publication = match zookeeper {
        Some(address) => Some(publish(&*exec, &address, server.local_addr().port())?),
        None => None,
    };
    say(&mut out, format!("listening on {}", server.local_addr()));

    let mut server = Some(server);
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let Some(serving) = server.as_ref() else {
            break;
        };
        let answer = match command {
            "inflight" => {
                let conns = serving.connections();
                let n: usize = conns
                    .iter()
                    .map(|c| c.with(|c, _| c.inbound_in_flight()))
                    .sum();
                n.to_string()
            }
            "connections" => serving.connections().len().to_string(),
            "logged" => state.logged.load(Ordering::SeqCst).to_string(),
            "hung" => state.hung.lock().len().to_string(),
            "release" => {
                let n = state.hung.lock().len();
                state.release();
                n.to_string()
            }
            "pid" => std::process::id().to_string(),
            "offline" | "online" => match &publication {
                Some(publication) => {
                    let done = if command == "offline" {
                        publication.offline()
                    } else {
                        publication.online()
                    };
                    match done.wait_timeout(Duration::from_secs(10)) {
                        Ok(Ok(())) => "done".to_owned(),
                        Ok(Err(e)) => format!("failed {e}"),
                        Err(_) => "failed: no answer in 10 s".to_owned(),
                    }
                }
                None => "error not registered (no --registry)".to_owned(),
            },
            "shutdown" => {
                let Some(Ok(ms)) = words.next().map(str::parse::<u64>) else {
                    say(&mut out, "error shutdown needs a deadline in ms".to_owned());
                    continue;
                };
                let deadline = Instant::now() + Duration::from_millis(ms);
                let serving = server.take().expect("serving");
                let drained = match &publication {
                    Some(publication) => {
                        serving.shutdown_offline(publication, Duration::from_millis(300), deadline)
                    }
                    None => serving.shutdown(deadline),
                };
                say(&mut out, format!("shutdown {drained}"));
                break;
            }
            "" => continue,
            other => {
                say(&mut out, format!("error unknown command {other:?}"));
                continue;
            }
        };
        say(&mut out, format!("{command} {answer}"));
    }
    // Stdin closed (or a shutdown): leave at once, whatever the adapter's threads do.
    std::process::exit(0)
}

/// Registers the demo service's provider URL at `port` in the ZooKeeper at `address`.
fn publish(
    exec: &dyn tether_tests::exec::Executor,
    address: &str,
    port: u16,
) -> Result<tether_core::registry::Publication, String> {
    use std::sync::Arc;
    use tether_core::registry::{ProviderSpec, Publication};
    use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};

    let registry = ZookeeperRegistry::connect(
        ZookeeperConfig::new(address).retry(Duration::from_millis(200)),
        exec.spawner(),
    )
    .wait_timeout(Duration::from_secs(20))
    .map_err(|_| format!("zookeeper {address}: no session in 20 s"))?
    .map_err(|e| format!("zookeeper {address}: {e}"))?;
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let url = ProviderSpec::new(tether_tests::demo::SERVICE, "127.0.0.1", port)
        .application("fault-peer")
        .version(tether_tests::demo::VERSION)
        .methods(["sayHello", "sleep", "log"])
        .to_url(now)
        .map_err(|e| e.to_string())?;
    let publication = Publication::new(Arc::new(registry), [url]);
    publication
        .online()
        .wait_timeout(Duration::from_secs(20))
        .map_err(|_| "registering: no answer in 20 s".to_owned())?
        .map_err(|e| format!("registering: {e}"))?;
    Ok(publication)
}
