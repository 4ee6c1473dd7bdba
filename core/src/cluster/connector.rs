//! [`Connector`]: how a directory that learns providers at run time gets connections to
//! them, without knowing the runtime that makes them.

use std::num::NonZeroUsize;
use std::sync::Arc;

use super::Channels;
use crate::url::Url;

/// Opens connections to a provider as a directory discovers it: the seam between a
/// registry-fed directory (in the core, runtime-free) and an adapter (tokio, smol, plain
/// threads), each of which implements it (`tether_tokio::Connector`,
/// `tether_smol::Connector`, `tether_threadpool::Connector`).
///
/// [`channels`](Self::channels) returns at once, with empty slots ([`connections`] of
/// them); the adapter fills them as connections come up, and keeps trying with backoff
/// while the provider is down (it may be listed before it listens, or after it died).
/// Dropping the returned [`Channels`] closes the connections and ends whatever the adapter
/// runs to keep them up.
///
/// ```
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, Connector, connections};
/// use tether_core::url::Url;
///
/// /// Never connects: slots stay empty (a test double).
/// struct Nowhere;
///
/// impl Connector for Nowhere {
///     fn channels(&self, _address: &str, provider: &Url) -> Arc<Channels> {
///         Arc::new(Channels::owning(connections(provider)))
///     }
/// }
///
/// let provider = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter?connections=2").unwrap();
/// let channels = Nowhere.channels("10.0.0.7:20880", &provider);
/// assert_eq!(channels.len(), 2);
/// assert!(channels.pick().is_none());
/// ```
pub trait Connector: Send + Sync + 'static {
    /// Connections to the provider at `address` (`host:port`) that `provider` describes
    /// (its parameters after configurators: [`connections`] sets the slot count), filled
    /// in the background.
    fn channels(&self, address: &str, provider: &Url) -> Arc<Channels>;
}

/// The number of connections to open to `provider`: its `connections` parameter, or 1 when
/// absent, not a number or below 1 (Java's `connections=0`, one connection shared by every
/// reference to the address, is served as 1 connection of this directory's own).
///
/// ```
/// use tether_core::cluster::connections;
/// use tether_core::url::Url;
///
/// let url = |s| Url::parse(s).unwrap();
/// assert_eq!(connections(&url("dubbo://h:1/S")).get(), 1);
/// assert_eq!(connections(&url("dubbo://h:1/S?connections=4")).get(), 4);
/// assert_eq!(connections(&url("dubbo://h:1/S?connections=0")).get(), 1);
/// assert_eq!(connections(&url("dubbo://h:1/S?connections=x")).get(), 1);
/// ```
pub fn connections(provider: &Url) -> NonZeroUsize {
    provider
        .int_param("connections", 1)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .and_then(NonZeroUsize::new)
        .unwrap_or(NonZeroUsize::MIN)
}

/// Shares connections between references, as Java does by default: every directory given
/// this connector gets the same [`Channels`] for a provider address whose URL sets no
/// `connections` (or `connections=0`, Java's "shared"), for as long as one of them holds
/// it; a provider asking for `connections=N` gets N of each directory's own, as in Java.
/// Wrap the adapter's connector once and hand the wrapper to every directory.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tether_core::cluster::{Channels, Connector, SharedConnector, connections};
/// use tether_core::url::Url;
///
/// /// Counts the connections it is asked for (a test double).
/// #[derive(Default)]
/// struct Counting(AtomicUsize);
///
/// impl Connector for Counting {
///     fn channels(&self, _address: &str, provider: &Url) -> Arc<Channels> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Arc::new(Channels::owning(connections(provider)))
///     }
/// }
///
/// let shared = SharedConnector::new(Counting::default());
/// let url = |s| Url::parse(s).unwrap();
/// let plain = url("dubbo://10.0.0.7:20880/demo.Greeter");
/// let (a, b) = (shared.channels("10.0.0.7:20880", &plain), shared.channels("10.0.0.7:20880", &plain));
/// assert!(Arc::ptr_eq(&a, &b));
/// let own = url("dubbo://10.0.0.7:20880/demo.Greeter?connections=2");
/// assert!(!Arc::ptr_eq(&a, &shared.channels("10.0.0.7:20880", &own)));
/// assert_eq!(shared.inner().0.load(Ordering::Relaxed), 2);
/// ```
pub struct SharedConnector<C> {
    inner: C,
    shared: SharedChannels,
}

impl<C: Connector> SharedConnector<C> {
    /// Shares the connections `inner` opens.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Connector, SharedConnector, connections};
    /// use tether_core::url::Url;
    ///
    /// # struct Plain;
    /// # impl Connector for Plain {
    /// #     fn channels(&self, _address: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// let shared = SharedConnector::new(Plain);
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// assert_eq!(shared.channels("10.0.0.7:20880", &url).len(), 1);
    /// ```
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            shared: SharedChannels::default(),
        }
    }

    /// The connector it wraps.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, Connector, SharedConnector, connections};
    /// use tether_core::url::Url;
    ///
    /// # #[derive(Debug, PartialEq)]
    /// # struct Plain;
    /// # impl Connector for Plain {
    /// #     fn channels(&self, _address: &str, provider: &Url) -> Arc<Channels> {
    /// #         Arc::new(Channels::owning(connections(provider)))
    /// #     }
    /// # }
    /// let shared = SharedConnector::new(Plain);
    /// assert_eq!(shared.inner(), &Plain);
    /// ```
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: Connector> Connector for SharedConnector<C> {
    fn channels(&self, address: &str, provider: &Url) -> Arc<Channels> {
        self.shared
            .channels(address, provider, || self.inner.channels(address, provider))
    }
}

/// The connections a connector shares between references, by provider address (see
/// [`SharedConnector`]); the adapters' connectors keep one, shared by their clones.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, SharedChannels};
/// use tether_core::url::Url;
///
/// let shared = SharedChannels::default();
/// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
/// let held = shared.channels("10.0.0.7:20880", &url, || Arc::new(Channels::new(NonZeroUsize::MIN)));
/// assert_eq!(shared.len(), 1);
/// drop(held);
/// assert!(shared.is_empty());
/// ```
#[derive(Default)]
pub struct SharedChannels(
    parking_lot::Mutex<std::collections::HashMap<String, std::sync::Weak<Channels>>>,
);

impl SharedChannels {
    /// The channels for `provider` at `address`: those already open for the address if its
    /// URL sets no `connections` (or 0) and some reference still holds them, else new ones
    /// from `open` (kept for sharing unless the URL asks for connections of its own).
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, SharedChannels};
    /// use tether_core::url::Url;
    ///
    /// let shared = SharedChannels::default();
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// let open = || Arc::new(Channels::new(NonZeroUsize::MIN));
    /// let a = shared.channels("10.0.0.7:20880", &url, open);
    /// let b = shared.channels("10.0.0.7:20880", &url, open);
    /// assert!(Arc::ptr_eq(&a, &b));
    /// ```
    pub fn channels(
        &self,
        address: &str,
        provider: &Url,
        open: impl FnOnce() -> Arc<Channels>,
    ) -> Arc<Channels> {
        let own = provider.int_param("connections", 0).is_ok_and(|n| n > 0);
        if own {
            return open();
        }
        let mut shared = self.0.lock();
        if let Some(channels) = shared.get(address).and_then(std::sync::Weak::upgrade) {
            return channels;
        }
        // Addresses whose channels were all dropped go when the next one is opened.
        shared.retain(|_, weak| weak.strong_count() > 0);
        let channels = open();
        shared.insert(address.to_owned(), Arc::downgrade(&channels));
        channels
    }

    /// How many addresses have shared channels some reference still holds.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::cluster::{Channels, SharedChannels};
    /// use tether_core::url::Url;
    ///
    /// let shared = SharedChannels::default();
    /// let url = Url::parse("dubbo://10.0.0.7:20880/demo.Greeter").unwrap();
    /// let open = || Arc::new(Channels::new(NonZeroUsize::MIN));
    /// let _a = shared.channels("10.0.0.7:20880", &url, open);
    /// let _b = shared.channels("10.0.0.8:20880", &url, open);
    /// assert_eq!(shared.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.0
            .lock()
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }

    /// Whether no reference holds shared channels.
    ///
    /// ```
    /// use tether_core::cluster::SharedChannels;
    ///
    /// assert!(SharedChannels::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for SharedChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedChannels")
            .field("addresses", &self.len())
            .finish()
    }
}

impl<C> std::fmt::Debug for SharedConnector<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConnector")
            .field("addresses", &self.shared.len())
            .finish_non_exhaustive()
    }
}
