//! Where a reference's calls go (Dubbo's cluster layer): a [`Directory`] lists the providers
//! ([`Invoker`]s) a call may go to, each with its URL parameters and its connections
//! ([`Channels`], reconnected with a [`Backoff`]).
//!
//! A reference to one address ([`ReferenceBuilder::build`](crate::consumer::ReferenceBuilder::build))
//! holds a [`StaticDirectory`] of one invoker. A registry keeps a directory of its own up to
//! date as providers come and go; load balancing and retrying strategies pick among what it
//! lists ([`LoadBalance`]; [`MethodStats`] counts the calls that some balancers weigh).

mod balance;
mod channels;
mod directory;
mod stats;

pub use balance::{
    ConsistentHash, LeastActive, LoadBalance, Random, RoundRobin, ShortestResponse, load_balance,
};
pub use channels::{Backoff, Channels};
pub use directory::{Directory, HashArguments, Invoker, Invokers, Route, StaticDirectory};
pub use stats::{Active, MethodStats};
