//! The ZooKeeper registry against a real ZooKeeper 3.8 server ([`tether_tests::zk`]):
//! Dubbo's layout, ephemeral nodes, notifications, skipped children, session expiry, and the
//! three executors. Skipped (loudly) without Java and Debian's `zookeeper` package; fails
//! under `CI=true`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tether_core::Spawner;
use tether_core::metadata::{MetadataInfo, ServiceInstance};
use tether_core::registry::{ConsumerSpec, ProviderSpec, RegisterMode, Registry, RegistryError};
use tether_core::url::Url;
use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
use tether_tests::zk::{ZooKeeper, zookeeper_present};

const IFACE: &str = "org.apache.dubbo.demo.DemoService";

fn pool() -> Arc<dyn Spawner> {
    let two = NonZeroUsize::new(2).unwrap();
    Arc::new(tether_threadpool::WorkerPool::new(two, NonZeroUsize::new(64).unwrap()).unwrap())
}

fn connect(zk: &ZooKeeper, spawner: Arc<dyn Spawner>) -> ZookeeperRegistry {
    let config = ZookeeperConfig::new(zk.connect_string())
        .session_timeout(Duration::from_secs(4))
        .retry(Duration::from_millis(200));
    ZookeeperRegistry::connect(config, spawner)
        .wait_timeout(Duration::from_secs(20))
        .expect("connects in time")
        .expect("connects")
}

fn provider(port: u16) -> Url {
    ProviderSpec::new(IFACE, "127.0.0.1", port)
        .application("tether-test")
        .methods(["sayHello", "sayHelloAsync"])
        .version("1.0.0")
        .to_url(1_739_454_081_130)
        .unwrap()
}

/// Every notification a listener got, as printed URL lists.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Vec<String>>>>);

impl Seen {
    fn listener(&self) -> Arc<dyn tether_core::registry::NotifyListener> {
        let this = self.clone();
        Arc::new(move |urls: &[Url]| {
            this.0
                .lock()
                .push(urls.iter().map(|u| u.to_string()).collect());
        })
    }

    /// How many notifications so far.
    fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// Waits until the latest notification satisfies `ok`.
    fn wait_for(&self, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
        self.wait_since(usize::MAX, what, ok)
    }

    /// Waits until the latest notification satisfies `ok`, or one of those after the first
    /// `mark` did (a state that did not last).
    fn wait_since(&self, mark: usize, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = {
                let seen = self.0.lock();
                let last = seen.last().filter(|l| ok(l));
                last.or_else(|| seen.iter().skip(mark).find(|l| ok(l)))
                    .cloned()
            };
            if let Some(found) = found {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: last notifications {:#?}",
                self.0.lock().iter().rev().take(3).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn providers_of(list: &[String]) -> Vec<&str> {
    list.iter()
        .filter(|u| u.starts_with("dubbo://"))
        .map(String::as_str)
        .collect()
}

#[test]
fn providers_register_in_dubbo_layout_and_subscribers_follow_them() {
    if !zookeeper_present("zookeeper registry") {
        return;
    }
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let providers = connect(&zk, pool());
    let consumers = connect(&zk, pool());

    let a = provider(20880);
    let started = Instant::now();
    providers.register(&a).wait().expect("registers");
    println!("register: {:?}", started.elapsed());

    // The layout, as ZooKeeper's own client lists it.
    assert_eq!(zk.children("/dubbo").unwrap(), [IFACE]);
    assert_eq!(
        zk.children(&format!("/dubbo/{IFACE}/providers")).unwrap(),
        [a.to_encoded()]
    );
    // Ephemeral: `dump` lists it under the provider registry's session.
    let dump = zk.four_letter("dump").unwrap();
    assert!(
        dump.contains(&format!("/dubbo/{IFACE}/providers/{}", a.to_encoded())),
        "{dump}"
    );

    let seen = Seen::default();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let started = Instant::now();
    consumers
        .subscribe(&consumer, seen.listener())
        .wait()
        .expect("subscribes");
    println!("subscribe: {:?}", started.elapsed());
    let first = seen.0.lock()[0].clone();
    assert_eq!(
        first,
        [
            a.to_string(),
            "empty://127.0.0.1/org.apache.dubbo.demo.DemoService?application=tether\
             &category=configurators&dubbo=2.0.2&interface=org.apache.dubbo.demo.DemoService\
             &release=tether-0.1.0&side=consumer&timestamp=1&version=1.0.0"
                .to_owned(),
            "empty://127.0.0.1/org.apache.dubbo.demo.DemoService?application=tether\
             &category=routers&dubbo=2.0.2&interface=org.apache.dubbo.demo.DemoService\
             &release=tether-0.1.0&side=consumer&timestamp=1&version=1.0.0"
                .to_owned(),
        ]
    );
    // Parents of every category exist, persistent.
    assert_eq!(
        zk.children(&format!("/dubbo/{IFACE}")).unwrap(),
        ["configurators", "providers", "routers"]
    );

    // A second provider, another version (not matched), a tri:// one and a malformed node.
    let b = provider(20881);
    let started = Instant::now();
    providers.register(&b).wait().unwrap();
    let list = seen.wait_for("second provider", |l| providers_of(l).len() == 2);
    println!("second provider notified in {:?}", started.elapsed());
    assert_eq!(providers_of(&list), [a.to_string(), b.to_string()]);

    let other_version = ProviderSpec::new(IFACE, "127.0.0.1", 20882)
        .version("2.0.0")
        .to_url(1)
        .unwrap();
    providers.register(&other_version).wait().unwrap();
    let tri = Url::parse(&format!("tri://127.0.0.1:50051/{IFACE}?version=1.0.0")).unwrap();
    providers.register(&tri).wait().unwrap();
    zk.cli(&["create", &format!("/dubbo/{IFACE}/providers/not%ZZa%20url")])
        .unwrap();
    // Watches are one-shot: changes between a notification and the next read coalesce, so
    // count skipped children rather than notifications. One read sees both.
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumers.stats().skipped < 2 {
        assert!(
            Instant::now() < deadline,
            "tri:// and the malformed node skipped: {:?}",
            consumers.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let list = seen.0.lock().last().unwrap().clone();
    assert_eq!(providers_of(&list), [a.to_string(), b.to_string()]);

    // Lookup agrees, without placeholders.
    let found = consumers.lookup(&consumer).wait().unwrap();
    assert_eq!(
        found.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
        [a.to_string(), b.to_string()]
    );

    // Unregister one; close the provider registry: its ephemeral nodes go.
    providers.unregister(&a).wait().unwrap();
    let list = seen.wait_for("a unregistered", |l| providers_of(l).len() == 1);
    assert_eq!(providers_of(&list), [b.to_string()]);
    let started = Instant::now();
    providers.close();
    let list = seen.wait_for("provider session closed", |l| {
        l[0].starts_with("empty://") && l[0].contains("category=providers")
    });
    println!(
        "providers gone {:?} after close: {:?}",
        started.elapsed(),
        list[0]
    );
    assert!(providers.register(&a).wait().is_err(), "closed");
    assert_eq!(
        zk.children(&format!("/dubbo/{IFACE}/providers")).unwrap(),
        ["not%ZZa%20url"]
    );
}

#[test]
fn expired_sessions_come_back_with_their_nodes_and_watches() {
    if !zookeeper_present("zookeeper registry session expiry") {
        return;
    }
    let mut zk = ZooKeeper::start().expect("zookeeper starts");
    let providers = connect(&zk, pool());
    let consumers = connect(&zk, pool());
    let a = provider(20880);
    providers.register(&a).wait().unwrap();
    let consumer_url = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .registered_url(1)
        .unwrap();
    consumers.register(&consumer_url).wait().unwrap();
    let seen = Seen::default();
    consumers
        .subscribe(
            &ConsumerSpec::new(IFACE, "127.0.0.1")
                .version("1.0.0")
                .to_url(1)
                .unwrap(),
            seen.listener(),
        )
        .wait()
        .unwrap();
    seen.wait_for("provider listed", |l| providers_of(l).len() == 1);

    // ZooKeeper is down for longer than the sessions (4 s; the client gives up on a session
    // after 7/5 of it): both registries' sessions expire. The server comes back with the
    // old sessions' nodes, which it drops once those sessions time out there too.
    zk.stop();
    std::thread::sleep(Duration::from_millis(6_500));
    let started = Instant::now();
    zk.restart().expect("zookeeper restarts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while providers.stats().sessions < 2 || consumers.stats().sessions < 2 {
        assert!(
            Instant::now() < deadline,
            "no new sessions: {:?} {:?}",
            providers.stats(),
            consumers.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("new sessions {:?} after the restart", started.elapsed());
    // Nodes re-created by the new sessions (replacing the old sessions' nodes of the same
    // name), and they outlive the old sessions' expiry on the server (4 s).
    std::thread::sleep(Duration::from_secs(5));
    let consumers_path = format!("/dubbo/{IFACE}/consumers");
    assert_eq!(
        zk.children(&consumers_path).unwrap(),
        [consumer_url.to_encoded()]
    );
    assert_eq!(
        zk.children(&format!("/dubbo/{IFACE}/providers")).unwrap(),
        [a.to_encoded()]
    );
    let list = seen.wait_for("provider listed again", |l| providers_of(l).len() == 1);
    assert_eq!(providers_of(&list), [a.to_string()]);
    // The new session's watch sees a new provider.
    let b = provider(20881);
    providers.register(&b).wait().unwrap();
    seen.wait_for("watch re-armed", |l| providers_of(l).len() == 2);
    println!(
        "after the outage: nodes and watches back, a new provider notified {:?} after the restart",
        started.elapsed()
    );
}

#[test]
fn the_registry_runs_on_tokio_and_smol_spawners() {
    if !zookeeper_present("zookeeper registry on tokio and smol") {
        return;
    }
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tokio_spawner: Arc<dyn Spawner> =
        Arc::new(tether_tokio::TokioSpawner::new(runtime.handle().clone()));
    let executor = Arc::new(smol::Executor::new());
    let (stop, stopped) = smol::channel::bounded::<()>(1);
    let runner = {
        let executor = executor.clone();
        std::thread::spawn(move || smol::block_on(executor.run(stopped.recv())))
    };
    let smol_spawner: Arc<dyn Spawner> = Arc::new(tether_smol::SmolSpawner::new(executor));

    let on_tokio = connect(&zk, tokio_spawner);
    let on_smol = connect(&zk, smol_spawner);
    let a = provider(20880);
    runtime.block_on(on_tokio.register(&a)).unwrap();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let found = smol::block_on(on_smol.lookup(&consumer)).unwrap();
    assert_eq!(found, [a]);
    on_tokio.close();
    on_smol.close();
    drop(stop);
    runner.join().unwrap().ok();
}

#[test]
fn a_server_restart_within_the_session_keeps_lists_nodes_and_watches() {
    if !zookeeper_present("zookeeper registry across a server restart") {
        return;
    }
    let mut zk = ZooKeeper::start().expect("zookeeper starts");
    let connect_long = |zk: &ZooKeeper| {
        let config = ZookeeperConfig::new(zk.connect_string())
            .session_timeout(Duration::from_secs(10))
            .retry(Duration::from_millis(200));
        ZookeeperRegistry::connect(config, pool())
            .wait_timeout(Duration::from_secs(20))
            .expect("connects in time")
            .expect("connects")
    };
    let providers = connect_long(&zk);
    let consumers = connect_long(&zk);
    let a = provider(20880);
    providers.register(&a).wait().unwrap();
    let seen = Seen::default();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    consumers
        .subscribe(&consumer, seen.listener())
        .wait()
        .unwrap();
    seen.wait_for("provider listed", |l| providers_of(l).len() == 1);
    let mark = seen.len();

    // Connection loss: the server goes away and comes back with its data and sessions.
    let started = Instant::now();
    zk.restart().expect("zookeeper restarts");
    println!("server restarted in {:?}", started.elapsed());
    // Registering while the clients reconnect may fail (connection loss): retry.
    let b = provider(20881);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match providers.register(&b).wait() {
            Ok(()) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "register after restart: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    seen.wait_for("watch survived the restart", |l| providers_of(l).len() == 2);
    println!(
        "second provider notified {:?} after the restart began",
        started.elapsed()
    );
    let history = seen.0.lock().clone();
    assert!(
        history[mark..].iter().all(|l| !providers_of(l).is_empty()),
        "the provider list was never emptied: {history:#?}"
    );
    assert_eq!(providers.stats().sessions, 1, "same session");
    assert_eq!(consumers.stats().sessions, 1, "same session");
}

#[test]
fn a_registry_started_while_zookeeper_is_down_registers_when_it_comes_up() {
    if !zookeeper_present("zookeeper registry started before zookeeper") {
        return;
    }
    let mut zk = ZooKeeper::start().expect("zookeeper starts");
    zk.stop();
    let config = || {
        ZookeeperConfig::new(zk.connect_string())
            .session_timeout(Duration::from_secs(4))
            .retry(Duration::from_millis(200))
    };
    let providers = ZookeeperRegistry::start(config(), pool());
    let consumers = ZookeeperRegistry::start(config(), pool());
    let a = provider(20880);
    let refused = providers.register(&a).wait();
    assert!(
        matches!(refused, Err(RegistryError::Unavailable(_))),
        "{refused:?}"
    );
    let seen = Seen::default();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    consumers
        .subscribe(&consumer, seen.listener())
        .wait()
        .expect("a subscription waits for the registry");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(seen.len(), 0, "nothing to say while zookeeper is down");

    let started = Instant::now();
    zk.restart().expect("zookeeper starts");
    seen.wait_for("registered once zookeeper came up", |l| {
        providers_of(l) == [a.to_string()]
    });
    println!(
        "zookeeper up: the early registration notified {:?} later",
        started.elapsed()
    );
    assert_eq!(providers.stats().sessions, 1);
}

#[test]
fn registering_again_while_zookeeper_is_away_keeps_one_retry_per_node() {
    if !zookeeper_present("zookeeper registry retries") {
        return;
    }
    let mut zk = ZooKeeper::start().expect("zookeeper starts");
    let config = ZookeeperConfig::new(zk.connect_string())
        .session_timeout(Duration::from_secs(20))
        .retry(Duration::from_millis(200));
    let providers = ZookeeperRegistry::connect(config, pool())
        .wait_timeout(Duration::from_secs(20))
        .expect("connects in time")
        .expect("connects");
    zk.stop();
    let a = provider(20880);
    let mut refused = 0;
    for _ in 0..5 {
        if providers.register(&a).wait().is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "registered with zookeeper stopped");
    assert_eq!(providers.stats().retrying, 1, "one retry loop for one node");
    zk.restart().expect("zookeeper restarts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while providers.stats().retrying > 0 {
        assert!(Instant::now() < deadline, "the retry never succeeded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let listed = providers.lookup(&consumer).wait().expect("lookup");
    assert_eq!(listed, [a], "registered once the server was back");
}

#[test]
fn unsubscribing_ends_the_watch_loops_and_the_servers_watches_at_once() {
    if !zookeeper_present("zookeeper registry unsubscribe") {
        return;
    }
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let providers = connect(&zk, pool());
    let consumers = connect(&zk, pool());
    let a = provider(20880);
    providers.register(&a).wait().unwrap();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    for cycle in 0..5 {
        let seen = Seen::default();
        let id = consumers
            .subscribe(&consumer, seen.listener())
            .wait()
            .unwrap();
        seen.wait_for("provider listed", |l| providers_of(l).len() == 1);
        // One watch per category: providers, configurators, routers (set before the first
        // notification; their loops start right after it).
        assert_eq!(zk.watches().unwrap(), 3, "cycle {cycle}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while consumers.stats().watching < 3 {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: {:?}",
                consumers.stats()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(consumers.stats().watching, 3, "cycle {cycle}");
        consumers.unsubscribe(id).wait().unwrap();
        // Nothing changes under the watched paths: the loops end because of the
        // unsubscription alone (they used to wait for the next change, maybe forever).
        let deadline = Instant::now() + Duration::from_secs(10);
        while consumers.stats().watching > 0 || zk.watches().unwrap() > 0 {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: {:?}, {} watches on the server",
                consumers.stats(),
                zk.watches().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(seen.len(), 1, "no notification after unsubscribing");
    }
}

/// Application-level registration: the instance node holds the instance's JSON and goes
/// with the session; the mapping lists each application once, appended by a second one.
#[test]
fn instances_register_at_application_level_and_map_their_interfaces() {
    if !zookeeper_present("the ZooKeeper registry") {
        return;
    }
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let (first, second) = (connect(&zk, pool()), connect(&zk, pool()));
    let url = provider(20880);
    let info = MetadataInfo::from_urls("tether-test", [&url]);
    let instance = ServiceInstance::new(&info, "127.0.0.1", 20880, 1);
    first
        .register_application(RegisterMode::All, std::slice::from_ref(&url), &instance, 2)
        .wait()
        .expect("registers");
    // Registering again neither fails nor lists the application twice.
    first.register_instance(&instance, 2).wait().expect("again");
    let path = first.instance_path(&instance);
    assert_eq!(path, "/services/tether-test/127.0.0.1:20880");
    let data = zk.cli(&["get", &path]).unwrap();
    assert!(data.lines().any(|l| l == instance.to_json(2)), "{data}");
    assert_eq!(
        zk.children(&format!("/dubbo/{IFACE}/providers"))
            .unwrap()
            .len(),
        1
    );
    let mapping = || {
        let got = zk
            .cli(&["get", &format!("/dubbo/mapping/{IFACE}")])
            .unwrap();
        got.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap()
            .to_owned()
    };
    assert_eq!(mapping(), "tether-test");

    let other_info = MetadataInfo::from_urls("tether-other", [&provider(20881)]);
    let other = ServiceInstance::new(&other_info, "127.0.0.1", 20881, 1);
    second
        .register_application(RegisterMode::Instance, &[provider(20881)], &other, 3)
        .wait()
        .expect("registers");
    assert_eq!(mapping(), "tether-test,tether-other");
    // Instance only: no interface-level node for the second one.
    assert_eq!(
        zk.children(&format!("/dubbo/{IFACE}/providers"))
            .unwrap()
            .len(),
        1
    );

    second
        .unregister_instance(&other)
        .wait()
        .expect("unregisters");
    assert_eq!(
        zk.children("/services/tether-other").unwrap(),
        Vec::<String>::new()
    );
    // The session's end takes the instance away; the mapping (persistent) stays.
    first.close();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !zk.children("/services/tether-test").unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the instance outlived its session"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(mapping(), "tether-test,tether-other");
}

/// A publication of both levels goes offline and online as one: the provider node and the
/// instance node leave together and come back together; one of the instance level only
/// writes no provider node.
#[test]
fn a_publication_of_both_levels_takes_the_instance_offline_too() {
    if !zookeeper_present("the ZooKeeper registry") {
        return;
    }
    let zk = ZooKeeper::start().expect("zookeeper starts");
    let registry = connect(&zk, pool());
    let url = provider(20880);
    let info = MetadataInfo::from_urls("tether-test", [&url]);
    let instance = ServiceInstance::new(&info, "127.0.0.1", 20880, 1);
    let providers = || {
        zk.children(&format!("/dubbo/{IFACE}/providers"))
            .unwrap_or_default()
            .len()
    };
    let instances = || {
        zk.children("/services/tether-test")
            .unwrap_or_default()
            .len()
    };
    let publication = registry.publication(RegisterMode::All, [url.clone()], instance.clone(), 2);
    assert_eq!((providers(), instances()), (0, 0), "not online yet");
    publication.online().wait().expect("online");
    assert_eq!((providers(), instances()), (1, 1));
    assert!(format!("{publication:?}").contains("/services/tether-test/127.0.0.1:20880"));
    publication.offline().wait().expect("offline");
    assert_eq!((providers(), instances()), (0, 0));
    publication.online().wait().expect("online again");
    assert_eq!((providers(), instances()), (1, 1));
    publication.offline().wait().expect("offline");

    let instance_only = registry.publication(RegisterMode::Instance, [url], instance, 2);
    instance_only.online().wait().expect("online");
    assert_eq!((providers(), instances()), (0, 1));
    instance_only.offline().wait().expect("offline");
    assert_eq!((providers(), instances()), (0, 0));
}

/// An application-level watch (`ServiceDiscovery::watch`) follows the mapping and the
/// instances, and outlives an outage longer than the sessions: the provider's instance is
/// re-created by its new session, the watch reads it again, and a new instance registered
/// afterwards reaches the listener.
#[test]
fn an_instance_watch_follows_instances_and_survives_an_expired_session() {
    use tether_core::application::ServiceDiscovery;
    if !zookeeper_present("zookeeper instance watch") {
        return;
    }
    let mut zk = ZooKeeper::start().expect("zookeeper starts");
    let (providers, consumers) = (connect(&zk, pool()), connect(&zk, pool()));
    let heard: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let sink = heard.clone();
    let listener = move |instances: &[ServiceInstance]| {
        sink.lock()
            .push(instances.iter().map(ServiceInstance::id).collect());
    };
    consumers
        .watch(IFACE, &[], Arc::new(listener))
        .wait()
        .expect("watches");
    let wait_for = |what: &str, ids: &[&str]| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if heard.lock().last().is_some_and(|last| last == ids) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: heard {:?}",
                heard.lock()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Nothing mapped yet: an empty list, then the instance once registered (the mapping
    // node and /services/<app> created after the watch was set).
    wait_for("nothing yet", &[]);
    let url = provider(20880);
    let info = MetadataInfo::from_urls("tether-test", [&url]);
    let first = ServiceInstance::new(&info, "127.0.0.1", 20880, 1);
    providers.register_instance(&first, 2).wait().unwrap();
    wait_for("the first instance", &["127.0.0.1:20880"]);

    zk.stop();
    std::thread::sleep(Duration::from_millis(6_500));
    zk.restart().expect("zookeeper restarts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while providers.stats().sessions < 2 || consumers.stats().sessions < 2 {
        assert!(Instant::now() < deadline, "no new sessions");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The old session's instance node goes when the server expires it; the new session
    // re-creates it. Whatever the watch heard meanwhile, it ends with the one instance.
    std::thread::sleep(Duration::from_secs(5));
    wait_for("the instance after the outage", &["127.0.0.1:20880"]);
    let second_url = provider(20881);
    let second_info = MetadataInfo::from_urls("tether-test", [&second_url]);
    let second = ServiceInstance::new(&second_info, "127.0.0.1", 20881, 1);
    providers.register_instance(&second, 3).wait().unwrap();
    wait_for(
        "a new instance after the outage",
        &["127.0.0.1:20880", "127.0.0.1:20881"],
    );
    providers.unregister_instance(&first).wait().unwrap();
    wait_for("the first instance gone", &["127.0.0.1:20881"]);
    println!("instance watch notifications: {}", heard.lock().len());
}
