//! The ZooKeeper registry against a three-server ensemble ([`tether_tests::zk::Ensemble`])
//! whose leader is killed (`SIGKILL`): the sessions move to the surviving servers, so no
//! node, list or watch is lost. Skipped (loudly) without Java and Debian's `zookeeper`
//! package; fails under `CI=true`.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tether_core::Spawner;
use tether_core::registry::{ConsumerSpec, NotifyListener, ProviderSpec, Registry};
use tether_core::url::Url;
use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
use tether_tests::zk::{Ensemble, zookeeper_present};

const IFACE: &str = "org.apache.dubbo.demo.DemoService";

/// How long every wait here may take: elections and reconnections on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(30);

fn pool() -> Arc<dyn Spawner> {
    let two = NonZeroUsize::new(2).unwrap();
    Arc::new(tether_threadpool::WorkerPool::new(two, NonZeroUsize::new(64).unwrap()).unwrap())
}

fn provider(port: u16) -> Url {
    ProviderSpec::new(IFACE, "127.0.0.1", port)
        .application("tether-test")
        .version("1.0.0")
        .to_url(1_739_454_081_130)
        .unwrap()
}

/// The provider ports of every notification a listener got.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<BTreeSet<u16>>>>);

impl Seen {
    fn listener(&self) -> Arc<dyn NotifyListener> {
        let this = self.clone();
        Arc::new(move |urls: &[Url]| {
            let ports = urls
                .iter()
                .filter(|u| u.protocol() == "dubbo")
                .map(Url::port)
                .collect();
            this.0.lock().push(ports);
        })
    }

    fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// Waits until the latest notification lists exactly `ports`.
    fn wait_for(&self, what: &str, ports: &BTreeSet<u16>) {
        let deadline = Instant::now() + PATIENCE;
        while self.0.lock().last() != Some(ports) {
            assert!(
                Instant::now() < deadline,
                "{what}: last notification {:?}",
                self.0.lock().last()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Retries `op` while it fails (the clients may still be looking for a member that
/// serves): how many attempts failed.
fn until_ok<E: std::fmt::Debug>(what: &str, mut op: impl FnMut() -> Result<(), E>) -> usize {
    let deadline = Instant::now() + PATIENCE;
    let mut failed = 0;
    loop {
        match op() {
            Ok(()) => return failed,
            Err(e) => {
                failed += 1;
                assert!(Instant::now() < deadline, "{what}: {e:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// How many client connections member `i` serves (`cons` lists one line per connection,
/// the `cons` one itself included).
fn connections(ensemble: &Ensemble, i: usize) -> usize {
    ensemble
        .four_letter(i, "cons")
        .map(|c| {
            c.lines()
                .filter(|l| l.trim_start().starts_with('/'))
                .count()
        })
        .unwrap_or(0)
        .saturating_sub(1)
}

#[test]
fn an_ensemble_losing_its_leader_loses_no_node_list_or_watch() {
    if !zookeeper_present("zookeeper registry on an ensemble losing its leader") {
        return;
    }
    let started = Instant::now();
    let mut ensemble = Ensemble::start().expect("the ensemble starts");
    let leader = ensemble.wait_for_leader(PATIENCE).expect("a leader");
    println!(
        "ensemble {} serving in {:?}, member {leader} leads",
        ensemble.connect_string(),
        started.elapsed()
    );
    let connect = || {
        let config = ZookeeperConfig::new(ensemble.connect_string())
            .session_timeout(Duration::from_secs(10))
            .retry(Duration::from_millis(200));
        ZookeeperRegistry::connect(config, pool())
            .wait_timeout(PATIENCE)
            .expect("connects in time")
            .expect("connects")
    };
    // The client picks a member at random: connect the provider again until its session
    // lives on the leader, so that the kill cuts its connection under its ephemeral nodes.
    // (A registry holds one connection; a closed one's goes with its session.)
    let mut providers = connect();
    for _ in 0..16 {
        if connections(&ensemble, leader) > 0 {
            break;
        }
        providers.close();
        providers = connect();
    }
    // The consumer on a follower: the kill cuts no connection of its, but the follower stops
    // serving for the election and drops it; its watch must follow it to another member.
    let on_leader = connections(&ensemble, leader);
    let mut consumers = connect();
    for _ in 0..16 {
        if connections(&ensemble, leader) == on_leader {
            break;
        }
        consumers.close();
        consumers = connect();
    }

    let ports: Vec<u16> = (20880..20885).collect();
    for &port in &ports {
        providers
            .register(&provider(port))
            .wait()
            .expect("registers");
    }
    let seen = Seen::default();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    consumers
        .subscribe(&consumer, seen.listener())
        .wait()
        .expect("subscribes");
    let mut expected: BTreeSet<u16> = ports.iter().copied().collect();
    seen.wait_for("providers listed", &expected);
    let mark = seen.len();
    println!(
        "client connections per member before killing member {leader}: {:?}",
        (0..Ensemble::SIZE)
            .map(|i| connections(&ensemble, i))
            .collect::<Vec<_>>()
    );

    // kill -9 the leader: the followers lose it within syncLimit, elect a new one among
    // themselves, and the clients (on the leader or on a follower that stopped serving
    // during the election) reconnect to a member that serves, within their sessions.
    let killed = Instant::now();
    ensemble.kill(leader);
    let new_leader = ensemble.wait_for_leader(PATIENCE).expect("a new leader");
    let elected = killed.elapsed();
    assert_ne!(new_leader, leader);

    // A provider registered after the election reaches the subscriber.
    let late = provider(20890);
    let failed = until_ok("register after the election", || {
        providers.register(&late).wait()
    });
    let registered = killed.elapsed();
    expected.insert(late.port());
    seen.wait_for("the late provider notified", &expected);
    let notified = killed.elapsed();

    // Every node is still there, written by the same sessions.
    assert_eq!(
        providers.stats().sessions,
        1,
        "the provider kept its session"
    );
    assert_eq!(
        consumers.stats().sessions,
        1,
        "the consumer kept its session"
    );
    let mut listed = ensemble
        .children(&format!("/dubbo/{IFACE}/providers"))
        .expect("zkCli ls");
    let mut nodes: Vec<String> = expected.iter().map(|&p| provider(p).to_encoded()).collect();
    nodes.sort();
    listed.sort();
    assert_eq!(listed, nodes, "the providers' nodes after the election");
    let found: BTreeSet<u16> = consumers
        .lookup(&consumer)
        .wait()
        .expect("lookup")
        .iter()
        .map(Url::port)
        .collect();
    assert_eq!(found, expected);

    // An unregistration after it reaches the subscriber too.
    let unregistering = Instant::now();
    until_ok("unregister after the election", || {
        providers.unregister(&late).wait()
    });
    expected.remove(&late.port());
    seen.wait_for("the late provider's removal notified", &expected);
    let removed = unregistering.elapsed();

    // The consumer's list never lost a provider through the election.
    let history = seen.0.lock().clone();
    for (at, ports_then) in history.iter().enumerate().skip(mark) {
        assert!(
            expected.is_subset(ports_then),
            "notification {at} lost providers: {ports_then:?} (all: {history:?})"
        );
    }
    println!(
        "leader {leader} killed: member {new_leader} leads after {elected:?}; a provider \
         registered after {registered:?} ({failed} failed attempts before), notified after {notified:?}; its unregistration \
         notified in {removed:?}; {} notifications since the kill, none lost a provider",
        history.len() - mark
    );

    // The killed member rejoins as a follower.
    let rejoining = Instant::now();
    ensemble.restart(leader).expect("the old leader restarts");
    assert_eq!(
        ensemble.wait_for_leader(PATIENCE).expect("a leader"),
        new_leader
    );
    assert_eq!(ensemble.mode(leader).as_deref(), Some("follower"));
    println!(
        "the old leader follows {:?} after its restart",
        rejoining.elapsed()
    );
    providers.close();
    consumers.close();
}
