//! Application-level discovery over [`StaticDiscovery`] on a deterministic executor: tasks
//! run when the test says, and delays end when its virtual clock passes them. Metadata
//! comes from the registry (`storage-type=remote`); fetching it from a `MetadataService` is
//! tested over real connections in the `tests` crate (`application.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;

use super::*;
use crate::cluster::{Channels, connections};
use crate::metadata::ServiceInfo;
use crate::registry::{ConsumerSpec, ProviderSpec, StaticRegistry};
use crate::shared::BoxFuture;

/// Tasks run by [`Executor::run`]; delays measured on its virtual clock.
#[derive(Default)]
struct Executor {
    tasks: Mutex<Vec<BoxFuture>>,
    now_ms: Mutex<u64>,
}

impl Spawner for Executor {
    fn spawn(&self, future: BoxFuture) {
        self.tasks.lock().push(future);
    }
}

impl Executor {
    /// Polls every task until none makes progress.
    fn run(&self) {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        loop {
            let tasks = std::mem::take(&mut *self.tasks.lock());
            if tasks.is_empty() {
                return;
            }
            let before = tasks.len();
            let mut pending = Vec::new();
            for mut task in tasks {
                if task.as_mut().poll(&mut cx).is_pending() {
                    pending.push(task);
                }
            }
            let progressed = pending.len() < before || !self.tasks.lock().is_empty();
            self.tasks.lock().extend(pending);
            if !progressed {
                return;
            }
        }
    }

    fn advance(&self, by: Duration) {
        *self.now_ms.lock() += u64::try_from(by.as_millis()).unwrap();
        self.run();
    }

    fn sleep(self: &Arc<Self>) -> Sleep {
        let clock = Arc::downgrade(self);
        Arc::new(move |d: Duration| -> BoxFuture {
            let clock = clock.clone();
            let deadline = clock.upgrade().map_or(0, |c| {
                *c.now_ms.lock() + u64::try_from(d.as_millis()).unwrap()
            });
            Box::pin(Delay { clock, deadline })
        })
    }
}

struct Delay {
    clock: Weak<Executor>,
    deadline: u64,
}

impl Future for Delay {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        match self.clock.upgrade() {
            Some(clock) if *clock.now_ms.lock() < self.deadline => Poll::Pending,
            _ => Poll::Ready(()),
        }
    }
}

/// Connections that never come up: remote metadata needs none.
struct Nowhere;

impl Connector for Nowhere {
    fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
        Arc::new(Channels::owning(connections(provider)))
    }
}

const IFACE: &str = "demo.Greeter";

/// A provider instance of `app` at `host`:20000 serving `IFACE` version `version`, its
/// metadata stored in the registry (`storage-type=remote`, as dubbo-go does).
fn remote_instance(app: &str, host: &str, version: &str) -> (ServiceInstance, MetadataInfo) {
    let url = ProviderSpec::new(IFACE, host, 20000)
        .application(app)
        .version(version)
        .methods(["greet"])
        .to_url(1)
        .unwrap();
    let info = MetadataInfo::from_urls(app, [&url]);
    let mut instance = ServiceInstance::new(&info, host, 20000, 1);
    (instance.metadata).insert("dubbo.metadata.storage-type".into(), "remote".into());
    (instance, info)
}

fn consumer(version: &str) -> Url {
    ConsumerSpec::new(IFACE, "10.0.0.1")
        .version(version)
        .to_url(1)
        .unwrap()
}

type Seen = Arc<Mutex<Vec<Vec<String>>>>;

/// A listener recording each notification as `address` strings (`empty` for `empty://`).
fn recorder() -> (Seen, Arc<dyn NotifyListener>) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let listener = Arc::new(move |urls: &[Url]| {
        let entries = urls
            .iter()
            .map(|u| match u.protocol() {
                registry::EMPTY_PROTOCOL => format!("empty {}", u.category()),
                _ => u.address(),
            })
            .collect();
        sink.lock().push(entries);
    });
    (seen, listener)
}

fn last(seen: &Seen) -> Vec<String> {
    seen.lock().last().cloned().unwrap_or_default()
}

struct Fixture {
    exec: Arc<Executor>,
    discovery: Arc<StaticDiscovery>,
    registry: ApplicationRegistry,
    failures: Arc<Mutex<Vec<FetchFailure>>>,
}

fn fixture() -> Fixture {
    let exec = Arc::new(Executor::default());
    let discovery = Arc::new(StaticDiscovery::new());
    let failures: Arc<Mutex<Vec<FetchFailure>>> = Arc::default();
    let sink = failures.clone();
    let registry = ApplicationRegistry::new(
        discovery.clone(),
        Arc::new(Nowhere),
        exec.clone(),
        exec.sleep(),
    )
    .on_failure(move |failure| sink.lock().push(failure.clone()));
    Fixture {
        exec,
        discovery,
        registry,
        failures,
    }
}

#[test]
fn instances_become_provider_urls_of_the_subscribed_service() {
    let f = fixture();
    let (a, info_a) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    let (b, info_b) = remote_instance("greeter", "10.0.0.8", "2.0.0");
    f.discovery.store_metadata(&info_a);
    f.discovery.store_metadata(&info_b);
    f.discovery.add(a.clone());
    f.discovery.add(b);

    let (seen, listener) = recorder();
    f.registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    // Version 2.0.0 is another service: only a's URL.
    assert_eq!(*seen.lock(), [vec!["10.0.0.7:20000".to_owned()]]);
    let url = f.registry.lookup(&consumer("1.0.0"));
    f.exec.run();
    let url = url.wait().unwrap();
    assert_eq!(url[0].param("methods"), Some("greet"));
    assert_eq!(url[0].param("version"), Some("1.0.0"));
    assert_eq!(url[0].protocol(), "dubbo");

    // a leaves: nothing left of version 1.0.0.
    f.discovery.remove(&a);
    f.exec.run();
    assert_eq!(last(&seen), ["empty providers"]);
    // Two revisions, fetched once by each subscription (the lookup's included).
    assert_eq!(f.registry.stats().fetches, 4);
    assert!(f.failures.lock().is_empty());
}

#[test]
fn a_notification_waits_for_the_first_fetch_of_a_new_revision() {
    let f = fixture();
    let (a, info_a) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    f.discovery.store_metadata(&info_a);
    f.discovery.add(a);
    let (seen, listener) = recorder();
    f.registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    // The fetch is a task not yet run: nothing notified.
    assert!(seen.lock().is_empty());
    f.exec.run();
    assert_eq!(seen.lock().len(), 1);

    // A second instance of the same revision needs no fetch: notified at once.
    let (b, _) = remote_instance("greeter", "10.0.0.8", "1.0.0");
    f.discovery.add(b);
    assert_eq!(last(&seen), ["10.0.0.7:20000", "10.0.0.8:20000"]);
    assert_eq!(f.registry.stats().fetches, 1);
}

#[test]
fn an_instance_whose_metadata_cannot_be_fetched_is_left_out_and_fetched_again_later() {
    let f = fixture();
    let (a, info_a) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    let (b, info_b) = remote_instance("other", "10.0.0.8", "1.0.0");
    f.discovery.store_metadata(&info_a);
    f.discovery.map(IFACE, "other");
    f.discovery.add(a);
    f.discovery.add(b);

    let (seen, listener) = recorder();
    f.registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    // b's metadata is nowhere: b is left out, a is listed.
    assert_eq!(*seen.lock(), [vec!["10.0.0.7:20000".to_owned()]]);
    let failures = f.failures.lock().clone();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].app, "other");
    assert!(failures[0].reason.contains("no metadata"), "{failures:?}");

    // Retried after 100 ms, 200 ms...: still failing, still counted, delays doubling.
    f.exec.advance(Duration::from_millis(99));
    assert_eq!(f.failures.lock().len(), 1);
    f.exec.advance(Duration::from_millis(1));
    assert_eq!(f.failures.lock().len(), 2);
    f.exec.advance(Duration::from_millis(199));
    assert_eq!(f.failures.lock().len(), 2);
    f.exec.advance(Duration::from_millis(1));
    assert_eq!(f.failures.lock().len(), 3);
    assert_eq!(f.failures.lock()[2].attempts, 3);

    // Stored now: the next retry finds it, b is listed.
    f.discovery.store_metadata(&info_b);
    f.exec.advance(Duration::from_millis(400));
    let mut listed = last(&seen);
    listed.sort();
    assert_eq!(listed, ["10.0.0.7:20000", "10.0.0.8:20000"]);
    assert_eq!(f.failures.lock().len(), 3);
    assert_eq!(f.registry.stats().failures, 3);
}

#[test]
fn retries_stop_once_no_instance_names_the_revision() {
    let f = fixture();
    let (b, _) = remote_instance("other", "10.0.0.8", "1.0.0");
    f.discovery.add(b.clone());
    let (seen, listener) = recorder();
    f.registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    assert_eq!(*seen.lock(), [vec!["empty providers".to_owned()]]);
    assert_eq!(f.registry.stats().failures, 1);
    f.discovery.remove(&b);
    f.exec.advance(Duration::from_secs(60));
    assert_eq!(
        f.registry.stats().fetches,
        1,
        "no retry for a revision gone"
    );
    assert!(f.exec.tasks.lock().is_empty(), "no task left behind");
}

#[test]
fn a_new_revision_of_an_instance_replaces_its_urls() {
    let f = fixture();
    let (a, info) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    f.discovery.store_metadata(&info);
    f.discovery.add(a.clone());
    let (seen, listener) = recorder();
    f.registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    assert_eq!(seen.lock().len(), 1);

    // The instance now serves a second method: a new revision, same address.
    let url = ProviderSpec::new(IFACE, "10.0.0.7", 20000)
        .application("greeter")
        .version("1.0.0")
        .methods(["greet", "wave"])
        .to_url(1)
        .unwrap();
    let info = MetadataInfo::from_urls("greeter", [&url]);
    let mut moved = ServiceInstance::new(&info, "10.0.0.7", 20000, 1);
    (moved.metadata).insert("dubbo.metadata.storage-type".into(), "remote".into());
    f.discovery.store_metadata(&info);
    f.discovery.add(moved);
    f.exec.run();
    assert_eq!(seen.lock().len(), 2);
    let urls = f.registry.lookup(&consumer("1.0.0"));
    f.exec.run();
    assert_eq!(urls.wait().unwrap()[0].param("methods"), Some("greet,wave"));
}

#[test]
fn provided_by_names_the_applications_without_a_mapping() {
    let f = fixture();
    let (a, info) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    let mut unmapped = a.clone();
    unmapped.interfaces.clear();
    f.discovery.store_metadata(&info);
    f.discovery.add(unmapped);
    let (seen, listener) = recorder();
    f.registry
        .subscribe(&consumer("1.0.0"), listener.clone())
        .wait()
        .unwrap();
    f.exec.run();
    assert_eq!(last(&seen), ["empty providers"]);

    let told = ConsumerSpec::new(IFACE, "10.0.0.1")
        .version("1.0.0")
        .to_url(1)
        .unwrap()
        .into_builder()
        .param("provided-by", "greeter")
        .build()
        .unwrap();
    let (seen, listener) = recorder();
    f.registry.subscribe(&told, listener).wait().unwrap();
    f.exec.run();
    assert_eq!(last(&seen), ["10.0.0.7:20000"]);
}

#[test]
fn unsubscribing_stops_notifications_and_watches() {
    let f = fixture();
    let (a, info) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    f.discovery.store_metadata(&info);
    let (seen, listener) = recorder();
    let id = f
        .registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    assert_eq!(seen.lock().len(), 1);
    f.registry.unsubscribe(id).wait().unwrap();
    assert_eq!(f.registry.stats().subscriptions, 0);
    f.discovery.add(a);
    f.exec.run();
    assert_eq!(seen.lock().len(), 1);
    assert!(format!("{:?}", f.discovery).contains("watches: 0"));
}

#[test]
fn provider_urls_are_refused_and_consumer_urls_accepted() {
    let f = fixture();
    let provider = ProviderSpec::new(IFACE, "10.0.0.7", 20000)
        .to_url(1)
        .unwrap();
    assert!(matches!(
        f.registry.register(&provider).wait(),
        Err(RegistryError::Refused(_))
    ));
    f.registry.register(&consumer("1.0.0")).wait().unwrap();
    f.registry.unregister(&consumer("1.0.0")).wait().unwrap();
}

#[test]
fn remote_metadata_survives_a_round_trip_and_reads_what_dubbo_go_writes() {
    // The shape a dubbo-go 3.3 provider stores (`docs/registry.md`): no group, params
    // without `version`, a 128-digit revision.
    let revision = "ab".repeat(64);
    let json = format!(
        r#"{{"app":"goapp","revision":"{revision}","services":{{"{IFACE}:1.0.0:dubbo":{{"name":"{IFACE}","version":"1.0.0","protocol":"dubbo","port":20000,"path":"{IFACE}","params":{{"methods":"greet","interface":"{IFACE}"}}}}}}}}"#
    );
    let info = MetadataInfo::from_json(&json).unwrap();
    assert_eq!(info.revision.as_deref(), Some(revision.as_str()));
    let mut instance = ServiceInstance::new(&info, "10.0.0.9", 20000, 1);
    instance.app = "goapp".into();
    let urls = info.provider_urls(&instance);
    assert_eq!(urls.len(), 1);
    assert_eq!(
        urls[0].param("version"),
        Some("1.0.0"),
        "from the service's own field"
    );
    assert!(Url::is_match(
        &registry::subscription_url(&consumer("1.0.0")),
        &urls[0]
    ));
    assert_eq!(MetadataInfo::from_json(&info.to_json()), Ok(info));

    for bad in [
        "",
        "[]",
        r#"{"services":[1]}"#,
        r#"{"services":{"k":{"port":1}}}"#,
    ] {
        assert!(MetadataInfo::from_json(bad).is_err(), "{bad}");
    }
    let service = ServiceInfo::from_url(&Url::parse("dubbo://h:1/x.Y?group=g&version=2").unwrap());
    let info = MetadataInfo::new("app", [service]);
    assert_eq!(MetadataInfo::from_json(&info.to_json()), Ok(info));
}

/// A migration registry over an interface-level static registry and an application-level
/// registry of the fixture.
fn migration(
    f: &Fixture,
    interface: &Arc<StaticRegistry>,
    step: MigrationStep,
) -> MigrationRegistry {
    MigrationRegistry::new(interface.clone(), Arc::new(f.registry.clone())).step(step)
}

#[test]
fn application_first_prefers_application_level_providers_and_falls_back() {
    let f = fixture();
    let old = ProviderSpec::new(IFACE, "10.0.0.5", 20880)
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let interface = Arc::new(StaticRegistry::new([old]));
    let registry = migration(&f, &interface, MigrationStep::ApplicationFirst);
    let (seen, listener) = recorder();
    registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    // Only the interface level has providers.
    assert_eq!(
        last(&seen),
        ["10.0.0.5:20880", "empty configurators", "empty routers"]
    );

    // One appears at application level: it alone is used (threshold 0.0).
    let (a, info) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    f.discovery.store_metadata(&info);
    f.discovery.add(a.clone());
    f.exec.run();
    assert_eq!(
        last(&seen),
        ["10.0.0.7:20000", "empty configurators", "empty routers"]
    );

    // A configurator at interface level reaches the consumer with application-level providers.
    let rule = Url::parse(&format!(
        "override://0.0.0.0/{IFACE}?category=configurators&version=1.0.0&weight=300"
    ))
    .unwrap();
    interface.register(&rule).wait().unwrap();
    assert_eq!(last(&seen), ["10.0.0.7:20000", "0.0.0.0", "empty routers"]);

    // It leaves: back to the interface level.
    f.discovery.remove(&a);
    f.exec.run();
    assert_eq!(last(&seen), ["10.0.0.5:20880", "0.0.0.0", "empty routers"]);
}

#[test]
fn forced_steps_use_one_level_only() {
    let f = fixture();
    let old = ProviderSpec::new(IFACE, "10.0.0.5", 20880)
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let interface = Arc::new(StaticRegistry::new([old]));
    let (a, info) = remote_instance("greeter", "10.0.0.7", "1.0.0");
    f.discovery.store_metadata(&info);
    f.discovery.add(a);

    let forced = migration(&f, &interface, MigrationStep::ForceInterface);
    let (seen, listener) = recorder();
    forced
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    assert_eq!(last(&seen)[0], "10.0.0.5:20880");
    assert_eq!(
        f.registry.stats().subscriptions,
        0,
        "application level not subscribed"
    );

    let forced = migration(&f, &interface, MigrationStep::ForceApplication);
    let (seen, listener) = recorder();
    let id = forced
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    f.exec.run();
    assert_eq!(last(&seen)[0], "10.0.0.7:20000");
    forced.unsubscribe(id).wait().unwrap();
    assert_eq!(f.registry.stats().subscriptions, 0);

    // With nothing at application level, FORCE_APPLICATION lists nothing.
    let empty = fixture();
    let forced = migration(&empty, &interface, MigrationStep::ForceApplication);
    let (seen, listener) = recorder();
    forced
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    empty.exec.run();
    assert_eq!(last(&seen)[0], "empty providers");
}

#[test]
fn a_threshold_keeps_the_interface_level_until_the_application_level_has_enough() {
    let f = fixture();
    let urls = ["10.0.0.5", "10.0.0.6"].map(|host| {
        ProviderSpec::new(IFACE, host, 20880)
            .version("1.0.0")
            .to_url(1)
            .unwrap()
    });
    let interface = Arc::new(StaticRegistry::new(urls));
    let registry = migration(&f, &interface, MigrationStep::ApplicationFirst).threshold(1.0);
    let (seen, listener) = recorder();
    registry
        .subscribe(&consumer("1.0.0"), listener)
        .wait()
        .unwrap();
    for host in ["10.0.0.7", "10.0.0.8"] {
        let (instance, info) = remote_instance("greeter", host, "1.0.0");
        f.discovery.store_metadata(&info);
        f.discovery.add(instance);
        f.exec.run();
        let listed = last(&seen);
        if host == "10.0.0.7" {
            assert_eq!(
                listed[..2],
                ["10.0.0.5:20880", "10.0.0.6:20880"],
                "1/2 < 1.0"
            );
        } else {
            assert_eq!(
                listed[..2],
                ["10.0.0.7:20000", "10.0.0.8:20000"],
                "2/2 ≥ 1.0"
            );
        }
    }
}

#[test]
fn a_lookup_through_the_migration_registry_chooses_as_a_subscription_does() {
    let f = fixture();
    let old = ProviderSpec::new(IFACE, "10.0.0.5", 20880)
        .version("1.0.0")
        .to_url(1)
        .unwrap();
    let interface = Arc::new(StaticRegistry::new([old]));
    let registry = migration(&f, &interface, MigrationStep::ApplicationFirst);
    let found = registry.lookup(&consumer("1.0.0"));
    f.exec.run();
    let found = found.wait().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].address(), "10.0.0.5:20880");
    assert_eq!(
        f.registry.stats().subscriptions,
        0,
        "the lookup's subscription ended"
    );
    assert!(registry.name().starts_with("APPLICATION_FIRST of"));
}
