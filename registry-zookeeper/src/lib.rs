//! tether-registry-zookeeper: a [`Registry`] over ZooKeeper in Apache Dubbo's interface-level
//! layout, so that Java, Go, Python and JavaScript Dubbo peers see tether's services as their
//! own and tether sees theirs.
//!
//! # Layout (what Java Dubbo 2.7 and 3.x read and write)
//! - `/<root>/<encode(interface)>/<category>/<encode(url)>`: root `/dubbo` (the registry
//!   URL's `group` changes it), category `providers`, `consumers`, `configurators` or
//!   `routers` (the URL's `category`, default `providers`), `encode` Java's `URLEncoder`
//!   ([`tether_core::url::encode`]) of the URL as [`Url`]'s `Display` prints it;
//! - parents are persistent, a registered node is **ephemeral** (it disappears with the
//!   session of the process that wrote it) unless the URL says `dynamic=false`; registering
//!   a provider also creates its interface's `configurators` path, as a Java provider's
//!   subscription to it does;
//! - node data is unused (Java's Curator writes the local IP; so does this crate: the URL's
//!   host).
//!
//! A subscription reads the children of each category path of the consumer's interface with
//! a watch, decodes and parses them ([`Url::from_encoded`]), keeps in `providers` only the
//! protocols the consumer speaks (`protocol`, default `dubbo`), and notifies the listener
//! with [`notification`]'s list: [`Url::is_match`] against the consumer, `empty://` for an
//! empty category. Children that do not parse or use another protocol (`tri://`) are
//! skipped, counted in [`Stats::skipped`] and handed to [`ZookeeperConfig::on_skip`]: never
//! a failed notification or an emptied list.
//! Each category path has one watch loop ([`Stats::watching`]); unsubscribing ends them at
//! once, without waiting for the paths to change, and the client then removes their
//! watches from the server.
//!
//! # Sessions
//! A ZooKeeper session survives connection losses (the client reconnects within the session
//! timeout; watches and ephemeral nodes stay), but not its expiry: the server then deletes
//! the session's ephemeral nodes and the client is dead. This registry then connects a new
//! session (retrying every [`ZookeeperConfig::retry`]), re-creates every node it registered
//! (deleting a stale one first) and re-reads and re-watches every subscription, notifying
//! the listeners of the lists as they are now (Java's `FailbackRegistry.recover`). A
//! registration that fails for want of a connection fails its completion but is retried in
//! the background until it succeeds or is unregistered (Java's failback).
//!
//! # Runtimes
//! The client is `zookeeper-client` with no runtime feature. Its sockets and timers run on
//! `async-io`'s reactor thread, which works under any executor; its one background task (the
//! session) and this crate's tasks (watch loops, the session supervisor, every operation)
//! are spawned on the [`Spawner`] given to [`ZookeeperRegistry::connect`]: the tokio, smol
//! or thread-pool adapter's, so a thread-pool user needs no tokio. Operations return
//! [`Completion`]s: `.await` them or [`wait`](Completion::wait) on a plain thread.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod instances;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::{Mutex, ReentrantMutex};
use tether_core::metadata::ServiceInstance;
use tether_core::registry::{
    Announcement, EMPTY_PROTOCOL, NotifyListener, Publication, RegisterMode, Registry,
    RegistryError, RegistryResult, SubscriptionId, categories, closed, notification,
};
use tether_core::url::{Url, encode};
use tether_core::{Completion, Inline, Spawner, call::pair};
use zookeeper_client::{Acls, Client, CreateMode, EventType};

/// Dubbo's default root (`/` + the registry URL's `group`, default `dubbo`).
pub const DEFAULT_ROOT: &str = "/dubbo";

/// Where application instances are registered (Dubbo's `ZookeeperServiceDiscovery` over
/// Curator service discovery: `/services/<app>/<host>:<port>`).
pub const SERVICES_ROOT: &str = "/services";

/// A child node the registry skipped: its path and why.
///
/// ```
/// use tether_registry_zookeeper::{Skipped, ZookeeperConfig};
///
/// let config = ZookeeperConfig::new("127.0.0.1:2181")
///     .on_skip(|s: &Skipped| eprintln!("skipped {}/{}: {}", s.parent, s.child, s.reason));
/// assert!(config.on_skip.is_some());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Skipped {
    /// The category path the child is under.
    pub parent: String,
    /// The child's name (an encoded URL, or not).
    pub child: String,
    /// Why it was skipped.
    pub reason: String,
}

/// What [`ZookeeperConfig::on_skip`] calls.
///
/// ```
/// use std::sync::Arc;
/// use tether_registry_zookeeper::{SkipHook, Skipped, ZookeeperConfig};
///
/// let hook: SkipHook = Arc::new(|s: &Skipped| eprintln!("skipped {}", s.child));
/// let mut config = ZookeeperConfig::new("127.0.0.1:2181");
/// config.on_skip = Some(hook);
/// ```
pub type SkipHook = Arc<dyn Fn(&Skipped) + Send + Sync>;

/// How to reach ZooKeeper and lay out nodes there.
///
/// ```
/// use std::time::Duration;
/// use tether_core::url::Url;
/// use tether_registry_zookeeper::ZookeeperConfig;
///
/// let url = Url::parse("zookeeper://10.0.0.1:2181?backup=10.0.0.2:2181&group=prod&session=30000")?;
/// let config = ZookeeperConfig::from_url(&url).retry(Duration::from_millis(500));
/// assert_eq!(config.address, "10.0.0.1:2181,10.0.0.2:2181");
/// assert_eq!(config.root, "/prod");
/// assert_eq!(config.session_timeout, Duration::from_secs(30));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ZookeeperConfig {
    /// Comma-separated `host:port` list.
    pub address: String,
    /// The root path, [`DEFAULT_ROOT`] unless the registry URL has a `group`.
    pub root: String,
    /// The session timeout asked for (the server clamps it to its own bounds). Dubbo's
    /// default is 60 s (`session`).
    pub session_timeout: Duration,
    /// How long to wait between attempts after a failure (connect, create, read).
    pub retry: Duration,
    /// Told about every child node skipped by a subscription.
    pub on_skip: Option<SkipHook>,
}

impl ZookeeperConfig {
    /// ZooKeeper at `address` (`host:port[,host:port...]`), Dubbo's defaults otherwise.
    ///
    /// ```
    /// use tether_registry_zookeeper::{DEFAULT_ROOT, ZookeeperConfig};
    ///
    /// let config = ZookeeperConfig::new("10.0.0.1:2181,10.0.0.2:2181");
    /// assert_eq!(config.root, DEFAULT_ROOT);
    /// assert_eq!(config.session_timeout.as_secs(), 60);
    /// ```
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            root: DEFAULT_ROOT.into(),
            session_timeout: Duration::from_secs(60),
            retry: Duration::from_secs(1),
            on_skip: None,
        }
    }

    /// The config a Dubbo registry URL describes: `zookeeper://host:port?backup=h2:p2,...`,
    /// `group` for the root, `session` for the session timeout in milliseconds.
    ///
    /// ```
    /// use tether_core::url::Url;
    /// use tether_registry_zookeeper::ZookeeperConfig;
    ///
    /// let config = ZookeeperConfig::from_url(&Url::parse("zookeeper://127.0.0.1:2181?group=test")?);
    /// assert_eq!((config.address.as_str(), config.root.as_str()), ("127.0.0.1:2181", "/test"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_url(url: &Url) -> Self {
        let mut address = url.address();
        for backup in url.list_param("backup") {
            address.push(',');
            address.push_str(backup);
        }
        let mut config = Self::new(address);
        if let Some(group) = url.param("group").filter(|g| !g.is_empty()) {
            config.root = if group.starts_with('/') {
                group.to_owned()
            } else {
                format!("/{group}")
            };
        }
        if let Ok(ms) = url.long_param("session", 60_000) {
            if ms > 0 {
                config.session_timeout = Duration::from_millis(ms as u64);
            }
        }
        config
    }

    /// Sets [`root`](Self::root).
    ///
    /// ```
    /// use tether_registry_zookeeper::ZookeeperConfig;
    ///
    /// let config = ZookeeperConfig::new("127.0.0.1:2181").root("/staging");
    /// assert_eq!(config.root, "/staging");
    /// ```
    pub fn root(mut self, root: impl Into<String>) -> Self {
        self.root = root.into();
        self
    }

    /// Sets [`session_timeout`](Self::session_timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_registry_zookeeper::ZookeeperConfig;
    ///
    /// let config = ZookeeperConfig::new("127.0.0.1:2181").session_timeout(Duration::from_secs(30));
    /// assert_eq!(config.session_timeout, Duration::from_secs(30));
    /// ```
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// Sets [`retry`](Self::retry).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_registry_zookeeper::ZookeeperConfig;
    ///
    /// let config = ZookeeperConfig::new("127.0.0.1:2181").retry(Duration::from_millis(250));
    /// assert_eq!(config.retry, Duration::from_millis(250));
    /// ```
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`on_skip`](Self::on_skip).
    ///
    /// ```
    /// use tether_registry_zookeeper::ZookeeperConfig;
    ///
    /// let config = ZookeeperConfig::new("127.0.0.1:2181")
    ///     .on_skip(|skipped| eprintln!("ignoring {}: {}", skipped.child, skipped.reason));
    /// assert!(config.on_skip.is_some());
    /// ```
    pub fn on_skip(mut self, hook: impl Fn(&Skipped) + Send + Sync + 'static) -> Self {
        self.on_skip = Some(Arc::new(hook));
        self
    }
}

impl fmt::Debug for ZookeeperConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZookeeperConfig")
            .field("address", &self.address)
            .field("root", &self.root)
            .field("session_timeout", &self.session_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Counters of a registry's life.
///
/// ```
/// use tether_registry_zookeeper::{Stats, ZookeeperConfig, ZookeeperRegistry};
/// # use std::sync::Arc;
/// # struct NoSpawn;
/// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
/// # let spawner = Arc::new(NoSpawn);
///
/// // Never connected: the spawner drops the background task.
/// let registry = ZookeeperRegistry::start(ZookeeperConfig::new("127.0.0.1:2181"), spawner);
/// assert_eq!(registry.stats(), Stats::default());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// ZooKeeper sessions it connected (1 until a session expires).
    pub sessions: u64,
    /// Child nodes a subscription skipped (malformed, or another protocol).
    pub skipped: u64,
    /// Notifications delivered to listeners.
    pub notifications: u64,
    /// Registrations being retried in the background (ZooKeeper unreachable): one per
    /// node, however often it was registered meanwhile.
    pub retrying: u64,
    /// Category paths being watched: one per category of each subscription (three for a
    /// consumer of providers, configurators and routers).
    pub watching: u64,
}

/// A [`Registry`] over ZooKeeper (see the crate docs). Cheap to clone: clones share one
/// session.
///
/// ``` no_run
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::registry::{ConsumerSpec, Registry};
/// use tether_core::url::Url;
/// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
/// use tether_threadpool::WorkerPool;
///
/// let spawner = Arc::new(WorkerPool::new(NonZeroUsize::new(2).unwrap(), NonZeroUsize::new(64).unwrap())?);
/// let config = ZookeeperConfig::new("127.0.0.1:2181");
/// let registry = ZookeeperRegistry::connect(config, spawner).wait()?;
///
/// let consumer = ConsumerSpec::new("org.example.Greeter", "10.0.0.9").to_url(0)?;
/// let listener = |urls: &[Url]| println!("providers now: {urls:?}");
/// registry.subscribe(&consumer, Arc::new(listener)).wait()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ZookeeperRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    config: ZookeeperConfig,
    spawner: Arc<dyn Spawner>,
    state: Mutex<State>,
    closed: AtomicBool,
    sessions: AtomicU64,
    skipped: AtomicU64,
    notifications: AtomicU64,
    /// Live [`keep_registered`] tasks.
    retry_tasks: AtomicU64,
    /// Live [`watch_loop`] tasks.
    watch_loops: AtomicU64,
}

struct State {
    /// The current session's client; `None` before the first session
    /// ([`ZookeeperRegistry::start`]) and once closed. Only operations under way hold a
    /// clone (a session closes when its last client is dropped).
    client: Option<Client>,
    /// Bumped with every new session: tasks of an older one stop.
    generation: u64,
    /// What to re-create on a new session, by node path.
    registered: HashMap<String, Node>,
    /// Node paths with a retrying task ([`keep_registered`]) of the current session: one
    /// task per node, however often it is registered while ZooKeeper is unreachable.
    retrying: HashSet<String>,
    subscriptions: HashMap<SubscriptionId, Arc<Subscription>>,
    /// Application-level watches ([`ServiceDiscovery`](tether_core::application::ServiceDiscovery)).
    instance_watches: HashMap<SubscriptionId, Arc<instances::InstanceWatch>>,
    next_id: u64,
}

struct Subscription {
    consumer: Url,
    listener: Arc<dyn NotifyListener>,
    /// The categories, in notification order, with their current entries.
    lists: Mutex<Vec<(String, Vec<Url>)>>,
    /// Serializes notifications of this subscription.
    notifying: ReentrantMutex<()>,
    active: AtomicBool,
    /// The waker of each category's watch loop (by category index), woken by
    /// [`stop`](Subscription::stop): a loop waits for a change of its path *or* the end of
    /// the subscription, else an unsubscribed subscription would stay (its lists, its task,
    /// its watch on the server) until the path next changed, which may be never.
    loop_wakers: Mutex<Vec<Option<Waker>>>,
    /// The session generation whose watch loops follow it (0: none yet): `subscribe` and a
    /// new session may both try to follow it; only the first does.
    followed: AtomicU64,
}

impl Subscription {
    /// Ends it: no more notifications, and its watch loops end now (dropping their
    /// watchers, which removes the watches) rather than at their path's next change.
    fn stop(&self) {
        self.active.store(false, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.loop_wakers.lock());
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }

    /// Whether it ended; if not, category `at`'s loop is woken when it does. One slot per
    /// category: a later session's loop takes over the slot of the last one's.
    fn poll_stopped(&self, at: usize, cx: &Context<'_>) -> Poll<()> {
        let mut wakers = self.loop_wakers.lock();
        // Checked under the lock `stop` takes after clearing `active`: no wake-up is lost.
        if !self.active.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if wakers.len() <= at {
            wakers.resize(at + 1, None);
        }
        match &mut wakers[at] {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl ZookeeperRegistry {
    /// Connects to ZooKeeper. The session and every task of the registry run on `spawner`.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let config = ZookeeperConfig::new("127.0.0.1:2181")
    ///     .root("/dubbo")
    ///     .session_timeout(Duration::from_secs(30));
    /// let registry = ZookeeperRegistry::connect(config, spawner).wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect(
        config: ZookeeperConfig,
        spawner: Arc<dyn Spawner>,
    ) -> Completion<RegistryResult<ZookeeperRegistry>> {
        let (completer, completion) = pair(closed::<ZookeeperRegistry>);
        let task_spawner = spawner.clone();
        spawn(&spawner, async move {
            let result = match new_session(&config).await {
                Ok(client) => {
                    let watcher = client.state_watcher();
                    let inner = Arc::new(Inner {
                        config,
                        spawner: task_spawner,
                        state: Mutex::new(State {
                            client: Some(client),
                            generation: 1,
                            registered: HashMap::new(),
                            retrying: HashSet::new(),
                            subscriptions: HashMap::new(),
                            instance_watches: HashMap::new(),
                            next_id: 1,
                        }),
                        closed: AtomicBool::new(false),
                        sessions: AtomicU64::new(1),
                        skipped: AtomicU64::new(0),
                        notifications: AtomicU64::new(0),
                        retry_tasks: AtomicU64::new(0),
                        watch_loops: AtomicU64::new(0),
                    });
                    let supervised = inner.clone();
                    spawn(&inner.spawner, supervise(supervised, Some(watcher), 1));
                    Ok(ZookeeperRegistry { inner })
                }
                Err(e) => Err(unavailable(&e)),
            };
            completer.complete(result, &Inline);
        });
        completion
    }

    /// A registry that connects in the background, retrying every
    /// [`ZookeeperConfig::retry`] until ZooKeeper answers: for a provider that must serve
    /// while ZooKeeper is down. Until then [`register`](Registry::register) fails with
    /// [`RegistryError::Unavailable`] but keeps the URL, and
    /// [`subscribe`](Registry::subscribe) succeeds without a notification; the first session
    /// creates every kept URL's node and follows every subscription.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::registry::ProviderSpec;
    /// use tether_core::{BoxFuture, Spawner};
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # /// Drops the registry's background task: no connection is ever made here.
    /// # struct Nowhere;
    /// # impl Spawner for Nowhere { fn spawn(&self, _: BoxFuture) {} }
    /// # let spawner = Arc::new(Nowhere);
    ///
    /// // Serves while ZooKeeper is down: connects (and registers) in the background.
    /// let registry = ZookeeperRegistry::start(ZookeeperConfig::new("127.0.0.1:2181"), spawner);
    /// let provider = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(0)?;
    /// assert!(registry.node_path(&provider).starts_with("/dubbo/org.example.Greeter/providers/"));
    /// assert_eq!(registry.stats().sessions, 0);
    /// registry.close();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(config: ZookeeperConfig, spawner: Arc<dyn Spawner>) -> ZookeeperRegistry {
        let inner = Arc::new(Inner {
            config,
            spawner,
            state: Mutex::new(State {
                client: None,
                generation: 0,
                registered: HashMap::new(),
                retrying: HashSet::new(),
                subscriptions: HashMap::new(),
                instance_watches: HashMap::new(),
                next_id: 1,
            }),
            closed: AtomicBool::new(false),
            sessions: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            notifications: AtomicU64::new(0),
            retry_tasks: AtomicU64::new(0),
            watch_loops: AtomicU64::new(0),
        });
        spawn(&inner.spawner, supervise(inner.clone(), None, 0));
        ZookeeperRegistry { inner }
    }

    /// Its counters.
    ///
    /// ```
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let registry = ZookeeperRegistry::start(ZookeeperConfig::new("127.0.0.1:2181"), spawner);
    /// let stats = registry.stats();
    /// assert_eq!((stats.sessions, stats.watching), (0, 0));
    /// ```
    pub fn stats(&self) -> Stats {
        Stats {
            sessions: self.inner.sessions.load(Ordering::Relaxed),
            skipped: self.inner.skipped.load(Ordering::Relaxed),
            notifications: self.inner.notifications.load(Ordering::Relaxed),
            retrying: self.inner.retry_tasks.load(Ordering::Relaxed),
            watching: self.inner.watch_loops.load(Ordering::Relaxed),
        }
    }

    /// The node path `url` is registered at.
    ///
    /// ```
    /// use tether_core::registry::ProviderSpec;
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let registry = ZookeeperRegistry::start(ZookeeperConfig::new("127.0.0.1:2181").root("/prod"), spawner);
    /// let url = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(0)?;
    /// assert!(registry.node_path(&url).starts_with("/prod/org.example.Greeter/providers/dubbo%3A%2F%2F"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn node_path(&self, url: &Url) -> String {
        node_path(&self.inner.config.root, url)
    }

    /// Registers an application instance for Dubbo 3 application-level discovery (the half
    /// of Java's default `register-mode=all` that is not [`register`](Registry::register)):
    /// the ephemeral `/services/<app>/<host>:<port>` holding
    /// [`ServiceInstance::to_json`]`(registration_time_ms)`, and `app` added to
    /// `/<root>/mapping/<interface>` (persistent) for each of its interfaces. Kept like a
    /// registered URL: re-created by a new session, retried while ZooKeeper is away. Serve
    /// the instance's revision with a [`MetadataService`](tether_core::metadata::MetadataService)
    /// on its port, or Java consumers drop it.
    ///
    /// ```no_run
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let instance = ServiceInstance::new(&MetadataInfo::new("greeter", []), "10.0.0.7", 20880, 1);
    ///
    /// let registry = ZookeeperRegistry::connect(ZookeeperConfig::new("127.0.0.1:2181"), spawner).wait()?;
    /// registry.register_instance(&instance, 1_700_000_000_000).wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register_instance(
        &self,
        instance: &ServiceInstance,
        registration_time_ms: u64,
    ) -> Completion<RegistryResult<()>> {
        let path = instance_path(instance);
        let node = Node::Instance {
            json: instance.to_json(registration_time_ms),
            app: instance.app.clone(),
            interfaces: instance.interfaces.clone(),
        };
        self.run(move |inner| Box::pin(async move { add_node(&inner, path, node).await }))
    }

    /// Removes an instance [`register_instance`](Self::register_instance) created (the
    /// mapping stays, as Java leaves it).
    ///
    /// ```no_run
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let instance = ServiceInstance::new(&MetadataInfo::new("greeter", []), "10.0.0.7", 20880, 1);
    ///
    /// let registry = ZookeeperRegistry::connect(ZookeeperConfig::new("127.0.0.1:2181"), spawner).wait()?;
    /// registry.register_instance(&instance, 1_700_000_000_000).wait()?;
    /// registry.unregister_instance(&instance).wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unregister_instance(
        &self,
        instance: &ServiceInstance,
    ) -> Completion<RegistryResult<()>> {
        let path = instance_path(instance);
        self.run(move |inner| {
            Box::pin(async move {
                inner.state.lock().registered.remove(&path);
                let (client, _) = inner.client()?;
                match client.delete(&path, None).await {
                    Ok(()) | Err(zookeeper_client::Error::NoNode) => Ok(()),
                    Err(e) => Err(to_registry_error(&e)),
                }
            })
        })
    }

    /// Registers a provider application as `mode` says: its `urls` at interface level
    /// ([`register`](Registry::register), each), `instance` at application level
    /// ([`register_instance`](Self::register_instance)). Every node is attempted; the first
    /// failure is returned.
    ///
    /// ```no_run
    /// use tether_core::registry::{ProviderSpec, RegisterMode};
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let instance = ServiceInstance::new(&MetadataInfo::new("greeter", []), "10.0.0.7", 20880, 1);
    ///
    /// let registry = ZookeeperRegistry::connect(ZookeeperConfig::new("127.0.0.1:2181"), spawner).wait()?;
    /// let url = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(1)?;
    /// registry.register_application(RegisterMode::All, &[url], &instance, 1).wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register_application(
        &self,
        mode: RegisterMode,
        urls: &[Url],
        instance: &ServiceInstance,
        registration_time_ms: u64,
    ) -> Completion<RegistryResult<()>> {
        let mut pending = Vec::new();
        if mode.is_interface() {
            pending.extend(urls.iter().map(|url| self.register(url)));
        }
        if mode.is_instance() {
            pending.push(self.register_instance(instance, registration_time_ms));
        }
        let (completer, completion) = pair(closed::<()>);
        spawn(&self.inner.spawner, async move {
            let mut result = Ok(());
            for each in pending {
                let outcome = each.await;
                if result.is_ok() {
                    result = outcome;
                }
            }
            completer.complete(result, &Inline);
        });
        completion
    }

    /// A [`Publication`] of a provider application registered as `mode` says: its `urls` at
    /// interface level, `instance` at application level (as
    /// [`register_application`](Self::register_application)), put online and taken offline
    /// together, so that a graceful offline (`Server::shutdown_offline`) withdraws the
    /// instance as well as the URLs. Not online until [`online`](Publication::online).
    ///
    /// ```no_run
    /// use tether_core::registry::{ProviderSpec, RegisterMode};
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    /// # use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// # let instance = ServiceInstance::new(&MetadataInfo::new("greeter", []), "10.0.0.7", 20880, 1);
    ///
    /// let registry = ZookeeperRegistry::connect(ZookeeperConfig::new("127.0.0.1:2181"), spawner).wait()?;
    /// let url = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(1)?;
    /// let publication = registry.publication(RegisterMode::All, [url], instance, 1);
    /// publication.online().wait()?;
    /// publication.offline().wait()?; // both levels withdrawn
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn publication(
        &self,
        mode: RegisterMode,
        urls: impl IntoIterator<Item = Url>,
        instance: ServiceInstance,
        registration_time_ms: u64,
    ) -> Publication {
        let urls = urls.into_iter().filter(|_| mode.is_interface());
        let publication = Publication::new(Arc::new(self.clone()), urls);
        if !mode.is_instance() {
            return publication;
        }
        publication.with(Arc::new(InstanceAnnouncement {
            registry: self.clone(),
            instance,
            registration_time_ms,
        }))
    }

    /// The applications `/<root>/mapping/<interface>` lists (empty if none), for
    /// application-level discovery: a one-off read, no watch.
    ///
    /// ```no_run
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let registry = ZookeeperRegistry::connect(ZookeeperConfig::new("127.0.0.1:2181"), spawner).wait()?;
    /// let apps = registry.applications("org.example.Greeter").wait()?;
    /// println!("served by: {apps:?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn applications(&self, interface: &str) -> Completion<RegistryResult<Vec<String>>> {
        let interface = interface.to_owned();
        self.run(move |inner| {
            Box::pin(async move {
                let (client, _) = inner.client()?;
                let path = mapping_path(&inner.config.root, &interface);
                match client.get_data(&path).await {
                    Ok((data, _)) => Ok(parse_applications(&data)),
                    Err(zookeeper_client::Error::NoNode) => Ok(Vec::new()),
                    Err(e) => Err(to_registry_error(&e)),
                }
            })
        })
    }

    /// The instances registered under `/services/<app>`: a one-off read, no watch. Nodes
    /// whose data is not an instance are skipped (counted in [`Stats::skipped`], handed to
    /// [`ZookeeperConfig::on_skip`]).
    ///
    /// ```no_run
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let registry = ZookeeperRegistry::connect(ZookeeperConfig::new("127.0.0.1:2181"), spawner).wait()?;
    /// for instance in registry.instances("greeter").wait()? {
    ///     println!("{}:{}", instance.host, instance.port);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn instances(&self, app: &str) -> Completion<RegistryResult<Vec<ServiceInstance>>> {
        let parent = format!("{SERVICES_ROOT}/{app}");
        self.run(move |inner| {
            Box::pin(async move {
                let (client, _) = inner.client()?;
                let children = match client.list_children(&parent).await {
                    Ok(children) => children,
                    Err(zookeeper_client::Error::NoNode) => return Ok(Vec::new()),
                    Err(e) => return Err(to_registry_error(&e)),
                };
                let mut instances = Vec::with_capacity(children.len());
                for child in children {
                    let data = match client.get_data(&format!("{parent}/{child}")).await {
                        Ok((data, _)) => data,
                        // Gone since the listing.
                        Err(zookeeper_client::Error::NoNode) => continue,
                        Err(e) => return Err(to_registry_error(&e)),
                    };
                    instances.extend(inner.parse_instance(&parent, child, &data));
                }
                Ok(instances)
            })
        })
    }

    /// The node path [`register_instance`](Self::register_instance) writes `instance` at.
    ///
    /// ```
    /// use tether_core::metadata::{MetadataInfo, ServiceInstance};
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let registry = ZookeeperRegistry::start(ZookeeperConfig::new("127.0.0.1:2181"), spawner);
    /// let instance = ServiceInstance::new(&MetadataInfo::new("greeter", []), "10.0.0.7", 20880, 1);
    /// assert_eq!(registry.instance_path(&instance), "/services/greeter/10.0.0.7:20880");
    /// ```
    pub fn instance_path(&self, instance: &ServiceInstance) -> String {
        instance_path(instance)
    }

    /// Closes the session: its ephemeral nodes disappear, subscriptions stop, and every
    /// later operation fails with [`RegistryError::Closed`].
    ///
    /// ```
    /// use tether_core::registry::{ProviderSpec, Registry, RegistryError};
    /// use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};
    /// # use std::sync::Arc;
    /// # struct NoSpawn;
    /// # impl tether_core::Spawner for NoSpawn { fn spawn(&self, _: tether_core::BoxFuture) {} }
    /// # let spawner = Arc::new(NoSpawn);
    ///
    /// let registry = ZookeeperRegistry::start(ZookeeperConfig::new("127.0.0.1:2181"), spawner);
    /// registry.close();
    /// let url = ProviderSpec::new("org.example.Greeter", "10.0.0.7", 20880).to_url(0)?;
    /// assert!(matches!(registry.register(&url).wait(), Err(RegistryError::Closed)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let mut state = self.inner.state.lock();
        for subscription in state.subscriptions.values() {
            subscription.stop();
        }
        state.subscriptions.clear();
        for watch in state.instance_watches.values() {
            watch.stop();
        }
        state.instance_watches.clear();
        state.registered.clear();
        // Dropping the last client closes the session (operations under way hold theirs
        // until they end).
        let client = state.client.take();
        drop(state);
        drop(client);
    }

    fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(Arc<Inner>) -> Pin<Box<dyn Future<Output = RegistryResult<T>> + Send>>,
    ) -> Completion<RegistryResult<T>> {
        let (completer, completion) = pair(closed::<T>);
        if self.inner.closed.load(Ordering::SeqCst) {
            completer.complete(Err(RegistryError::Closed), &Inline);
            return completion;
        }
        let future = op(self.inner.clone());
        spawn(&self.inner.spawner, async move {
            completer.complete(future.await, &Inline);
        });
        completion
    }
}

/// An application instance as a [`Publication`] announces it.
struct InstanceAnnouncement {
    registry: ZookeeperRegistry,
    instance: ServiceInstance,
    registration_time_ms: u64,
}

impl Announcement for InstanceAnnouncement {
    fn announce(&self) -> Completion<RegistryResult<()>> {
        (self.registry).register_instance(&self.instance, self.registration_time_ms)
    }

    fn withdraw(&self) -> Completion<RegistryResult<()>> {
        self.registry.unregister_instance(&self.instance)
    }

    fn describe(&self) -> String {
        format!("instance {}", self.registry.instance_path(&self.instance))
    }
}

impl fmt::Debug for ZookeeperRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZookeeperRegistry")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Registry for ZookeeperRegistry {
    fn register(&self, url: &Url) -> Completion<RegistryResult<()>> {
        let url = url.clone();
        self.run(move |inner| {
            Box::pin(async move {
                let path = node_path(&inner.config.root, &url);
                add_node(&inner, path, Node::Url(url)).await
            })
        })
    }

    fn unregister(&self, url: &Url) -> Completion<RegistryResult<()>> {
        let url = url.clone();
        self.run(move |inner| {
            Box::pin(async move {
                let path = node_path(&inner.config.root, &url);
                inner.state.lock().registered.remove(&path);
                let (client, _) = inner.client()?;
                match client.delete(&path, None).await {
                    Ok(()) | Err(zookeeper_client::Error::NoNode) => Ok(()),
                    Err(e) => Err(to_registry_error(&e)),
                }
            })
        })
    }

    fn subscribe(
        &self,
        consumer: &Url,
        listener: Arc<dyn NotifyListener>,
    ) -> Completion<RegistryResult<SubscriptionId>> {
        let consumer = consumer.clone();
        self.run(move |inner| {
            Box::pin(async move {
                let subscription = Arc::new(Subscription {
                    lists: Mutex::new(
                        categories(&consumer)
                            .into_iter()
                            .map(|c| (c.to_owned(), Vec::new()))
                            .collect(),
                    ),
                    consumer,
                    listener,
                    notifying: ReentrantMutex::new(()),
                    active: AtomicBool::new(true),
                    loop_wakers: Mutex::new(Vec::new()),
                    followed: AtomicU64::new(0),
                });
                let id = {
                    let mut state = inner.state.lock();
                    let id = SubscriptionId(state.next_id);
                    state.next_id += 1;
                    state.subscriptions.insert(id, subscription.clone());
                    id
                };
                let (client, generation) = match inner.client() {
                    Ok(current) => current,
                    // Followed when the first session comes (`start`).
                    Err(RegistryError::Unavailable(_)) => return Ok(id),
                    Err(e) => {
                        inner.state.lock().subscriptions.remove(&id);
                        return Err(e);
                    }
                };
                let result = follow(&inner, &subscription, &client, generation).await;
                if result.is_err() {
                    subscription.stop();
                    inner.state.lock().subscriptions.remove(&id);
                }
                result.map(|()| id)
            })
        })
    }

    fn unsubscribe(&self, id: SubscriptionId) -> Completion<RegistryResult<()>> {
        if let Some(subscription) = self.inner.state.lock().subscriptions.remove(&id) {
            subscription.stop();
            // A notification under way finishes before this returns.
            drop(subscription.notifying.lock());
        }
        tether_core::registry::ready(Ok(()))
    }

    fn name(&self) -> String {
        let config = &self.inner.config;
        format!("zookeeper://{}{}", config.address, config.root)
    }

    fn lookup(&self, consumer: &Url) -> Completion<RegistryResult<Vec<Url>>> {
        let consumer = consumer.clone();
        self.run(move |inner| {
            Box::pin(async move {
                let (client, _) = inner.client()?;
                let mut lists = Vec::new();
                for category in categories(&consumer) {
                    let path = category_path(&inner.config.root, consumer.interface(), category);
                    let children = match client.list_children(&path).await {
                        Ok(children) => children,
                        Err(zookeeper_client::Error::NoNode) => Vec::new(),
                        Err(e) => return Err(to_registry_error(&e)),
                    };
                    let urls = inner.parse_children(&consumer, category, &path, &children);
                    lists.push((category.to_owned(), urls));
                }
                let mut found = notification(
                    &consumer,
                    lists.iter().map(|(c, urls)| (c.as_str(), urls.iter())),
                );
                found.retain(|u| u.protocol() != EMPTY_PROTOCOL);
                Ok(found)
            })
        })
    }
}

/// A node this registry keeps in ZooKeeper.
#[derive(Clone)]
enum Node {
    /// A URL's, under `/<root>/<interface>/<category>`.
    Url(Url),
    /// An application instance's, under `/services/<app>`; its interfaces are mapped to `app`.
    Instance {
        json: String,
        app: String,
        interfaces: Vec<String>,
    },
}

/// Keeps `node` at `path` (re-created by every new session) and creates it now; failing for
/// want of ZooKeeper, keeps trying in the background.
async fn add_node(inner: &Arc<Inner>, path: String, node: Node) -> RegistryResult<()> {
    inner
        .state
        .lock()
        .registered
        .insert(path.clone(), node.clone());
    let (client, generation) = inner.client()?;
    match create_node(&inner.config.root, &client, &path, &node).await {
        Ok(()) => Ok(()),
        Err(e @ RegistryError::Unavailable(_)) => {
            // Failback, as Java's FailbackRegistry: keep trying while it is still wanted (a
            // new session re-creates it anyway).
            if inner.state.lock().retrying.insert(path.clone()) {
                let task = keep_registered(inner.clone(), client, generation, path, node);
                spawn(&inner.spawner, task);
            }
            Err(e)
        }
        Err(e) => {
            inner.state.lock().registered.remove(&path);
            Err(e)
        }
    }
}

impl Inner {
    /// The URLs of a category's children, skipping (and reporting) what does not parse or
    /// is a provider of a protocol the consumer does not speak.
    fn parse_children(
        &self,
        consumer: &Url,
        category: &str,
        parent: &str,
        children: &[String],
    ) -> Vec<Url> {
        let protocols = match consumer.list_param("protocol") {
            list if list.is_empty() => vec!["dubbo"],
            list => list,
        };
        let mut urls = Vec::with_capacity(children.len());
        for child in children {
            let reason = match Url::from_encoded(child) {
                Ok(url)
                    if category == "providers"
                        && url.protocol() != EMPTY_PROTOCOL
                        && !protocols.contains(&url.protocol()) =>
                {
                    format!("protocol {} is not one of {protocols:?}", url.protocol())
                }
                Ok(url) => {
                    urls.push(url);
                    continue;
                }
                Err(e) => format!("not a Dubbo URL: {e}"),
            };
            self.skipped.fetch_add(1, Ordering::Relaxed);
            if let Some(hook) = &self.config.on_skip {
                hook(&Skipped {
                    parent: parent.to_owned(),
                    child: child.clone(),
                    reason,
                });
            }
        }
        urls
    }

    fn notify(&self, subscription: &Subscription) {
        let _order = subscription.notifying.lock();
        if !subscription.active.load(Ordering::SeqCst) {
            return;
        }
        let urls = {
            let lists = subscription.lists.lock();
            notification(
                &subscription.consumer,
                lists.iter().map(|(c, urls)| (c.as_str(), urls.iter())),
            )
        };
        self.notifications.fetch_add(1, Ordering::Relaxed);
        subscription.listener.notify(&urls);
    }

    fn is_current(&self, generation: u64) -> bool {
        !self.closed.load(Ordering::SeqCst) && self.state.lock().generation == generation
    }

    /// The current session's client and generation.
    fn client(&self) -> RegistryResult<(Client, u64)> {
        let state = self.state.lock();
        match &state.client {
            _ if self.closed.load(Ordering::SeqCst) => Err(RegistryError::Closed),
            Some(client) => Ok((client.clone(), state.generation)),
            None => Err(RegistryError::Unavailable(
                "no zookeeper session yet".into(),
            )),
        }
    }
}

/// Reads every category of `subscription` with a watch, notifies once, and leaves one watch
/// loop per category running on the registry's spawner.
async fn follow(
    inner: &Arc<Inner>,
    subscription: &Arc<Subscription>,
    client: &Client,
    generation: u64,
) -> RegistryResult<()> {
    if subscription.followed.swap(generation, Ordering::SeqCst) == generation {
        return Ok(());
    }
    let result = follow_once(inner, subscription, client, generation).await;
    if result.is_err() {
        // Let a retry follow it again.
        let _ = subscription.followed.compare_exchange(
            generation,
            0,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
    result
}

/// [`follow`]'s work.
async fn follow_once(
    inner: &Arc<Inner>,
    subscription: &Arc<Subscription>,
    client: &Client,
    generation: u64,
) -> RegistryResult<()> {
    let categories: Vec<String> = subscription
        .lists
        .lock()
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    let mut watchers = Vec::new();
    for (at, category) in categories.iter().enumerate() {
        let path = category_path(
            &inner.config.root,
            subscription.consumer.interface(),
            category,
        );
        ensure_path(client, &path).await?;
        let (children, _, watcher) = client
            .get_and_watch_children(&path)
            .await
            .map_err(|e| to_registry_error(&e))?;
        let urls = inner.parse_children(&subscription.consumer, category, &path, &children);
        subscription.lists.lock()[at].1 = urls;
        watchers.push((at, path, watcher));
    }
    inner.notify(subscription);
    for (at, path, watcher) in watchers {
        let task = watch_loop(
            inner.clone(),
            subscription.clone(),
            generation,
            at,
            path,
            watcher,
        );
        spawn(&inner.spawner, task);
    }
    Ok(())
}

/// Follows one category path: on every child change, re-read it (re-arming the watch) and
/// notify. Ends with the subscription, or with its session (the supervisor starts a new
/// loop on the next one).
async fn watch_loop(
    inner: Arc<Inner>,
    subscription: Arc<Subscription>,
    generation: u64,
    at: usize,
    path: String,
    mut watcher: zookeeper_client::OneshotWatcher,
) {
    let _counted = Counted::new(&inner.watch_loops);
    loop {
        let event = {
            let mut changed = std::pin::pin!(watcher.changed());
            std::future::poll_fn(|cx| {
                if subscription.poll_stopped(at, cx).is_ready() {
                    return Poll::Ready(None);
                }
                changed.as_mut().poll(cx).map(Some)
            })
            .await
        };
        // Unsubscribed (the watcher is dropped with the future: the client removes it), or
        // the session ended.
        let Some(event) = event else { return };
        if event.event_type == EventType::Session {
            return;
        }
        loop {
            if !subscription.active.load(Ordering::SeqCst) {
                return;
            }
            // No client is held while waiting: closing the registry closes the session.
            let client = match inner.client() {
                Ok((client, current)) if current == generation => client,
                _ => return,
            };
            match client.get_and_watch_children(&path).await {
                Ok((children, _, next)) => {
                    let category = subscription.lists.lock()[at].0.clone();
                    let urls =
                        inner.parse_children(&subscription.consumer, &category, &path, &children);
                    subscription.lists.lock()[at].1 = urls;
                    inner.notify(&subscription);
                    watcher = next;
                    break;
                }
                Err(zookeeper_client::Error::NoNode) => {
                    // Someone deleted the category node: re-create it and read again.
                    if ensure_path(&client, &path).await.is_err() {
                        async_io::Timer::after(inner.config.retry).await;
                    }
                }
                Err(zookeeper_client::Error::SessionExpired)
                | Err(zookeeper_client::Error::ClientClosed) => return,
                Err(_) => {
                    // Connection loss and the like: the last list stays; try again.
                    async_io::Timer::after(inner.config.retry).await;
                }
            }
        }
    }
}

/// One more in a counter of live tasks while it lives.
struct Counted<'a>(&'a AtomicU64);

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits for the session to end; then, unless the registry is closed, connects a new one,
/// re-creates the registered nodes and re-follows every subscription.
async fn supervise(
    inner: Arc<Inner>,
    mut watcher: Option<zookeeper_client::StateWatcher>,
    mut generation: u64,
) {
    loop {
        if let Some(watcher) = &mut watcher {
            let state = watcher.changed().await;
            if inner.closed.load(Ordering::SeqCst) {
                return;
            }
            if !state.is_terminated() {
                continue;
            }
        }
        // No session yet, or it is gone (expired, closed, auth failed): a new one.
        let client = loop {
            if inner.closed.load(Ordering::SeqCst) {
                return;
            }
            match new_session(&inner.config).await {
                Ok(client) => break client,
                Err(_) => {
                    async_io::Timer::after(inner.config.retry).await;
                }
            }
        };
        watcher = Some(client.state_watcher());
        generation += 1;
        inner.sessions.fetch_add(1, Ordering::Relaxed);
        let (registered, subscriptions) = {
            let mut state = inner.state.lock();
            if inner.closed.load(Ordering::SeqCst) {
                return;
            }
            state.client = Some(client.clone());
            state.generation = generation;
            // The old session's tasks stop; this session's start below.
            state.retrying = state.registered.keys().cloned().collect();
            let registered: Vec<(String, Node)> = state
                .registered
                .iter()
                .map(|(p, u)| (p.clone(), u.clone()))
                .collect();
            let subscriptions: Vec<Arc<Subscription>> =
                state.subscriptions.values().cloned().collect();
            (registered, subscriptions)
        };
        for (path, node) in registered {
            let task = keep_registered(inner.clone(), client.clone(), generation, path, node);
            spawn(&inner.spawner, task);
        }
        for subscription in subscriptions {
            let (inner, client) = (inner.clone(), client.clone());
            spawn(&inner.spawner.clone(), async move {
                while inner.is_current(generation) && subscription.active.load(Ordering::SeqCst) {
                    if follow(&inner, &subscription, &client, generation)
                        .await
                        .is_ok()
                    {
                        return;
                    }
                    async_io::Timer::after(inner.config.retry).await;
                }
            });
        }
    }
}

/// Creates `node` with `client` (of session `generation`), retrying every
/// [`ZookeeperConfig::retry`], until it exists, the URL is unregistered, or the session ends.
async fn keep_registered(
    inner: Arc<Inner>,
    client: Client,
    generation: u64,
    path: String,
    node: Node,
) {
    inner.retry_tasks.fetch_add(1, Ordering::Relaxed);
    while inner.is_current(generation) && inner.state.lock().registered.contains_key(&path) {
        if create_node(&inner.config.root, &client, &path, &node)
            .await
            .is_ok()
        {
            break;
        }
        async_io::Timer::after(inner.config.retry).await;
    }
    let mut state = inner.state.lock();
    if state.generation == generation {
        state.retrying.remove(&path);
    }
    inner.retry_tasks.fetch_sub(1, Ordering::Relaxed);
}

async fn new_session(config: &ZookeeperConfig) -> Result<Client, zookeeper_client::Error> {
    Client::connector()
        .with_session_timeout(config.session_timeout)
        .with_connection_timeout(config.session_timeout.min(Duration::from_secs(30)))
        .connect(&config.address)
        .await
}

/// Creates `path`'s ancestors and itself as persistent nodes, if absent.
async fn ensure_path(client: &Client, path: &str) -> RegistryResult<()> {
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let mut end = 0;
    while end < path.len() {
        end = path[end + 1..]
            .find('/')
            .map_or(path.len(), |i| end + 1 + i);
        match client.create(&path[..end], &[], &options).await {
            Ok(_) | Err(zookeeper_client::Error::NodeExists) => {}
            Err(e) => return Err(to_registry_error(&e)),
        }
    }
    Ok(())
}

/// Creates `node` at `path` (a URL's: ephemeral unless `dynamic=false`; an instance's:
/// ephemeral, then its interfaces mapped to its application), replacing a node left there
/// (by an expired session of ours, apache/dubbo#5125).
async fn create_node(root: &str, client: &Client, path: &str, node: &Node) -> RegistryResult<()> {
    let parent = &path[..path.rfind('/').unwrap_or(0)];
    ensure_path(client, parent).await?;
    let (data, mode) = match node {
        Node::Url(url) => {
            if url.category() == "providers" {
                // A Java provider subscribes to its `configurators`, which creates the path;
                // peers that read it without creating it (dubbo-ssl-python) fail when it is
                // missing.
                let service = &parent[..parent.rfind('/').unwrap_or(0)];
                ensure_path(client, &format!("{service}/configurators")).await?;
            }
            let mode = if url.bool_param("dynamic", true) {
                CreateMode::Ephemeral
            } else {
                CreateMode::Persistent
            };
            (url.host().as_bytes(), mode)
        }
        Node::Instance { json, .. } => (json.as_bytes(), CreateMode::Ephemeral),
    };
    replace_node(client, path, data, mode).await?;
    if let Node::Instance {
        app, interfaces, ..
    } = node
    {
        for interface in interfaces {
            map_service(client, &mapping_path(root, interface), app).await?;
        }
    }
    Ok(())
}

/// Creates the node at `path` with `data`, replacing one in the way.
async fn replace_node(
    client: &Client,
    path: &str,
    data: &[u8],
    mode: CreateMode,
) -> RegistryResult<()> {
    let options = mode.with_acls(Acls::anyone_all());
    // A stale node of the same name (our own expired session's, apache/dubbo#5125) is
    // replaced; a few rounds at most, so that two live sessions registering one URL do not
    // delete each other's nodes forever.
    let mut last = None;
    for _ in 0..CREATE_ATTEMPTS {
        match client.create(path, data, &options).await {
            Ok(_) => return Ok(()),
            Err(zookeeper_client::Error::NodeExists) => match client.delete(path, None).await {
                Ok(()) | Err(zookeeper_client::Error::NoNode) => {
                    last = Some(zookeeper_client::Error::NodeExists);
                }
                Err(e) => return Err(to_registry_error(&e)),
            },
            Err(e) => return Err(to_registry_error(&e)),
        }
    }
    Err(to_registry_error(
        &last.unwrap_or(zookeeper_client::Error::NodeExists),
    ))
}

/// Adds `app` to the comma-separated applications of the mapping node at `path` (persistent),
/// unless listed: a compare-and-set on the node's version, retried when another provider
/// wrote in between (Java's `MetadataServiceNameMapping.map` over
/// `ZookeeperMetadataReport.registerServiceAppMapping`).
async fn map_service(client: &Client, path: &str, app: &str) -> RegistryResult<()> {
    for _ in 0..MAPPING_ATTEMPTS {
        match client.get_data(path).await {
            Ok((data, stat)) => {
                let old = String::from_utf8_lossy(&data);
                if old.split(',').any(|a| a.trim() == app) {
                    return Ok(());
                }
                let new = if old.trim().is_empty() {
                    app.to_owned()
                } else {
                    format!("{old},{app}")
                };
                match client
                    .set_data(path, new.as_bytes(), Some(stat.version))
                    .await
                {
                    Ok(_) | Err(zookeeper_client::Error::BadVersion) => {}
                    Err(e) => return Err(to_registry_error(&e)),
                }
            }
            Err(zookeeper_client::Error::NoNode) => {
                ensure_path(client, &path[..path.rfind('/').unwrap_or(0)]).await?;
                let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
                match client.create(path, app.as_bytes(), &options).await {
                    Ok(_) | Err(zookeeper_client::Error::NodeExists) => {}
                    Err(e) => return Err(to_registry_error(&e)),
                }
            }
            Err(e) => return Err(to_registry_error(&e)),
        }
    }
    Err(RegistryError::Unavailable(format!(
        "{path}: changed by others {MAPPING_ATTEMPTS} times in a row"
    )))
}

/// Compare-and-set rounds on a mapping node before giving up (the background retry goes on).
const MAPPING_ATTEMPTS: usize = 16;

/// How many times a node found in the way is replaced before registering gives up.
const CREATE_ATTEMPTS: usize = 3;

/// The applications a mapping node's data names (comma-separated).
fn parse_applications(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `/<root>/mapping/<interface>`: the applications serving `interface` (Java's metadata
/// report, which defaults to the registry's ZooKeeper and root).
fn mapping_path(root: &str, interface: &str) -> String {
    format!("{}/mapping/{interface}", root.trim_end_matches('/'))
}

/// `/services/<app>/<host>:<port>` (Curator service discovery's base path).
fn instance_path(instance: &ServiceInstance) -> String {
    format!("{SERVICES_ROOT}/{}/{}", instance.app, instance.id())
}

/// `/<root>/<encode(interface)>/<category>`.
fn category_path(root: &str, interface: &str, category: &str) -> String {
    format!(
        "{}/{}/{category}",
        root.trim_end_matches('/'),
        encode(interface)
    )
}

/// `/<root>/<encode(interface)>/<category>/<encode(url)>`.
fn node_path(root: &str, url: &Url) -> String {
    format!(
        "{}/{}",
        category_path(root, url.interface(), url.category()),
        url.to_encoded()
    )
}

fn unavailable(e: &zookeeper_client::Error) -> RegistryError {
    RegistryError::Unavailable(e.to_string())
}

fn to_registry_error(e: &zookeeper_client::Error) -> RegistryError {
    use zookeeper_client::Error as E;
    match e {
        E::NoAuth | E::AuthFailed | E::InvalidAcl | E::BadArguments(_) | E::BadVersion => {
            RegistryError::Refused(e.to_string())
        }
        E::ClientClosed => RegistryError::Closed,
        _ => unavailable(e),
    }
}

/// Spawns `future` on `spawner`, inside a scope where `zookeeper-client`'s own spawns go to
/// `spawner` too.
fn spawn(spawner: &Arc<dyn Spawner>, future: impl Future<Output = ()> + Send + 'static) {
    spawner.spawn(Box::pin(Scoped {
        spawner: spawner.clone(),
        future: Box::pin(future),
    }));
}

/// Polls its future with `spawns_core`'s spawner set to a tether [`Spawner`]: how
/// `zookeeper-client` (through `asyncs::spawn`) starts its session task without a runtime
/// feature.
struct Scoped {
    spawner: Arc<dyn Spawner>,
    future: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Future for Scoped {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let bridge = Bridge(self.spawner.clone());
        let _scope = spawns_core::enter(&bridge);
        self.future.as_mut().poll(cx)
    }
}

struct Bridge(Arc<dyn Spawner>);

impl spawns_core::Spawn for Bridge {
    fn spawn(&self, task: spawns_core::Task) {
        spawn(&self.0, Box::into_pin(task.future));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_dubbo_layout() {
        let url = Url::parse("dubbo://10.0.0.7:20880/demo.Svc?version=1.0.0").unwrap();
        assert_eq!(
            node_path("/dubbo", &url),
            "/dubbo/demo.Svc/providers/dubbo%3A%2F%2F10.0.0.7%3A20880%2Fdemo.Svc%3Fversion%3D1.0.0"
        );
        let consumer = Url::parse("consumer://10.0.0.1/demo.Svc?category=consumers").unwrap();
        assert!(node_path("/x/", &consumer).starts_with("/x/demo.Svc/consumers/consumer%3A"));
    }

    #[test]
    fn a_registry_url_configures_address_root_and_session() {
        let url =
            Url::parse("zookeeper://zk1:2181?backup=zk2:2181,zk3:2181&group=estate&session=30000")
                .unwrap();
        let config = ZookeeperConfig::from_url(&url);
        assert_eq!(config.address, "zk1:2181,zk2:2181,zk3:2181");
        assert_eq!(config.root, "/estate");
        assert_eq!(config.session_timeout, Duration::from_secs(30));
        let plain = ZookeeperConfig::from_url(&Url::parse("zookeeper://127.0.0.1:2181").unwrap());
        assert_eq!(plain.root, "/dubbo");
    }
}
