//! The subscription table both registries of this module keep: an id for each subscription,
//! its consumer and listener, its state, and the lock that orders its notifications.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, ReentrantMutex};

use crate::registry::{NotifyListener, SubscriptionId};
use crate::url::Url;

/// One subscription: `S` is what the registry keeps to compute its notifications, `H` what
/// it subscribed to underneath.
pub(super) struct Subscription<S, H> {
    pub(super) consumer: Url,
    pub(super) listener: Arc<dyn NotifyListener>,
    pub(super) state: Mutex<S>,
    /// Serializes notifications (re-entrant: a listener may unsubscribe).
    pub(super) notifying: ReentrantMutex<()>,
    active: AtomicBool,
    /// What the registry subscribed to underneath, once it has.
    pub(super) handles: Mutex<H>,
}

impl<S, H> Subscription<S, H> {
    pub(super) fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// Ends it: no notification starts after this, and one under way on another thread has
    /// finished when it returns.
    pub(super) fn end(&self) {
        self.active.store(false, Ordering::SeqCst);
        drop(self.notifying.lock());
    }
}

/// The live subscriptions of one registry, by id.
pub(super) struct Subscriptions<S, H> {
    live: Mutex<HashMap<SubscriptionId, Arc<Subscription<S, H>>>>,
    next_id: AtomicU64,
}

impl<S: Default, H: Default> Subscriptions<S, H> {
    pub(super) fn new() -> Self {
        Self {
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Adds a subscription of `consumer`, active, with fresh state and no handles.
    pub(super) fn add(
        &self,
        consumer: &Url,
        listener: Arc<dyn NotifyListener>,
    ) -> (SubscriptionId, Arc<Subscription<S, H>>) {
        let id = SubscriptionId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let subscription = Arc::new(Subscription {
            consumer: consumer.clone(),
            listener,
            state: Mutex::new(S::default()),
            notifying: ReentrantMutex::new(()),
            active: AtomicBool::new(true),
            handles: Mutex::new(H::default()),
        });
        self.live.lock().insert(id, subscription.clone());
        (id, subscription)
    }

    /// Takes subscription `id` out of the table, ended, if it was there.
    pub(super) fn remove(&self, id: SubscriptionId) -> Option<Arc<Subscription<S, H>>> {
        let subscription = self.live.lock().remove(&id)?;
        subscription.end();
        Some(subscription)
    }

    pub(super) fn len(&self) -> usize {
        self.live.lock().len()
    }
}
