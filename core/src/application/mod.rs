//! Application-level service discovery (Dubbo 3's model, `docs/estate.md` §1.6) for
//! consumers: providers registered as application *instances* rather than one URL per
//! interface, turned into the provider URLs a [`RegistryDirectory`](crate::discovery::RegistryDirectory)
//! follows.
//!
//! A Dubbo 3 provider (Java with `register-mode=instance` or `all`, dubbo-go by default)
//! registers one instance per process (`/services/<app>/<host>:<port>` in ZooKeeper), maps
//! each interface it serves to its application (`/dubbo/mapping/<interface>`), and keeps
//! what it serves in a [`MetadataInfo`] named by the instance's revision: served by the
//! provider's own `MetadataService` (`storage-type=local`, Java's default) or stored in the
//! registry (`remote`, what dubbo-go does). Three parts read that:
//!
//! - [`ServiceDiscovery`]: a backend following the instances of the applications that serve
//!   an interface, and reading remote metadata. `tether-registry-zookeeper`'s
//!   `ZookeeperRegistry` is one; [`StaticDiscovery`] keeps them in memory.
//! - [`ApplicationRegistry`]: a [`Registry`] over a [`ServiceDiscovery`] (Dubbo's
//!   `ServiceDiscoveryRegistry`): a subscription follows the instances, fetches the metadata
//!   of each revision once (from the `MetadataService` over a [`Connector`], or from the
//!   registry), and notifies the provider URLs of the subscribed interface.
//! - [`MigrationRegistry`]: an interface-level and an application-level registry behind one
//!   [`Registry`], choosing between their providers as a Dubbo 3 consumer does
//!   ([`MigrationStep`], default `APPLICATION_FIRST`).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use tether_core::application::{ApplicationRegistry, MigrationRegistry, StaticDiscovery};
//! use tether_core::cluster::{Channels, Connector, Sleep, connections};
//! use tether_core::metadata::{MetadataInfo, ServiceInstance};
//! use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
//! use tether_core::url::Url;
//! use tether_core::{BoxFuture, Spawner};
//! # struct Nowhere;
//! # impl Connector for Nowhere {
//! #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
//! #         Arc::new(Channels::owning(connections(provider)))
//! #     }
//! # }
//! # struct Inline;
//! # impl Spawner for Inline {
//! #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
//! # }
//! # let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
//!
//! // A dubbo-go style provider: its metadata stored in the registry.
//! let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20000).to_url(1)?;
//! let info = MetadataInfo::from_urls("greeter", [&url]);
//! let mut instance = ServiceInstance::new(&info, "10.0.0.7", 20000, 1);
//! instance.metadata.insert("dubbo.metadata.storage-type".into(), "remote".into());
//! let discovery = Arc::new(StaticDiscovery::new());
//! discovery.store_metadata(&info);
//! discovery.add(instance);
//!
//! let application = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep);
//! let registry = MigrationRegistry::new(Arc::new(StaticRegistry::new([])), Arc::new(application));
//! let consumer = ConsumerSpec::new("demo.Greeter", "10.0.0.1").to_url(1)?;
//! let found = registry.lookup(&consumer).wait()?;
//! assert_eq!(found[0].address(), "10.0.0.7:20000");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod memory;
mod migration;
mod subscriptions;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::call::{Completion, Inline, pair};
use crate::cluster::{Backoff, Connector, Sleep};
use crate::consumer::Reference;
use crate::metadata::{EMPTY_REVISION, METADATA_SERVICE, METADATA_SERVICE_VERSION};
use crate::metadata::{MetadataInfo, ServiceInstance};
use crate::registry::{
    self, NotifyListener, Registry, RegistryError, RegistryResult, SubscriptionId,
};
use crate::shared::Spawner;
use crate::url::Url;
use subscriptions::Subscriptions;

pub use memory::StaticDiscovery;
pub use migration::{MigrationRegistry, MigrationStep};

/// Receives the instances a [`ServiceDiscovery::watch`] follows.
///
/// ```
/// use tether_core::application::InstancesListener;
/// use tether_core::metadata::ServiceInstance;
///
/// let listener = |instances: &[ServiceInstance]| println!("{} instances", instances.len());
/// listener.changed(&[]);
/// ```
pub trait InstancesListener: Send + Sync + 'static {
    /// Every instance of the followed applications, after each change. Called one call at
    /// a time per watch, in the order of the changes; do not block in it.
    fn changed(&self, instances: &[ServiceInstance]);
}

impl<F: Fn(&[ServiceInstance]) + Send + Sync + 'static> InstancesListener for F {
    fn changed(&self, instances: &[ServiceInstance]) {
        self(instances);
    }
}

/// Where application instances are found (Dubbo's `ServiceDiscovery`): the backend of an
/// [`ApplicationRegistry`].
///
/// ```
/// use std::sync::Arc;
/// use tether_core::application::{ServiceDiscovery, StaticDiscovery};
/// use tether_core::metadata::{MetadataInfo, ServiceInstance};
/// use tether_core::url::Url;
///
/// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter")?;
/// let info = MetadataInfo::from_urls("greeter", [&url]);
/// let discovery = StaticDiscovery::new();
/// discovery.add(ServiceInstance::new(&info, "10.0.0.7", 20880, 1));
///
/// let listener = |instances: &[ServiceInstance]| assert_eq!(instances.len(), 1);
/// let id = discovery.watch("demo.Greeter", &[], Arc::new(listener)).wait()?;
/// discovery.unwatch(id).wait()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ServiceDiscovery: Send + Sync + 'static {
    /// Follows the instances of the applications serving `interface`: those `apps` names
    /// (Dubbo's `provided-by`), or, when `apps` is empty, those the registry maps the
    /// interface to (`/dubbo/mapping/<interface>` in ZooKeeper), following that mapping too.
    /// `listener` hears the current instances once (an empty list if there are none), then
    /// after every change; an instance whose record changed (a new revision) counts as a
    /// change.
    fn watch(
        &self,
        interface: &str,
        apps: &[String],
        listener: Arc<dyn InstancesListener>,
    ) -> Completion<RegistryResult<SubscriptionId>>;

    /// Ends a watch: its listener is not called after this completes.
    fn unwatch(&self, id: SubscriptionId) -> Completion<RegistryResult<()>>;

    /// The metadata of `app`'s `revision` as the registry stores it (JSON, for
    /// [`MetadataInfo::from_json`]), `None` if it stores none: what instances of
    /// `storage-type=remote` are read by.
    fn metadata(&self, app: &str, revision: &str) -> Completion<RegistryResult<Option<String>>>;

    /// A name for logs and errors.
    fn name(&self) -> String {
        "service discovery".to_owned()
    }
}

/// How long a metadata fetch may take, connecting included (Java's default call timeout
/// is 1 s; connecting to a provider just seen may take part of it).
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a fetch looks whether its connection is up (connections report no event it
/// could wait for).
const CONNECT_POLL: Duration = Duration::from_millis(10);

/// A [`Registry`] of providers registered at application level (Dubbo's
/// `ServiceDiscoveryRegistry`), for consumers: see the [module docs](self).
///
/// A subscription follows the instances of the applications serving the consumer's
/// interface. Each revision's [`MetadataInfo`] is fetched once, from any instance that has
/// it: from the instance's `MetadataService` over the [`Connector`]
/// (`storage-type=local`), or from the registry (`remote`). A notification waits until
/// every new revision's first fetch has ended; an instance whose metadata could not be
/// fetched is left out, and its revision fetched again after a growing delay (100 ms
/// doubling to 30 s) while an instance still names it. The URLs notified are the services
/// of each instance's metadata, at the instance's address, that match the consumer as
/// interface-level URLs would (group, version, `protocol`), in category `providers`
/// (`empty://` when there is none).
///
/// Registering is for interface-level registries: consumer URLs are accepted and kept
/// nowhere (Dubbo 3 registers consumers at interface level only), provider URLs refused
/// (register an application with the backend, e.g. `ZookeeperRegistry::register_application`).
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use tether_core::application::{ApplicationRegistry, StaticDiscovery};
/// # use tether_core::cluster::{Channels, Connector, Sleep, connections};
/// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
/// # use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry};
/// # use tether_core::url::Url;
/// # use tether_core::{BoxFuture, Spawner};
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # struct Inline;
/// # impl Spawner for Inline {
/// #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
/// # }
/// # let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
/// let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20000).version("2").to_url(1)?;
/// let info = MetadataInfo::from_urls("greeter", [&url]);
/// let mut instance = ServiceInstance::new(&info, "10.0.0.7", 20000, 1);
/// instance.metadata.insert("dubbo.metadata.storage-type".into(), "remote".into());
/// let discovery = Arc::new(StaticDiscovery::new());
/// discovery.store_metadata(&info);
/// discovery.add(instance);
///
/// let registry = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep);
/// let wanted = ConsumerSpec::new("demo.Greeter", "10.0.0.1").version("2").to_url(1)?;
/// assert_eq!(registry.lookup(&wanted).wait()?.len(), 1);
/// let other = ConsumerSpec::new("demo.Greeter", "10.0.0.1").version("3").to_url(1)?;
/// assert!(registry.lookup(&other).wait()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ApplicationRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    discovery: Arc<dyn ServiceDiscovery>,
    connector: Arc<dyn Connector>,
    spawner: Arc<dyn Spawner>,
    sleep: Sleep,
    metadata_timeout: Duration,
    retry: Backoff,
    subscriptions: Subscriptions<State, Option<SubscriptionId>>,
    fetches: AtomicU64,
    failures: AtomicU64,
    on_failure: Option<FailureHook>,
}

/// What [`ApplicationRegistry::on_failure`] calls.
type FailureHook = Arc<dyn Fn(&FetchFailure) + Send + Sync>;

/// A metadata fetch that failed, as [`ApplicationRegistry::on_failure`] reports it.
///
/// ```
/// # use tether_core::application::FetchFailure;
/// fn log(failure: &FetchFailure) {
///     eprintln!("{} revision {} from {}: {}", failure.app, failure.revision, failure.from, failure.reason);
/// }
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct FetchFailure {
    /// The application.
    pub app: String,
    /// The revision whose metadata was wanted.
    pub revision: String,
    /// The instance asked (`host:port`), or the registry's name for remote metadata.
    pub from: String,
    /// What went wrong.
    pub reason: String,
    /// How many fetches of this revision have failed in a row, this one included.
    pub attempts: u32,
}

/// Counters of an [`ApplicationRegistry`].
///
/// ```
/// # use tether_core::application::Stats;
/// let stats = Stats::default();
/// assert_eq!(stats.fetches, 0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Metadata fetches started.
    pub fetches: u64,
    /// Metadata fetches that failed.
    pub failures: u64,
    /// Live subscriptions.
    pub subscriptions: usize,
}

impl ApplicationRegistry {
    /// A registry reading instances from `discovery`, fetching metadata from
    /// `MetadataService`s over connections from `connector`, its fetches and retries
    /// running on `spawner` with `sleep` for delays (an adapter's spawner and timer).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use tether_core::application::{ApplicationRegistry, StaticDiscovery};
    /// # use tether_core::cluster::{Channels, Connector, Sleep, connections};
    /// # use tether_core::url::Url;
    /// # use tether_core::{BoxFuture, Spawner};
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # struct Inline;
    /// # impl Spawner for Inline {
    /// #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
    /// # }
    /// let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
    /// let discovery = Arc::new(StaticDiscovery::new());
    /// let registry = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep);
    /// assert_eq!(registry.stats().subscriptions, 0);
    /// ```
    pub fn new(
        discovery: Arc<dyn ServiceDiscovery>,
        connector: Arc<dyn Connector>,
        spawner: Arc<dyn Spawner>,
        sleep: Sleep,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                discovery,
                connector,
                spawner,
                sleep,
                metadata_timeout: METADATA_TIMEOUT,
                retry: Backoff::new(Duration::from_millis(100), Duration::from_secs(30)),
                subscriptions: Subscriptions::new(),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                on_failure: None,
            }),
        }
    }

    /// How long one metadata fetch may take, connecting included (default 3 s). Set it
    /// before subscribing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use tether_core::application::{ApplicationRegistry, StaticDiscovery};
    /// # use tether_core::cluster::{Channels, Connector, Sleep, connections};
    /// # use tether_core::url::Url;
    /// # use tether_core::{BoxFuture, Spawner};
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # struct Inline;
    /// # impl Spawner for Inline {
    /// #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
    /// # }
    /// # let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
    /// # let discovery = Arc::new(StaticDiscovery::new());
    /// let registry = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep)
    ///     .metadata_timeout(Duration::from_millis(500));
    /// ```
    #[must_use]
    pub fn metadata_timeout(mut self, timeout: Duration) -> Self {
        self.configure(|inner| inner.metadata_timeout = timeout);
        self
    }

    /// The delays between fetches of a revision whose metadata could not be fetched: `first`
    /// doubling up to `max` (default 100 ms to 30 s). Set it before subscribing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use tether_core::application::{ApplicationRegistry, StaticDiscovery};
    /// # use tether_core::cluster::{Channels, Connector, Sleep, connections};
    /// # use tether_core::url::Url;
    /// # use tether_core::{BoxFuture, Spawner};
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # struct Inline;
    /// # impl Spawner for Inline {
    /// #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
    /// # }
    /// # let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
    /// # let discovery = Arc::new(StaticDiscovery::new());
    /// let registry = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep)
    ///     .retry_delays(Duration::from_millis(50), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn retry_delays(mut self, first: Duration, max: Duration) -> Self {
        self.configure(|inner| inner.retry = Backoff::new(first, max));
        self
    }

    /// Calls `hook` with every failed metadata fetch (they are counted in
    /// [`Stats::failures`] either way). Set it before subscribing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use tether_core::application::{ApplicationRegistry, StaticDiscovery};
    /// # use tether_core::cluster::{Channels, Connector, Sleep, connections};
    /// # use tether_core::url::Url;
    /// # use tether_core::{BoxFuture, Spawner};
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # struct Inline;
    /// # impl Spawner for Inline {
    /// #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
    /// # }
    /// # let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
    /// # let discovery = Arc::new(StaticDiscovery::new());
    /// let registry = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep)
    ///     .on_failure(|failure| eprintln!("metadata of {}: {}", failure.app, failure.reason));
    /// ```
    #[must_use]
    pub fn on_failure(mut self, hook: impl Fn(&FetchFailure) + Send + Sync + 'static) -> Self {
        let hook: FailureHook = Arc::new(hook);
        self.configure(|inner| inner.on_failure = Some(hook));
        self
    }

    /// Its counters.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use tether_core::application::{ApplicationRegistry, StaticDiscovery};
    /// # use tether_core::cluster::{Channels, Connector, Sleep, connections};
    /// # use tether_core::url::Url;
    /// # use tether_core::{BoxFuture, Spawner};
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # struct Inline;
    /// # impl Spawner for Inline {
    /// #     fn spawn(&self, future: BoxFuture) { futures::executor::block_on(future) }
    /// # }
    /// # let sleep: Sleep = Arc::new(|_: Duration| -> BoxFuture { Box::pin(async {}) });
    /// # let discovery = Arc::new(StaticDiscovery::new());
    /// let registry = ApplicationRegistry::new(discovery, Arc::new(Nowhere), Arc::new(Inline), sleep);
    /// assert_eq!(registry.stats().failures, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        Stats {
            fetches: self.inner.fetches.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
            subscriptions: self.inner.subscriptions.len(),
        }
    }

    /// Changes the settings while no clone shares them (the setters' precondition: they
    /// are called on a fresh registry).
    fn configure(&mut self, f: impl FnOnce(&mut Inner)) {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => f(inner),
            None => debug_assert!(false, "configure an ApplicationRegistry before sharing it"),
        }
    }
}

impl fmt::Debug for ApplicationRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationRegistry")
            .field("discovery", &self.inner.discovery.name())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Registry for ApplicationRegistry {
    fn register(&self, url: &Url) -> Completion<RegistryResult<()>> {
        registry::ready(accept_consumer(url))
    }

    fn unregister(&self, url: &Url) -> Completion<RegistryResult<()>> {
        registry::ready(accept_consumer(url))
    }

    fn subscribe(
        &self,
        consumer: &Url,
        listener: Arc<dyn NotifyListener>,
    ) -> Completion<RegistryResult<SubscriptionId>> {
        let inner = &self.inner;
        let (id, subscription) = inner.subscriptions.add(consumer, listener);
        let apps: Vec<String> = (consumer.list_param("provided-by").into_iter())
            .map(str::to_owned)
            .collect();
        let watcher = Arc::new(Watcher {
            registry: Arc::downgrade(inner),
            subscription: Arc::downgrade(&subscription),
        });
        let registry = self.inner.clone();
        let watched = inner.discovery.watch(consumer.interface(), &apps, watcher);
        watched.map(
            move |result| match result {
                Ok(watch) => {
                    *subscription.handles.lock() = Some(watch);
                    if !subscription.is_active() {
                        // Unsubscribed while the watch was being set up.
                        drop(registry.discovery.unwatch(watch));
                    }
                    Ok(id)
                }
                Err(e) => {
                    registry.subscriptions.remove(id);
                    Err(e)
                }
            },
            registry::closed,
        )
    }

    fn unsubscribe(&self, id: SubscriptionId) -> Completion<RegistryResult<()>> {
        // A notification under way finishes before `remove` returns.
        let Some(subscription) = self.inner.subscriptions.remove(id) else {
            return registry::ready(Ok(()));
        };
        match subscription.handles.lock().take() {
            Some(watch) => self.inner.discovery.unwatch(watch),
            None => registry::ready(Ok(())),
        }
    }

    fn lookup(&self, consumer: &Url) -> Completion<RegistryResult<Vec<Url>>> {
        lookup_by_subscribing(Arc::new(self.clone()), consumer)
    }

    fn name(&self) -> String {
        format!("application-level {}", self.inner.discovery.name())
    }
}

/// Consumer URLs are accepted (nothing to keep at application level); others refused.
fn accept_consumer(url: &Url) -> RegistryResult<()> {
    if url.protocol() == "consumer" || url.param("side") == Some("consumer") {
        return Ok(());
    }
    Err(RegistryError::Refused(format!(
        "{url}: an application-level registry lists instances, not provider urls; \
         register the application with its backend"
    )))
}

/// The URLs `registry` notifies `consumer` of first, without `empty://` placeholders:
/// subscribes, takes the first notification, unsubscribes.
fn lookup_by_subscribing(
    registry: Arc<dyn Registry>,
    consumer: &Url,
) -> Completion<RegistryResult<Vec<Url>>> {
    struct Once {
        completer: Option<crate::call::Completer<RegistryResult<Vec<Url>>>>,
        id: Option<SubscriptionId>,
        done: bool,
    }
    let (completer, completion) = pair(registry::closed);
    let once = Arc::new(Mutex::new(Once {
        completer: Some(completer),
        id: None,
        done: false,
    }));
    let heard = once.clone();
    let unsubscriber = Arc::downgrade(&registry);
    let listener = move |urls: &[Url]| {
        let mut once = heard.lock();
        let Some(completer) = once.completer.take() else {
            return;
        };
        once.done = true;
        let id = once.id;
        drop(once);
        let found = urls
            .iter()
            .filter(|url| url.protocol() != registry::EMPTY_PROTOCOL)
            .cloned()
            .collect();
        completer.complete(Ok(found), &Inline);
        if let (Some(id), Some(registry)) = (id, unsubscriber.upgrade()) {
            drop(registry.unsubscribe(id));
        }
    };
    let subscribed = registry.subscribe(consumer, Arc::new(listener));
    let this = registry.clone();
    subscribed.on_complete(move |result| {
        let mut once = once.lock();
        match result {
            Ok(id) if once.done => {
                drop(once);
                drop(this.unsubscribe(id));
            }
            Ok(id) => once.id = Some(id),
            Err(e) => {
                if let Some(completer) = once.completer.take() {
                    completer.complete(Err(e), &Inline);
                }
            }
        }
    });
    completion
}

/// One subscription of an [`ApplicationRegistry`]; its handle is the backend's watch, once
/// set up.
type Subscription = subscriptions::Subscription<State, Option<SubscriptionId>>;

/// An application and one of its revisions.
type Key = (String, String);

#[derive(Default)]
struct State {
    /// The instances last heard; `None` before the first time.
    instances: Option<Vec<ServiceInstance>>,
    /// The metadata of each revision the instances name (and of no other).
    metadata: HashMap<Key, Metadata>,
    /// What was notified last.
    notified: Option<Vec<Url>>,
}

enum Metadata {
    /// Being fetched; `first`: for the first time (a notification waits for it).
    Fetching {
        first: bool,
        attempts: u32,
    },
    Known(Arc<MetadataInfo>),
    /// The last fetch failed; another is due.
    Failed {
        attempts: u32,
    },
}

/// The revision an instance's metadata is fetched by, if it has services.
fn key_of(instance: &ServiceInstance) -> Option<Key> {
    match instance.revision() {
        Some(revision) if !revision.is_empty() && revision != EMPTY_REVISION => {
            Some((instance.app.clone(), revision.to_owned()))
        }
        _ => None,
    }
}

/// The backend's listener for one subscription.
struct Watcher {
    registry: Weak<Inner>,
    subscription: Weak<Subscription>,
}

impl InstancesListener for Watcher {
    fn changed(&self, instances: &[ServiceInstance]) {
        let (Some(registry), Some(subscription)) =
            (self.registry.upgrade(), self.subscription.upgrade())
        else {
            return;
        };
        if subscription.is_active() {
            registry.instances_changed(&subscription, instances);
        }
    }
}

impl Inner {
    fn instances_changed(
        self: &Arc<Self>,
        subscription: &Arc<Subscription>,
        now: &[ServiceInstance],
    ) {
        let mut to_fetch = Vec::new();
        {
            let mut state = subscription.state.lock();
            let wanted: Vec<Key> = now.iter().filter_map(key_of).collect();
            state.metadata.retain(|key, _| wanted.contains(key));
            for key in wanted {
                if !state.metadata.contains_key(&key) {
                    let fetching = Metadata::Fetching {
                        first: true,
                        attempts: 0,
                    };
                    state.metadata.insert(key.clone(), fetching);
                    to_fetch.push(key);
                }
            }
            state.instances = Some(now.to_vec());
        }
        for key in to_fetch {
            self.fetch(subscription, key, 0);
        }
        self.try_notify(subscription);
    }

    /// Fetches `key`'s metadata from one of the instances naming it (the `attempts`-th, in
    /// turn), then records the outcome and notifies if that was the last awaited.
    fn fetch(self: &Arc<Self>, subscription: &Arc<Subscription>, key: Key, attempts: u32) {
        let source = {
            let state = subscription.state.lock();
            let naming: Vec<&ServiceInstance> = (state.instances.iter().flatten())
                .filter(|i| key_of(i).as_ref() == Some(&key))
                .collect();
            match naming.len() {
                0 => None,
                n => Some(naming[attempts as usize % n].clone()),
            }
        };
        let Some(instance) = source else { return };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let registry = self.clone();
        let subscription = Arc::downgrade(subscription);
        self.spawner.spawn(Box::pin(async move {
            let (from, outcome) = registry.fetch_once(&instance, &key.1).await;
            let Some(subscription) = subscription.upgrade() else {
                return;
            };
            registry.fetched(&subscription, key, from, outcome);
        }));
    }

    /// One fetch of `revision`'s metadata from `instance` (or the registry): where it was
    /// asked, and what came back.
    async fn fetch_once(
        &self,
        instance: &ServiceInstance,
        revision: &str,
    ) -> (String, Result<MetadataInfo, String>) {
        if instance.storage_type() == "remote" {
            let from = self.discovery.name();
            let stored = self.discovery.metadata(&instance.app, revision).await;
            let info = match stored {
                Ok(Some(json)) => MetadataInfo::from_json(&json).map_err(|e| e.to_string()),
                Ok(None) => Err(format!("no metadata stored for revision {revision}")),
                Err(e) => Err(e.to_string()),
            };
            return (from, info);
        }
        let (protocol, port) = instance.metadata_service_address();
        let from = if instance.host.contains(':') {
            format!("[{}]:{port}", instance.host)
        } else {
            format!("{}:{port}", instance.host)
        };
        if protocol != "dubbo" {
            let reason = format!("its metadata service speaks {protocol}, not dubbo");
            return (from, Err(reason));
        }
        let info = self
            .ask_metadata_service(instance, &from, port, revision)
            .await;
        (from, info)
    }

    /// Calls `getMetadataInfo(revision)` on the `MetadataService` of `instance` at `address`.
    async fn ask_metadata_service(
        &self,
        instance: &ServiceInstance,
        address: &str,
        port: u16,
        revision: &str,
    ) -> Result<MetadataInfo, String> {
        let url = Url::builder("dubbo")
            .host(instance.host.as_str())
            .port(port)
            .path(METADATA_SERVICE)
            .param("group", instance.app.as_str())
            .param("version", METADATA_SERVICE_VERSION)
            .build()
            .map_err(|e| e.to_string())?;
        let channels = self.connector.channels(address, &url);
        // Connections come up in the background: give this one part of the timeout.
        let mut waited = Duration::ZERO;
        while channels.pick().is_none() {
            if waited >= self.metadata_timeout {
                return Err(format!("no connection within {:?}", self.metadata_timeout));
            }
            (self.sleep)(CONNECT_POLL).await;
            waited += CONNECT_POLL;
        }
        let left = self.metadata_timeout.saturating_sub(waited);
        let reference = Reference::builder(METADATA_SERVICE)
            .version(METADATA_SERVICE_VERSION)
            .group(&instance.app)
            .timeout(left.max(Duration::from_millis(100)))
            .build(channels);
        let answer = reference
            .method::<(Option<String>,), Option<MetadataInfo>>("getMetadataInfo")
            .call((Some(revision.to_owned()),))
            .await;
        match answer {
            Ok(Some(info)) => Ok(info),
            Ok(None) => Err(format!("the instance does not know revision {revision}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Records a fetch's outcome, schedules the next one if it failed, and notifies.
    fn fetched(
        self: &Arc<Self>,
        subscription: &Arc<Subscription>,
        key: Key,
        from: String,
        outcome: Result<MetadataInfo, String>,
    ) {
        let retry = {
            let mut state = subscription.state.lock();
            let Some(entry) = state.metadata.get_mut(&key) else {
                // No instance names the revision any more.
                return;
            };
            let Metadata::Fetching { attempts, .. } = *entry else {
                return;
            };
            match outcome {
                Ok(info) => {
                    *entry = Metadata::Known(Arc::new(info));
                    None
                }
                Err(reason) => {
                    let attempts = attempts + 1;
                    *entry = Metadata::Failed { attempts };
                    Some((reason, attempts))
                }
            }
        };
        if let Some((reason, attempts)) = retry {
            self.failures.fetch_add(1, Ordering::Relaxed);
            if let Some(hook) = &self.on_failure {
                hook(&FetchFailure {
                    app: key.0.clone(),
                    revision: key.1.clone(),
                    from,
                    reason,
                    attempts,
                });
            }
            self.retry_later(subscription, key, attempts);
        }
        self.try_notify(subscription);
    }

    /// Fetches `key` again after the delay its failed `attempts` call for, if it is still
    /// wanted then.
    fn retry_later(self: &Arc<Self>, subscription: &Arc<Subscription>, key: Key, attempts: u32) {
        let delay = (self.sleep)(self.retry.delay(attempts.saturating_sub(1)));
        let registry = Arc::downgrade(self);
        let subscription = Arc::downgrade(subscription);
        self.spawner.spawn(Box::pin(async move {
            delay.await;
            let (Some(registry), Some(subscription)) = (registry.upgrade(), subscription.upgrade())
            else {
                return;
            };
            if !subscription.is_active() {
                return;
            }
            let attempts = {
                let mut state = subscription.state.lock();
                match state.metadata.get_mut(&key) {
                    Some(entry) => match *entry {
                        Metadata::Failed { attempts } => {
                            *entry = Metadata::Fetching {
                                first: false,
                                attempts,
                            };
                            attempts
                        }
                        _ => return,
                    },
                    None => return,
                }
            };
            registry.fetch(&subscription, key, attempts);
        }));
    }

    /// Notifies the provider URLs of the instances whose metadata is known, unless a first
    /// fetch is under way or nothing changed since the last notification.
    fn try_notify(&self, subscription: &Arc<Subscription>) {
        let _order = subscription.notifying.lock();
        if !subscription.is_active() {
            return;
        }
        let urls = {
            let mut state = subscription.state.lock();
            let Some(instances) = &state.instances else {
                return;
            };
            let awaited = (state.metadata.values())
                .any(|m| matches!(m, Metadata::Fetching { first: true, .. }));
            if awaited {
                return;
            }
            let mut providers = Vec::new();
            for instance in instances {
                let Some(key) = key_of(instance) else {
                    continue;
                };
                if let Some(Metadata::Known(info)) = state.metadata.get(&key) {
                    providers.extend(info.provider_urls(instance));
                }
            }
            let urls =
                registry::notification(&subscription.consumer, [("providers", providers.iter())]);
            if state.notified.as_ref() == Some(&urls) {
                return;
            }
            state.notified = Some(urls.clone());
            urls
        };
        subscription.listener.notify(&urls);
    }
}

#[cfg(test)]
mod tests;
