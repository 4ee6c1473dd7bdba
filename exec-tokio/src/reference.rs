//! The connections of a consumer's reference: [`reference_channels`] opens N of them and
//! keeps each slot connected, reconnecting with backoff when one drops.

use std::io;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tether_core::Config;
use tether_core::consumer::{Backoff, Channels};
use tether_core::driver::open_channels;
use tokio::net::ToSocketAddrs;

use crate::{Options, TokioRuntime, TokioSpawner, connect};

/// Opens `connections` connections to `addr` (Dubbo's `connections`) for a
/// [`Reference`](tether_core::consumer::Reference), failing if one cannot be opened
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
    let open = move || {
        let (addr, config, options) = (addr.clone(), config.clone(), options.clone());
        async move {
            connect(addr, config, options)
                .await
                .map(|client| client.into_parts())
        }
    };
    let spawner = TokioSpawner::current();
    open_channels(Arc::new(TokioRuntime), &spawner, connections, backoff, open).await
}
