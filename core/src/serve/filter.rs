//! Provider filters: code that sees every request routed to a method before its handler runs
//! and every answer before it is written (Dubbo's provider-side `Filter`), the seam for
//! tracing, metrics, auth and rate limits.

use std::sync::Arc;

use super::{Context, ServiceKey};
use crate::context::Extensions;
use crate::frame::Status;
use crate::message::{Attachments, JavaException};

/// Sees every request a [`Provider`](crate::provider::Provider) routes to a method of one of its
/// services ([`Provider::filter`](crate::provider::Provider::filter)), ordinary and generic calls
/// alike; `$echo`, and requests that name no exported method or fail to decode, are
/// answered before any filter.
///
/// [`on_request`](Self::on_request) runs in the order the filters were added, where the
/// handler runs (the IO thread for [`Dispatch::Direct`](super::Dispatch::Direct), the pool
/// otherwise), before it; [`on_answer`](Self::on_answer) runs in reverse order, where the
/// handler finished, before the answer is written. A filter whose `on_request` fails answers
/// the request with its [`Rejection`]: the handler does not run, the filters before it see
/// the answer, those after it see nothing.
///
/// ```
/// use tether_core::Status;
/// use tether_core::provider::{Answer, Filter, Rejection, Request};
///
/// /// Lets through calls that carry the `tenant` attachment, and stamps answers.
/// struct TenantGate;
///
/// impl Filter for TenantGate {
///     fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
///         match request.context.attachment("tenant") {
///             Some(_) => Ok(()),
///             None => Err(Rejection::Status(Status::SERVICE_ERROR, "no tenant".into())),
///         }
///     }
///
///     fn on_answer(&self, answer: &mut Answer<'_>) {
///         answer.attachments.insert("served-by", "rust");
///     }
/// }
/// ```
pub trait Filter: Send + Sync + 'static {
    /// Before the handler runs: may read and change the request's context (its
    /// attachments), keep per-call state in `extensions`, or answer the request itself.
    fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
        let _ = request;
        Ok(())
    }

    /// Before the answer is written: may read it and add attachments to it (sent with a
    /// value or an exception to callers of Dubbo 2.0.2 and later; an error status has no
    /// place for them).
    fn on_answer(&self, answer: &mut Answer<'_>) {
        let _ = answer;
    }
}

/// A shared filter.
impl<F: Filter + ?Sized> Filter for Arc<F> {
    fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
        (**self).on_request(request)
    }

    fn on_answer(&self, answer: &mut Answer<'_>) {
        (**self).on_answer(answer)
    }
}

/// A request as a [`Filter`] sees it.
///
/// ```
/// use std::time::Instant;
/// use tether_core::provider::{Answer, Filter, Rejection, Request};
///
/// /// Times each call: the start goes from `on_request` to `on_answer` in `extensions`.
/// struct Timing;
///
/// impl Filter for Timing {
///     fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
///         request.extensions.insert(Instant::now());
///         Ok(())
///     }
///
///     fn on_answer(&self, answer: &mut Answer<'_>) {
///         if let Some(started) = answer.extensions.get::<Instant>() {
///             let took = started.elapsed().as_micros().to_string();
///             answer.attachments.insert("server-micros", took);
///         }
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The service it was routed to.
    pub service: &'a ServiceKey,
    /// What the handler will get: attachments, deadline, method name.
    pub context: &'a mut Context,
    /// Filters' per-call state, handed on to [`Filter::on_answer`].
    pub extensions: &'a mut Extensions,
}

/// An answer as a [`Filter`] sees it.
///
/// ```
/// use tether_core::provider::{Answer, Filter};
///
/// /// Tells callers which node answered.
/// struct ServedBy(&'static str);
///
/// impl Filter for ServedBy {
///     fn on_answer(&self, answer: &mut Answer<'_>) {
///         answer.attachments.insert("served-by", self.0);
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Answer<'a> {
    /// The service the request was routed to.
    pub service: &'a ServiceKey,
    /// The method called (for a generic call, the method it names).
    pub method: &'a str,
    /// What is answered.
    pub outcome: Outcome<'a>,
    /// The attachments sent with it: the handler's, and what filters add.
    pub attachments: &'a mut Attachments,
    /// Filters' per-call state, as [`Filter::on_request`] left it.
    pub extensions: &'a mut Extensions,
}

/// What a request is answered with.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tether_core::provider::{Answer, Filter, Outcome};
///
/// /// Counts the answers that are not values.
/// #[derive(Default)]
/// struct Failures(AtomicUsize);
///
/// impl Filter for Failures {
///     fn on_answer(&self, answer: &mut Answer<'_>) {
///         match answer.outcome {
///             Outcome::Value => {}
///             Outcome::Exception(_) | Outcome::Status(..) => {
///                 self.0.fetch_add(1, Ordering::Relaxed);
///             }
///         }
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// A value (or null) from the handler.
    Value,
    /// An exception thrown by the handler, or a filter's rejection.
    Exception(&'a JavaException),
    /// An error status with its message: a handler that panicked or never answered, a
    /// server-side timeout, a filter's rejection.
    Status(Status, &'a str),
}

/// How a filter answers a request instead of its handler.
///
/// ```
/// use tether_core::message::JavaException;
/// use tether_core::provider::{Filter, Rejection, Request};
///
/// /// Throws `SecurityException` at callers without a `token` attachment, as the handler would.
/// struct RequireToken;
///
/// impl Filter for RequireToken {
///     fn on_request(&self, request: &mut Request<'_>) -> Result<(), Rejection> {
///         match request.context.attachment("token") {
///             Some(_) => Ok(()),
///             None => Err(Rejection::Exception(JavaException::new(
///                 "java.lang.SecurityException",
///                 "token required",
///             ))),
///         }
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub enum Rejection {
    /// A thrown exception, as if the handler had thrown it (status 20).
    Exception(JavaException),
    /// An error status and message, as Java answers an exception thrown by a filter
    /// (status 70 `SERVICE_ERROR`, say).
    Status(Status, String),
}

/// The filters of a provider and the state of one request passing through them.
pub(crate) struct FilterRun {
    pub(crate) filters: Arc<[Arc<dyn Filter>]>,
    pub(crate) service: ServiceKey,
    pub(crate) method: Arc<str>,
    pub(crate) extensions: Extensions,
    /// How many filters' `on_request` passed: those see the answer.
    pub(crate) passed: usize,
}

impl std::fmt::Debug for FilterRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterRun")
            .field("filters", &self.filters.len())
            .field("service", &self.service)
            .field("passed", &self.passed)
            .finish_non_exhaustive()
    }
}

impl FilterRun {
    /// Runs `on_request` of each filter in order, up to the first rejection.
    pub(crate) fn request(&mut self, context: &mut Context) -> Result<(), Rejection> {
        let filters = self.filters.clone();
        for filter in filters.iter() {
            let mut request = Request {
                service: &self.service,
                context,
                extensions: &mut self.extensions,
            };
            filter.on_request(&mut request)?;
            self.passed += 1;
        }
        Ok(())
    }

    /// Runs `on_answer` of the filters that passed the request, last first.
    pub(crate) fn answer(&mut self, outcome: Outcome<'_>, attachments: &mut Attachments) {
        for filter in self.filters[..self.passed].iter().rev() {
            let mut answer = Answer {
                service: &self.service,
                method: &self.method,
                outcome,
                attachments,
                extensions: &mut self.extensions,
            };
            filter.on_answer(&mut answer);
        }
    }
}
