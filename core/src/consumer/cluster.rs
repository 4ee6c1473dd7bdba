//! A call under a fault-tolerance strategy ([`Cluster`]): its attempts, each started on a
//! provider the reference selects, and the one outcome they make.
//!
//! A call's attempts run as a chain of continuations: each attempt's completion, once
//! resolved, either ends the call or starts the next attempt. No thread waits and no timer
//! is needed. The caller's completion carries a hook that cancels the attempts in flight
//! when it is dropped, and no attempt starts after that.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Method, RpcError};
use crate::call::{Completer, Completion, Inline, map_pair, pair};
use crate::cluster::{Active, Cluster, HashArguments, Invoker, is_retryable};
use crate::connection::{Canceller, abandoned_call};
use crate::context::{CallContext, Reply};
use crate::hessian2::{self, Value};
use crate::invoke::{abandoned, decode_with_attachments};
use crate::message::Arguments;
use crate::shared::SharedConnection;

type Outcome<R> = Result<Reply<R>, RpcError>;

/// The attempts in flight of one call (each with its connection, whose IO loop is woken to
/// end it), and whether its caller went away.
#[derive(Default)]
struct InFlight {
    cancelled: bool,
    attempts: Vec<(Canceller, SharedConnection)>,
}

impl InFlight {
    /// Records an attempt; false (and the attempt cancelled) if the call was cancelled.
    fn started(this: &Mutex<Self>, canceller: Canceller, conn: &SharedConnection) -> bool {
        let mut state = this.lock();
        if state.cancelled {
            drop(state);
            cancel_on(&canceller, conn);
            return false;
        }
        state.attempts.push((canceller, conn.clone()));
        true
    }

    fn cancel(this: &Mutex<Self>) {
        let attempts = {
            let mut state = this.lock();
            state.cancelled = true;
            std::mem::take(&mut state.attempts)
        };
        for (canceller, conn) in attempts {
            cancel_on(&canceller, &conn);
        }
    }
}

/// Cancels a call on `conn` and wakes its IO loop, which ends the call at once (an idle
/// connection would otherwise end it only at its next input or deadline). Queued rather
/// than applied here, so it takes no lock: it may run where the connection's is held.
pub(super) fn cancel_on(canceller: &Canceller, conn: &SharedConnection) {
    canceller.cancel();
    conn.wake();
}

/// What every strategy's call shares: the method, the arguments and context (handed to the
/// filters and listeners with the final outcome), and the caller's completer.
struct Call<A, R: Send + 'static> {
    method: Method<A, R>,
    args: A,
    ctx: CallContext,
    out: Completer<Outcome<R>>,
    in_flight: Arc<Mutex<InFlight>>,
    /// The arguments as text, when the reference's balancer hashes them.
    arguments: Option<TextArguments>,
    /// Whether the balancer reads per-provider statistics: each attempt is counted then.
    counted: bool,
}

impl<A, R> Call<A, R>
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    /// The provider for the next attempt ([`Method::select`]).
    fn select(&self, tried: &[Invoker]) -> Option<Invoker> {
        let arguments = self.arguments.as_ref().map(|a| a as &dyn HashArguments);
        self.method.select(&self.ctx, arguments, tried)
    }

    /// Whether the call was called off: cancelled, or dropped where nobody else watches
    /// it (a dropped call that listeners or filters watch runs on to its outcome).
    fn is_cancelled(&self) -> bool {
        self.in_flight.lock().cancelled || (self.out.is_abandoned() && !self.method.is_observed())
    }

    /// Starts one attempt on `invoker`: the completion of its decoded outcome. Its
    /// continuation owns the interest in it; the call's hook cancels it.
    fn attempt(&self, invoker: &Invoker) -> Result<Completion<Outcome<R>>, RpcError> {
        let path = self.method.reference.path();
        let conn = invoker
            .connection()
            .ok_or_else(|| super::no_connection(path, invoker))?;
        // The provider's URL may set the timeout (Java's `mergeUrl`).
        let provider_timeout = self.method.provider_timeout(Some(&self.ctx), invoker);
        let timeout = self.method.timeout_with(Some(&self.ctx), provider_timeout);
        // Counted in flight until it is answered (or dropped unanswered: a failure).
        let counted = self.counted.then(|| {
            (
                invoker.stats(&self.method.name).begin(),
                conn.clone(),
                conn.now(),
            )
        });
        let (completer, response) = map_pair(
            abandoned_call,
            move |result| {
                let outcome = decode_with_attachments(result, timeout);
                if let Some((active, clock, started)) = counted {
                    answered(
                        active,
                        clock.now().saturating_duration_since(started),
                        &outcome,
                    );
                }
                outcome
            },
            abandoned,
        );
        let started = self.method.start_on(
            &conn,
            &self.args,
            false,
            completer,
            Some(&self.ctx),
            provider_timeout,
        )?;
        if !InFlight::started(&self.in_flight, started.canceller(), &conn) {
            return Err(RpcError::Cancelled);
        }
        Ok(response)
    }

    /// Ends the call with `result`: filters and listeners see it, then the caller.
    fn finish(self, result: Outcome<R>) {
        self.finish_keeping(result);
    }

    /// [`finish`](Self::finish), handing back what another send of the call needs.
    fn finish_keeping(mut self, result: Outcome<R>) -> (Method<A, R>, A, CallContext) {
        let result = self.method.finished(result, &self.args, &mut self.ctx);
        self.out.complete(result, &Inline);
        (self.method, self.args, self.ctx)
    }
}

/// Starts a call of `method` under `cluster` and returns its completion, already mapped
/// through the filters and listeners (which have run `before` by now).
pub(super) fn invoke<A, R>(
    method: &Method<A, R>,
    cluster: Cluster,
    args: A,
    ctx: CallContext,
    blocking: bool,
) -> Completion<Outcome<R>>
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let (out, mut completion) = pair(abandoned);
    let in_flight = Arc::new(Mutex::new(InFlight::default()));
    let resends = matches!(cluster, Cluster::Failback { .. });
    let hook = in_flight.clone();
    if !method.is_observed() && !resends {
        // Nobody else watches the outcome: dropping the completion calls the call off.
        // (A failback call is not called off: its resends are the point.)
        completion = completion.on_drop_unresolved(move || InFlight::cancel(&hook));
    } else {
        // Only an explicit `cancel` calls it off.
        completion = completion.on_cancel(move || InFlight::cancel(&hook));
    }
    let balance = &method.reference.0.balance;
    let call = Call {
        method: method.clone(),
        arguments: balance.needs_arguments().then(|| TextArguments::of(&args)),
        counted: balance.needs_stats(),
        args,
        ctx,
        out,
        in_flight,
    };
    match cluster {
        Cluster::Failover { retries } => Sequence::start(call, retries, blocking),
        Cluster::Failfast => Sequence::start(call, 0, blocking),
        Cluster::Failsafe => failsafe(call),
        Cluster::Forking { forks } => fork(call, forks),
        Cluster::Broadcast { fail_percent } => broadcast(call, fail_percent),
        Cluster::Available => available(call),
        Cluster::Failback { retries } => failback(call, retries),
    }
    completion
}

/// Failover (and failfast, with no retries): one attempt at a time, each on a provider
/// not tried yet in this call, until one answers or the retries run out.
struct Sequence<A, R: Send + 'static> {
    call: Call<A, R>,
    tried: Vec<Invoker>,
    retries_left: u32,
    blocking: bool,
}

impl<A, R> Sequence<A, R>
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    fn start(call: Call<A, R>, retries: u32, blocking: bool) {
        Self {
            call,
            tried: Vec::new(),
            retries_left: retries,
            blocking,
        }
        .next(None);
    }

    /// Makes the next attempt, or ends the call with `last` (the previous attempt's
    /// failure) when there is no provider left to try.
    fn next(mut self, last: Option<RpcError>) {
        if self.call.is_cancelled() {
            return self.call.finish(Err(RpcError::Cancelled));
        }
        let picked = self.call.select(&self.tried);
        let invoker = match picked {
            Some(invoker) if !self.tried.iter().any(|t| t.same_provider(&invoker)) => invoker,
            // Every listed provider has had its attempt (or none is listed).
            _ => {
                let error = last.unwrap_or_else(|| self.call.method.no_provider());
                return self.call.finish(Err(error));
            }
        };
        self.tried.push(invoker.clone());
        match self.call.attempt(&invoker) {
            Ok(attempt) => attempt.on_complete(move |outcome| self.answered(outcome)),
            Err(error) if self.may_retry(&error) => {
                self.retries_left -= 1;
                self.next(Some(error));
            }
            Err(error) => self.call.finish(Err(error)),
        }
    }

    fn answered(mut self, outcome: Outcome<R>) {
        match outcome {
            Err(error) if self.may_retry(&error) => {
                self.retries_left -= 1;
                self.next(Some(error));
            }
            outcome => self.call.finish(outcome),
        }
    }

    fn may_retry(&self, error: &RpcError) -> bool {
        self.retries_left > 0 && is_retryable(error, self.blocking)
    }
}

/// Failsafe: one attempt; a failure is logged and the call returns null when `R` can be.
fn failsafe<A, R>(call: Call<A, R>)
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let swallow = |error: RpcError| -> Outcome<R> {
        if matches!(error, RpcError::Cancelled) {
            // Called off by the caller: not a failure to hide.
            return Err(error);
        }
        match hessian2::from_value::<R>(Value::Null) {
            Ok(null) => {
                tracing::warn!(%error, "failsafe: call failed, returning null");
                Ok(Reply::new(null))
            }
            Err(_) => Err(error),
        }
    };
    let Some(invoker) = call.select(&[]) else {
        let error = call.method.no_provider();
        return call.finish(swallow(error));
    };
    match call.attempt(&invoker) {
        Ok(attempt) => attempt.on_complete(move |outcome| call.finish(outcome.or_else(swallow))),
        Err(error) => call.finish(swallow(error)),
    }
}

/// Failback: one attempt; a failure not the method's own returns null to the caller (as
/// failsafe) and the call waits on the reference's [`FailbackQueue`] to be resent.
///
/// [`FailbackQueue`]: crate::cluster::FailbackQueue
fn failback<A, R>(call: Call<A, R>, retries: u32)
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let Some(invoker) = call.select(&[]) else {
        let error = call.method.no_provider();
        return failed_back(call, error, None, retries);
    };
    match call.attempt(&invoker) {
        Ok(attempt) => attempt.on_complete(move |outcome| match outcome {
            Err(error) if is_retryable(&error, true) => {
                failed_back(call, error, Some(invoker), retries)
            }
            outcome => call.finish(outcome),
        }),
        Err(error) if is_retryable(&error, true) => {
            failed_back(call, error, Some(invoker), retries)
        }
        Err(error) => call.finish(Err(error)),
    }
}

/// Ends a failback call whose attempt failed with `error` (null to the caller where `R`
/// can be null) and queues its resends, away from `last` when another provider is listed.
fn failed_back<A, R>(call: Call<A, R>, error: RpcError, last: Option<Invoker>, retries: u32)
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let reason = error.to_string();
    let outcome = match hessian2::from_value::<R>(Value::Null) {
        Ok(null) => Ok(Reply::new(null)),
        Err(_) => Err(error),
    };
    let (method, args, ctx) = call.finish_keeping(outcome);
    let target = format!("{}.{}", method.reference.path(), method.name);
    let Some(queue) = method.reference.0.failback.clone() else {
        tracing::error!(call = %target, error = %reason, "failback: no FailbackQueue on the reference, not resent");
        return;
    };
    if retries == 0 {
        tracing::warn!(call = %target, error = %reason, "failback: call failed, no resend (retries 0)");
        return;
    }
    let queued = queue.push(move |sleep, period| {
        Box::pin(resend(method, args, ctx, last, retries, sleep, period))
    });
    if queued {
        tracing::warn!(call = %target, error = %reason, "failback: call failed, resending in the background");
    } else {
        tracing::error!(call = %target, error = %reason, "failback: queue full, call dropped");
    }
}

/// Resends a failed failback call every `period`, up to `retries` times, until a provider
/// answers it (an exception of the method's own counts as an answer).
async fn resend<A, R>(
    method: Method<A, R>,
    args: A,
    ctx: CallContext,
    mut last: Option<Invoker>,
    retries: u32,
    sleep: crate::cluster::Sleep,
    period: std::time::Duration,
) where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let target = format!("{}.{}", method.reference.path(), method.name);
    for attempt in 1..=retries {
        sleep(period).await;
        let avoid: Vec<Invoker> = last.iter().cloned().collect();
        let Some(invoker) = method.select(&ctx, None, &avoid) else {
            tracing::warn!(call = %target, attempt, "failback: no provider to resend to");
            continue;
        };
        let Some(conn) = invoker.connection() else {
            last = Some(invoker);
            continue;
        };
        let provider_timeout = method.provider_timeout(Some(&ctx), &invoker);
        let timeout = method.timeout_with(Some(&ctx), provider_timeout);
        let (completer, response) = map_pair(
            abandoned_call,
            move |result| decode_with_attachments::<R>(result, timeout),
            abandoned,
        );
        let started = method.start_on(&conn, &args, false, completer, Some(&ctx), provider_timeout);
        let outcome = match started {
            Ok(started) => started.cancel(response).await,
            Err(error) => Err(error),
        };
        match outcome {
            Err(error) if is_retryable(&error, true) => {
                tracing::warn!(call = %target, attempt, %error, "failback: resend failed");
                last = Some(invoker);
            }
            _ => {
                tracing::info!(call = %target, attempt, "failback: resent");
                return;
            }
        }
    }
    tracing::error!(call = %target, retries, "failback: giving up after the last resend");
}

/// Available: the first listed provider with a connection available, no balancing.
fn available<A, R>(call: Call<A, R>)
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let Some(invoker) = call.method.first_available(&call.ctx) else {
        let error = call.method.no_provider();
        return call.finish(Err(error));
    };
    match call.attempt(&invoker) {
        Ok(attempt) => attempt.on_complete(move |outcome| call.finish(outcome)),
        Err(error) => call.finish(Err(error)),
    }
}

/// Forking: `forks` distinct providers at once; the first success wins.
fn fork<A, R>(call: Call<A, R>, forks: u32)
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let listed = call.method.list(&call.ctx);
    let wanted = match forks as usize {
        0 => listed.len(),
        n => n.min(listed.len()),
    };
    let mut picked: Vec<Invoker> = Vec::with_capacity(wanted);
    while picked.len() < wanted {
        match call.select(&picked) {
            Some(invoker) if !picked.iter().any(|p| p.same_provider(&invoker)) => {
                picked.push(invoker)
            }
            _ => break,
        }
    }
    if picked.is_empty() {
        let error = call.method.no_provider();
        return call.finish(Err(error));
    }
    struct Race<A, R: Send + 'static> {
        /// Placed once every fork has started.
        call: Option<Call<A, R>>,
        pending: usize,
        /// The outcome that ends the call, when it came before the call was placed.
        decided: Option<Outcome<R>>,
    }
    let race = Arc::new(Mutex::new(Race {
        call: None,
        pending: picked.len(),
        decided: None,
    }));
    // Each fork reports here; the first success (a business exception is one), or the last
    // failure, ends the call.
    let report = {
        let race = race.clone();
        move |outcome: Outcome<R>| {
            let mut state = race.lock();
            state.pending -= 1;
            let wins = !matches!(&outcome, Err(e) if !matches!(e, RpcError::Business(_)));
            if state.decided.is_some() || !(wins || state.pending == 0) {
                return;
            }
            match state.call.take() {
                Some(call) => {
                    drop(state);
                    // The other forks are no longer wanted.
                    InFlight::cancel(&call.in_flight);
                    call.finish(outcome);
                }
                None if wins || state.pending == 0 => state.decided = Some(outcome),
                None => {}
            }
        }
    };
    let mut last_error = None;
    for invoker in &picked {
        match call.attempt(invoker) {
            Ok(attempt) => attempt.on_complete(report.clone()),
            Err(error) => {
                race.lock().pending -= 1;
                last_error = Some(error);
            }
        }
    }
    let mut state = race.lock();
    if let Some(outcome) = state.decided.take() {
        drop(state);
        InFlight::cancel(&call.in_flight);
        return call.finish(outcome);
    }
    if state.pending == 0 {
        // No fork could start.
        drop(state);
        let error = last_error.unwrap_or_else(|| call.method.no_provider());
        return call.finish(Err(error));
    }
    state.call = Some(call);
}

/// Broadcast: every listed provider, one after another.
fn broadcast<A, R>(call: Call<A, R>, fail_percent: u8)
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    let invokers = call.method.list(&call.ctx);
    if invokers.is_empty() {
        let error = call.method.no_provider();
        return call.finish(Err(error));
    }
    let threshold = invokers.len() * usize::from(fail_percent.min(100)) / 100;
    Broadcast {
        call,
        invokers,
        at: 0,
        failures: 0,
        threshold,
        last: None,
        last_error: None,
    }
    .next();
}

struct Broadcast<A, R: Send + 'static> {
    call: Call<A, R>,
    invokers: Vec<Invoker>,
    at: usize,
    failures: usize,
    threshold: usize,
    last: Option<Outcome<R>>,
    last_error: Option<RpcError>,
}

impl<A, R> Broadcast<A, R>
where
    A: Arguments + Serialize + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    fn next(mut self) {
        while self.at < self.invokers.len() && !self.should_stop() {
            if self.call.is_cancelled() {
                return self.call.finish(Err(RpcError::Cancelled));
            }
            let invoker = self.invokers[self.at].clone();
            self.at += 1;
            match self.call.attempt(&invoker) {
                Ok(attempt) => {
                    attempt.on_complete(move |outcome| {
                        let mut this = self;
                        this.record(outcome);
                        this.next();
                    });
                    return;
                }
                Err(error) => self.record(Err(error)),
            }
        }
        let outcome = match (self.last_error.take(), self.last.take()) {
            (Some(error), _) => Err(error),
            (None, Some(outcome)) => outcome,
            (None, None) => Err(self.call.method.no_provider()),
        };
        self.call.finish(outcome);
    }

    /// Dubbo stops once the failures reach the threshold (a threshold of 0 never does).
    fn should_stop(&self) -> bool {
        self.threshold > 0 && self.failures >= self.threshold
    }

    fn record(&mut self, outcome: Outcome<R>) {
        match outcome {
            Ok(reply) => self.last = Some(Ok(reply)),
            Err(error) => {
                self.failures += 1;
                self.last_error = Some(error);
            }
        }
    }
}

/// Records an answered attempt in its provider's statistics: an answer (a business
/// exception is one, as Dubbo counts it) with its elapsed time, anything else a failure.
fn answered<R>(active: Active, elapsed: Duration, outcome: &Outcome<R>) {
    match outcome {
        Ok(_) | Err(RpcError::Business(_)) => active.succeeded(elapsed),
        Err(_) => drop(active),
    }
}

/// A call's arguments as the text Java's `String.valueOf` gives them, which Dubbo's
/// consistent hashing hashes: `null`, `true`, decimal numbers, strings as they are.
///
/// A structured argument has no text a Rust consumer could share with Java (its `toString`
/// is the class's own); it is written in a fixed form of its own, so the same value still
/// lands on the same provider from tether consumers.
struct TextArguments(Vec<Value>);

impl TextArguments {
    fn of<A: Serialize>(args: &A) -> Self {
        match hessian2::to_value(args) {
            Ok(Value::List { items, .. }) => Self(items),
            Ok(one) => Self(vec![one]),
            Err(_) => Self(Vec::new()),
        }
    }
}

impl HashArguments for TextArguments {
    fn write_argument(&self, index: usize, out: &mut String) -> bool {
        let Some(value) = self.0.get(index) else {
            return false;
        };
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Long(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Double(x) => {
                let _ = write!(out, "{x:?}");
            }
            Value::String(text) => out.push_str(text),
            other => {
                let _ = write!(out, "{other:?}");
            }
        }
        true
    }
}
