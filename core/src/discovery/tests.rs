//! Unit tests of [`RegistryDirectory`] over a [`StaticRegistry`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use super::*;
use crate::cluster::Channels;
use crate::registry::StaticRegistry;

/// Hands out empty channels and remembers them.
#[derive(Default)]
struct Recording(Mutex<Vec<(String, usize, Weak<Channels>)>>);

impl Connector for Recording {
    fn channels(&self, address: &str, provider: &Url) -> Arc<Channels> {
        let channels = Arc::new(Channels::owning(connections(provider)));
        self.0.lock().push((
            address.to_owned(),
            channels.len(),
            Arc::downgrade(&channels),
        ));
        channels
    }
}

impl Recording {
    fn opened(&self) -> Vec<String> {
        self.0.lock().iter().map(|(a, ..)| a.clone()).collect()
    }

    fn live(&self, address: &str) -> usize {
        self.0
            .lock()
            .iter()
            .filter(|(a, _, w)| a == address && w.strong_count() > 0)
            .count()
    }
}

/// Hands out channels holding one open (in-memory, never driven) connection.
struct Connected;

impl Connector for Connected {
    #[allow(clippy::disallowed_methods)] // a test clock
    fn channels(&self, _: &str, _: &Url) -> Arc<Channels> {
        struct Now;
        impl crate::Clock for Now {
            fn now(&self) -> std::time::Instant {
                std::time::Instant::now()
            }
        }
        let clock = Arc::new(Now);
        let conn = crate::SharedConnection::new(
            crate::Connection::new(
                crate::Config::new(crate::Side::Consumer),
                std::time::Instant::now(),
            ),
            clock,
            || {},
        );
        Arc::new(Channels::single(conn))
    }
}

const CONSUMER: &str = "consumer://10.0.0.1/demo.Svc?application=shop&version=1.0.0";

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn provider(host: &str, extra: &str) -> Url {
    url(&format!(
        "dubbo://{host}:20880/demo.Svc?application=stock&version=1.0.0&weight=100{extra}"
    ))
}

fn rule(params: &str) -> Url {
    url(&format!(
        "override://0.0.0.0/demo.Svc?category=configurators&dynamic=false&version=1.0.0&{params}"
    ))
}

struct Setup {
    registry: Arc<StaticRegistry>,
    connector: Arc<Recording>,
    directory: Arc<RegistryDirectory>,
}

fn setup(configure: impl FnOnce(RegistryDirectoryBuilder) -> RegistryDirectoryBuilder) -> Setup {
    let registry = Arc::new(StaticRegistry::new([]));
    let connector = Arc::new(Recording::default());
    let builder =
        RegistryDirectory::builder(registry.clone(), connector.clone(), url(CONSUMER)).check(false);
    let directory = configure(builder).build().unwrap();
    Setup {
        registry,
        connector,
        directory,
    }
}

fn listed(directory: &RegistryDirectory) -> Vec<String> {
    directory
        .list(&Route::new("demo.Svc", "m"))
        .iter()
        .map(|i| i.address().to_owned())
        .collect()
}

fn only(directory: &RegistryDirectory) -> Invoker {
    let list = directory.list(&Route::new("demo.Svc", "m"));
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

#[test]
fn providers_come_and_go_and_kept_ones_keep_their_invoker() {
    let Setup {
        registry,
        connector,
        directory,
    } = setup(|b| b);
    assert!(listed(&directory).is_empty());
    let (a, b) = (provider("10.0.0.7", ""), provider("10.0.0.8", ""));
    registry.register(&a).wait().unwrap();
    let first = only(&directory);
    assert_eq!(first.address(), "10.0.0.7:20880");
    assert_eq!(first.param("application"), Some("stock"));

    registry.register(&b).wait().unwrap();
    assert_eq!(listed(&directory), ["10.0.0.7:20880", "10.0.0.8:20880"]);
    let list = directory.list(&Route::new("demo.Svc", "m"));
    assert!(
        list[0].ptr_eq(&first),
        "the kept provider's invoker is reused"
    );
    // `visit` lends the same snapshot.
    let mut seen = 0;
    directory.visit(&Route::new("demo.Svc", "m"), &mut |invokers| {
        seen = invokers.len();
        assert!(invokers[0].ptr_eq(&first));
    });
    assert_eq!(seen, 2);
    drop(list);

    registry.unregister(&a).wait().unwrap();
    assert_eq!(listed(&directory), ["10.0.0.8:20880"]);
    // Still held here; its channels close once the last holder lets go.
    assert_eq!(connector.live("10.0.0.7:20880"), 1);
    drop(first);
    assert_eq!(connector.live("10.0.0.7:20880"), 0);
    assert_eq!(connector.live("10.0.0.8:20880"), 1);
    // One connection set per provider, never reopened for an unchanged one.
    assert_eq!(connector.opened(), ["10.0.0.7:20880", "10.0.0.8:20880"]);

    registry.register(&a).wait().unwrap();
    assert_eq!(listed(&directory).len(), 2);
    assert_eq!(
        connector.opened().len(),
        3,
        "a provider back gets new connections"
    );
}

#[test]
fn configurators_change_weight_timeout_and_disable() {
    let Setup {
        registry,
        connector,
        directory,
    } = setup(|b| b);
    registry.register(&provider("10.0.0.7", "")).wait().unwrap();
    registry.register(&provider("10.0.0.8", "")).wait().unwrap();
    let before = directory.list(&Route::new("demo.Svc", "m"));

    let weight = rule("weight=200&timeout=5000");
    registry.register(&weight).wait().unwrap();
    let after = directory.list(&Route::new("demo.Svc", "m"));
    for (old, new) in before.iter().zip(after.iter()) {
        assert_eq!(new.param("weight"), Some("200"));
        assert_eq!(new.param("timeout"), Some("5000"));
        assert_eq!(new.param("dynamic"), None, "condition keys are not copied");
        assert!(!new.ptr_eq(old), "new parameters, new invoker...");
        assert!(
            Arc::ptr_eq(new.channels(), old.channels()),
            "...on the same connections"
        );
    }
    assert_eq!(connector.opened().len(), 2);

    // One provider disabled by a rule naming it (host and port).
    let disable = url(
        "override://10.0.0.8:20880/demo.Svc?category=configurators&version=1.0.0&disabled=true",
    );
    registry.register(&disable).wait().unwrap();
    assert_eq!(listed(&directory), ["10.0.0.7:20880"]);

    // A rule for another consumer host applies to nobody here.
    let elsewhere =
        url("override://10.9.9.9/demo.Svc?category=configurators&version=1.0.0&weight=1");
    registry.register(&elsewhere).wait().unwrap();
    assert_eq!(only(&directory).param("weight"), Some("200"));

    // Rules withdrawn (the category becomes `empty://`): the provider's own values again.
    for r in [&weight, &disable, &elsewhere] {
        registry.unregister(r).wait().unwrap();
    }
    assert_eq!(listed(&directory), ["10.0.0.7:20880", "10.0.0.8:20880"]);
    let list = directory.list(&Route::new("demo.Svc", "m"));
    assert!(
        list.iter()
            .all(|i| i.param("weight") == Some("100") && i.param("timeout").is_none())
    );
    // 10.0.0.8 was dropped while disabled: new connections; 10.0.0.7 kept its own.
    assert_eq!(connector.opened().len(), 3);
}

#[test]
fn other_protocols_and_addressless_urls_are_skipped_and_reported() {
    let skipped: Arc<Mutex<Vec<(String, SkipReason)>>> = Arc::default();
    let sink = skipped.clone();
    let Setup {
        registry,
        directory,
        ..
    } = setup(|b| b.on_skip(move |s| sink.lock().push((s.url.to_string(), s.reason))));
    let tri = url("tri://10.0.0.5:50051/demo.Svc?version=1.0.0");
    let no_port = url("dubbo://10.0.0.6/demo.Svc?version=1.0.0");
    registry.register(&tri).wait().unwrap();
    registry.register(&no_port).wait().unwrap();
    assert!(listed(&directory).is_empty());
    registry.register(&provider("10.0.0.7", "")).wait().unwrap();
    assert_eq!(listed(&directory), ["10.0.0.7:20880"]);
    let skipped = skipped.lock();
    assert!(skipped.contains(&(tri.to_string(), SkipReason::Protocol)));
    assert!(skipped.contains(&(no_port.to_string(), SkipReason::NoAddress)));
    assert!(directory.skipped() >= 2);
}

#[test]
fn nothing_usable_keeps_the_list_but_empty_empties_it() {
    let Setup {
        registry,
        directory,
        ..
    } = setup(|b| b);
    let good = provider("10.0.0.7", "");
    registry.register(&good).wait().unwrap();
    let kept = only(&directory);
    // The good provider gives way to garbage only: not evidence it left.
    registry
        .register(&url("tri://10.0.0.5:50051/demo.Svc?version=1.0.0"))
        .wait()
        .unwrap();
    registry.unregister(&good).wait().unwrap();
    assert!(only(&directory).ptr_eq(&kept));
    // The registry lists nothing: `empty://`, the list empties.
    registry
        .unregister(&url("tri://10.0.0.5:50051/demo.Svc?version=1.0.0"))
        .wait()
        .unwrap();
    assert!(listed(&directory).is_empty());
}

#[test]
fn empty_protection_keeps_the_last_list() {
    let Setup {
        registry,
        directory,
        ..
    } = setup(|b| b.empty_protection(true));
    let good = provider("10.0.0.7", "");
    registry.register(&good).wait().unwrap();
    registry.unregister(&good).wait().unwrap();
    assert_eq!(listed(&directory), ["10.0.0.7:20880"]);
    registry.register(&provider("10.0.0.8", "")).wait().unwrap();
    assert_eq!(listed(&directory), ["10.0.0.8:20880"]);
}

#[test]
fn disabled_or_unmatched_providers_are_left_out() {
    let Setup {
        registry,
        directory,
        ..
    } = setup(|b| b);
    registry
        .register(&provider("10.0.0.7", "&enabled=false"))
        .wait()
        .unwrap();
    registry
        .register(&provider("10.0.0.8", "&disabled=true"))
        .wait()
        .unwrap();
    registry
        .register(&url("dubbo://10.0.0.9:20880/demo.Svc?version=2.0.0"))
        .wait()
        .unwrap();
    assert!(listed(&directory).is_empty());
}

#[test]
fn a_new_connections_count_opens_new_channels() {
    let Setup {
        registry,
        connector,
        directory,
    } = setup(|b| b);
    registry.register(&provider("10.0.0.7", "")).wait().unwrap();
    assert_eq!(only(&directory).channels().len(), 1);
    registry.register(&rule("connections=3")).wait().unwrap();
    assert_eq!(only(&directory).channels().len(), 3);
    assert_eq!(connector.0.lock().last().map(|(_, n, _)| *n), Some(3));
    assert_eq!(connector.live("10.0.0.7:20880"), 1);
}

#[test]
fn check_waits_for_a_provider_or_names_service_and_registry() {
    let registry = Arc::new(StaticRegistry::new([]));
    let connector = Arc::new(Recording::default());
    let consumer = url("consumer://10.0.0.1/demo.Svc?version=1.0.0&group=g");
    let error = RegistryDirectory::builder(registry.clone(), connector.clone(), consumer.clone())
        .check_timeout(Duration::from_millis(20))
        .build()
        .unwrap_err();
    assert!(matches!(error, DiscoveryError::NoProvider { .. }));
    let message = error.to_string();
    assert!(message.contains("g/demo.Svc:1.0.0"), "{message}");
    assert!(message.contains("static registry"), "{message}");
    // The failed directory unsubscribed.
    assert!(format!("{registry:?}").contains("subscriptions: 0"));

    // check=false: at once, empty.
    let unchecked =
        RegistryDirectory::builder(registry.clone(), connector.clone(), consumer.clone())
            .check(false)
            .build()
            .unwrap();
    assert!(listed(&unchecked).is_empty());
    let mut listed_once = unchecked.listed();
    assert!(listed_once.try_take().is_none());

    registry
        .register(&url(
            "dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0&group=g",
        ))
        .wait()
        .unwrap();
    assert_eq!(
        listed_once.wait_timeout(Duration::from_secs(1)).ok(),
        Some(())
    );
    // Listed but never connected: still no provider available.
    let unconnected = RegistryDirectory::builder(registry.clone(), connector, consumer.clone())
        .check_timeout(Duration::from_millis(20))
        .build()
        .unwrap_err();
    assert!(matches!(unconnected, DiscoveryError::NoProvider { .. }));
    let checked = RegistryDirectory::builder(registry.clone(), Arc::new(Connected), consumer)
        .check_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_eq!(listed(&checked), ["10.0.0.7:20880"]);
    assert!(checked.is_available());

    // Async: the caller's timer bounds the wait.
    let empty = Arc::new(StaticRegistry::new([]));
    let waited = futures::executor::block_on(
        RegistryDirectory::builder(empty, Arc::new(Recording::default()), url(CONSUMER))
            .check_timeout(Duration::from_millis(5))
            .build_async(|_| std::future::ready(())),
    );
    assert!(matches!(waited, Err(DiscoveryError::NoProvider { .. })));
}

#[test]
fn dropping_the_directory_unsubscribes_and_drops_the_providers() {
    let Setup {
        registry,
        connector,
        directory,
    } = setup(|b| b);
    registry.register(&provider("10.0.0.7", "")).wait().unwrap();
    assert_eq!(connector.live("10.0.0.7:20880"), 1);
    assert!(format!("{registry:?}").contains("subscriptions: 1"));
    drop(directory);
    assert!(format!("{registry:?}").contains("subscriptions: 0"));
    assert_eq!(connector.live("10.0.0.7:20880"), 0);
    registry.register(&provider("10.0.0.8", "")).wait().unwrap();
    assert_eq!(connector.opened().len(), 1);
}

#[test]
fn a_category_missing_from_a_notification_keeps_its_last_list() {
    // Registries that notify one category at a time (Java's ZooKeeper registry does).
    let Setup {
        registry,
        directory,
        ..
    } = setup(|b| b);
    registry.register(&provider("10.0.0.7", "")).wait().unwrap();
    registry.register(&rule("weight=5")).wait().unwrap();
    let inner = &directory.inner;
    inner.handle_notify(&[provider("10.0.0.8", "")]);
    assert_eq!(only(&directory).address(), "10.0.0.8:20880");
    assert_eq!(
        only(&directory).param("weight"),
        Some("5"),
        "the rules stay"
    );
    inner.handle_notify(&[rule("weight=6")]);
    assert_eq!(
        only(&directory).address(),
        "10.0.0.8:20880",
        "the providers stay"
    );
    assert_eq!(only(&directory).param("weight"), Some("6"));
}

#[test]
fn disabling_every_provider_empties_the_list() {
    // Unlike Java, which keeps the old invokers when none is left after conversion.
    let Setup {
        registry,
        directory,
        ..
    } = setup(|b| b);
    registry.register(&provider("10.0.0.7", "")).wait().unwrap();
    registry.register(&provider("10.0.0.8", "")).wait().unwrap();
    registry.register(&rule("disabled=true")).wait().unwrap();
    assert!(listed(&directory).is_empty());
    registry.unregister(&rule("disabled=true")).wait().unwrap();
    assert_eq!(listed(&directory).len(), 2);
}
