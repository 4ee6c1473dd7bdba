//! Application-level discovery end to end, tether on both sides, on each adapter: providers
//! register application instances and serve their metadata from a `MetadataService` on
//! their own port (`storage-type=local`, Java's default); a consumer's `RegistryDirectory`
//! over an `ApplicationRegistry` finds them, fetches their metadata over real connections,
//! calls them, and follows them coming and going. In memory (`StaticDiscovery`), then
//! through a real ZooKeeper behind a `MigrationRegistry` with an interface-level provider
//! beside them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tether_core::application::{
    ApplicationRegistry, MigrationRegistry, MigrationStep, StaticDiscovery,
};
use tether_core::cluster::{Directory, Route};
use tether_core::consumer::{Backoff, Reference};
use tether_core::discovery::RegistryDirectory;
use tether_core::metadata::{MetadataInfo, MetadataService, ServiceInstance};
use tether_core::provider::{Dispatch, Provider, Service};
use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry};
use tether_core::url::Url;
use tether_tests::conformance::eventually;
use tether_tests::exec::{Executor, Opts, Server};
use tether_tests::on_each_executor;

const SERVICE: &str = "org.example.application.Whoami";

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_millis()).unwrap()
}

/// A provider of application `app` answering `whoami` with `name`, serving its metadata:
/// the server and its instance.
fn app_provider(
    exec: &dyn Executor,
    app: &str,
    name: &'static str,
) -> (Box<dyn Server>, ServiceInstance) {
    let metadata = MetadataService::new(app);
    let provider = Provider::new(Dispatch::Direct, exec.spawner())
        .export(
            Service::new(SERVICE)
                .version("1.0.0")
                .method("whoami", move |_, (): ()| Ok(name.to_owned())),
        )
        .export(metadata.service());
    let server = exec.bind_local(Arc::new(provider));
    let port = server.local_addr().port();
    let url = provider_url(app, port);
    let info = MetadataInfo::from_urls(app, [&url]);
    metadata.publish(info.clone());
    (
        server,
        ServiceInstance::new(&info, "127.0.0.1", port, now_ms()),
    )
}

fn provider_url(app: &str, port: u16) -> Url {
    ProviderSpec::new(SERVICE, "127.0.0.1", port)
        .application(app)
        .methods(["whoami"])
        .version("1.0.0")
        .to_url(1)
        .unwrap()
}

/// A directory of the `SERVICE` 1.0.0 providers `registry` lists (waiting up to 10 s for
/// one), on `exec`'s connector.
fn directory(exec: &dyn Executor, registry: Arc<dyn Registry>) -> Arc<RegistryDirectory> {
    let connector = exec.connector(
        Opts::default(),
        Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
    );
    let consumer = ConsumerSpec::new(SERVICE, "127.0.0.1")
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    RegistryDirectory::builder(registry, connector, consumer)
        .check_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", exec.name()))
}

/// An application-level registry over `discovery` on `exec`.
fn application_registry(
    exec: &dyn Executor,
    discovery: Arc<dyn tether_core::application::ServiceDiscovery>,
) -> ApplicationRegistry {
    let connector = exec.connector(
        Opts::default(),
        Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
    );
    ApplicationRegistry::new(discovery, connector, exec.spawner(), exec.sleeper())
}

/// Calls `whoami` until each of `wanted` answered (at most 300 calls); the answers.
fn ask_until(reference: &Reference, wanted: &[&str]) -> Vec<String> {
    let whoami = reference.method::<(), String>("whoami");
    let mut answers = Vec::new();
    while answers.len() < 300 && !wanted.iter().all(|w| answers.iter().any(|a| a == w)) {
        answers.push(whoami.call_blocking(()).expect("answered"));
    }
    answers
}

fn listed(directory: &RegistryDirectory) -> usize {
    directory.list(&Route::new(SERVICE, "whoami")).len()
}

fn follows_instances(exec: &dyn Executor) {
    let discovery = Arc::new(StaticDiscovery::new());
    let (a, a_instance) = app_provider(exec, "whoami-app", "a");
    discovery.add(a_instance.clone());
    let registry = application_registry(exec, discovery.clone());
    let directory = directory(exec, Arc::new(registry.clone()));
    let reference = Reference::builder(SERVICE)
        .version("1.0.0")
        .build_with(directory.clone());
    assert_eq!(ask_until(&reference, &["a"]), ["a"], "{}", exec.name());

    // Another instance: its port is part of its services, so its revision is its own.
    let (b, b_instance) = app_provider(exec, "whoami-app", "b");
    assert_ne!(a_instance.revision(), b_instance.revision());
    discovery.add(b_instance);
    eventually("b listed", || listed(&directory) == 2);
    let answers = ask_until(&reference, &["a", "b"]);
    assert!(
        answers.contains(&"b".to_owned()),
        "{}: {answers:?}",
        exec.name()
    );

    // a leaves: every call goes to b, and a's connections close (the metadata fetch's
    // connection included).
    discovery.remove(&a_instance);
    eventually("a unlisted", || listed(&directory) == 1);
    let whoami = reference.method::<(), String>("whoami");
    for _ in 0..10 {
        assert_eq!(whoami.call_blocking(()).unwrap(), "b", "{}", exec.name());
    }
    eventually("a's connections closed", || a.connections().is_empty());
    let stats = registry.stats();
    assert_eq!(stats.failures, 0, "{}: {stats:?}", exec.name());
    assert_eq!(
        stats.fetches,
        2,
        "{}: two revisions, a fetch each",
        exec.name()
    );
    // Dropping the reference (its methods too) and the directory ends the subscription
    // and closes every connection.
    drop((whoami, reference, directory));
    eventually("unsubscribed", || registry.stats().subscriptions == 0);
    eventually("b's connections closed", || b.connections().is_empty());
}

on_each_executor!(follows_instances =>
    an_application_registry_follows_instances_on_tokio,
    an_application_registry_follows_instances_on_smol,
    an_application_registry_follows_instances_on_threadpool);

/// The same through ZooKeeper (`tether-registry-zookeeper` as both registries) behind a
/// `MigrationRegistry`: an interface-level provider is called until an application-level
/// instance appears, then only the instance (Dubbo 3's `APPLICATION_FIRST`); the instance
/// leaving (its node deleted) brings the interface-level provider back.
fn migrates_through_zookeeper(exec: &dyn Executor) {
    if !tether_tests::zk::zookeeper_present("application-level discovery over zookeeper") {
        return;
    }
    let zk = tether_tests::zk::ZooKeeper::start().expect("zookeeper starts");
    let zookeeper = Arc::new(tether_tests::zk::registry(&zk, exec));
    let (old, _) = app_provider(exec, "old-app", "old");
    zookeeper
        .register(&provider_url("old-app", old.local_addr().port()))
        .wait()
        .unwrap();
    let application = application_registry(exec, zookeeper.clone());
    let registry = MigrationRegistry::new(zookeeper.clone(), Arc::new(application.clone()))
        .step(MigrationStep::ApplicationFirst);
    let directory = directory(exec, Arc::new(registry));
    let reference = Reference::builder(SERVICE)
        .version("1.0.0")
        .build_with(directory.clone());
    assert_eq!(ask_until(&reference, &["old"]), ["old"]);

    let (new, instance) = app_provider(exec, "new-app", "new");
    zookeeper
        .register_instance(&instance, now_ms())
        .wait()
        .unwrap();
    eventually("the application level chosen", || {
        let list = directory.list(&Route::new(SERVICE, "whoami"));
        list.len() == 1
            && list[0].address() == new.local_addr().to_string()
            && list[0].is_available()
    });
    let whoami = reference.method::<(), String>("whoami");
    for _ in 0..10 {
        assert_eq!(whoami.call_blocking(()).unwrap(), "new", "{}", exec.name());
    }

    zookeeper.unregister_instance(&instance).wait().unwrap();
    eventually("back to the interface level", || {
        let list = directory.list(&Route::new(SERVICE, "whoami"));
        list.len() == 1
            && list[0].address() == old.local_addr().to_string()
            && list[0].is_available()
    });
    assert_eq!(whoami.call_blocking(()).unwrap(), "old");
    assert_eq!(application.stats().failures, 0, "{:?}", application.stats());
    drop(reference);
    drop(directory);
    eventually("new's connections closed", || new.connections().is_empty());
    zookeeper.close();
}

on_each_executor!(migrates_through_zookeeper =>
    a_migration_registry_follows_zookeeper_on_tokio,
    a_migration_registry_follows_zookeeper_on_smol,
    a_migration_registry_follows_zookeeper_on_threadpool);
