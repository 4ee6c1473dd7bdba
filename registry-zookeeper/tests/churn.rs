//! The ZooKeeper registry under load against a real ZooKeeper 3.8 server
//! ([`tether_tests::zk`]): 1,000 providers of one interface registered through four
//! registries, a subscribed consumer, and rounds of churn. The consumer's list ends exact,
//! and neither the server's watches nor this process's memory grow with the rounds. Its own
//! test binary, so that no other test moves the process's RSS. Skipped (loudly) without
//! Java and Debian's `zookeeper` package; fails under `CI=true`.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};
use tether_core::Spawner;
use tether_core::registry::{ConsumerSpec, NotifyListener, ProviderSpec, Registry};
use tether_core::url::Url;
use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
use tether_tests::faults::rss_bytes;
use tether_tests::zk::{ZooKeeper, zookeeper_present};

const IFACE: &str = "org.apache.dubbo.demo.DemoService";
const PROVIDERS: usize = 1_000;
const REGISTRIES: usize = 4;
const CHURN: usize = 100;
const ROUNDS: usize = 50;
/// Subscribe/unsubscribe cycles after the churn.
const RESUBSCRIPTIONS: usize = 20;
/// A subscription watches its three category paths (`providers`, `configurators`,
/// `routers`), one watch each; nothing else here watches.
const WATCHES_PER_SUBSCRIPTION: usize = 3;
/// How much the process's RSS may grow between round 2 and the last round, and over the
/// resubscriptions: allocator slack, not a leak. A list of 1,000 URLs takes about 1.5 MiB,
/// so a leak of one per round or per subscription would be tens of MiB.
const RSS_GROWTH: u64 = 4 << 20;

fn provider(i: usize) -> Url {
    ProviderSpec::new(IFACE, "127.0.0.1", 20_000 + i as u16)
        .application("tether-churn")
        .methods(["sayHello", "sayHelloAsync"])
        .version("1.0.0")
        .to_url(1_739_454_081_130)
        .unwrap()
}

/// The latest notification only (keeping every list of 1,000 would be the leak this test
/// looks for) and how many came.
#[derive(Clone, Default)]
struct Latest(Arc<Mutex<(u64, BTreeSet<usize>, usize)>>);

impl Latest {
    fn listener(&self) -> Arc<dyn NotifyListener> {
        let this = self.clone();
        Arc::new(move |urls: &[Url]| {
            let providers: Vec<usize> = urls
                .iter()
                .filter(|u| u.protocol() == "dubbo")
                .map(|u| usize::from(u.port() - 20_000))
                .collect();
            let mut latest = this.0.lock();
            latest.0 += 1;
            latest.2 = providers.len();
            latest.1 = providers.into_iter().collect();
        })
    }

    fn count(&self) -> u64 {
        self.0.lock().0
    }

    /// Waits until the latest notification lists exactly `expected`, each once.
    fn wait_for(&self, what: &str, expected: &BTreeSet<usize>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let latest = self.0.lock();
                if latest.1 == *expected && latest.2 == expected.len() {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{what}: {} listed ({} distinct), {} expected; missing {:?}, extra {:?}",
                    latest.2,
                    latest.1.len(),
                    expected.len(),
                    expected.difference(&latest.1).take(5).collect::<Vec<_>>(),
                    latest.1.difference(expected).take(5).collect::<Vec<_>>(),
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn a_thousand_churning_providers_keep_lists_exact_and_watches_and_memory_bounded() {
    if !zookeeper_present("zookeeper registry with 1,000 churning providers") {
        return;
    }
    let seed = std::env::var("TETHER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    println!("seed {seed} (set TETHER_SEED to replay another)");
    let mut rng = SmallRng::seed_from_u64(seed);

    let zk = ZooKeeper::start().expect("zookeeper starts");
    // One pool for every registry, as one process hosting several would have.
    let spawner: Arc<dyn Spawner> = Arc::new(
        tether_threadpool::WorkerPool::new(
            NonZeroUsize::new(2).unwrap(),
            NonZeroUsize::new(64).unwrap(),
        )
        .unwrap(),
    );
    let connect = || {
        let config = ZookeeperConfig::new(zk.connect_string())
            .session_timeout(Duration::from_secs(10))
            .retry(Duration::from_millis(200));
        ZookeeperRegistry::connect(config, spawner.clone())
            .wait_timeout(Duration::from_secs(20))
            .expect("connects in time")
            .expect("connects")
    };
    let registries: Vec<ZookeeperRegistry> = (0..REGISTRIES).map(|_| connect()).collect();
    let consumers = connect();
    let urls: Vec<Url> = (0..PROVIDERS).map(provider).collect();
    let through = |i: usize| &registries[i % REGISTRIES];

    let started = Instant::now();
    let pending: Vec<_> = (0..PROVIDERS)
        .map(|i| through(i).register(&urls[i]))
        .collect();
    for done in pending {
        done.wait().expect("registers");
    }
    let registration = started.elapsed();

    let latest = Latest::default();
    let consumer = ConsumerSpec::new(IFACE, "127.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let started = Instant::now();
    let first = consumers
        .subscribe(&consumer, latest.listener())
        .wait()
        .expect("subscribes");
    let mut expected: BTreeSet<usize> = (0..PROVIDERS).collect();
    latest.wait_for("all providers listed", &expected);
    println!(
        "{PROVIDERS} providers registered through {REGISTRIES} registries in {registration:?}; \
         subscribed and listed in {:?}; {} watches",
        started.elapsed(),
        zk.watches().unwrap()
    );

    // Each round takes 100 random listed providers away and brings back the previous
    // round's, concurrently, then waits for the consumer to list exactly what is registered.
    let mut away: Vec<usize> = Vec::new();
    let mut rss_round_2 = 0;
    let mut latencies = Vec::new();
    let mut max_watches = 0;
    for round in 1..=ROUNDS {
        let listed: Vec<usize> = expected.iter().copied().collect();
        let leaving: Vec<usize> = listed.choose_multiple(&mut rng, CHURN).copied().collect();
        let notifications = latest.count();
        let started = Instant::now();
        let pending: Vec<_> = leaving
            .iter()
            .map(|&i| through(i).unregister(&urls[i]))
            .chain(away.iter().map(|&i| through(i).register(&urls[i])))
            .collect();
        let changes = pending.len();
        for done in pending {
            done.wait().expect("churn operation");
        }
        let applied = started.elapsed();
        expected.extend(away.iter().copied());
        for i in &leaving {
            expected.remove(i);
        }
        away = leaving;
        latest.wait_for(&format!("round {round}"), &expected);
        let latency = started.elapsed();
        let notified = latest.count() - notifications;
        assert!(notified > 0, "round {round}: no notification");
        let watches = zk.watches().expect("wchs");
        max_watches = max_watches.max(watches);
        assert!(
            (1..=WATCHES_PER_SUBSCRIPTION).contains(&watches),
            "round {round}: the server holds {watches} watches for one subscription"
        );
        let rss = rss_bytes();
        if round == 2 {
            rss_round_2 = rss;
        }
        latencies.push(latency);
        println!(
            "round {round:2}: {changes} changes applied in {applied:?}, consumer exact after \
             {latency:?} ({:?} after the last change; {notified} notifications), {watches} \
             watches, RSS {:.1} MiB",
            latency.saturating_sub(applied),
            rss as f64 / (1 << 20) as f64
        );
    }

    let found: BTreeSet<usize> = consumers
        .lookup(&consumer)
        .wait()
        .expect("lookup")
        .iter()
        .map(|u| usize::from(u.port() - 20_000))
        .collect();
    assert_eq!(found, expected, "lookup agrees with the subscription");

    let rss_last = rss_bytes();
    let growth = rss_last.saturating_sub(rss_round_2);
    latencies.sort();
    println!(
        "{ROUNDS} rounds of {CHURN} unregistered + {CHURN} re-registered: consumer exact after \
         {:?} median, {:?} max; {} notifications in all; at most {max_watches} watches; RSS \
         {:.1} MiB after round 2, {:.1} MiB after round {ROUNDS} (+{:.2} MiB, bound {} MiB)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        consumers.stats().notifications,
        rss_round_2 as f64 / (1 << 20) as f64,
        rss_last as f64 / (1 << 20) as f64,
        growth as f64 / (1 << 20) as f64,
        RSS_GROWTH >> 20,
    );
    assert!(
        growth <= RSS_GROWTH,
        "RSS grew by {growth} bytes between round 2 and round {ROUNDS}"
    );

    // Consumers come and go too (a reference rebuilt, a directory refreshed): subscribing
    // and unsubscribing again and again leaves nothing behind, in this process or on the
    // server, once the lists stop changing.
    let rss_before = rss_bytes();
    let started = Instant::now();
    let mut heard = latest.count();
    for cycle in 0..RESUBSCRIPTIONS {
        let again = Latest::default();
        let id = consumers
            .subscribe(&consumer, again.listener())
            .wait()
            .expect("subscribes again");
        again.wait_for(&format!("resubscription {cycle}"), &expected);
        consumers.unsubscribe(id).wait().expect("unsubscribes");
        heard += again.count();
    }
    assert_eq!(
        consumers.stats().notifications,
        heard,
        "every notification reached its listener"
    );
    let resubscribed = started.elapsed();
    // Unsubscribing does not wait for the watch loops to end: give them a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while consumers.stats().watching > WATCHES_PER_SUBSCRIPTION as u64 && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let rss_after = rss_bytes();
    let growth = rss_after.saturating_sub(rss_before);
    println!(
        "{RESUBSCRIPTIONS} subscribe/unsubscribe cycles in {resubscribed:?}: {} watch loops, \
         {} server watches, RSS +{:.2} MiB (bound {} MiB)",
        consumers.stats().watching,
        zk.watches().unwrap(),
        growth as f64 / (1 << 20) as f64,
        RSS_GROWTH >> 20,
    );
    assert_eq!(
        consumers.stats().watching,
        WATCHES_PER_SUBSCRIPTION as u64,
        "watch loops of unsubscribed subscriptions"
    );
    assert!(
        growth <= RSS_GROWTH,
        "RSS grew by {growth} bytes over {RESUBSCRIPTIONS} resubscriptions"
    );

    // The last subscription goes: so do its watches, on the server too.
    consumers.unsubscribe(first).wait().expect("unsubscribes");
    let deadline = Instant::now() + Duration::from_secs(10);
    while consumers.stats().watching > 0 || zk.watches().unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "watches left without subscriptions: {} on the server, {:?}",
            zk.watches().unwrap(),
            consumers.stats()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for registry in &registries {
        registry.close();
    }
    consumers.close();
}
