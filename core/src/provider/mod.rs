//! The provider: exported services answered through the serving pipeline
//! (`crate::serve`), every two-way request exactly once (`PROTOCOL.md` §2, §5.6, §9).
//!
//! A [`Provider`] is the [`RequestHandler`] an adapter's server hands each received request
//! to. For each request it decodes the head and attachments, finds the exported service
//! (path, version, group) and the method (name and parameter descriptor), checks the token
//! and the caller's deadline, runs its [`Filter`]s, then runs the handler where the
//! [`Dispatch`] policy says. Failures become the status Java would send: 40 for undecodable
//! requests, 70 for unknown services or methods, a bad token, or a handler that failed
//! outside the method (a panic), 31 for a request whose caller had given up before dispatch.
//!
//! A handler throws a Java exception by returning `Err(JavaException)`; one of your own
//! exception classes, with its fields, is [`JavaException::from_typed`] of your struct
//! (see [`JavaException`](crate::message::JavaException#your-own-exception-classes)).
//!
//! [`JavaException::from_typed`]: crate::message::JavaException::from_typed

use std::fmt;
use std::sync::Arc;

pub use crate::serve::{
    Answer, CallbackArg, CallbackProxy, Context, Dispatch, Filter, Outcome, Rejection, Request,
    Service, ServiceKey,
};

use crate::event::InboundRequest;
use crate::serve::{OnewayLimit, Services, serve};
use crate::shared::{RequestHandler, SharedConnection, Spawner};

/// Exported services and the policy that runs them: the [`RequestHandler`] of a server.
pub struct Provider {
    services: Services,
    dispatch: Dispatch,
    /// Runs async handlers' futures.
    spawner: Arc<dyn Spawner>,
    oneway: OnewayLimit,
    /// In the order added.
    filters: Arc<[Arc<dyn Filter>]>,
}

impl Provider {
    /// A provider with no services, running handlers with `dispatch` and async handlers'
    /// futures on `spawner`.
    pub fn new(dispatch: Dispatch, spawner: Arc<dyn Spawner>) -> Self {
        Self {
            services: Services::default(),
            dispatch,
            spawner,
            oneway: OnewayLimit::new(
                crate::Config::DEFAULT_MAX_IN_FLIGHT,
                crate::Config::DEFAULT_MAX_INBOUND_BYTES,
            ),
            filters: Arc::new([]),
        }
    }

    /// Adds a filter that sees every request routed to a method, and its answer (after those
    /// added before it: the first added is the outermost).
    pub fn filter(mut self, filter: impl Filter) -> Self {
        let mut filters = self.filters.to_vec();
        filters.push(Arc::new(filter));
        self.filters = filters.into();
        self
    }

    /// The most one-way requests handled at once, over all connections (default 65 536).
    /// Past it, one-way requests are dropped, as Java drops those its pool rejects (two-way
    /// requests are bounded per connection by `Config::max_inbound_in_flight`).
    pub fn max_oneway_in_flight(mut self, limit: std::num::NonZeroUsize) -> Self {
        self.oneway = OnewayLimit::new(limit.get(), self.oneway.byte_limit());
        self
    }

    /// The most body bytes of the one-way requests handled at once, over all connections
    /// (default 128 MiB, as [`Config::max_inbound_bytes`](crate::Config::max_inbound_bytes)).
    /// Past it, one-way requests are dropped as past
    /// [`max_oneway_in_flight`](Self::max_oneway_in_flight); a lone request is always taken.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use tether_core::provider::{Dispatch, Provider};
    /// use tether_core::{BoxFuture, Spawner};
    ///
    /// struct Discard;
    /// impl Spawner for Discard {
    ///     fn spawn(&self, _future: BoxFuture) {}
    /// }
    /// let provider = Provider::new(Dispatch::Direct, Arc::new(Discard))
    ///     .max_oneway_in_flight(NonZeroUsize::new(10_000).unwrap())
    ///     .max_oneway_bytes(NonZeroUsize::new(32 << 20).unwrap());
    /// assert_eq!(provider.oneway_in_flight(), 0);
    /// ```
    pub fn max_oneway_bytes(mut self, bytes: std::num::NonZeroUsize) -> Self {
        self.oneway = OnewayLimit::new(self.oneway.limit(), bytes.get());
        self
    }

    /// One-way requests being handled now.
    pub fn oneway_in_flight(&self) -> usize {
        self.oneway.in_flight()
    }

    /// Exports `service` (replacing one with the same key).
    pub fn export(mut self, service: Service) -> Self {
        self.services.export(service);
        self
    }
}

impl RequestHandler for Provider {
    fn on_request(&self, conn: &SharedConnection, request: InboundRequest) {
        serve(
            &self.services,
            conn,
            request,
            &self.dispatch,
            &self.spawner,
            &self.oneway,
            &self.filters,
        );
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .field("dispatch", &self.dispatch)
            .finish_non_exhaustive()
    }
}
