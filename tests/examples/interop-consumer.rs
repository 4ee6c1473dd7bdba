//! Runs the interop cases against any provider of the demo-service contract.
//!
//! `cargo run --release --example interop-consumer -- [--executor tokio|smol|threadpool]
//! HOST PORT` prints one `PASS name` / `FAIL name: reason` line per case, then
//! `N passed, M failed`; exits 1 on any failure.

use std::net::ToSocketAddrs;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use tether_core::consumer::{Backoff, Reference};
use tether_core::{Config, Side};
use tether_tests::demo::{SERVICE, VERSION};
use tether_tests::exec::{self, Opts};
use tether_tests::interop::{consumer_cases, report};

const USAGE: &str = "usage: interop-consumer [--executor tokio|smol|threadpool] HOST PORT";

fn main() -> ExitCode {
    let (exec, args) = match exec::from_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let [host, port] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("bad port {port:?}");
        return ExitCode::from(2);
    };
    let addr = match (host.as_str(), port)
        .to_socket_addrs()
        .map(|mut a| a.next())
    {
        Ok(Some(addr)) => addr,
        _ => {
            eprintln!("cannot resolve {host}:{port}");
            return ExitCode::FAILURE;
        }
    };
    let channels = match exec.reference_channels(
        addr,
        NonZeroUsize::MIN,
        Config::new(Side::Consumer),
        Opts::default(),
        Backoff::default(),
    ) {
        Ok(channels) => channels,
        Err(e) => {
            eprintln!("cannot connect to {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let reference = Reference::builder(SERVICE).version(VERSION).build(channels);
    // Blocking calls on this thread; the connection is driven by the adapter.
    let failed = report(&consumer_cases(&reference));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
