//! Runs the interop cases against any provider of the demo-service contract.
//!
//! `cargo run --release --example interop-consumer -- HOST PORT` prints one `PASS name` /
//! `FAIL name: reason` line per case, then `N passed, M failed`; exits 1 on any failure.

use std::num::NonZeroUsize;
use std::process::ExitCode;

use tether_core::consumer::{Backoff, Reference};
use tether_core::{Config, Side};
use tether_tests::demo::{SERVICE, VERSION};
use tether_tests::interop::{consumer_cases, report};
use tether_tokio::{Options, reference_channels};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port] = args.as_slice() else {
        eprintln!("usage: interop-consumer HOST PORT");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("bad port {port:?}");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let channels = match runtime.block_on(reference_channels(
        (host.clone(), port),
        NonZeroUsize::MIN,
        Config::new(Side::Consumer),
        Options::default(),
        Backoff::default(),
    )) {
        Ok(channels) => channels,
        Err(e) => {
            eprintln!("cannot connect to {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let reference = Reference::builder(SERVICE).version(VERSION).build(channels);
    // Blocking calls on this thread; the connection is driven by the runtime's workers.
    let failed = report(&consumer_cases(&reference));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
