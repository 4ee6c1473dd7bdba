//! A direct reference built while its provider is down (Dubbo's `check=false`), on each
//! adapter's `Connector`: it is built at once, its calls fail at once with an error naming
//! the service and the address, and it connects and calls once the provider listens.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_core::consumer::{Backoff, Reference, RpcError};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::{Config, Side};
use tether_tests::conformance::eventually;
use tether_tests::exec::{Executor, Opts};
use tether_tests::on_each_executor;

const SERVICE: &str = "org.example.lazy.Greeter";

fn built_before_its_provider_listens(exec: &dyn Executor) {
    // A port nobody listens on (yet).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(200));
    let connector = exec.connector(Opts::default(), backoff);
    let started = Instant::now();
    let reference = Reference::builder(SERVICE).build_lazy(&*connector, &address);
    let greet = reference.method::<(String,), String>("greet");
    match greet.call_blocking(("early".into(),)) {
        Err(error @ RpcError::NoConnection(_)) => {
            let message = error.to_string();
            assert!(
                message.contains(SERVICE) && message.contains(&address),
                "{message}"
            );
        }
        other => panic!("{}: expected no connection, got {other:?}", exec.name()),
    }
    assert!(started.elapsed() < Duration::from_secs(1), "failed at once");

    let provider = Provider::new(Dispatch::Direct, exec.spawner()).export(
        Service::new(SERVICE).method("greet", |_, (name,): (String,)| {
            Ok(format!("Hello, {name}"))
        }),
    );
    let server = exec
        .bind(
            &address,
            Config::new(Side::Provider),
            Arc::new(provider),
            Opts::default(),
        )
        .expect("binds the port");
    let up = Instant::now();
    eventually("the reference connects", || {
        greet.call_blocking(("late".into(),)).is_ok()
    });
    println!(
        "{}: connected {} ms after the provider came up",
        exec.name(),
        up.elapsed().as_millis()
    );
    assert_eq!(
        greet.call_blocking(("world".into(),)).unwrap(),
        "Hello, world"
    );
    drop(reference);
    server.shutdown(Instant::now() + Duration::from_secs(2));
}

on_each_executor!(built_before_its_provider_listens =>
    tokio_reference_built_before_its_provider_listens,
    smol_reference_built_before_its_provider_listens,
    threadpool_reference_built_before_its_provider_listens);
