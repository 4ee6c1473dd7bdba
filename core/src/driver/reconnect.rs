//! A reference's connections kept up: [`open_channels`] opens them and, for each slot,
//! reconnects with backoff when its connection drops. Written once for every adapter: it
//! needs only a timer ([`Timers`]), a [`Spawner`] and the adapter's `connect`;
//! [`reference_channels`] is that over a [`Runtime`] and this module's [`connect`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use super::{ClientConnection, Options, Runtime, Timers, connect};
use crate::call::Completion;
use crate::cluster::{Backoff, Channels};
use crate::config::Config;
use crate::error::ConnectionError;
use crate::shared::{BoxFuture, SharedConnection, Spawner};

/// Opens `connections` connections to the addresses `resolve` yields (Dubbo's
/// `connections`) for a [`Reference`](crate::consumer::Reference), failing if one cannot be
/// opened (Dubbo's `check=true`). Each slot is kept connected by a task on `runtime`: when
/// its connection drops, pending calls fail at once, the slot empties (calls go to the other
/// connections), and a new connection is attempted after `backoff`. Dropping the returned
/// [`Channels`] closes the connections and ends the tasks.
///
/// `resolve` is called for every attempt, so a name is resolved again on reconnect.
/// Adapters resolve names their runtime's way: `tether_tokio::reference_channels` and
/// `tether_smol::reference_channels` call this.
pub async fn reference_channels<R, F, A, I>(
    runtime: Arc<R>,
    resolve: F,
    connections: NonZeroUsize,
    config: Config,
    options: Options,
    backoff: Backoff,
) -> io::Result<Arc<Channels>>
where
    R: Runtime,
    F: Fn() -> A + Send + Sync + 'static,
    A: Future<Output = io::Result<I>> + Send,
    I: IntoIterator<Item = SocketAddr>,
{
    let open = opener(runtime.clone(), resolve, config, options);
    let spawner = OnRuntime(runtime.clone());
    open_channels(runtime, &spawner, connections, backoff, open).await
}

/// A connection attempt, as [`opener`] makes them.
type Attempt = Pin<
    Box<dyn Future<Output = io::Result<(SharedConnection, Completion<ConnectionError>)>> + Send>,
>;

/// What [`open_channels`] and [`lazy_channels`] call for each connection attempt of
/// [`reference_channels`] and [`lazy_reference_channels`]: resolve, then [`connect`].
fn opener<R, F, A, I>(
    runtime: Arc<R>,
    resolve: F,
    config: Config,
    options: Options,
) -> impl Fn() -> Attempt + Clone + Send + Sync + 'static
where
    R: Runtime,
    F: Fn() -> A + Send + Sync + 'static,
    A: Future<Output = io::Result<I>> + Send,
    I: IntoIterator<Item = SocketAddr>,
{
    let resolve = Arc::new(resolve);
    move || {
        let (runtime, resolve) = (runtime.clone(), resolve.clone());
        let (config, options) = (config.clone(), options.clone());
        Box::pin(async move {
            connect(runtime, resolve(), config, options)
                .await
                .map(ClientConnection::into_parts)
        })
    }
}

/// A [`Spawner`] for a [`Runtime`]'s tasks.
pub(super) struct OnRuntime<R>(pub(super) Arc<R>);

impl<R: Runtime> Spawner for OnRuntime<R> {
    fn spawn(&self, future: BoxFuture) {
        self.0.spawn(future);
    }
}

/// Opens `connections` connections with `connect` (Dubbo's `connections`), failing with the
/// first error (Dubbo's `check=true`), and keeps each slot connected with a task on
/// `spawner`: when a slot's connection ends (its completion resolves), pending calls have
/// already failed, the slot empties (calls go to the other connections), and `connect` is
/// tried again after `backoff`, doubling up to its maximum. Dropping the returned
/// [`Channels`] closes the connections, which ends the tasks.
///
/// `connect` yields the connection and the completion of its end, as adapters'
/// `ClientConnection::into_parts` do.
pub async fn open_channels<R, C, F, E: 'static>(
    runtime: Arc<R>,
    spawner: &dyn Spawner,
    connections: NonZeroUsize,
    backoff: Backoff,
    connect: C,
) -> Result<Arc<Channels>, E>
where
    R: Timers,
    C: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(SharedConnection, Completion<ConnectionError>), E>> + Send + 'static,
{
    let channels = Arc::new(Channels::owning(connections));
    for slot in 0..connections.get() {
        // On an error the channels are dropped, which closes the connections opened so far
        // and so ends their tasks.
        let (conn, closed) = connect().await?;
        channels.set(slot, Some(conn));
        let keeper = keep_slot(
            runtime.clone(),
            Arc::downgrade(&channels),
            slot,
            backoff,
            Some(closed),
            connect.clone(),
        );
        spawner.spawn(Box::pin(keeper));
    }
    Ok(channels)
}

/// Channels to the addresses `resolve` yields that connect in the background: returned at
/// once with `connections` empty slots, each filled by a task on `spawner` that connects
/// (at once, then after `backoff` while it fails) and keeps its slot connected as
/// [`reference_channels`] does. Dropping the channels closes the connections and ends the
/// tasks (a task sleeping in its backoff ends when it wakes). This is what the async
/// adapters' `Connector`s return for a provider a registry lists.
///
/// `spawner` runs the tasks; it may differ from `runtime`'s own spawning (tokio's needs a
/// handle when called from outside the runtime, as a registry's notification is).
pub fn lazy_reference_channels<R, F, A, I>(
    runtime: Arc<R>,
    spawner: &dyn Spawner,
    resolve: F,
    connections: NonZeroUsize,
    config: Config,
    options: Options,
    backoff: Backoff,
) -> Arc<Channels>
where
    R: Runtime,
    F: Fn() -> A + Send + Sync + 'static,
    A: Future<Output = io::Result<I>> + Send,
    I: IntoIterator<Item = SocketAddr>,
{
    let open = opener(runtime.clone(), resolve, config, options);
    lazy_channels(runtime, spawner, connections, backoff, open)
}

/// [`open_channels`] without the wait: returns `connections` empty slots at once and spawns
/// one task per slot on `spawner` that connects with `connect` right away, retries after
/// `backoff` (doubling) while that fails, and from then on keeps the slot connected.
/// Dropping the returned [`Channels`] closes the connections, which ends the tasks.
pub fn lazy_channels<R, C, F, E: 'static>(
    runtime: Arc<R>,
    spawner: &dyn Spawner,
    connections: NonZeroUsize,
    backoff: Backoff,
    connect: C,
) -> Arc<Channels>
where
    R: Timers,
    C: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(SharedConnection, Completion<ConnectionError>), E>> + Send + 'static,
{
    let channels = Arc::new(Channels::owning(connections));
    for slot in 0..connections.get() {
        let keeper = keep_slot(
            runtime.clone(),
            Arc::downgrade(&channels),
            slot,
            backoff,
            None,
            connect.clone(),
        );
        spawner.spawn(Box::pin(keeper));
    }
    channels
}

/// Keeps the slot connected for as long as the channels live: waits for its connection
/// (`closed`, if it has one) to end, then reconnects with backoff. Without a connection, the
/// first attempt is made at once.
async fn keep_slot<R, C, F, E>(
    runtime: Arc<R>,
    channels: Weak<Channels>,
    slot: usize,
    backoff: Backoff,
    mut closed: Option<Completion<ConnectionError>>,
    connect: C,
) where
    R: Timers,
    C: Fn() -> F,
    F: Future<Output = Result<(SharedConnection, Completion<ConnectionError>), E>>,
{
    loop {
        // Whether to wait before the next attempt: not when starting without a connection.
        let mut wait = false;
        if let Some(ended) = closed.take() {
            ended.await;
            match channels.upgrade() {
                Some(channels) => channels.set(slot, None),
                None => return,
            }
            wait = true;
        }
        let mut attempt = 0;
        closed = Some(loop {
            if wait {
                let delay = backoff.delay(attempt);
                runtime.sleep_until(runtime.now() + delay).await;
                attempt = attempt.saturating_add(1);
            }
            wait = true;
            // Not held across the attempt: the channels may be dropped meanwhile.
            if channels.strong_count() == 0 {
                return;
            }
            if let Ok((conn, ended)) = connect().await {
                match channels.upgrade() {
                    Some(channels) => {
                        channels.set(slot, Some(conn));
                        break ended;
                    }
                    // Dropped while connecting: the connection is nobody's.
                    None => {
                        conn.close();
                        return;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the test runtime reads the clock
mod tests {
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Poll;
    use std::time::Instant;

    use futures::executor::block_on;
    use parking_lot::Mutex;

    use super::*;
    use crate::call::{Completer, pair};
    use crate::shared::{BoxFuture, Clock};
    use crate::{Config, Connection, Side};

    /// Sleeps are instant: only the order of events matters here.
    struct Instant0;

    impl Clock for Instant0 {
        fn now(&self) -> Instant {
            Instant::now()
        }
    }

    impl Timers for Instant0 {
        type Sleep = std::future::Ready<()>;
        fn sleep_until(&self, _: Instant) -> Self::Sleep {
            std::future::ready(())
        }
        fn yield_now(&self) -> impl Future<Output = ()> + Send {
            std::future::ready(())
        }
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<BoxFuture>>);

    impl Spawner for Collect {
        fn spawn(&self, future: BoxFuture) {
            self.0.lock().push(future);
        }
    }

    fn conn() -> SharedConnection {
        let clock = Arc::new(Instant0);
        SharedConnection::new(
            Connection::new(Config::new(Side::Consumer), clock.now()),
            clock,
            || {},
        )
    }

    #[test]
    fn a_dropped_slot_is_refilled_after_failed_attempts() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let ends: Arc<Mutex<Vec<Completer<ConnectionError>>>> = Arc::default();
        let connect = {
            let (attempts, ends) = (attempts.clone(), ends.clone());
            move || {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                let (end, closed) = pair(|| ConnectionError::Dropped);
                ends.lock().push(end);
                // The first connect succeeds; the next two fail; then it succeeds again.
                let result = if n == 1 || n == 2 {
                    Err("refused")
                } else {
                    Ok((conn(), closed))
                };
                std::future::ready(result)
            }
        };
        let spawner = Collect::default();
        let channels = block_on(open_channels(
            Arc::new(Instant0),
            &spawner,
            NonZeroUsize::MIN,
            Backoff::default(),
            connect,
        ))
        .unwrap();
        let first = channels.get(0).unwrap();
        let mut keeper = spawner.0.lock().pop().unwrap();
        // Connected: the keeper waits.
        let pending = block_on(poll_fn(|cx| Poll::Ready(keeper.as_mut().poll(cx))));
        assert!(pending.is_pending());
        // The connection ends; the keeper retries until connect succeeds.
        let end = ends.lock().remove(0);
        end.complete(ConnectionError::TransportClosed, &crate::Inline);
        let pending = block_on(poll_fn(|cx| Poll::Ready(keeper.as_mut().poll(cx))));
        assert!(pending.is_pending());
        assert_eq!(attempts.load(Ordering::SeqCst), 4);
        assert!(!channels.get(0).unwrap().same(&first));
        // Dropping the channels ends the keeper once its connection ends.
        drop(channels);
        ends.lock().clear();
        block_on(keeper);
    }

    #[test]
    fn lazy_channels_start_empty_and_fill_once_the_provider_answers() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let ends: Arc<Mutex<Vec<Completer<ConnectionError>>>> = Arc::default();
        let connect = {
            let (attempts, ends) = (attempts.clone(), ends.clone());
            move || {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                let (end, closed) = pair(|| ConnectionError::Dropped);
                ends.lock().push(end);
                // Down for the first two attempts.
                let result = if n < 2 {
                    Err("refused")
                } else {
                    Ok((conn(), closed))
                };
                std::future::ready(result)
            }
        };
        let spawner = Collect::default();
        let channels = lazy_channels(
            Arc::new(Instant0),
            &spawner,
            NonZeroUsize::new(2).unwrap(),
            Backoff::default(),
            connect,
        );
        // Nothing tried yet: the slots are empty and one keeper per slot waits to run.
        assert_eq!(attempts.load(Ordering::SeqCst), 0);
        assert!(channels.pick().is_none());
        let mut keepers = std::mem::take(&mut *spawner.0.lock());
        assert_eq!(keepers.len(), 2);
        for keeper in &mut keepers {
            let pending = block_on(poll_fn(|cx| Poll::Ready(keeper.as_mut().poll(cx))));
            assert!(pending.is_pending());
        }
        assert_eq!(attempts.load(Ordering::SeqCst), 4);
        assert!(channels.get(0).is_some() && channels.get(1).is_some());
        // Dropped: the connections close and the keepers end.
        drop(channels);
        ends.lock().clear();
        for keeper in keepers {
            block_on(keeper);
        }
    }
}
