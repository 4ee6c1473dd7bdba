//! dubbo-go v3.3.2 and tether meeting through a real ZooKeeper (issue 14):
//!
//! - `goconsumer -registry zookeeper://127.0.0.1:<port>` (dubbo-go's ZooKeeper registry,
//!   told nothing else) finds and calls a tether provider registered with
//!   `tether-registry-zookeeper`, on each adapter, once the Go consumer's registry type is
//!   `interface` (or `all`);
//! - with dubbo-go's default registry type (application-level service discovery only) it
//!   does not: the tether provider is registered at interface level only;
//! - a default (application-level) Go provider and an interface-level tether provider of
//!   one interface behind Go consumers of each registry type: each sees its own level's
//!   providers, `all` both;
//! - an interface-level Go provider (it registers `weight=0`) and a tether provider behind
//!   a Go consumer (all calls to tether) and a tether consumer;
//! - `goprovider -registry ...` registers itself; what dubbo-go's default writes in
//!   ZooKeeper (application level: `/services`, `/dubbo/mapping`, remote metadata, no
//!   `/dubbo/<iface>/providers`) and what `-registry-type interface` writes;
//! - a tether consumer (`RegistryDirectory` over `tether-registry-zookeeper`), given only the
//!   registry, finds and calls the interface-level Go provider on each adapter, and drops it
//!   once its session is gone.
//!
//! Needs Go (the peers are built by `tests/interop/go/build.sh`), Java 17 and Debian's
//! `zookeeper` package: without them the tests say SKIPPED and pass, except under
//! `CI=true`, where they fail.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tether_core::application::{ApplicationRegistry, MigrationRegistry};
use tether_core::cluster::{Directory, Route};
use tether_core::consumer::{Backoff, Reference};
use tether_core::context::CallContext;
use tether_core::discovery::RegistryDirectory;
use tether_core::registry::RegisterMode;
use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry};
use tether_core::url::{Url, decode};
use tether_registry_zookeeper::ZookeeperRegistry;
use tether_tests::conformance::provider;
use tether_tests::estate::{ConsumerRun, PeerProcess, go_peers, run_consumer};
use tether_tests::exec::{Executor, Opts};
use tether_tests::on_each_executor;
use tether_tests::zk::{ZooKeeper, now_ms, registry, zookeeper_present};

const IFACE: &str = "org.apache.dubbo.demo.DemoService";

/// `goprovider`'s application name.
const GO_APPLICATION: &str = "tether-interop-goprovider";

/// What `goprovider` reports as its `release`.
const GO_RELEASE: &str = "dubbo-golang-3.3.2";

/// The demo contract's methods as the suite provider serves them.
const METHODS: &[&str] = &[
    "sayHello",
    "ping",
    "echoString",
    "echoInt",
    "echoLong",
    "echoDouble",
    "echoBool",
    "echoList",
    "echoMap",
    "echoBytes",
    "echoStringArray",
    "echoIntArray",
    "echoUser",
    "join",
    "getAttachment",
    "throwException",
    "sleep",
    "log",
    "boom",
];

/// The Go peers, with Go and ZooKeeper present; `None` (skipped) otherwise.
fn peers() -> Option<&'static Path> {
    if !zookeeper_present("dubbo-go registry interop") {
        return None;
    }
    go_peers()
}

/// One test at a time: each runs a ZooKeeper JVM and a Go process on a small machine.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Prints the whole tree under `/dubbo` and `/services` (decoded URL nodes) and returns
/// every path in it.
fn dump(zk: &ZooKeeper, label: &str) -> Vec<String> {
    let out = zk.cli(&["ls", "-R", "/"]).expect("zkCli ls -R /");
    let paths: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("/dubbo") || l.starts_with("/services"))
        .map(str::to_owned)
        .collect();
    println!("--- ZooKeeper after {label} ---");
    for path in &paths {
        println!("{}", decode(path).unwrap_or_else(|_| path.clone()));
    }
    paths
}

/// The data of the node at `path` (the last non-empty line `zkCli get` prints).
fn data(zk: &ZooKeeper, path: &str) -> String {
    zk.cli(&["get", path])
        .expect("zkCli get")
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Runs `goconsumer -registry <zk> [-registry-type <kind>]`.
fn go_consumer(peers: &Path, zk: &ZooKeeper, kind: &str, find_within: &str) -> ConsumerRun {
    let mut command = Command::new(peers.join("goconsumer"));
    command.args(["-registry", &zk.registry_url(), "-find-within", find_within]);
    if !kind.is_empty() {
        command.args(["-registry-type", kind]);
    }
    let started = Instant::now();
    let run = run_consumer(command, Duration::from_secs(120));
    println!(
        "goconsumer -registry-type {kind:?} ({:?}, {:?}):",
        started.elapsed(),
        run.status
    );
    run.echo();
    run
}

/// A tether provider of the suite service on `exec`, registered at interface level in a
/// fresh ZooKeeper; a dubbo-go consumer told only the registry address, with registry type
/// `interface`, finds it and calls it; with `all` too.
fn go_consumer_finds_a_tether_provider(exec: &dyn Executor) {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let fixture = provider(exec);
    let registry = registry(&zk, exec);
    let url = ProviderSpec::new(IFACE, "127.0.0.1", fixture.addr().port())
        .application("tether-interop-provider")
        .methods(METHODS.iter().copied())
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    registry.register(&url).wait().expect("registers");
    println!("{}: tether registered {url}", exec.name());

    for kind in ["interface", "all"] {
        let run = go_consumer(peers, &zk, kind, "30s");
        let results: Vec<&str> = run
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .collect();
        assert!(
            run.clean(),
            "{}: goconsumer -registry-type {kind}: {:?} {:?}",
            exec.name(),
            run.status,
            run.failures()
        );
        assert_eq!(
            results,
            [
                "Hello go-registry 0",
                "Hello go-registry 1",
                "Hello go-registry 2"
            ],
            "{}: -registry-type {kind}",
            exec.name()
        );
    }
    dump(&zk, "the Go consumers (interface, all)");
}

on_each_executor!(go_consumer_finds_a_tether_provider =>
    a_go_consumer_finds_and_calls_a_tether_provider_on_tokio,
    a_go_consumer_finds_and_calls_a_tether_provider_on_smol,
    a_go_consumer_finds_and_calls_a_tether_provider_on_the_thread_pool
);

/// dubbo-go's default registry type is application-level service discovery: a default Go
/// consumer looks up `/dubbo/mapping/<iface>` and `/services/<app>`, which an
/// interface-level tether provider does not write, and finds no provider.
#[test]
fn a_default_go_consumer_does_not_find_an_interface_level_tether_provider() {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let exec = tether_tests::exec::ThreadPool::new();
    let fixture = provider(&exec);
    let registry = registry(&zk, &exec);
    let url = ProviderSpec::new(IFACE, "127.0.0.1", fixture.addr().port())
        .application("tether-interop-provider")
        .methods(METHODS.iter().copied())
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    registry.register(&url).wait().expect("registers");

    let run = go_consumer(peers, &zk, "", "8s");
    assert!(
        run.stdout.contains("FAIL registry.found") && run.stdout.contains("No provider available"),
        "a default dubbo-go consumer found the interface-level tether provider: dubbo-go's \
         default is not application-level only any more; fix docs/registry.md\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("service-discovery-registry://"),
        "the default consumer's registry is service discovery: {}",
        run.stdout
    );
    assert!(
        fixture.server.connections().is_empty(),
        "the default Go consumer connected to the tether provider"
    );
    dump(&zk, "a default Go consumer");
}

/// A default (application-level) dubbo-go consumer and a tether provider registered at both
/// levels (`RegisterMode::All`: `/services/<app>/<host>:<port>`, the mapping, and its
/// `MetadataService` on the provider's port, as Java 3 registers): the Go consumer reads the
/// mapping and the instance, asks tether's metadata service for the revision once, and
/// calls.
#[test]
fn a_default_go_consumer_and_an_application_level_tether_provider() {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let exec = tether_tests::exec::ThreadPool::new();
    let registry = registry(&zk, &exec);
    let (_fixture, _instance, metadata) = tether_tests::zk::app_provider(
        &exec,
        &registry,
        IFACE,
        "tether-interop-provider",
        METHODS,
        RegisterMode::All,
    );

    let run = go_consumer(peers, &zk, "", "20s");
    println!("metadata service calls: {:?}", metadata.calls());
    dump(&zk, "a default Go consumer, tether at both levels");
    let results: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .collect();
    assert!(
        run.clean(),
        "a default dubbo-go consumer did not call a tether provider registered at both \
         levels: {:?} {:?}",
        run.status,
        run.failures()
    );
    assert_eq!(
        results,
        [
            "Hello go-registry 0",
            "Hello go-registry 1",
            "Hello go-registry 2"
        ]
    );
}

/// Starts `goprovider -registry <zk> [-registry-type <kind>]` on a free port.
fn go_provider(peers: &Path, zk: &ZooKeeper, kind: &str) -> PeerProcess {
    let mut command = Command::new(peers.join("goprovider"));
    command.args(["-registry", &zk.registry_url()]);
    if !kind.is_empty() {
        command.args(["-registry-type", kind]);
    }
    command.arg("0");
    let started = Instant::now();
    let provider = PeerProcess::spawn("goprovider-zk", command, Duration::from_secs(60));
    println!(
        "goprovider -registry-type {kind:?} on {} in {:?}",
        provider.addr,
        started.elapsed()
    );
    provider
}

/// Waits until `path` has a child (dubbo-go registers after it starts listening).
fn wait_for_child(zk: &ZooKeeper, path: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let children = zk.children(path).unwrap_or_default();
        if !children.is_empty() || Instant::now() > deadline {
            return children;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What a dubbo-go provider registers with the default registry type: application level
/// only. A tether subscription (interface level) sees no provider.
#[test]
fn a_default_go_provider_registers_at_application_level_only() {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let go = go_provider(peers, &zk, "");
    let instance = format!("127.0.0.1:{}", go.addr.port());
    let instances = wait_for_child(
        &zk,
        &format!("/services/{GO_APPLICATION}"),
        Duration::from_secs(20),
    );
    let paths = dump(&zk, "a default Go provider");
    assert_eq!(instances, std::slice::from_ref(&instance), "{paths:#?}");
    let json = data(&zk, &format!("/services/{GO_APPLICATION}/{instance}"));
    println!("instance node data: {json}");
    assert!(json.contains("\"dubbo.endpoints\""), "{json}");
    assert!(
        json.contains("\"dubbo.metadata.storage-type\":\"remote\""),
        "{json}"
    );
    let mapping = data(&zk, &format!("/dubbo/mapping/{IFACE}"));
    println!("mapping node data: {mapping}");
    assert_eq!(mapping, GO_APPLICATION);
    // Remote metadata (goprovider's choice, see its source): /dubbo/<app>/<revision>.
    let revisions = zk
        .children(&format!("/dubbo/{GO_APPLICATION}"))
        .unwrap_or_default();
    if let Some(revision) = revisions.first() {
        println!(
            "metadata node data: {}",
            data(&zk, &format!("/dubbo/{GO_APPLICATION}/{revision}"))
        );
    }
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with(&format!("/dubbo/{IFACE}/providers"))),
        "a default dubbo-go provider wrote an interface-level node: {paths:#?}"
    );

    let exec = tether_tests::exec::ThreadPool::new();
    let registry = registry(&zk, &exec);
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    let found = registry.lookup(&consumer).wait().unwrap();
    assert!(found.is_empty(), "{found:?}");
    drop(go);
}

/// The interface-level Go provider's URL, as a tether subscription delivers it.
fn go_provider_url(registry: &ZookeeperRegistry, consumer: &Url) -> Url {
    let seen: Arc<Mutex<Vec<Vec<Url>>>> = Arc::default();
    let sink = seen.clone();
    let id = registry
        .subscribe(
            consumer,
            Arc::new(move |urls: &[Url]| sink.lock().unwrap().push(urls.to_vec())),
        )
        .wait()
        .expect("subscribes");
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        let last = seen.lock().unwrap().last().cloned().unwrap_or_default();
        if let Some(url) = last.iter().find(|u| u.protocol() == "dubbo") {
            break url.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no dubbo:// provider notified: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    registry.unsubscribe(id).wait().expect("unsubscribes");
    url
}

/// A dubbo-go provider registered with registry type `interface`: see
/// [`tether_consumer_calls_a_go_provider_of`].
fn tether_consumer_calls_a_go_provider(exec: &dyn Executor) {
    tether_consumer_calls_a_go_provider_of(exec, "interface");
}

/// The same with registry type `all` (both levels), on the thread pool.
#[test]
fn a_tether_consumer_finds_and_calls_a_go_provider_registered_at_both_levels() {
    tether_consumer_calls_a_go_provider_of(&tether_tests::exec::ThreadPool::new(), "all");
}

/// A dubbo-go provider registered with registry type `kind`; a tether reference over a
/// `RegistryDirectory` (check=true) on `exec` finds it, connects and calls it; killed, it is
/// unlisted once its session is gone.
fn tether_consumer_calls_a_go_provider_of(exec: &dyn Executor, kind: &str) {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    // Sessions of at most 10 s (dubbo-go asks for less).
    let zk = ZooKeeper::start_with_max_session(Duration::from_secs(10)).expect("zookeeper starts");
    let go = go_provider(peers, &zk, kind);
    let registry = Arc::new(registry(&zk, exec));
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .application("tether-interop-consumer")
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    let url = go_provider_url(&registry, &consumer);
    println!("{}: dubbo-go provider URL as delivered: {url}", exec.name());
    let paths = dump(&zk, &format!("a Go provider of registry type {kind}"));
    if kind == "all" {
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with(&format!("/services/{GO_APPLICATION}/"))),
            "{paths:#?}"
        );
    }
    assert_eq!(url.host(), "127.0.0.1");
    assert_eq!(url.port(), go.addr.port());
    assert_eq!(url.interface(), IFACE);
    assert_eq!(url.version(), Some("1.0.0"));
    assert_eq!(url.side(), Some("provider"));
    assert_eq!(url.param("release"), Some(GO_RELEASE));
    assert!(url.methods().contains(&"sayHello"), "{url}");

    let started = Instant::now();
    let directory = RegistryDirectory::builder(
        registry.clone(),
        exec.connector(Opts::default(), Backoff::default()),
        consumer,
    )
    .check_timeout(Duration::from_secs(30))
    .on_skip(|skipped| println!("skipped {:?}: {}", skipped.reason, skipped.url))
    .build()
    .unwrap_or_else(|e| panic!("{}: {e}", exec.name()));
    println!(
        "{}: dubbo-go provider found and connected in {:?}",
        exec.name(),
        started.elapsed()
    );
    calls_then_kill(exec, &directory, go);
}

/// Calls the one dubbo-go provider `directory` lists three times, kills it, and waits for
/// it to be unlisted (its session gone).
fn calls_then_kill(exec: &dyn Executor, directory: &Arc<RegistryDirectory>, go: PeerProcess) {
    let listed = directory.list(&Route::new(IFACE, "sayHello"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].address(), format!("127.0.0.1:{}", go.addr.port()));
    assert_eq!(listed[0].param("release"), Some(GO_RELEASE));

    let reference = Reference::builder(IFACE)
        .version("1.0.0")
        .build_with(directory.clone());
    let say_hello = reference.method::<(String,), String>("sayHello");
    for i in 0..3 {
        let reply = say_hello
            .call_with_blocking(CallContext::new(), (format!("tether {i}"),))
            .unwrap_or_else(|e| panic!("{}: call {i} to dubbo-go: {e}", exec.name()));
        assert_eq!(reply.value, format!("Hello tether {i}"));
    }

    // SIGKILL: the connection ends at once; the node goes with the session.
    let killed = Instant::now();
    drop(go);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !directory.list(&Route::new(IFACE, "sayHello")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{}: the killed dubbo-go provider stayed listed",
            exec.name()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "{}: killed dubbo-go provider unlisted after {:?}",
        exec.name(),
        killed.elapsed()
    );
    assert!(say_hello.call_blocking(("late".to_owned(),)).is_err());
}

on_each_executor!(tether_consumer_calls_a_go_provider =>
    a_tether_consumer_on_tokio_finds_and_calls_a_go_provider,
    a_tether_consumer_on_smol_finds_and_calls_a_go_provider,
    a_tether_consumer_on_the_thread_pool_finds_and_calls_a_go_provider
);

/// A dubbo-go provider with dubbo-go's defaults (application level only, its metadata
/// stored remotely at `/dubbo/<app>/<revision>`) and a tether consumer with Dubbo 3's
/// defaults: a `MigrationRegistry` (`APPLICATION_FIRST`) over the ZooKeeper registry at
/// interface level and an `ApplicationRegistry` over it at application level. The
/// consumer follows the mapping to the application, reads the instance and the remote
/// metadata, connects and calls; killed, the provider is unlisted once its session ends.
fn tether_consumer_calls_a_default_go_provider(exec: &dyn Executor) {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start_with_max_session(Duration::from_secs(10)).expect("zookeeper starts");
    let go = go_provider(peers, &zk, "");
    let zookeeper = Arc::new(registry(&zk, exec));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = failures.clone();
    let application = ApplicationRegistry::new(
        zookeeper.clone(),
        exec.connector(Opts::default(), Backoff::default()),
        exec.spawner(),
        exec.sleeper(),
    )
    .on_failure(move |failure| sink.lock().unwrap().push(failure.clone()));
    let registry = Arc::new(MigrationRegistry::new(
        zookeeper.clone(),
        Arc::new(application.clone()),
    ));
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .application("tether-interop-consumer")
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    let started = Instant::now();
    let directory = RegistryDirectory::builder(
        registry,
        exec.connector(Opts::default(), Backoff::default()),
        consumer,
    )
    .check_timeout(Duration::from_secs(30))
    .on_skip(|skipped| println!("skipped {:?}: {}", skipped.reason, skipped.url))
    .build()
    .unwrap_or_else(|e| {
        dump(&zk, "no default Go provider found");
        panic!(
            "{}: {e}; metadata failures: {:?}",
            exec.name(),
            failures.lock().unwrap()
        )
    });
    println!(
        "{}: default dubbo-go provider found (application level, remote metadata) and \
         connected in {:?}; {:?}",
        exec.name(),
        started.elapsed(),
        application.stats()
    );
    let listed = directory.list(&Route::new(IFACE, "sayHello"));
    println!(
        "{}: as listed: {:?}",
        exec.name(),
        listed[0].params().collect::<Vec<_>>()
    );
    assert!(
        listed[0]
            .param("methods")
            .unwrap_or("")
            .contains("sayHello")
    );
    assert_eq!(
        application.stats().fetches,
        1,
        "{:?}",
        failures.lock().unwrap()
    );
    calls_then_kill(exec, &directory, go);
    assert!(
        failures.lock().unwrap().is_empty(),
        "{:?}",
        failures.lock().unwrap()
    );
}

on_each_executor!(tether_consumer_calls_a_default_go_provider =>
    a_tether_consumer_on_tokio_finds_and_calls_a_default_go_provider,
    a_tether_consumer_on_smol_finds_and_calls_a_default_go_provider,
    a_tether_consumer_on_the_thread_pool_finds_and_calls_a_default_go_provider
);

/// Runs `goconsumer` of registry type `kind` for `calls` `threadName()` calls; returns how
/// many `goprovider` and tether's provider answered.
fn calls_by_provider(
    peers: &Path,
    zk: &ZooKeeper,
    kind: &str,
    calls: usize,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut command = Command::new(peers.join("goconsumer"));
    command.args(["-registry", &zk.registry_url(), "-registry-type", kind]);
    command.args(["-calls", "0", "-thread-names", &calls.to_string()]);
    let run = run_consumer(command, Duration::from_secs(120));
    assert!(
        run.clean(),
        "goconsumer -registry-type {kind:?}: {:?} {:?}\n{}",
        run.status,
        run.failures(),
        run.stderr
    );
    let mut by_provider = std::collections::BTreeMap::new();
    for line in run.stdout.lines().filter_map(|l| l.strip_prefix("THREAD ")) {
        let who = if line == "goprovider" { "go" } else { "tether" };
        *by_provider.entry(who).or_default() += 1;
    }
    assert_eq!(by_provider.values().sum::<usize>(), calls, "{}", run.stdout);
    by_provider
}

/// Runs `goconsumer -registry-type all`, calling `threadName()` until `goprovider` and
/// tether's provider have both answered (`-mixed-within`, 30 s); returns how many each
/// answered. A fixed number of calls could not tell: dubbo-go starts calling as soon as one
/// level's list arrived, and the other level's may come after all of them were made.
fn calls_until_both_answer(
    peers: &Path,
    zk: &ZooKeeper,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut command = Command::new(peers.join("goconsumer"));
    command.args(["-registry", &zk.registry_url(), "-registry-type", "all"]);
    command.args(["-calls", "0", "-thread-names", "0", "-mixed-within", "30s"]);
    let run = run_consumer(command, Duration::from_secs(120));
    assert!(
        run.clean(),
        "goconsumer -registry-type \"all\" -mixed-within 30s: {:?} {:?}\n{}\n{}",
        run.status,
        run.failures(),
        run.stdout,
        run.stderr
    );
    let mut by_provider = std::collections::BTreeMap::new();
    for line in run.stdout.lines().filter_map(|l| l.strip_prefix("THREAD ")) {
        let who = if line == "goprovider" { "go" } else { "tether" };
        *by_provider.entry(who).or_default() += 1;
    }
    by_provider
}

/// A dubbo-go provider registered with dubbo-go's default (application level only) and a
/// tether provider registered at interface level, one interface, behind Go consumers of
/// each registry type: each consumer sees only the providers of its own level (`all`
/// both).
#[test]
fn mixed_go_and_tether_providers_behind_one_go_consumer() {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let go = go_provider(peers, &zk, "");
    wait_for_child(
        &zk,
        &format!("/services/{GO_APPLICATION}"),
        Duration::from_secs(20),
    );
    let exec = tether_tests::exec::ThreadPool::new();
    let fixture = provider(&exec);
    let registry = registry(&zk, &exec);
    let mut methods = METHODS.to_vec();
    methods.push("threadName");
    let url = ProviderSpec::new(IFACE, "127.0.0.1", fixture.addr().port())
        .application("tether-interop-provider")
        .methods(methods)
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    registry.register(&url).wait().expect("registers");
    println!(
        "goprovider :{} (application level), tether provider :{} (interface level)",
        go.addr.port(),
        fixture.addr().port()
    );
    let mut seen = Vec::new();
    for kind in ["", "interface"] {
        let by_provider = calls_by_provider(peers, &zk, kind, 30);
        println!("goconsumer -registry-type {kind:?}: calls answered by {by_provider:?}");
        seen.push(by_provider);
    }
    assert_eq!(seen[0].get("tether"), None, "default: {:?}", seen[0]);
    assert_eq!(seen[1].get("go"), None, "interface: {:?}", seen[1]);
    // `all`: two registries, one cluster over both lists (random: about half each, once
    // both lists arrived). A consumer that never merged them fails after 30 s.
    let all = calls_until_both_answer(peers, &zk);
    println!("goconsumer -registry-type \"all\": calls until both answered {all:?}");
    assert!(
        all.get("go").is_some_and(|n| *n > 0) && all.get("tether").is_some_and(|n| *n > 0),
        "all: {all:?}"
    );
    drop(go);
}

/// An interface-level dubbo-go provider (it registers `weight=0`) and an interface-level
/// tether provider (no `weight`: Dubbo's 100) of one interface: which of them a Go consumer
/// (registry type `interface`) and a tether consumer call.
#[test]
fn interface_level_go_and_tether_providers_behind_go_and_tether_consumers() {
    let Some(peers) = peers() else { return };
    let _serial = serial();
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let go = go_provider(peers, &zk, "interface");
    let exec = tether_tests::exec::ThreadPool::new();
    let fixture = provider(&exec);
    let registry = Arc::new(registry(&zk, &exec));
    let mut methods = METHODS.to_vec();
    methods.push("threadName");
    let url = ProviderSpec::new(IFACE, "127.0.0.1", fixture.addr().port())
        .application("tether-interop-provider")
        .methods(methods)
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    registry.register(&url).wait().expect("registers");
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .application("tether-interop-consumer")
        .version("1.0.0")
        .to_url(now_ms())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let listed = loop {
        let found = registry.lookup(&consumer).wait().unwrap();
        if found.len() == 2 || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(listed.len(), 2, "{listed:?}");
    for url in &listed {
        println!(":{} weight={:?}", url.port(), url.param("weight"));
    }

    let by_go = calls_by_provider(peers, &zk, "interface", 30);
    println!("goconsumer -registry-type interface: calls answered by {by_go:?}");

    let directory = RegistryDirectory::builder(
        registry.clone(),
        exec.connector(Opts::default(), Backoff::default()),
        consumer,
    )
    .check_timeout(Duration::from_secs(30))
    .build()
    .expect("finds the providers");
    let deadline = Instant::now() + Duration::from_secs(20);
    // Both listed and connected: while one provider's connection is still coming up, a
    // pick passes over it to one that is up (Java's reselect), whatever its weight.
    loop {
        let listed = directory.list(&Route::new(IFACE, "threadName"));
        if listed.len() == 2 && listed.iter().all(|i| i.is_available()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "both providers listed and connected"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let reference = Reference::builder(IFACE)
        .version("1.0.0")
        .build_with(directory.clone());
    let thread_name = reference.method::<(), String>("threadName");
    let mut by_tether = std::collections::BTreeMap::<&str, usize>::new();
    for i in 0..30 {
        let who = thread_name
            .call_blocking(())
            .unwrap_or_else(|e| panic!("threadName call {i}: {e}"));
        let who = if who == "goprovider" { "go" } else { "tether" };
        *by_tether.entry(who).or_default() += 1;
    }
    println!("tether consumer: calls answered by {by_tether:?}");
    // dubbo-go weighs its own provider 0 beside a provider of weight 100: never picked.
    assert_eq!(by_go.get("go"), None, "{by_go:?}");
    // So does tether's default balancer (weighted random, Java's rule).
    assert_eq!(by_tether.get("go"), None, "{by_tether:?}");
    drop(reference);
    drop(directory);
    drop(go);
}
