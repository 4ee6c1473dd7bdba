//! Where a reference's calls go (Dubbo's cluster layer): a [`Directory`] lists the providers
//! ([`Invoker`]s) a call may go to, each with its URL parameters and its connections
//! ([`Channels`], reconnected with a [`Backoff`]).
//!
//! A reference to one address ([`ReferenceBuilder::build`](crate::consumer::ReferenceBuilder::build))
//! holds a [`StaticDirectory`] of one invoker. A registry keeps a directory of its own up to
//! date as providers come and go (`discovery::RegistryDirectory`), opening connections to
//! new providers through a [`Connector`]; load balancing and retrying strategies pick among
//! what it lists.

mod balance;
mod channels;
mod connector;
mod directory;
mod failback;
mod router;
mod stats;
mod strategy;

pub use balance::{
    ConsistentHash, LeastActive, LoadBalance, Random, RoundRobin, ShortestResponse, load_balance,
};
pub use channels::{Backoff, Channels};
pub use connector::{Connector, SharedChannels, SharedConnector, connections};
pub use directory::{Directory, HashArguments, Invoker, Invokers, Route, StaticDirectory};
pub use failback::{FailbackQueue, Sleep};
pub use router::{FORCE_TAG_KEY, Router, TAG_KEY, TagRouter};
pub use stats::{Active, MethodStats};
pub(crate) use strategy::select;
pub use strategy::{Cluster, is_retryable};
