//! The connections of a consumer's reference: [`reference_channels`] opens N of them and
//! keeps each slot connected, reconnecting with backoff when one drops.

use std::io;
use std::num::NonZeroUsize;
use std::sync::{Arc, Weak};

use tether_core::Config;
use tether_core::consumer::{Backoff, Channels};
use tokio::net::ToSocketAddrs;

use crate::{ClientConnection, Options, connect};

/// Opens `connections` connections to `addr` (Dubbo's `connections`) for a
/// [`Reference`](tether_core::consumer::Reference), failing if the first cannot be opened
/// (Dubbo's `check=true`). Each slot is kept connected by a task: when its connection drops,
/// pending calls fail at once, the slot empties (calls go to the other connections), and a
/// new connection is attempted after `backoff`. Dropping the returned [`Channels`] closes the
/// connections and ends the tasks.
pub async fn reference_channels<A>(
    addr: A,
    connections: NonZeroUsize,
    config: Config,
    options: Options,
    backoff: Backoff,
) -> io::Result<Arc<Channels>>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    let channels = Arc::new(Channels::owning(connections));
    for slot in 0..connections.get() {
        let client = connect(addr.clone(), config.clone(), options.clone()).await?;
        channels.set(slot, Some(client.shared().clone()));
        let keeper = Keeper {
            addr: addr.clone(),
            config: config.clone(),
            options: options.clone(),
            backoff,
            channels: Arc::downgrade(&channels),
            slot,
        };
        tokio::spawn(keeper.run(client));
    }
    Ok(channels)
}

struct Keeper<A> {
    addr: A,
    config: Config,
    options: Options,
    backoff: Backoff,
    channels: Weak<Channels>,
    slot: usize,
}

impl<A: ToSocketAddrs + Clone + Send + Sync + 'static> Keeper<A> {
    async fn run(self, mut client: ClientConnection) {
        loop {
            client.closed().await;
            match self.channels.upgrade() {
                Some(channels) => channels.set(self.slot, None),
                None => return,
            }
            let mut attempt = 0;
            client = loop {
                tokio::time::sleep(self.backoff.delay(attempt)).await;
                let Some(channels) = self.channels.upgrade() else {
                    return;
                };
                match connect(self.addr.clone(), self.config.clone(), self.options.clone()).await {
                    Ok(client) => {
                        channels.set(self.slot, Some(client.shared().clone()));
                        break client;
                    }
                    Err(_) => attempt = attempt.saturating_add(1),
                }
            };
        }
    }
}
