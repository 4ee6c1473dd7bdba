//! A reference over a `RegistryDirectory` calling real tether providers over loopback, on
//! each adapter (its `Connector`): two providers share the calls, one leaves (unregisters)
//! and every call goes to the other while the leaver's connections close, one comes and
//! gets calls, and one registered before it listens is connected once it does; the same
//! through a real ZooKeeper, with a configurator.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use tether_core::cluster::{Connector, Directory, Route};
use tether_core::consumer::{Backoff, Reference};
use tether_core::discovery::RegistryDirectory;
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
use tether_core::url::Url;
use tether_core::{Config, Side};
use tether_tests::conformance::eventually;
use tether_tests::exec::{Executor, Opts, Server};
use tether_tests::on_each_executor;

const SERVICE: &str = "org.example.discovery.Whoami";

/// A provider answering `whoami` with `name`, on `addr`.
fn whoami(exec: &dyn Executor, name: &'static str, addr: &str) -> Box<dyn Server> {
    let provider = Provider::new(Dispatch::Direct, exec.spawner()).export(
        Service::new(SERVICE)
            .version("1.0.0")
            .method("whoami", move |_, (): ()| Ok(name.to_owned())),
    );
    exec.bind(
        addr,
        Config::new(Side::Provider),
        Arc::new(provider),
        Opts::default(),
    )
    .unwrap_or_else(|e| panic!("{}: bind {addr}: {e}", exec.name()))
}

fn url_of(server: &dyn Server) -> Url {
    url_at(server.local_addr().port())
}

fn url_at(port: u16) -> Url {
    ProviderSpec::new(SERVICE, "127.0.0.1", port)
        .methods(["whoami"])
        .version("1.0.0")
        .to_url(1)
        .unwrap()
}

/// Calls `whoami` until every one of `wanted` has answered, at most 300 times (the default
/// balancer draws at random: 300 draws miss one of three equal providers with a chance
/// below 1e-52), and returns the answers.
fn ask_until(reference: &Reference, wanted: &[&str]) -> Vec<String> {
    let whoami = reference.method::<(), String>("whoami");
    let mut answers = Vec::new();
    while answers.len() < 300 && !wanted.iter().all(|w| answers.iter().any(|a| a == w)) {
        answers.push(whoami.call_blocking(()).expect("answered"));
    }
    answers
}

fn ask(reference: &Reference, n: usize) -> Vec<String> {
    let whoami = reference.method::<(), String>("whoami");
    (0..n)
        .map(|_| whoami.call_blocking(()).expect("answered"))
        .collect()
}

fn all_available(directory: &RegistryDirectory, n: usize) -> bool {
    let list = directory.list(&Route::new(SERVICE, "whoami"));
    list.len() == n && list.iter().all(|i| i.is_available())
}

/// The adapter's connector, retrying every 20 ms up to 200 ms.
fn connector(exec: &dyn Executor) -> Arc<dyn Connector> {
    exec.connector(
        Opts::default(),
        Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
    )
}

/// A directory of the `SERVICE` 1.0.0 providers `registry` lists, waiting up to 10 s for one.
fn directory(
    exec: &dyn Executor,
    registry: Arc<dyn Registry>,
    connector: Arc<dyn Connector>,
) -> Arc<RegistryDirectory> {
    let consumer = ConsumerSpec::new(SERVICE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    RegistryDirectory::builder(registry, connector, consumer)
        .check_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", exec.name()))
}

fn follows_providers(exec: &dyn Executor) {
    let registry = Arc::new(StaticRegistry::new([]));
    let (a, b) = (
        whoami(exec, "a", "127.0.0.1:0"),
        whoami(exec, "b", "127.0.0.1:0"),
    );
    registry.register(&url_of(&*a)).wait().unwrap();
    registry.register(&url_of(&*b)).wait().unwrap();
    let directory = directory(exec, registry.clone(), connector(exec));
    let reference = Reference::builder(SERVICE)
        .version("1.0.0")
        .build_with(directory.clone());

    eventually("both providers connected", || all_available(&directory, 2));
    let answers = ask_until(&reference, &["a", "b"]);
    assert!(
        answers.iter().any(|n| n == "a") && answers.iter().any(|n| n == "b"),
        "{}: {answers:?}",
        exec.name()
    );

    // `a` leaves the registry: every call goes to `b`, and `a`'s connection closes.
    registry.unregister(&url_of(&*a)).wait().unwrap();
    assert_eq!(ask(&reference, 10), vec!["b"; 10], "{}", exec.name());
    eventually("the leaver's connection closed", || {
        a.connections().is_empty()
    });

    // `c` comes: it gets calls.
    let c = whoami(exec, "c", "127.0.0.1:0");
    registry.register(&url_of(&*c)).wait().unwrap();
    eventually("c connected", || all_available(&directory, 2));
    let answers = ask_until(&reference, &["c"]);
    assert!(
        answers.iter().any(|n| n == "c"),
        "{}: {answers:?}",
        exec.name()
    );
    assert!(!answers.iter().any(|n| n == "a"));

    // `d` is registered before it listens: connected once it is up.
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    registry.register(&url_at(port)).wait().unwrap();
    assert_eq!(directory.list(&Route::new(SERVICE, "whoami")).len(), 3);
    std::thread::sleep(Duration::from_millis(100));
    assert!(ask(&reference, 6).iter().all(|n| n == "b" || n == "c"));
    let d = whoami(exec, "d", &format!("127.0.0.1:{port}"));
    eventually("d connected once it listens", || {
        all_available(&directory, 3)
    });
    let answers = ask_until(&reference, &["d"]);
    assert!(
        answers.iter().any(|n| n == "d"),
        "{}: {answers:?}",
        exec.name()
    );

    // Dropping the reference and the directory closes every connection.
    drop(reference);
    drop(directory);
    for (name, server) in [("b", &b), ("c", &c), ("d", &d)] {
        eventually(&format!("{name}'s connection closed"), || {
            server.connections().is_empty()
        });
    }
}

on_each_executor!(follows_providers =>
    a_registry_directory_follows_providers_on_tokio,
    a_registry_directory_follows_providers_on_smol,
    a_registry_directory_follows_providers_on_threadpool);

/// Two references to one interface, each over its own directory but one connector: one
/// connection to the provider serves both (Java's shared connections); a provider asking
/// for `connections=2` gets two of each reference's own.
fn references_share_connections(exec: &dyn Executor) {
    let registry = Arc::new(StaticRegistry::new([]));
    let a = whoami(exec, "a", "127.0.0.1:0");
    registry.register(&url_of(&*a)).wait().unwrap();
    let connector = connector(exec);
    let directory = || directory(exec, registry.clone(), connector.clone());
    let (first, second) = (directory(), directory());
    let references = [&first, &second].map(|d| {
        Reference::builder(SERVICE)
            .version("1.0.0")
            .build_with(d.clone())
    });
    eventually("connected", || {
        all_available(&first, 1) && all_available(&second, 1)
    });
    for reference in &references {
        assert_eq!(ask(reference, 3), vec!["a"; 3], "{}", exec.name());
    }
    assert_eq!(
        a.connections().len(),
        1,
        "{}: one shared connection",
        exec.name()
    );
    drop(references);
    drop((first, second));
    eventually(
        "the shared connection closed with its last reference",
        || a.connections().is_empty(),
    );

    // `connections=2`: each directory opens two of its own.
    let own = url_of(&*a)
        .into_builder()
        .param("connections", "2")
        .build()
        .unwrap();
    registry.unregister(&url_of(&*a)).wait().unwrap();
    registry.register(&own).wait().unwrap();
    let (first, second) = (directory(), directory());
    eventually("connected", || {
        all_available(&first, 1) && all_available(&second, 1)
    });
    eventually("two connections each", || a.connections().len() == 4);
    drop((first, second));
}

on_each_executor!(references_share_connections =>
    references_share_connections_on_tokio,
    references_share_connections_on_smol,
    references_share_connections_on_threadpool);

/// The same through a real ZooKeeper (`tether-registry-zookeeper`), tether on both sides:
/// providers and a configurator registered there reach the reference; a provider leaving
/// takes its calls away; the last one leaving empties the directory (`empty://`). Skipped
/// without Java and Debian's `zookeeper` package; fails under `CI=true`.
fn follows_providers_in_zookeeper(exec: &dyn Executor) {
    if !tether_tests::zk::zookeeper_present("registry directory over zookeeper") {
        return;
    }
    let zk = tether_tests::zk::ZooKeeper::start().expect("zookeeper starts");
    let registry = Arc::new(tether_tests::zk::registry(&zk, exec));
    let (a, b) = (
        whoami(exec, "a", "127.0.0.1:0"),
        whoami(exec, "b", "127.0.0.1:0"),
    );
    registry.register(&url_of(&*a)).wait().unwrap();
    registry.register(&url_of(&*b)).wait().unwrap();
    let directory = directory(exec, registry.clone(), connector(exec));
    let reference = Reference::builder(SERVICE)
        .version("1.0.0")
        .build_with(directory.clone());
    eventually("both providers connected", || all_available(&directory, 2));
    let answers = ask_until(&reference, &["a", "b"]);
    assert!(answers.iter().any(|n| n == "a") && answers.iter().any(|n| n == "b"));
    // The consumer's own node, as Java registers it by default.
    let consumers = format!("/dubbo/{SERVICE}/consumers");
    eventually("the consumer node registered", || {
        zk.children(&consumers).unwrap_or_default().len() == 1
    });

    // A configurator for every host, as dubbo-admin writes one.
    let rule = Url::parse(&format!(
        "override://0.0.0.0/{SERVICE}?category=configurators&dynamic=false&enabled=true&version=1.0.0&weight=300"
    ))
    .unwrap();
    registry.register(&rule).wait().unwrap();
    let route = Route::new(SERVICE, "whoami");
    eventually("the weight rule applied", || {
        let list = directory.list(&route);
        list.len() == 2 && list.iter().all(|i| i.param("weight") == Some("300"))
    });
    assert!(all_available(&directory, 2), "kept their connections");

    registry.unregister(&url_of(&*a)).wait().unwrap();
    eventually("a unlisted", || directory.list(&route).len() == 1);
    assert_eq!(ask(&reference, 5), vec!["b"; 5]);
    eventually("a's connection closed", || a.connections().is_empty());

    registry.unregister(&url_of(&*b)).wait().unwrap();
    eventually("nobody listed", || directory.list(&route).is_empty());
    assert!(
        reference
            .method::<(), String>("whoami")
            .call_blocking(())
            .is_err()
    );
    eventually("b's connection closed", || b.connections().is_empty());
    println!(
        "{}: {} notifications, {} skipped",
        exec.name(),
        directory.notifications(),
        directory.skipped()
    );
    drop(reference);
    drop(directory);
    eventually("the consumer node withdrawn", || {
        zk.children(&consumers).unwrap_or_default().is_empty()
    });
    registry.close();
}

on_each_executor!(follows_providers_in_zookeeper =>
    a_registry_directory_follows_providers_in_zookeeper_on_tokio,
    a_registry_directory_follows_providers_in_zookeeper_on_smol,
    a_registry_directory_follows_providers_in_zookeeper_on_threadpool);
