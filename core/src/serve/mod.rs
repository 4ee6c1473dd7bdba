//! The server half of the service layer: exported services and their handlers, the
//! pipeline that answers every request exactly once, filters, and callback proxies. The
//! [`Provider`](crate::provider::Provider) serves requests through it, and so does a
//! consumer answering the callbacks it exported. It calls out only through
//! [`invoke`](crate::invoke) (callback proxies), never through the consumer or provider.

mod callback;
mod filter;
mod generic;
mod pipeline;
mod responder;
mod routing;
mod service;

pub use callback::{CallbackArg, CallbackProxy};
pub use filter::{Answer, Filter, Outcome, Rejection, Request};
pub use service::{Context, Dispatch, Service, ServiceKey};

pub(crate) use callback::CALLBACK_ARG_PREFIX;
pub(crate) use pipeline::{Services, serve, serve_callback};
pub(crate) use responder::OnewayLimit;
