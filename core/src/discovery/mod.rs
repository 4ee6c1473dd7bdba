//! Consumer-side discovery: [`RegistryDirectory`], a [`Directory`] kept up to date by a
//! [`Registry`] subscription, connecting to providers as they appear through a
//! [`Connector`] (Dubbo's `RegistryDirectory`; `docs/estate.md` §1.4, §1.7).
//!
//! On every notification it rebuilds its snapshot of [`Invoker`]s:
//!
//! - **providers**: only protocols the consumer asks for (its `protocol` parameter, default
//!   `dubbo`); others (`tri://`) and unusable URLs (no host or port) are skipped, counted and
//!   reported ([`RegistryDirectoryBuilder::on_skip`]). A provider `enabled=false` or
//!   `disabled=true` (after configurators) is left out.
//! - **configurators** (`override://`, `absent://`) change provider parameters (`weight`,
//!   `timeout`, `disabled=true`...), matched by host (`0.0.0.0` for all), port, and
//!   `application` as Java does; an `empty://` configurators entry clears them.
//! - **routers** are not applied (legacy `route://` rules; Dubbo 3 keeps its rules in the
//!   config centre).
//!
//! A provider still listed keeps its [`Invoker`] (the same one, if its parameters did not
//! change) and its connections; a provider gone is dropped, and its connections close once
//! the calls holding a snapshot with it are done.
//!
//! # Empty lists
//! An `empty://` providers entry is a genuine "no providers": the directory empties (Java's
//! "forbidden" state), unless [`empty_protection`](RegistryDirectoryBuilder::empty_protection)
//! is on, which keeps the last list. A notification whose providers are all unusable (every
//! one skipped) but which is *not* `empty://` keeps the last non-empty list, as Java's
//! `refreshInvoker` does when it converts a non-empty list into no invokers: a registry
//! holding only providers this consumer cannot use, or garbage, is not evidence that the
//! providers it had left. Providers that are all disabled (`disabled=true` by a
//! configurator) do empty it: unlike Java, which keeps the old list then too.
//!
//! ```
//! use std::sync::Arc;
//! use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
//! use tether_core::discovery::RegistryDirectory;
//! use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
//! use tether_core::url::Url;
//!
//! /// Slots that stay empty: an adapter's connector fills them (`tether_tokio::Connector`...).
//! struct Nowhere;
//! impl Connector for Nowhere {
//!     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
//!         Arc::new(Channels::owning(connections(provider)))
//!     }
//! }
//!
//! let registry = Arc::new(StaticRegistry::new([]));
//! let consumer = ConsumerSpec::new("demo.Greeter", "10.0.0.1").to_url(0)?;
//! let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
//!     .check(false)
//!     .build()?;
//! let route = Route::new("demo.Greeter", "greet");
//! assert!(directory.list(&route).is_empty());
//!
//! let provider = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).weight(200).to_url(0)?;
//! registry.register(&provider).wait()?;
//! let listed = directory.list(&route);
//! assert_eq!(listed[0].address(), "10.0.0.7:20880");
//! assert_eq!(listed[0].param("weight"), Some("200"));
//!
//! registry.unregister(&provider).wait()?;
//! assert!(directory.list(&route).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod configurator;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::call::{Completer, Completion, Inline, pair};
use crate::cluster::{Connector, Directory, Invoker, Invokers, Route, connections};
use crate::registry::{self, NotifyListener, Registry, RegistryError, SubscriptionId};
use crate::url::Url;

use configurator::Configurator;

/// How often a check looks whether a listed provider's connection is up (connections report
/// no event the directory could wait for).
const AVAILABLE_POLL: Duration = Duration::from_millis(5);

/// Blocks the calling thread for about `d` (the core may not call `thread::sleep`; a timed
/// wait on a condition nobody signals is the same pause).
fn pause(d: Duration) {
    let lock = Mutex::new(());
    let mut guard = lock.lock();
    let _ = parking_lot::Condvar::new().wait_for(&mut guard, d);
}

/// Why a [`RegistryDirectory`] could not be built.
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
/// # use tether_core::discovery::*;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
/// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
/// # use std::time::Duration;
/// // Nothing ever connects here, so a checked build gives up.
/// let built = RegistryDirectory::builder(registry, Arc::new(Nowhere), consumer)
///     .check_timeout(Duration::from_millis(10))
///     .build();
/// assert!(matches!(built, Err(DiscoveryError::NoProvider { .. })));
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// `check=true` and no provider was listed with a connection up in time (Dubbo's "No
    /// provider available" at reference creation).
    #[error("no provider of {service} available from {registry} within {waited:?} (check=true)")]
    NoProvider {
        /// The service key (`group/interface:version`).
        service: String,
        /// The registry, as [`Registry::name`] gives it.
        registry: String,
        /// How long it waited.
        waited: Duration,
    },
    /// The registry refused or failed the subscription.
    #[error("subscribing to {service} at {registry} failed: {error}")]
    Subscribe {
        /// The service key.
        service: String,
        /// The registry.
        registry: String,
        /// What the registry said.
        error: RegistryError,
    },
}

/// Why a notified URL was not turned into a provider.
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
/// # use tether_core::discovery::*;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
/// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
/// let tri = Url::parse("tri://10.0.0.5:50051/demo.Greeter").unwrap();
/// registry.register(&tri).wait().unwrap();
/// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
///     .check(false)
///     .on_skip(|s| assert_eq!(s.reason, SkipReason::Protocol))
///     .build()
///     .unwrap();
/// assert_eq!(directory.skipped(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SkipReason {
    /// A protocol the consumer does not call (`tri://`...).
    Protocol,
    /// No host or no port: nothing to connect to.
    NoAddress,
}

/// A notified URL that was skipped, as [`RegistryDirectoryBuilder::on_skip`] sees it.
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
/// # use tether_core::discovery::*;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
/// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
/// let url = Url::parse("dubbo://10.0.0.9/demo.Greeter").unwrap(); // no port
/// registry.register(&url).wait().unwrap();
/// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
///     .check(false)
///     .on_skip(|s: &Skipped| assert_eq!((s.url.port(), s.reason), (0, SkipReason::NoAddress)))
///     .build()
///     .unwrap();
/// assert_eq!(directory.skipped(), 1);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Skipped {
    /// The URL.
    pub url: Url,
    /// Why.
    pub reason: SkipReason,
}

/// What [`RegistryDirectoryBuilder::on_skip`] calls.
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
/// # use tether_core::discovery::*;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
/// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
/// let hook: SkipHook = Arc::new(|s: &Skipped| eprintln!("skipped {}", s.url));
/// let directory = RegistryDirectory::builder(registry, Arc::new(Nowhere), consumer)
///     .check(false)
///     .on_skip(move |s| hook(s))
///     .build()
///     .unwrap();
/// assert_eq!(directory.skipped(), 0);
/// ```
pub type SkipHook = Arc<dyn Fn(&Skipped) + Send + Sync>;

/// A [`Directory`] fed by a [`Registry`] subscription: see the [module docs](self).
///
/// [`list`](Directory::list) and [`visit`](Directory::visit) take a read lock on the current
/// snapshot and allocate nothing; notifications replace the snapshot. Dropping the
/// directory unsubscribes and drops its invokers (their connections close once no call
/// holds them).
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
/// # use tether_core::discovery::*;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
/// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
/// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
///     .check(false)
///     .build()
///     .unwrap();
/// let listed = directory.list(&Route::new("demo.Greeter", "greet"));
/// assert_eq!(listed[0].address(), "10.0.0.7:20880");
/// ```
pub struct RegistryDirectory {
    inner: Arc<Inner>,
    registry: Arc<dyn Registry>,
    subscription: SubscriptionId,
    /// The consumer URL registered under `consumers`, if asked for.
    registered: Option<Url>,
}

struct Inner {
    /// The providers calls may go to now.
    snapshot: RwLock<Invokers>,
    state: Mutex<State>,
    /// The subscription URL (`category=providers,configurators,routers`).
    consumer: Url,
    /// Protocols of providers kept.
    protocols: Vec<String>,
    connector: Arc<dyn Connector>,
    on_skip: Option<SkipHook>,
    empty_protection: bool,
    skipped: AtomicU64,
    notifications: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The last providers notified (`Some(empty)` after `empty://`), before filtering.
    providers: Option<Vec<Url>>,
    configurators: Vec<Configurator>,
    /// The invokers of the current snapshot, by address.
    by_address: HashMap<String, Invoker>,
    /// Waiting for a non-empty snapshot.
    waiters: Vec<Completer<()>>,
}

/// Builds a [`RegistryDirectory`]: [`RegistryDirectory::builder`].
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
/// # use tether_core::discovery::*;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// # struct Nowhere;
/// # impl Connector for Nowhere {
/// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
/// #         Arc::new(Channels::owning(connections(provider)))
/// #     }
/// # }
/// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
/// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
/// let builder = RegistryDirectory::builder(registry, Arc::new(Nowhere), consumer).check(false);
/// let directory = builder.build().unwrap();
/// assert_eq!(directory.notifications(), 1);
/// ```
#[must_use]
pub struct RegistryDirectoryBuilder {
    registry: Arc<dyn Registry>,
    connector: Arc<dyn Connector>,
    consumer: Url,
    check: bool,
    check_timeout: Duration,
    empty_protection: bool,
    register_consumer: bool,
    on_skip: Option<SkipHook>,
}

impl fmt::Debug for RegistryDirectoryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryDirectoryBuilder")
            .field("registry", &self.registry.name())
            .field("consumer", &self.consumer)
            .field("check", &self.check)
            .field("check_timeout", &self.check_timeout)
            .field("empty_protection", &self.empty_protection)
            .field("register_consumer", &self.register_consumer)
            .finish_non_exhaustive()
    }
}

impl RegistryDirectoryBuilder {
    /// Whether building waits for a provider (listed, and a connection to it up) and fails
    /// without one (Dubbo's `check`, default true).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// // Without the check, building returns at once even with no provider connected.
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// assert!(!directory.is_available());
    /// ```
    pub fn check(mut self, check: bool) -> Self {
        self.check = check;
        self
    }

    /// How long building waits for a provider with `check` (default 3 s).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// # use std::time::Duration;
    /// let built = RegistryDirectory::builder(registry, Arc::new(Nowhere), consumer)
    ///     .check_timeout(Duration::from_millis(10))
    ///     .build();
    /// assert!(built.is_err());
    /// ```
    pub fn check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = timeout;
        self
    }

    /// Whether an `empty://` providers notification keeps the last list instead of emptying
    /// the directory (Dubbo's `enable-empty-protection`, default false).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// use tether_core::discovery::RegistryDirectory;
    /// use tether_core::registry::{Registry, StaticRegistry};
    /// use tether_core::url::Url;
    ///
    /// struct Nowhere;
    /// impl Connector for Nowhere {
    ///     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    ///         Arc::new(Channels::owning(connections(provider)))
    ///     }
    /// }
    ///
    /// let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter")?;
    /// let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter")?;
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .empty_protection(true)
    ///     .build()?;
    /// registry.unregister(&provider).wait()?; // notified as `empty://`
    /// assert_eq!(directory.list(&Route::new("demo.Greeter", "greet")).len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn empty_protection(mut self, on: bool) -> Self {
        self.empty_protection = on;
        self
    }

    /// Whether to register the consumer URL under the `consumers` category (with
    /// `category=consumers&check=false`, as Java's `DynamicDirectory` does by default;
    /// dubbo-admin lists it, and operators read it to see who calls a service), withdrawn
    /// when the directory drops. Default true, as Java. A failed registration is not an
    /// error (a registry that keeps the URL, as the ZooKeeper one does, registers it once it
    /// can).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Connector, connections};
    /// use tether_core::discovery::RegistryDirectory;
    /// use tether_core::registry::StaticRegistry;
    /// use tether_core::url::Url;
    ///
    /// struct Nowhere;
    /// impl Connector for Nowhere {
    ///     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    ///         Arc::new(Channels::owning(connections(provider)))
    ///     }
    /// }
    ///
    /// let registry = Arc::new(StaticRegistry::new([]));
    /// let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter?side=consumer")?;
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()?;
    /// assert_eq!(
    ///     registry.urls()[0].to_string(),
    ///     "consumer://10.0.0.1/demo.Greeter?category=consumers&check=false&side=consumer"
    /// );
    /// drop(directory);
    /// assert!(registry.urls().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register_consumer(mut self, register: bool) -> Self {
        self.register_consumer = register;
        self
    }

    /// Called for each notified URL that is skipped (another protocol, no address), on the
    /// registry's notifying thread: the place to log it (tether-core logs nothing itself).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// use tether_core::discovery::{RegistryDirectory, SkipReason};
    /// use tether_core::registry::{Registry, StaticRegistry};
    /// use tether_core::url::Url;
    ///
    /// struct Nowhere;
    /// impl Connector for Nowhere {
    ///     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    ///         Arc::new(Channels::owning(connections(provider)))
    ///     }
    /// }
    ///
    /// let registry = Arc::new(StaticRegistry::new([
    ///     Url::parse("tri://10.0.0.5:50051/demo.Greeter")?,
    ///     Url::parse("dubbo://10.0.0.7:20880/demo.Greeter")?,
    /// ]));
    /// let skipped = Arc::new(Mutex::new(Vec::new()));
    /// let log = skipped.clone();
    /// let directory = RegistryDirectory::builder(registry, Arc::new(Nowhere), Url::parse("consumer://10.0.0.1/demo.Greeter")?)
    ///     .check(false)
    ///     .on_skip(move |s| log.lock().unwrap().push((s.url.protocol().to_owned(), s.reason)))
    ///     .build()?;
    /// assert_eq!(directory.list(&Route::new("demo.Greeter", "greet")).len(), 1);
    /// assert_eq!(*skipped.lock().unwrap(), [("tri".to_owned(), SkipReason::Protocol)]);
    /// assert_eq!(directory.skipped(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_skip(mut self, hook: impl Fn(&Skipped) + Send + Sync + 'static) -> Self {
        self.on_skip = Some(Arc::new(hook));
        self
    }

    /// Subscribes, and with `check` waits (blocking this thread) up to the check timeout
    /// for a provider. Do not call it on a thread that runs the registry's or the
    /// connector's IO (an async runtime's worker): use [`build_async`](Self::build_async)
    /// there.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(directory.list(&Route::new("demo.Greeter", "greet")).len(), 1);
    /// ```
    pub fn build(self) -> Result<Arc<RegistryDirectory>, DiscoveryError> {
        let (check, timeout) = (self.check, self.check_timeout);
        let (service, registry) = (self.service(), self.registry.name());
        let subscribed = match self.subscribe().wait_timeout(timeout) {
            Ok(result) => result?,
            Err(_) => {
                return Err(DiscoveryError::Subscribe {
                    service,
                    registry,
                    error: RegistryError::Unavailable(format!(
                        "no answer to the subscription within {timeout:?}"
                    )),
                });
            }
        };
        if check {
            if subscribed.listed().wait_timeout(timeout).is_err() {
                return Err(subscribed.no_provider(timeout));
            }
            // Listed: now wait for a connection to one (Java's check asks `isAvailable`, and
            // Java connects before it asks).
            let mut waited = Duration::ZERO;
            while !subscribed.is_available() {
                if waited >= timeout {
                    return Err(subscribed.no_provider(timeout));
                }
                pause(AVAILABLE_POLL);
                waited += AVAILABLE_POLL;
            }
        }
        Ok(subscribed)
    }

    /// [`build`](Self::build) for async code: `sleep(d)` is the runtime's timer
    /// (`tokio::time::sleep`, `|d| smol::Timer::after(d)`...), which bounds the waits.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tether_core::cluster::{Channels, Connector, connections};
    /// use tether_core::discovery::{DiscoveryError, RegistryDirectory};
    /// use tether_core::registry::{ConsumerSpec, StaticRegistry};
    /// use tether_core::url::Url;
    ///
    /// struct Nowhere;
    /// impl Connector for Nowhere {
    ///     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    ///         Arc::new(Channels::owning(connections(provider)))
    ///     }
    /// }
    ///
    /// let consumer = ConsumerSpec::new("demo.Greeter", "10.0.0.1").to_url(0)?;
    /// let building = RegistryDirectory::builder(Arc::new(StaticRegistry::new([])), Arc::new(Nowhere), consumer)
    ///     .check_timeout(Duration::from_secs(3))
    ///     // On tokio: `.build_async(tokio::time::sleep)`; here a timer that fires at once.
    ///     .build_async(|_| std::future::ready(()));
    /// let error = futures::executor::block_on(building).unwrap_err();
    /// assert!(matches!(error, DiscoveryError::NoProvider { .. }));
    /// assert_eq!(
    ///     error.to_string(),
    ///     "no provider of demo.Greeter available from static registry within 3s (check=true)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn build_async<S, F>(self, sleep: S) -> Result<Arc<RegistryDirectory>, DiscoveryError>
    where
        S: Fn(Duration) -> F,
        F: Future,
    {
        use futures_util::future::{Either, select};
        let (check, timeout) = (self.check, self.check_timeout);
        let (service, registry) = (self.service(), self.registry.name());
        let subscribing = self.subscribe();
        let subscribed = match select(subscribing, Box::pin(sleep(timeout))).await {
            Either::Left((result, _)) => result?,
            Either::Right(_) => {
                return Err(DiscoveryError::Subscribe {
                    service,
                    registry,
                    error: RegistryError::Unavailable(format!(
                        "no answer to the subscription within {timeout:?}"
                    )),
                });
            }
        };
        if check {
            if let Either::Right(_) = select(subscribed.listed(), Box::pin(sleep(timeout))).await {
                return Err(subscribed.no_provider(timeout));
            }
            let mut waited = Duration::ZERO;
            while !subscribed.is_available() {
                if waited >= timeout {
                    return Err(subscribed.no_provider(timeout));
                }
                sleep(AVAILABLE_POLL).await;
                waited += AVAILABLE_POLL;
            }
        }
        Ok(subscribed)
    }

    /// Subscribes without waiting for a provider (whatever `check` says): resolves once the
    /// registry accepted the subscription.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let subscribing = RegistryDirectory::builder(registry, Arc::new(Nowhere), consumer).subscribe();
    /// let directory = subscribing.wait().unwrap();
    /// assert_eq!(directory.list(&Route::new("demo.Greeter", "greet")).len(), 1);
    /// ```
    pub fn subscribe(self) -> Completion<Result<Arc<RegistryDirectory>, DiscoveryError>> {
        let service = self.service();
        let consumer = registry::subscription_url(&self.consumer);
        let protocols = match consumer.list_param("protocol") {
            listed if listed.is_empty() => vec!["dubbo".to_owned()],
            listed => listed.into_iter().map(str::to_owned).collect(),
        };
        let inner = Arc::new(Inner {
            snapshot: RwLock::new(Arc::new([])),
            state: Mutex::new(State::default()),
            consumer: consumer.clone(),
            protocols,
            connector: self.connector,
            on_skip: self.on_skip,
            empty_protection: self.empty_protection,
            skipped: AtomicU64::new(0),
            notifications: AtomicU64::new(0),
        });
        let listener = Arc::new(Listener(Arc::downgrade(&inner)));
        let registry = self.registry;
        let name = registry.name();
        let registered = self
            .register_consumer
            .then(|| {
                self.consumer
                    .clone()
                    .into_builder()
                    .param("category", "consumers")
                    .param("check", "false")
                    .build()
                    .ok()
            })
            .flatten();
        let subscribing = registry.subscribe(&consumer, listener);
        subscribing.map(
            move |result| match result {
                Ok(subscription) => {
                    if let Some(url) = &registered {
                        // Not waited for: see `register_consumer`.
                        drop(registry.register(url));
                    }
                    Ok(Arc::new(RegistryDirectory {
                        inner,
                        registry,
                        subscription,
                        registered,
                    }))
                }
                Err(error) => Err(DiscoveryError::Subscribe {
                    service,
                    registry: name,
                    error,
                }),
            },
            || {
                Err(DiscoveryError::Subscribe {
                    service: String::new(),
                    registry: String::new(),
                    error: RegistryError::Closed,
                })
            },
        )
    }

    fn service(&self) -> String {
        self.consumer
            .service_key()
            .unwrap_or_else(|| self.consumer.interface().to_owned())
    }
}

impl RegistryDirectory {
    /// A directory of the providers of the service `consumer` names (interface, `group`,
    /// `version`; `protocol` if not `dubbo`), as `registry` lists them, connected through
    /// `connector`. The subscription asks for `consumer`'s `category` list, by default
    /// providers, configurators and routers.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(directory.consumer().interface(), "demo.Greeter");
    /// ```
    pub fn builder(
        registry: Arc<dyn Registry>,
        connector: Arc<dyn Connector>,
        consumer: Url,
    ) -> RegistryDirectoryBuilder {
        RegistryDirectoryBuilder {
            registry,
            connector,
            consumer,
            check: true,
            check_timeout: Duration::from_secs(3),
            empty_protection: false,
            register_consumer: true,
            on_skip: None,
        }
    }

    /// Whether a call could go to a listed provider now: one has a connection available
    /// (Java's `Directory.isAvailable`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// // Listed, but this connector never opens a connection.
    /// assert!(!directory.is_available());
    /// ```
    pub fn is_available(&self) -> bool {
        self.inner.snapshot.read().iter().any(Invoker::is_available)
    }

    /// Resolves once at least one provider is listed (at once if one is); its connections
    /// may still be coming up ([`is_available`](Self::is_available)).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// directory.listed().wait(); // ready: a provider is listed
    /// ```
    pub fn listed(&self) -> Completion<()> {
        let mut state = self.inner.state.lock();
        if !self.inner.snapshot.read().is_empty() {
            return Completion::ready(());
        }
        let (completer, completion) = pair(|| ());
        state.waiters.push(completer);
        completion
    }

    /// The notified URLs skipped so far (another protocol, no address).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(directory.skipped(), 0);
    /// ```
    pub fn skipped(&self) -> u64 {
        self.inner.skipped.load(Ordering::Relaxed)
    }

    /// The notifications handled so far.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// registry.unregister(&provider).wait().unwrap();
    /// assert_eq!(directory.notifications(), 2);
    /// ```
    pub fn notifications(&self) -> u64 {
        self.inner.notifications.load(Ordering::Relaxed)
    }

    /// The subscription URL.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::cluster::{Channels, Connector, Directory, Route, connections};
    /// # use tether_core::discovery::*;
    /// # use tether_core::registry::{Registry, StaticRegistry};
    /// # use tether_core::url::Url;
    /// # struct Nowhere;
    /// # impl Connector for Nowhere {
    /// #     fn channels(&self, _: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// # let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// # let registry = Arc::new(StaticRegistry::new([provider.clone()]));
    /// # let consumer = Url::parse("consumer://10.0.0.1/demo.Greeter").unwrap();
    /// let directory = RegistryDirectory::builder(registry.clone(), Arc::new(Nowhere), consumer)
    ///     .check(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(directory.consumer().category(), "providers,configurators,routers");
    /// ```
    pub fn consumer(&self) -> &Url {
        &self.inner.consumer
    }

    fn no_provider(&self, waited: Duration) -> DiscoveryError {
        DiscoveryError::NoProvider {
            service: self
                .inner
                .consumer
                .service_key()
                .unwrap_or_else(|| self.inner.consumer.interface().to_owned()),
            registry: self.registry.name(),
            waited,
        }
    }
}

impl Directory for RegistryDirectory {
    fn list(&self, _: &Route<'_>) -> Invokers {
        self.inner.snapshot.read().clone()
    }

    fn visit(&self, _: &Route<'_>, visit: &mut dyn FnMut(&Invokers)) {
        visit(&self.inner.snapshot.read());
    }
}

impl Drop for RegistryDirectory {
    fn drop(&mut self) {
        // The registry stops notifying once this completes; a late notification finds the
        // directory gone (the listener holds it weakly) and is ignored.
        drop(self.registry.unsubscribe(self.subscription));
        if let Some(url) = &self.registered {
            drop(self.registry.unregister(url));
        }
    }
}

impl fmt::Debug for RegistryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed: Vec<String> = self
            .inner
            .snapshot
            .read()
            .iter()
            .map(|i| i.address().to_owned())
            .collect();
        f.debug_struct("RegistryDirectory")
            .field("consumer", &self.inner.consumer)
            .field("registry", &self.registry.name())
            .field("listed", &listed)
            .finish_non_exhaustive()
    }
}

/// The subscription's listener: holds the directory weakly, so that dropping the directory
/// is not kept from happening by the registry.
struct Listener(Weak<Inner>);

impl NotifyListener for Listener {
    fn notify(&self, urls: &[Url]) {
        if let Some(inner) = self.0.upgrade() {
            inner.handle_notify(urls);
        }
    }
}

/// The category a notified URL belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Category {
    Providers,
    Configurators,
    Routers,
    Other,
}

fn category(url: &Url) -> Category {
    match url.protocol() {
        "override" | "absent" => return Category::Configurators,
        "route" => return Category::Routers,
        _ => {}
    }
    match url.category() {
        "providers" => Category::Providers,
        "configurators" => Category::Configurators,
        "routers" => Category::Routers,
        _ => Category::Other,
    }
}

impl Inner {
    fn handle_notify(&self, urls: &[Url]) {
        self.notifications.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state.lock();
        // A category absent from a notification keeps its last list (registries that notify
        // one category at a time, as Java's ZooKeeper registry does).
        let mut providers: Option<Vec<Url>> = None;
        let mut rules: Option<Vec<&Url>> = None;
        for url in urls {
            match category(url) {
                Category::Providers => {
                    let list = providers.get_or_insert_with(Vec::new);
                    if url.protocol() != registry::EMPTY_PROTOCOL {
                        list.push(url.clone());
                    }
                }
                Category::Configurators => rules.get_or_insert_with(Vec::new).push(url),
                Category::Routers | Category::Other => {}
            }
        }
        if let Some(rules) = rules {
            state.configurators = configurator::configurators(rules);
        }
        if let Some(providers) = providers {
            state.providers = Some(providers);
        }
        let waiters = self.refresh(&mut state);
        drop(state);
        // Completed outside the lock: a continuation may call back into the directory.
        for waiter in waiters {
            waiter.complete((), &Inline);
        }
    }

    /// Rebuilds the snapshot from the last providers and configurators; returns the
    /// waiters to wake.
    fn refresh(&self, state: &mut State) -> Vec<Completer<()>> {
        let Some(providers) = &state.providers else {
            return Vec::new();
        };
        let genuine_empty = providers.is_empty();
        if genuine_empty && self.empty_protection && !state.by_address.is_empty() {
            return Vec::new();
        }
        let mut next: Vec<Invoker> = Vec::with_capacity(providers.len());
        let mut by_address: HashMap<String, Invoker> = HashMap::with_capacity(providers.len());
        let mut usable = 0;
        for url in providers {
            if !self.protocols.iter().any(|p| p == url.protocol()) {
                self.skip(url, SkipReason::Protocol);
                continue;
            }
            if url.host().is_empty() || url.port() == 0 {
                self.skip(url, SkipReason::NoAddress);
                continue;
            }
            usable += 1;
            let params = configurator::configure(&state.configurators, url, &self.consumer);
            if !configurator::is_enabled(&params) {
                continue;
            }
            let address = url.address();
            if by_address.contains_key(&address) {
                // Listed twice (two groups served on one port): one invoker per address.
                continue;
            }
            let invoker = self.invoker(state.by_address.get(&address), &address, url, params);
            by_address.insert(address, invoker.clone());
            next.push(invoker);
        }
        if usable == 0 && !genuine_empty {
            // Nothing usable, but not `empty://` either: keep what we had (module docs).
            return Vec::new();
        }
        *self.snapshot.write() = next.into();
        // The invokers no longer listed drop here, or with the last snapshot holding them.
        state.by_address = by_address;
        if state.by_address.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut state.waiters)
        }
    }

    /// The invoker for the provider at `address`: `old` if its parameters are unchanged, a
    /// new one on `old`'s connections if only they changed (but not `connections`), else
    /// one on new connections.
    fn invoker(
        &self,
        old: Option<&Invoker>,
        address: &str,
        url: &Url,
        params: Vec<(String, String)>,
    ) -> Invoker {
        if let Some(old) = old {
            if old
                .params()
                .eq(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            {
                return old.clone();
            }
        }
        let configured = url
            .clone()
            .into_builder()
            .params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .build()
            .unwrap_or_else(|_| url.clone());
        let channels = match old {
            Some(old) if old.channels().len() == connections(&configured).get() => {
                old.channels().clone()
            }
            _ => self.connector.channels(address, &configured),
        };
        Invoker::new(address, channels).with_params(params)
    }

    fn skip(&self, url: &Url, reason: SkipReason) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = &self.on_skip {
            hook(&Skipped {
                url: url.clone(),
                reason,
            });
        }
    }
}

#[cfg(test)]
mod tests;
