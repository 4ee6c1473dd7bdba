//! Registries: where providers announce themselves and consumers find them (Dubbo's
//! `RegistryService`). A [`Registry`] registers and unregisters [`Url`]s, and notifies
//! subscribers of the full list of URLs matching their consumer URL each time it changes.
//!
//! This module holds what every registry shares and does no IO: the trait, its errors, the
//! notification rules ([`notification`]: Java's `UrlUtils.isMatch` filter per category,
//! `empty://` for an empty category), the URLs a tether provider and consumer publish
//! ([`ProviderSpec`], [`ConsumerSpec`]), and [`StaticRegistry`], an in-memory registry
//! over a list of URLs. `tether-registry-zookeeper` is a registry over ZooKeeper.
//!
//! # Why completions
//! Registry operations are IO on some runtime (ZooKeeper's client, an HTTP client...), and
//! their callers are on any runtime or none: the thread-pool adapter's users have no async
//! runtime at all. Every operation therefore returns a [`Completion`], the handle the core
//! already gives for calls: `.await` it on tokio or smol, [`wait`](Completion::wait) on a
//! plain thread. It keeps the trait object-safe (`Arc<dyn Registry>`) without boxing a
//! future per call or naming a runtime.
//!
//! # Notify semantics (Dubbo's)
//! A listener gets, on subscription and after every change, **every** URL of the subscribed
//! categories that matches the consumer URL: never a delta. A category with no match is
//! carried as one `empty://` URL with `category=<that category>`, so that a listener can
//! tell "no providers" from "providers not asked for". Notifications for one subscription
//! are delivered one at a time, in order.
//!
//! ```
//! use std::sync::Arc;
//! use parking_lot::Mutex;
//! use tether_core::registry::{Registry, StaticRegistry};
//! use tether_core::url::Url;
//!
//! let registry = StaticRegistry::new([]);
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! // Providers only (the default is providers, configurators and routers).
//! let consumer =
//!     Url::parse("consumer://10.0.0.1/demo.Greeter?category=providers&version=1.0.0").unwrap();
//! let sink = seen.clone();
//! registry
//!     .subscribe(&consumer, Arc::new(move |urls: &[Url]| sink.lock().push(urls.to_vec())))
//!     .wait()
//!     .unwrap();
//! let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?version=1.0.0").unwrap();
//! registry.register(&provider).wait().unwrap();
//!
//! let seen = seen.lock();
//! assert_eq!(seen[0][0].protocol(), "empty"); // nothing yet
//! assert_eq!(seen[1], [provider]);
//! ```

use std::fmt;
use std::sync::Arc;

use parking_lot::{Mutex, ReentrantMutex};

use crate::call::Completion;
use crate::url::{Url, UrlError};

/// The categories a consumer subscribes to by default (`RegistryConstants.ALL_CATEGORIES`
/// minus the consumers themselves): providers, dynamic configuration (`override://`), and
/// routing rules.
pub const CONSUMER_CATEGORIES: [&str; 3] = ["providers", "configurators", "routers"];

/// The protocol of the placeholder URL that stands for an empty category.
pub const EMPTY_PROTOCOL: &str = "empty";

/// The Dubbo protocol version tether speaks (`dubbo=` in registered URLs).
pub const DUBBO_VERSION: &str = "2.0.2";

/// How a provider registers (Dubbo's `register-mode`, `docs/estate.md` §1.6).
///
/// ```
/// # use tether_core::registry::RegisterMode;
/// let mode = RegisterMode::default();
/// assert_eq!(mode, RegisterMode::All);
/// assert!(mode.is_interface() && mode.is_instance());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegisterMode {
    /// Interface level only: a URL under `/<root>/<interface>/providers` (Dubbo 2.x).
    /// A Java 3 consumer with default settings ignores such a provider once any other
    /// provider of the interface registers at application level.
    Interface,
    /// Application level only: an instance under `/services/<app>`, the interface mapped to
    /// the application, and the metadata service answering for its revision. Dubbo 2.x
    /// consumers do not see it.
    Instance,
    /// Both (Java 3's default): every Dubbo 2 and Dubbo 3 consumer finds the provider.
    #[default]
    All,
}

impl RegisterMode {
    /// Registers provider URLs at interface level.
    ///
    /// ```
    /// # use tether_core::registry::RegisterMode;
    /// assert!(RegisterMode::Interface.is_interface());
    /// assert!(!RegisterMode::Instance.is_interface());
    /// ```
    pub fn is_interface(self) -> bool {
        matches!(self, Self::Interface | Self::All)
    }

    /// Registers an application instance.
    ///
    /// ```
    /// # use tether_core::registry::RegisterMode;
    /// assert!(RegisterMode::Instance.is_instance());
    /// assert!(!RegisterMode::Interface.is_instance());
    /// ```
    pub fn is_instance(self) -> bool {
        matches!(self, Self::Instance | Self::All)
    }

    /// The mode a `register-mode` parameter names (`interface`, `instance`, `all`).
    ///
    /// ```
    /// # use tether_core::registry::RegisterMode;
    /// assert_eq!(RegisterMode::from_param("instance"), Some(RegisterMode::Instance));
    /// assert_eq!(RegisterMode::from_param("both"), None);
    /// ```
    pub fn from_param(value: &str) -> Option<Self> {
        match value {
            "interface" => Some(Self::Interface),
            "instance" => Some(Self::Instance),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

/// Why a registry operation failed.
///
/// ```
/// # use tether_core::registry::RegistryError;
/// let err = RegistryError::Unavailable("session expired".into());
/// assert_eq!(err.to_string(), "registry unavailable: session expired");
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry cannot be reached now (no connection, session lost); the operation may
    /// succeed later.
    #[error("registry unavailable: {0}")]
    Unavailable(String),
    /// The registry refused the operation (no permission, invalid name...).
    #[error("registry refused the operation: {0}")]
    Refused(String),
    /// The URL cannot be registered or subscribed as given.
    #[error("invalid url: {0}")]
    InvalidUrl(#[from] UrlError),
    /// The registry was closed (or dropped the operation).
    #[error("registry closed")]
    Closed,
}

/// What every registry operation returns.
///
/// ```
/// # use tether_core::registry::{RegistryError, RegistryResult};
/// let result: RegistryResult<()> = Err(RegistryError::Closed);
/// assert_eq!(result.unwrap_err().to_string(), "registry closed");
/// ```
pub type RegistryResult<T> = Result<T, RegistryError>;

/// A subscription, as [`Registry::subscribe`] returned it. Allocated by the registry, never
/// reused by it.
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::registry::{Registry, StaticRegistry};
/// # use tether_core::url::Url;
/// let registry = StaticRegistry::new([]);
/// let consumer = Url::parse("consumer://h/demo.Greeter").unwrap();
/// let id = registry.subscribe(&consumer, Arc::new(|_: &[Url]| {})).wait().unwrap();
/// registry.unsubscribe(id).wait().unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SubscriptionId(pub u64);

/// Receives a subscription's notifications (Dubbo's `NotifyListener`).
///
/// ```
/// # use std::sync::Arc;
/// # use tether_core::registry::NotifyListener;
/// # use tether_core::url::Url;
/// // Any `Fn(&[Url])` closure is a listener.
/// let listener: Arc<dyn NotifyListener> = Arc::new(|urls: &[Url]| println!("{} urls", urls.len()));
/// listener.notify(&[]);
/// ```
pub trait NotifyListener: Send + Sync + 'static {
    /// Every URL of the subscribed categories that matches the consumer URL, an `empty://`
    /// URL standing for each category without one (see the [module docs](self)). Called
    /// one call at a time per subscription, in the order of the changes; do not block in it.
    /// It may call back into the registry (unsubscribe, register...) from the same thread:
    /// the order is kept by a lock that thread may take again.
    fn notify(&self, urls: &[Url]);
}

impl<F: Fn(&[Url]) + Send + Sync + 'static> NotifyListener for F {
    fn notify(&self, urls: &[Url]) {
        self(urls)
    }
}

/// A registry (Dubbo's `RegistryService`): see the [module docs](self).
///
/// Object-safe: hold one as `Arc<dyn Registry>`.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
/// use tether_core::url::Url;
///
/// let registry: Arc<dyn Registry> = Arc::new(StaticRegistry::new([]));
/// let consumer = ConsumerSpec::new("org.example.Greeter", "10.0.0.9").to_url(0)?;
/// let provider = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880)
///     .methods(["greet"])
///     .to_url(0)?;
///
/// // Told the current providers at once, then after every change.
/// let heard = Arc::new(Mutex::new(Vec::new()));
/// let log = heard.clone();
/// let listener = move |urls: &[Url]| log.lock().unwrap().push(urls.to_vec());
/// registry.subscribe(&consumer, Arc::new(listener)).wait()?;
/// registry.register(&provider).wait()?;
///
/// assert_eq!(registry.lookup(&consumer).wait()?, [provider.clone()]);
/// // Notifications add an `empty://` URL for each category with nothing in it.
/// let last = heard.lock().unwrap().last().cloned().unwrap();
/// assert!(last.contains(&provider));
/// assert!(last.iter().all(|url| *url == provider || url.protocol() == "empty"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Registry: Send + Sync + 'static {
    /// Publishes `url` under its interface and category (`category`, default `providers`)
    /// until [`unregister`](Self::unregister)ed or the registry closes. Registering a URL
    /// again replaces it.
    fn register(&self, url: &Url) -> Completion<RegistryResult<()>>;

    /// Withdraws a URL [`register`](Self::register)ed before (by its printed form).
    fn unregister(&self, url: &Url) -> Completion<RegistryResult<()>>;

    /// Follows the URLs matching `consumer` in the categories it names (`category`, a comma
    /// list; default [`CONSUMER_CATEGORIES`]): `listener` is notified once with the current
    /// list, then after every change.
    fn subscribe(
        &self,
        consumer: &Url,
        listener: Arc<dyn NotifyListener>,
    ) -> Completion<RegistryResult<SubscriptionId>>;

    /// Ends a subscription: its listener is not notified after this completes.
    fn unsubscribe(&self, id: SubscriptionId) -> Completion<RegistryResult<()>>;

    /// The URLs matching `consumer` now, in its categories, without `empty://` placeholders.
    fn lookup(&self, consumer: &Url) -> Completion<RegistryResult<Vec<Url>>>;

    /// What to call the registry in messages (`zookeeper://10.0.0.5:2181`...); by default
    /// `registry`.
    fn name(&self) -> String {
        "registry".to_owned()
    }
}

/// A provider's URLs in a registry, with Dubbo's run-time `online` / `offline` (the QoS
/// commands that take a provider out of its consumers' lists without stopping it).
///
/// A graceful shutdown goes [`offline`](Self::offline) first, waits for consumers to hear
/// it, then shuts the server down (read-only event, drain, close): the adapters' servers do
/// it in one call (`shutdown_offline`). Dropping a publication does not withdraw its URLs
/// (ephemeral nodes vanish with the registry's session anyway).
///
/// ```
/// use std::sync::Arc;
/// use tether_core::registry::{ProviderSpec, Publication, Registry, StaticRegistry};
///
/// let registry = Arc::new(StaticRegistry::new([]));
/// let url = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(0)?;
/// let publication = Publication::new(registry.clone(), [url.clone()]);
/// publication.online().wait()?;
/// assert!(publication.is_online());
/// assert_eq!(registry.urls(), [url]);
///
/// publication.offline().wait()?;
/// assert!(registry.urls().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Publication {
    registry: Arc<dyn Registry>,
    urls: Vec<Url>,
    also: Vec<Arc<dyn Announcement>>,
    online: Mutex<bool>,
}

/// Something a [`Publication`] puts online and takes offline besides its URLs: an
/// application instance, for providers registered at application level too
/// (`tether_registry_zookeeper::ZookeeperRegistry::publication` adds one).
///
/// ```
/// use std::sync::Arc;
/// use tether_core::registry::{Announcement, Publication, RegistryResult, StaticRegistry, ready};
/// use tether_core::Completion;
///
/// struct Banner;
/// impl Announcement for Banner {
///     fn announce(&self) -> Completion<RegistryResult<()>> { ready(Ok(())) }
///     fn withdraw(&self) -> Completion<RegistryResult<()>> { ready(Ok(())) }
///     fn describe(&self) -> String { "a banner".into() }
/// }
///
/// let publication = Publication::new(Arc::new(StaticRegistry::new([])), []).with(Arc::new(Banner));
/// publication.online().wait()?;
/// # Ok::<(), tether_core::registry::RegistryError>(())
/// ```
pub trait Announcement: Send + Sync + 'static {
    /// Makes it known (registers it).
    fn announce(&self) -> Completion<RegistryResult<()>>;
    /// Withdraws it.
    fn withdraw(&self) -> Completion<RegistryResult<()>>;
    /// What it is, for `Debug`.
    fn describe(&self) -> String;
}

impl Publication {
    /// `urls` to publish in `registry`, not published yet.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    /// # let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(0).unwrap();
    /// let publication = Publication::new(Arc::new(StaticRegistry::new([])), [url]);
    /// assert!(!publication.is_online());
    /// ```
    pub fn new(registry: Arc<dyn Registry>, urls: impl IntoIterator<Item = Url>) -> Self {
        Self {
            registry,
            urls: urls.into_iter().collect(),
            also: Vec::new(),
            online: Mutex::new(false),
        }
    }

    /// Also announces `announcement` when put online, and withdraws it when put offline.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{Announcement, Publication, RegistryResult, StaticRegistry, ready};
    /// # use tether_core::Completion;
    /// # struct Banner;
    /// # impl Announcement for Banner {
    /// #     fn announce(&self) -> Completion<RegistryResult<()>> { ready(Ok(())) }
    /// #     fn withdraw(&self) -> Completion<RegistryResult<()>> { ready(Ok(())) }
    /// #     fn describe(&self) -> String { "a banner".into() }
    /// # }
    /// let publication = Publication::new(Arc::new(StaticRegistry::new([])), []).with(Arc::new(Banner));
    /// assert!(format!("{publication:?}").contains("a banner"));
    /// ```
    #[must_use]
    pub fn with(mut self, announcement: Arc<dyn Announcement>) -> Self {
        self.also.push(announcement);
        self
    }

    /// Registers every URL; resolves once each registration has (with the first error, if
    /// any: a registry that is down keeps retrying in the background, as Java's failback
    /// registry does).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    /// # let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(0).unwrap();
    /// let registry = Arc::new(StaticRegistry::new([]));
    /// let publication = Publication::new(registry.clone(), [url.clone()]);
    /// publication.online().wait().unwrap();
    /// assert_eq!(registry.urls(), [url]);
    /// ```
    pub fn online(&self) -> Completion<RegistryResult<()>> {
        *self.online.lock() = true;
        let mut pending: Vec<_> = (self.urls.iter())
            .map(|url| self.registry.register(url))
            .collect();
        pending.extend(self.also.iter().map(|a| a.announce()));
        all(pending)
    }

    /// Unregisters every URL: consumers stop sending new calls once they are notified, and
    /// the provider keeps serving the calls they still send meanwhile.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    /// # let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(0).unwrap();
    /// let registry = Arc::new(StaticRegistry::new([url.clone()]));
    /// let publication = Publication::new(registry.clone(), [url]);
    /// publication.offline().wait().unwrap();
    /// assert!(registry.urls().is_empty());
    /// ```
    pub fn offline(&self) -> Completion<RegistryResult<()>> {
        *self.online.lock() = false;
        let mut pending: Vec<_> = (self.urls.iter())
            .map(|url| self.registry.unregister(url))
            .collect();
        pending.extend(self.also.iter().map(|a| a.withdraw()));
        all(pending)
    }

    /// Whether it was last put [`online`](Self::online).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    /// # let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(0).unwrap();
    /// let publication = Publication::new(Arc::new(StaticRegistry::new([])), [url]);
    /// publication.online().wait().unwrap();
    /// assert!(publication.is_online());
    /// ```
    pub fn is_online(&self) -> bool {
        *self.online.lock()
    }

    /// The URLs it publishes.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    /// # let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(0).unwrap();
    /// let publication = Publication::new(Arc::new(StaticRegistry::new([])), [url.clone()]);
    /// assert_eq!(publication.urls(), [url]);
    /// ```
    pub fn urls(&self) -> &[Url] {
        &self.urls
    }

    /// The registry it publishes in.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tether_core::registry::{ProviderSpec, Publication, StaticRegistry};
    /// # let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(0).unwrap();
    /// let publication = Publication::new(Arc::new(StaticRegistry::new([])), [url]);
    /// assert_eq!(publication.registry().name(), "static registry");
    /// ```
    pub fn registry(&self) -> &Arc<dyn Registry> {
        &self.registry
    }
}

/// Resolves once every one of `pending` has, with the first error.
fn all(pending: Vec<Completion<RegistryResult<()>>>) -> Completion<RegistryResult<()>> {
    struct Join {
        pending: usize,
        first_error: Option<RegistryError>,
        done: Option<crate::call::Completer<RegistryResult<()>>>,
    }
    if pending.is_empty() {
        return ready(Ok(()));
    }
    let (done, completion) = crate::call::pair(closed);
    let join = Arc::new(Mutex::new(Join {
        pending: pending.len(),
        first_error: None,
        done: Some(done),
    }));
    for each in pending {
        let join = join.clone();
        each.on_complete(move |result| {
            let mut state = join.lock();
            state.pending -= 1;
            if let Err(e) = result {
                state.first_error.get_or_insert(e);
            }
            if state.pending == 0 {
                let outcome = state.first_error.take().map_or(Ok(()), Err);
                if let Some(done) = state.done.take() {
                    drop(state);
                    done.complete(outcome, &crate::call::Inline);
                }
            }
        });
    }
    completion
}

impl fmt::Debug for Publication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publication")
            .field("registry", &self.registry.name())
            .field("urls", &self.urls)
            .field(
                "also",
                &self.also.iter().map(|a| a.describe()).collect::<Vec<_>>(),
            )
            .field("online", &self.is_online())
            .finish()
    }
}

/// A completion that is ready with `value`.
///
/// ```
/// # use tether_core::registry::ready;
/// assert_eq!(ready(Ok(7)).wait(), Ok(7));
/// ```
pub fn ready<T: Send + 'static>(value: RegistryResult<T>) -> Completion<RegistryResult<T>> {
    Completion::ready(value)
}

/// What an abandoned registry completion resolves to.
///
/// ```
/// # use tether_core::registry::{closed, RegistryError};
/// assert_eq!(closed::<()>(), Err(RegistryError::Closed));
/// ```
pub fn closed<T>() -> RegistryResult<T> {
    Err(RegistryError::Closed)
}

/// The categories `consumer` subscribes to: its `category` parameter, or
/// [`CONSUMER_CATEGORIES`].
///
/// ```
/// # use tether_core::registry::categories;
/// # use tether_core::url::Url;
/// let url = Url::parse("consumer://h/demo.Greeter").unwrap();
/// assert_eq!(categories(&url), ["providers", "configurators", "routers"]);
/// ```
pub fn categories(consumer: &Url) -> Vec<&str> {
    let listed = consumer.list_param("category");
    if listed.is_empty() {
        CONSUMER_CATEGORIES.to_vec()
    } else {
        listed
    }
}

/// `consumer` as a subscription URL: with `category` set to its [`categories`] (Java's
/// `RegistryProtocol.toSubscribeUrl`), which [`Url::is_match`] compares entries against.
///
/// ```
/// # use tether_core::registry::subscription_url;
/// # use tether_core::url::Url;
/// let url = Url::parse("consumer://h/demo.Greeter?category=providers,routers").unwrap();
/// assert_eq!(subscription_url(&url).category(), "providers,routers");
/// ```
pub fn subscription_url(consumer: &Url) -> Url {
    let categories = categories(consumer).join(",");
    consumer
        .clone()
        .into_builder()
        .param("category", categories)
        .build()
        .unwrap_or_else(|_| consumer.clone())
}

/// The placeholder for an empty `category` of a subscription (Java's
/// `CacheableFailbackRegistry.toUrlsWithEmpty`): `consumer` with protocol `empty` and
/// `category=<category>`.
///
/// ```
/// # use tether_core::registry::empty_url;
/// # use tether_core::url::Url;
/// let consumer = Url::parse("consumer://h/demo.Greeter").unwrap();
/// let empty = empty_url(&consumer, "routers");
/// assert_eq!(empty.to_string(), "empty://h/demo.Greeter?category=routers");
/// ```
pub fn empty_url(consumer: &Url, category: &str) -> Url {
    consumer
        .clone()
        .into_builder()
        .protocol(EMPTY_PROTOCOL)
        .param("category", category)
        .build()
        // Changing the protocol and one parameter of a valid URL keeps it valid.
        .unwrap_or_else(|_| consumer.clone())
}

/// What a subscriber of `consumer` is notified of, given each subscribed category's entries:
/// per category in the order given, the entries that [`Url::is_match`] the subscription
/// URL (an `empty://` placeholder for a category with none), skipping `empty://` entries.
///
/// ```
/// # use tether_core::registry::notification;
/// # use tether_core::url::Url;
/// let consumer = Url::parse("consumer://h/demo.Greeter").unwrap();
/// let provider = Url::parse("dubbo://p:1/demo.Greeter").unwrap();
/// let urls = notification(&consumer, [("providers", vec![&provider]), ("routers", vec![])]);
/// assert_eq!((urls[0].protocol(), urls[1].protocol()), ("dubbo", "empty"));
/// ```
pub fn notification<'a, I, U>(consumer: &Url, lists: I) -> Vec<Url>
where
    I: IntoIterator<Item = (&'a str, U)>,
    U: IntoIterator<Item = &'a Url>,
{
    let subscription = subscription_url(consumer);
    let mut out = Vec::new();
    for (category, urls) in lists {
        let before = out.len();
        out.extend(
            urls.into_iter()
                .filter(|url| url.protocol() != EMPTY_PROTOCOL)
                .filter(|url| Url::is_match(&subscription, url))
                .cloned(),
        );
        if out.len() == before {
            out.push(empty_url(consumer, category));
        }
    }
    out
}

/// The URL a tether provider publishes for one service: the parameters a Java Dubbo 3.3
/// provider registers with (`docs/estate.md` §1.2, §1.7; `revision` = the version, as Java does
/// for an interface jar without one), sorted as Java prints them, with Hessian 2 as the only
/// serialization it advertises.
///
/// ```
/// use tether_core::registry::ProviderSpec;
///
/// let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880)
///     .application("greeter")
///     .methods(["sayHello", "addListener"])
///     .version("1.0.0")
///     .callback("addListener", 1)
///     .to_url(1_739_454_081_130)
///     .unwrap();
/// assert_eq!(
///     url.to_string(),
///     "dubbo://10.0.0.7:20880/demo.Greeter?addListener.1.callback=true&application=greeter\
///      &deprecated=false&dubbo=2.0.2&dynamic=true&generic=false&interface=demo.Greeter\
///      &methods=addListener,sayHello&prefer.serialization=hessian2&release=tether-0.1.0\
///      &revision=1.0.0&serialization=hessian2&side=provider&timestamp=1739454081130\
///      &version=1.0.0"
/// );
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProviderSpec {
    /// The Java interface name (also the URL path).
    pub interface: String,
    /// The address consumers connect to.
    pub host: String,
    /// The port consumers connect to.
    pub port: u16,
    /// `application`: the provider application's name.
    pub application: String,
    /// `methods`: the service's method names (printed sorted and deduplicated).
    pub methods: Vec<String>,
    /// `version`, if the service has one.
    pub version: Option<String>,
    /// `group`, if the service has one.
    pub group: Option<String>,
    /// `weight`, if not the default.
    pub weight: Option<i32>,
    /// `timeout` in milliseconds, if the provider suggests one to its consumers.
    pub timeout_ms: Option<u64>,
    /// `<method>.<index>.callback=true` for each parameter callback argument.
    pub callbacks: Vec<(String, usize)>,
    /// `release`: the framework's version.
    pub release: String,
}

impl ProviderSpec {
    /// A provider of `interface` at `host:port`, application `tether`, no methods listed.
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let spec = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880);
    /// assert_eq!(spec.application, "tether");
    /// ```
    pub fn new(interface: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Self {
            interface: interface.into(),
            host: host.into(),
            port,
            application: "tether".into(),
            methods: Vec::new(),
            version: None,
            group: None,
            weight: None,
            timeout_ms: None,
            callbacks: Vec::new(),
            release: release(),
        }
    }

    /// Sets [`application`](Self::application).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).application("greeter").to_url(1).unwrap();
    /// assert_eq!(url.application(), Some("greeter"));
    /// ```
    pub fn application(mut self, application: impl Into<String>) -> Self {
        self.application = application.into();
        self
    }

    /// Sets [`methods`](Self::methods).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).methods(["b", "a", "b"]).to_url(1).unwrap();
    /// assert_eq!(url.methods(), ["a", "b"]);
    /// ```
    pub fn methods<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        self.methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`version`](Self::version).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).version("1.0.0").to_url(1).unwrap();
    /// assert_eq!(url.version(), Some("1.0.0"));
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets [`group`](Self::group).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).group("blue").to_url(1).unwrap();
    /// assert_eq!(url.service_key().as_deref(), Some("blue/demo.Greeter"));
    /// ```
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Sets [`weight`](Self::weight).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).weight(50).to_url(1).unwrap();
    /// assert_eq!(url.weight(), Ok(50));
    /// ```
    pub fn weight(mut self, weight: i32) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Sets [`timeout_ms`](Self::timeout_ms).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// # use std::time::Duration;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).timeout_ms(300).to_url(1).unwrap();
    /// assert_eq!(url.timeout(), Ok(Duration::from_millis(300)));
    /// ```
    pub fn timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.timeout_ms = Some(timeout_ms);
        self
    }

    /// Adds a parameter callback: argument `index` of `method`.
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).callback("addListener", 1).to_url(1).unwrap();
    /// assert!(url.method("addListener").bool_param("1.callback", false));
    /// ```
    pub fn callback(mut self, method: impl Into<String>, index: usize) -> Self {
        self.callbacks.push((method.into(), index));
        self
    }

    /// Sets [`release`](Self::release).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "h", 1).release("custom-1").to_url(1).unwrap();
    /// assert_eq!(url.param("release"), Some("custom-1"));
    /// ```
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = release.into();
        self
    }

    /// The URL to register, stamped `timestamp` (milliseconds since the Unix epoch, the
    /// moment of export: the caller reads the clock).
    ///
    /// ```
    /// # use tether_core::registry::ProviderSpec;
    /// let url = ProviderSpec::new("demo.Greeter", "10.0.0.7", 20880).to_url(42).unwrap();
    /// assert_eq!(url.address(), "10.0.0.7:20880");
    /// assert_eq!(url.timestamp(), Ok(42));
    /// ```
    pub fn to_url(&self, timestamp_ms: u64) -> Result<Url, UrlError> {
        let mut methods: Vec<&str> = self.methods.iter().map(String::as_str).collect();
        methods.sort_unstable();
        methods.dedup();
        let mut builder = Url::builder("dubbo")
            .host(self.host.as_str())
            .port(self.port)
            .path(self.interface.as_str())
            .param("application", self.application.as_str())
            .param("deprecated", "false")
            .param("dubbo", DUBBO_VERSION)
            .param("dynamic", "true")
            .param("generic", "false")
            .param("interface", self.interface.as_str())
            .param("prefer.serialization", "hessian2")
            .param("release", self.release.as_str())
            .param("serialization", "hessian2")
            .param("side", "provider")
            .param("timestamp", timestamp_ms.to_string());
        if !methods.is_empty() {
            builder = builder.param("methods", methods.join(","));
        }
        if let Some(version) = &self.version {
            // Java's `revision` is the interface jar's version, else the service's
            // (`Version.getVersion(interfaceClass, version)`); some peers require it
            // (dubbo-ssl-python copies it into its consumer node).
            builder = builder
                .param("revision", version.as_str())
                .param("version", version.as_str());
        }
        if let Some(group) = &self.group {
            builder = builder.param("group", group.as_str());
        }
        if let Some(weight) = self.weight {
            builder = builder.param("weight", weight.to_string());
        }
        if let Some(timeout) = self.timeout_ms {
            builder = builder.param("timeout", timeout.to_string());
        }
        for (method, index) in &self.callbacks {
            builder = builder.param(format!("{method}.{index}.callback"), "true");
        }
        builder.build()
    }
}

/// The URLs of a tether consumer: the one it subscribes with ([`to_url`](Self::to_url)), and
/// the one it registers under `consumers` ([`registered_url`](Self::registered_url), read by
/// nothing but dashboards; Java's `RegistryProtocol.doCreateInvoker`, `docs/estate.md` §1.3).
///
/// ```
/// use tether_core::registry::ConsumerSpec;
///
/// let spec = ConsumerSpec::new("demo.Greeter", "10.0.0.1").version("1.0.0");
/// assert_eq!(
///     spec.registered_url(1).unwrap().to_string(),
///     "consumer://10.0.0.1/demo.Greeter?application=tether&category=consumers&check=false\
///      &dubbo=2.0.2&interface=demo.Greeter&release=tether-0.1.0&side=consumer&timestamp=1\
///      &version=1.0.0"
/// );
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConsumerSpec {
    /// The Java interface name.
    pub interface: String,
    /// The consumer's own address (no port).
    pub host: String,
    /// `application`: the consumer application's name.
    pub application: String,
    /// `version` wanted: exact, or `*` for any.
    pub version: Option<String>,
    /// `group` wanted: one, a comma list, or `*`.
    pub group: Option<String>,
    /// `release`: the framework's version.
    pub release: String,
}

impl ConsumerSpec {
    /// A consumer of `interface` on `host`, application `tether`.
    ///
    /// ```
    /// # use tether_core::registry::ConsumerSpec;
    /// let spec = ConsumerSpec::new("demo.Greeter", "10.0.0.1");
    /// assert_eq!(spec.to_url(1).unwrap().host(), "10.0.0.1");
    /// ```
    pub fn new(interface: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            interface: interface.into(),
            host: host.into(),
            application: "tether".into(),
            version: None,
            group: None,
            release: release(),
        }
    }

    /// Sets [`application`](Self::application).
    ///
    /// ```
    /// # use tether_core::registry::ConsumerSpec;
    /// let url = ConsumerSpec::new("demo.Greeter", "h").application("shop").to_url(1).unwrap();
    /// assert_eq!(url.application(), Some("shop"));
    /// ```
    pub fn application(mut self, application: impl Into<String>) -> Self {
        self.application = application.into();
        self
    }

    /// Sets [`version`](Self::version).
    ///
    /// ```
    /// # use tether_core::registry::ConsumerSpec;
    /// let url = ConsumerSpec::new("demo.Greeter", "h").version("*").to_url(1).unwrap();
    /// assert_eq!(url.version(), Some("*"));
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets [`group`](Self::group).
    ///
    /// ```
    /// # use tether_core::registry::ConsumerSpec;
    /// let url = ConsumerSpec::new("demo.Greeter", "h").group("blue,green").to_url(1).unwrap();
    /// assert_eq!(url.group(), Some("blue,green"));
    /// ```
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The consumer URL to subscribe with, stamped `timestamp` (milliseconds since the Unix
    /// epoch): no `category`, so that it subscribes to [`CONSUMER_CATEGORIES`].
    ///
    /// ```
    /// # use tether_core::registry::ConsumerSpec;
    /// let url = ConsumerSpec::new("demo.Greeter", "10.0.0.1").to_url(1).unwrap();
    /// assert_eq!(url.protocol(), "consumer");
    /// assert!(!url.has_param("category"));
    /// ```
    pub fn to_url(&self, timestamp_ms: u64) -> Result<Url, UrlError> {
        let mut builder = Url::builder("consumer")
            .host(self.host.as_str())
            .path(self.interface.as_str())
            .param("application", self.application.as_str())
            .param("dubbo", DUBBO_VERSION)
            .param("interface", self.interface.as_str())
            .param("release", self.release.as_str())
            .param("side", "consumer")
            .param("timestamp", timestamp_ms.to_string());
        if let Some(version) = &self.version {
            builder = builder.param("version", version.as_str());
        }
        if let Some(group) = &self.group {
            builder = builder.param("group", group.as_str());
        }
        builder.build()
    }

    /// The consumer URL to register: [`to_url`](Self::to_url) with `category=consumers` and
    /// `check=false`, as Java's `DynamicDirectory.setRegisteredConsumerUrl` adds them.
    ///
    /// ```
    /// # use tether_core::registry::ConsumerSpec;
    /// let url = ConsumerSpec::new("demo.Greeter", "10.0.0.1").registered_url(1).unwrap();
    /// assert_eq!(url.category(), "consumers");
    /// ```
    pub fn registered_url(&self, timestamp_ms: u64) -> Result<Url, UrlError> {
        self.to_url(timestamp_ms)?
            .into_builder()
            .param("category", "consumers")
            .param("check", "false")
            .build()
    }
}

/// `tether-<version of this crate>`.
fn release() -> String {
    concat!("tether-", env!("CARGO_PKG_VERSION")).to_owned()
}

/// An in-memory registry over a list of URLs: the fixed providers of a deployment without a
/// registry server, and a registry for tests. [`register`](Registry::register) and
/// [`unregister`](Registry::unregister) change the list and notify the matching
/// subscribers before their completions resolve; every operation completes at once.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tether_core::registry::{ConsumerSpec, ProviderSpec, Registry, StaticRegistry};
/// use tether_core::url::Url;
///
/// let registry: Arc<dyn Registry> = Arc::new(StaticRegistry::new([]));
/// let consumer = ConsumerSpec::new("org.example.Greeter", "10.0.0.9").to_url(0)?;
/// let provider = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880)
///     .methods(["greet"])
///     .to_url(0)?;
///
/// // Told the current providers at once, then after every change.
/// let heard = Arc::new(Mutex::new(Vec::new()));
/// let log = heard.clone();
/// let listener = move |urls: &[Url]| log.lock().unwrap().push(urls.to_vec());
/// registry.subscribe(&consumer, Arc::new(listener)).wait()?;
/// registry.register(&provider).wait()?;
///
/// assert_eq!(registry.lookup(&consumer).wait()?, [provider.clone()]);
/// // Notifications add an `empty://` URL for each category with nothing in it.
/// let last = heard.lock().unwrap().last().cloned().unwrap();
/// assert!(last.contains(&provider));
/// assert!(last.iter().all(|url| *url == provider || url.protocol() == "empty"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StaticRegistry {
    state: Mutex<StaticState>,
    /// Held while notifying, so that notifications of one change reach every subscriber
    /// before those of the next (and each subscription's in order).
    notifying: ReentrantMutex<()>,
}

struct StaticState {
    urls: Vec<Url>,
    subscriptions: Vec<(SubscriptionId, Url, Arc<dyn NotifyListener>)>,
    next_id: u64,
}

impl StaticRegistry {
    /// A registry listing `urls`.
    ///
    /// ```
    /// # use tether_core::registry::StaticRegistry;
    /// # use tether_core::url::Url;
    /// let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// let registry = StaticRegistry::new([provider]);
    /// assert_eq!(registry.urls().len(), 1);
    /// ```
    pub fn new(urls: impl IntoIterator<Item = Url>) -> Self {
        let mut listed: Vec<Url> = Vec::new();
        for url in urls {
            replace(&mut listed, url);
        }
        Self {
            state: Mutex::new(StaticState {
                urls: listed,
                subscriptions: Vec::new(),
                next_id: 1,
            }),
            notifying: ReentrantMutex::new(()),
        }
    }

    /// The URLs it lists now.
    ///
    /// ```
    /// use tether_core::registry::{ProviderSpec, StaticRegistry};
    ///
    /// let provider = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(0)?;
    /// let registry = StaticRegistry::new([provider.clone()]);
    /// assert_eq!(registry.urls(), [provider]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn urls(&self) -> Vec<Url> {
        self.state.lock().urls.clone()
    }

    /// Notifies the subscriptions `to` selects of the current list.
    fn notify(&self, to: impl Fn(SubscriptionId, &Url) -> bool) {
        let _order = self.notifying.lock();
        let (urls, subscriptions) = {
            let state = self.state.lock();
            let subscriptions: Vec<_> = state
                .subscriptions
                .iter()
                .filter(|(id, consumer, _)| to(*id, consumer))
                .map(|(_, consumer, listener)| (consumer.clone(), listener.clone()))
                .collect();
            (state.urls.clone(), subscriptions)
        };
        for (consumer, listener) in subscriptions {
            listener.notify(&notify_list(&consumer, &urls));
        }
    }
}

/// Whether a subscription of `consumer` follows the entries `url` is among: those of its
/// interface (or any, for `*`) in the categories it subscribes to, as a ZooKeeper watch
/// follows `/dubbo/<interface>/<category>` (a consumer registering its own node under
/// `consumers` notifies nobody).
fn follows(consumer: &Url, url: &Url) -> bool {
    (consumer.interface() == "*" || consumer.interface() == url.interface())
        && categories(consumer).contains(&url.category())
}

/// What a subscriber of `consumer` gets from a registry listing `urls`.
fn notify_list(consumer: &Url, urls: &[Url]) -> Vec<Url> {
    let categories = categories(consumer);
    notification(
        consumer,
        categories
            .iter()
            .map(|category| (*category, urls.iter().filter(|u| u.category() == *category))),
    )
}

/// Puts `url` in `urls`, replacing an entry printed the same.
fn replace(urls: &mut Vec<Url>, url: Url) {
    let printed = url.to_string();
    match urls.iter().position(|u| u.to_string() == printed) {
        Some(at) => urls[at] = url,
        None => urls.push(url),
    }
}

impl fmt::Debug for StaticRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("StaticRegistry")
            .field("urls", &state.urls)
            .field("subscriptions", &state.subscriptions.len())
            .finish()
    }
}

impl Registry for StaticRegistry {
    fn register(&self, url: &Url) -> Completion<RegistryResult<()>> {
        replace(&mut self.state.lock().urls, url.clone());
        self.notify(|_, consumer| follows(consumer, url));
        ready(Ok(()))
    }

    fn unregister(&self, url: &Url) -> Completion<RegistryResult<()>> {
        let printed = url.to_string();
        self.state.lock().urls.retain(|u| u.to_string() != printed);
        self.notify(|_, consumer| follows(consumer, url));
        ready(Ok(()))
    }

    fn subscribe(
        &self,
        consumer: &Url,
        listener: Arc<dyn NotifyListener>,
    ) -> Completion<RegistryResult<SubscriptionId>> {
        let id = {
            let mut state = self.state.lock();
            let id = SubscriptionId(state.next_id);
            state.next_id += 1;
            state.subscriptions.push((id, consumer.clone(), listener));
            id
        };
        self.notify(|each, _| each == id);
        ready(Ok(id))
    }

    fn unsubscribe(&self, id: SubscriptionId) -> Completion<RegistryResult<()>> {
        let _order = self.notifying.lock();
        self.state
            .lock()
            .subscriptions
            .retain(|(each, ..)| *each != id);
        ready(Ok(()))
    }

    fn name(&self) -> String {
        "static registry".to_owned()
    }

    fn lookup(&self, consumer: &Url) -> Completion<RegistryResult<Vec<Url>>> {
        let urls = self.state.lock().urls.clone();
        let mut found = notify_list(consumer, &urls);
        found.retain(|url| url.protocol() != EMPTY_PROTOCOL);
        ready(Ok(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    type Seen = Arc<Mutex<Vec<Vec<String>>>>;

    fn recorder() -> (Seen, Arc<dyn NotifyListener>) {
        let seen: Seen = Arc::default();
        let sink = seen.clone();
        let listener = Arc::new(move |urls: &[Url]| {
            sink.lock()
                .push(urls.iter().map(|u| u.to_string()).collect());
        });
        (seen, listener)
    }

    const CONSUMER: &str = "consumer://10.0.0.1/demo.Svc?version=1.0.0&group=a,b";

    #[test]
    fn a_listener_may_call_back_into_the_registry() {
        // It registers a URL and unsubscribes itself from inside a notification: with a
        // lock it could not take again, this would deadlock.
        let registry = Arc::new(StaticRegistry::new([]));
        let id: Arc<Mutex<Option<SubscriptionId>>> = Arc::default();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listener = {
            let (registry, id, calls) = (registry.clone(), id.clone(), calls.clone());
            Arc::new(move |_: &[Url]| {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n == 1 {
                    let url = url("dubbo://10.0.0.9:20880/demo.Svc?version=1.0.0&group=a");
                    registry.register(&url).wait().unwrap();
                    let own = id.lock().expect("subscribed");
                    registry.unsubscribe(own).wait().unwrap();
                }
            })
        };
        let subscribed = registry.subscribe(&url(CONSUMER), listener).wait().unwrap();
        *id.lock() = Some(subscribed);
        let provider = url("dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0&group=a");
        registry.register(&provider).wait().unwrap();
        // The first notification on subscribing, the second on `provider`, a third for the
        // URL registered from inside the second; none after unsubscribing.
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(registry.urls().len(), 2);
    }

    #[test]
    fn a_subscriber_gets_every_match_per_category_and_empty_for_none() {
        let registry = StaticRegistry::new([
            url("dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0&group=a"),
            url("dubbo://10.0.0.8:20880/demo.Svc?version=1.0.0&group=c"),
            url("dubbo://10.0.0.9:20880/demo.Svc?version=2.0.0&group=a"),
            url("dubbo://10.0.0.10:20880/demo.Other?version=1.0.0&group=a"),
            url("dubbo://10.0.0.11:20880/demo.Svc?version=1.0.0&group=b&enabled=false"),
            url(
                "override://0.0.0.0/demo.Svc?category=configurators&version=1.0.0&group=b&weight=200",
            ),
        ]);
        let (seen, listener) = recorder();
        let id = registry.subscribe(&url(CONSUMER), listener).wait().unwrap();
        assert_eq!(
            seen.lock()[0],
            [
                "dubbo://10.0.0.7:20880/demo.Svc?group=a&version=1.0.0",
                "override://0.0.0.0/demo.Svc?category=configurators&group=b&version=1.0.0&weight=200",
                "empty://10.0.0.1/demo.Svc?category=routers&group=a,b&version=1.0.0",
            ]
        );

        let second = url("dubbo://10.0.0.12:20880/demo.Svc?version=1.0.0&group=b");
        registry.register(&second).wait().unwrap();
        assert_eq!(seen.lock().len(), 2);
        assert_eq!(seen.lock()[1][1], second.to_string());

        registry
            .unregister(&url(
                "dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0&group=a",
            ))
            .wait()
            .unwrap();
        registry.unregister(&second).wait().unwrap();
        assert_eq!(
            seen.lock()[3][0],
            "empty://10.0.0.1/demo.Svc?category=providers&group=a,b&version=1.0.0"
        );

        registry.unsubscribe(id).wait().unwrap();
        registry.register(&second).wait().unwrap();
        assert_eq!(seen.lock().len(), 4, "no notification after unsubscribe");
    }

    #[test]
    fn a_consumer_names_its_categories() {
        let registry = StaticRegistry::new([url("dubbo://10.0.0.7:20880/demo.Svc")]);
        let (seen, listener) = recorder();
        let consumer = url("consumer://10.0.0.1/demo.Svc?category=providers");
        registry.subscribe(&consumer, listener).wait().unwrap();
        assert_eq!(seen.lock()[0], ["dubbo://10.0.0.7:20880/demo.Svc"]);
        assert_eq!(
            subscription_url(&url("consumer://h/demo.Svc")).param("category"),
            Some("providers,configurators,routers")
        );
    }

    #[test]
    fn lookup_lists_matches_without_placeholders() {
        let registry = StaticRegistry::new([
            url("dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0&group=a"),
            url("dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0&group=a"),
        ]);
        assert_eq!(registry.urls().len(), 1, "registered once");
        let found = registry.lookup(&url(CONSUMER)).wait().unwrap();
        assert_eq!(found.len(), 1);
        let none = registry
            .lookup(&url("consumer://h/demo.Other"))
            .wait()
            .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn empty_entries_are_never_listed_as_matches() {
        let consumer = url("consumer://h/demo.Svc");
        let stale = empty_url(&consumer, "providers");
        let got = notification(&consumer, [("providers", [&stale])]);
        assert_eq!(
            got.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            ["empty://h/demo.Svc?category=providers"]
        );
    }

    #[test]
    fn provider_urls_carry_what_java_publishes() {
        let url = ProviderSpec::new("demo.Svc", "10.0.0.7", 20880)
            .methods(["b", "a", "b"])
            .group("g")
            .weight(200)
            .timeout_ms(3000)
            .release("tether-x")
            .to_url(5)
            .unwrap();
        assert_eq!(
            url.to_string(),
            "dubbo://10.0.0.7:20880/demo.Svc?application=tether&deprecated=false&dubbo=2.0.2\
             &dynamic=true&generic=false&group=g&interface=demo.Svc&methods=a,b\
             &prefer.serialization=hessian2&release=tether-x&serialization=hessian2\
             &side=provider&timeout=3000&timestamp=5&weight=200"
        );
        let consumer = ConsumerSpec::new("demo.Svc", "10.0.0.1")
            .group("g")
            .to_url(5)
            .unwrap();
        assert!(Url::is_match(&subscription_url(&consumer), &url));
    }

    #[test]
    fn the_trait_is_object_safe() {
        let registry: Arc<dyn Registry> = Arc::new(StaticRegistry::new([]));
        let mut pending = registry.register(&url("dubbo://h:1/demo.Svc"));
        assert_eq!(pending.try_take(), Some(Ok(())));
    }
}
