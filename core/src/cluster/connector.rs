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
