//! The serving pipeline: a received request is parsed up to its attachments, routed to an
//! exported service (or, on a consumer, to an exported callback), checked, passed through the
//! filters and run where the dispatch policy says; its [`Responder`] answers it exactly once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::callback::{CALLBACK_INSTANCE, callback_proxies};
use super::filter::{self, Filter};
use super::generic;
use super::responder::{OnewayLimit, Responder};
use super::routing::{RequestAttachments, Routing};
use super::service::{Args, Context, Dispatch, Handler, Service, ServiceKey};
use crate::context::Extensions;
use crate::event::InboundRequest;
use crate::frame::{SerializationId, Status};
use crate::hessian2::Value;
use crate::message::{
    ArgsStart, Attachments, DUBBO_VERSION, JavaException, RequestHead, RequestReader,
    attachments_supported,
};
use crate::shared::{SharedConnection, Spawner};

/// A provider's exported services: by path, then the few versions and groups of that path,
/// found from the request's borrowed strings without building a key.
#[derive(Default)]
pub(crate) struct Services(HashMap<String, Vec<Arc<Service>>>);

impl Services {
    /// Exports `service` (replacing one with the same key).
    pub(crate) fn export(&mut self, service: Service) {
        let same_path = self.0.entry(service.key.path.clone()).or_default();
        same_path.retain(|s| s.key != service.key);
        same_path.push(Arc::new(service));
    }

    /// The service exported as `ServiceKey::new(path, version, group)`.
    fn find(&self, path: &str, version: Option<&str>, group: Option<&str>) -> Option<&Service> {
        let same_path = self.0.get(path)?;
        same_path
            .iter()
            .find(|s| s.key.is(path, version, group))
            .map(|s| &**s)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &ServiceKey> {
        self.0.values().flatten().map(|s| &s.key)
    }
}

/// Answers one request to a provider: routes it to the exported service and runs it.
pub(crate) fn serve(
    services: &Services,
    conn: &SharedConnection,
    request: InboundRequest,
    dispatch: &Dispatch,
    spawner: &Arc<dyn Spawner>,
    oneway: &OnewayLimit,
    filters: &Arc<[Arc<dyn Filter>]>,
) {
    let Some(parsed) = parse(conn, &request, oneway) else {
        return;
    };
    // Java ≥ 2.7: the `path` and `version` attachments override body fields 2 and 3.
    let routing = &parsed.routing;
    let path = routing.path.as_deref().unwrap_or(&parsed.head.path);
    let version = (routing.version.as_deref()).or(parsed.head.version.as_deref());
    let group = routing.group.as_deref();
    let Some(service) = services.find(path, version, group) else {
        let key = ServiceKey::new(path, version, group);
        let known: Vec<String> = services.keys().map(ToString::to_string).collect();
        let message = format!(
            "Not found exported service: {key} in [{}], may be version or group mismatch, method: {}",
            known.join(", "),
            parsed.head.method
        );
        return parsed.responder.fail(Status::SERVICE_ERROR, &message);
    };
    if let Some(token) = &service.token {
        if routing.token.as_deref() != Some(token.as_str()) {
            let message = format!(
                "Invalid token! Forbid invoke remote service {} method {}() from consumer",
                service.key, parsed.head.method
            );
            return parsed.responder.fail(Status::SERVICE_ERROR, &message);
        }
    }
    invoke(
        conn,
        service,
        parsed,
        &request,
        dispatch,
        spawner,
        Serving::Provider(filters),
    );
}

/// A request decoded up to its attachments, the head borrowed from the body, with the
/// responder that answers it.
struct Parsed<'a> {
    head: RequestHead<'a>,
    /// Where the arguments start: the handler decodes them from there.
    args: ArgsStart,
    routing: Routing<'a>,
    /// The attachments, decoded when the routing scan found keys or values that need them.
    attachments: Option<Attachments>,
    responder: Responder,
}

/// Decodes the head and the attachments (which name the group and may override path and
/// version), skipping the arguments until the method is known. Answers 40 itself on failure.
fn parse<'a>(
    conn: &SharedConnection,
    request: &'a InboundRequest,
    oneway: &OnewayLimit,
) -> Option<Parsed<'a>> {
    let &InboundRequest {
        id,
        two_way,
        serialization,
        ref body,
        ..
    } = request;
    let slot = if two_way {
        None
    } else {
        // Past the limit a one-way request is dropped: it has nobody to answer.
        Some(oneway.try_acquire(body.len())?)
    };
    if serialization != SerializationId::HESSIAN2 {
        // `docs/protocol.md` §12: answered in Hessian2 with 40.
        let responder = Responder::new(conn.clone(), id, serialization, two_way, false);
        let message = format!(
            "Unrecognized serialize type from consumer: {}",
            serialization.get()
        );
        responder.fail(Status::BAD_REQUEST, &message);
        return None;
    }
    let parsed = RequestReader::new(body).and_then(|reader| {
        let head = reader.head().clone();
        let args = reader.args_start();
        let routing = Routing::scan(reader)?;
        // Rare: callback keys, or values that may still fail to decode (answered with 40).
        let attachments = if routing.needs_map() {
            Some(RequestReader::new(body)?.attachments()?)
        } else {
            None
        };
        Ok((head, args, routing, attachments))
    });
    match parsed {
        Ok((head, args, routing, attachments)) => {
            let mut responder = Responder::new(
                conn.clone(),
                id,
                serialization,
                two_way,
                attachments_supported(&head.dubbo_version),
            );
            if let Some(slot) = slot {
                responder = responder.with_slot(slot);
            }
            Some(Parsed {
                head,
                args,
                routing,
                attachments,
                responder,
            })
        }
        Err(e) => {
            Responder::new(conn.clone(), id, serialization, two_way, false).bad_request(e);
            None
        }
    }
}

/// Who serves a request.
enum Serving<'a> {
    /// A provider, with its filters: callback arguments get proxies.
    Provider(&'a Arc<[Arc<dyn Filter>]>),
    /// A consumer serving the callbacks it exported.
    Callbacks,
}

/// Finds the method on `service`, sets up callback proxies (on a provider) and runs the
/// handler per `dispatch`, through the provider's filters.
fn invoke(
    conn: &SharedConnection,
    service: &Service,
    parsed: Parsed<'_>,
    request: &InboundRequest,
    dispatch: &Dispatch,
    spawner: &Arc<dyn Spawner>,
    serving: Serving<'_>,
) {
    let Parsed {
        head,
        args: args_start,
        routing,
        attachments,
        mut responder,
    } = parsed;
    let key = &service.key;
    let body = &request.body;
    let deadline = (routing.caller_timeout()).map(|timeout| request.received_at + timeout);

    // `$echo` returns its argument; `$invoke` names the real method in its arguments.
    let (method, args) = if head.is_echo() {
        return match RequestReader::new(body).and_then(|mut r| r.next_arg::<Value>()) {
            Ok(value) => responder.reply(Ok::<_, &JavaException>(&value)),
            Err(e) => responder.bad_request(e),
        };
    } else if head.is_generic() {
        // A mode whose arguments tether cannot read is refused, as Java refuses the modes
        // it does not allow (status 70).
        let mode = match generic::GenericMode::of(routing.generic.as_deref()) {
            Ok(mode) => mode,
            Err(message) => return responder.fail(Status::SERVICE_ERROR, &message),
        };
        let call = match RequestReader::new(body).and_then(|mut r| r.generic_args()) {
            Ok(call) => call,
            Err(e) => return responder.bad_request(e),
        };
        responder = responder.generic(mode);
        match service.find_generic(&call.method, &call.parameter_types) {
            Some(method) => (method, Args::Values(call.args)),
            None => return not_found(responder, key, &call.method, ""),
        }
    } else {
        match service.find(&head.method, &head.parameter_types) {
            Some(method) => (method, Args::Body(body.clone(), args_start)),
            None => {
                if matches!(serving, Serving::Callbacks) {
                    // The provider only logs the failure: say it on this side too, where
                    // the misnamed callback method was written.
                    tracing::error!(
                        callback = %key,
                        method = %head.method,
                        parameter_types = %head.parameter_types,
                        "the provider called a method this callback service does not have; \
                         it was answered with status 70 (check the callback's method names \
                         and argument types against the Java interface)"
                    );
                }
                return not_found(responder, key, &head.method, &head.parameter_types);
            }
        }
    };

    let callbacks = match &attachments {
        Some(attachments) if matches!(serving, Serving::Provider(_)) => {
            match callback_proxies(
                conn,
                service,
                &head.method,
                &head.parameter_types,
                attachments,
            ) {
                Ok(callbacks) => callbacks,
                Err(message) => return responder.fail(Status::BAD_REQUEST, &message),
            }
        }
        _ => Vec::new(),
    };
    let attachments = match attachments {
        Some(attachments) => RequestAttachments::decoded(attachments),
        None => RequestAttachments::lazy(body.clone()),
    };
    let ctx = Context {
        attachments,
        deadline,
        connection: conn.clone(),
        dubbo_version: if head.dubbo_version == DUBBO_VERSION {
            Cow::Borrowed(DUBBO_VERSION)
        } else {
            Cow::Owned(head.dubbo_version.into_owned())
        },
        // A generic call names another method than the one it runs.
        method: if *method.name == *head.method {
            method.name.clone()
        } else {
            head.method.as_ref().into()
        },
        callbacks,
    };
    if let Serving::Provider(filters) = serving
        && !filters.is_empty()
    {
        responder = responder.with_filters(filter::FilterRun {
            filters: filters.clone(),
            service: key.clone(),
            method: ctx.method.clone(),
            extensions: Extensions::default(),
            passed: 0,
        });
    }
    let handler = method.handler.clone();
    match dispatch {
        Dispatch::Direct => run(&*handler, args, ctx, responder, &**spawner),
        Dispatch::Pool(pool) => {
            let spawner = spawner.clone();
            pool.spawn(Box::pin(async move {
                run(&*handler, args, ctx, responder, &*spawner);
            }));
        }
    }
}

/// Answers a provider's call of a callback this consumer exported on `conn`: found by the
/// interface (the path) and `callback.service.instid` attachment (`docs/protocol.md` §6.3).
pub(crate) fn serve_callback(
    conn: &SharedConnection,
    request: InboundRequest,
    dispatch: &Dispatch,
    spawner: &Arc<dyn Spawner>,
    oneway: &OnewayLimit,
) {
    let Some(parsed) = parse(conn, &request, oneway) else {
        return;
    };
    let interface = (parsed.routing.path.as_deref()).unwrap_or(&parsed.head.path);
    // The routing scan decodes the map when it sees the instance key.
    let id = (parsed.attachments.as_ref())
        .and_then(|attachments| attachments.get_str(CALLBACK_INSTANCE))
        .and_then(|v| v.trim().parse::<i32>().ok());
    let target = id.and_then(|id| conn.with(|c, _| c.callbacks().exported(interface, id)));
    match target.and_then(|t| t.downcast::<Service>().ok()) {
        Some(service) => invoke(
            conn,
            &service,
            parsed,
            &request,
            dispatch,
            spawner,
            Serving::Callbacks,
        ),
        None => {
            let message = format!(
                "Not found exported callback: {interface}.{} on this connection, method: {}",
                id.map_or_else(|| "?".to_owned(), |id| id.to_string()),
                parsed.head.method
            );
            tracing::warn!(%message, "a callback the provider called is not exported here");
            parsed.responder.fail(Status::SERVICE_ERROR, &message);
        }
    }
}

/// Runs a handler unless its caller has already given up.
fn run(
    handler: &dyn Handler,
    args: Args,
    mut ctx: Context,
    mut responder: Responder,
    spawner: &dyn Spawner,
) {
    if let Some(deadline) = ctx.deadline {
        let now = ctx.connection.now();
        if now >= deadline {
            // The caller's timeout passed while the request waited: do not run it. Java
            // consumers read status 31 as a server-side timeout.
            let message = format!(
                "Server-side timeout: the request waited past the caller's deadline by {:?} and was not run",
                now - deadline
            );
            return responder.fail(Status::SERVER_TIMEOUT, &message);
        }
    }
    if let Some(filters) = responder.filters_mut() {
        match filters.request(&mut ctx) {
            Ok(()) => {}
            Err(filter::Rejection::Exception(exception)) => {
                return responder.reply(Err::<&(), _>(&exception));
            }
            Err(filter::Rejection::Status(status, message)) => {
                return responder.fail(status, &message);
            }
        }
    }
    handler.invoke(args, ctx, responder, spawner);
}

fn not_found(responder: Responder, key: &ServiceKey, method: &str, descriptor: &str) {
    let message = format!("Not found method {method}({descriptor}) in service {key}");
    responder.fail(Status::SERVICE_ERROR, &message);
}
