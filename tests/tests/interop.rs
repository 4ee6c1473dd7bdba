//! Interop with independent Dubbo implementations from PyPI (`tests/interop/`): their
//! consumers call tether's provider, and tether's consumer calls their provider, on each
//! adapter (tokio, smol, thread pool). The peers are installed by `tests/interop/setup.sh`
//! into a venv (`INTEROP_VENV`, default `target/interop-venv`); this needs `python3` and
//! access to PyPI.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tether_core::consumer::{Backoff, Reference};
use tether_core::provider::{Dispatch, Provider};
use tether_core::{Config, Side};
use tether_tests::child::{Listening, print_prefixed};
use tether_tests::conformance::PATIENCE;
use tether_tests::demo::{SERVICE, VERSION, demo_service};
use tether_tests::estate::run_consumer;
use tether_tests::exec::{Executor, Opts};
use tether_tests::interop::{consumer_cases, report};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// The venv's python, installing the peers once per test binary.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = std::env::var_os("INTEROP_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/interop-venv")
            });
        let status = Command::new("bash")
            .arg(interop_dir().join("setup.sh"))
            .env("INTEROP_VENV", &venv)
            .status()
            .expect("bash runs tests/interop/setup.sh");
        assert!(
            status.success(),
            "installing the Python interop peers failed"
        );
        venv.join("bin/python")
    })
}

/// `py_consumer.py`'s cases against tether's provider on `exec`.
fn python_consumers_against(exec: &dyn Executor) {
    let python = python();
    let spawner = exec.spawner();
    let provider = Provider::new(Dispatch::Pool(spawner.clone()), spawner).export(demo_service());
    let server = exec.bind_local(Arc::new(provider));
    let port = server.local_addr().port().to_string();
    let mut command = Command::new(python);
    command
        .arg(interop_dir().join("py_consumer.py"))
        .args(["127.0.0.1", &port])
        .current_dir(interop_dir());
    let run = run_consumer(command, Duration::from_secs(300));
    run.echo();
    assert!(
        run.clean() && run.passed == Some(69),
        "py_consumer against the {} provider: {:?}, failures: {:#?}",
        exec.name(),
        run.status,
        run.failures()
    );
    drop(server);
}

tether_tests::on_each_executor!(python_consumers_against =>
    python_consumers_pass_every_case_against_the_tokio_provider,
    python_consumers_pass_every_case_against_the_smol_provider,
    python_consumers_pass_every_case_against_the_threadpool_provider
);

/// tether's consumer cases on `exec` against `py_provider.py`.
fn tether_consumer_against_python(exec: &dyn Executor) {
    let python = python();
    let mut command = Command::new(python);
    command
        .arg(interop_dir().join("py_provider.py"))
        .arg("0")
        .current_dir(interop_dir())
        .stderr(Stdio::inherit());
    // Killed when the test ends, however it ends.
    let child = Listening::spawn(
        "py_provider",
        command,
        PATIENCE * 3,
        print_prefixed("py_provider"),
    )
    .expect("py_provider.py starts");

    let channels = exec
        .reference_channels(
            child.addr(),
            NonZeroUsize::MIN,
            Config::new(Side::Consumer),
            Opts::default(),
            Backoff::default(),
        )
        .unwrap();
    let reference = Reference::builder(SERVICE).version(VERSION).build(channels);
    let results = consumer_cases(&reference);
    assert!(results.len() > 60);
    assert_eq!(
        report(&results),
        0,
        "every case passes against py_provider on {}",
        exec.name()
    );
    drop(child);
}

tether_tests::on_each_executor!(tether_consumer_against_python =>
    the_tokio_consumer_passes_every_case_against_the_python_provider,
    the_smol_consumer_passes_every_case_against_the_python_provider,
    the_threadpool_consumer_passes_every_case_against_the_python_provider
);
