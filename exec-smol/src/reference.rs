//! The connections of a consumer's reference: [`reference_channels`] opens N of them and
//! keeps each slot connected, reconnecting with backoff when one drops.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::num::NonZeroUsize;
use std::sync::Arc;

use tether_core::Config;
use tether_core::consumer::{Backoff, Channels};
use tether_core::driver::open_channels;

use crate::{Options, SmolRuntime, SmolSpawner, connect};

/// Opens `connections` connections to `addr` (Dubbo's `connections`) for a
/// [`Reference`](tether_core::consumer::Reference), failing if one cannot be opened
/// (Dubbo's `check=true`). Each slot is kept connected by a task on smol's global executor:
/// when its connection drops, pending calls fail at once, the slot empties (calls go to the
/// other connections), and a new connection is attempted after `backoff`. Dropping the
/// returned [`Channels`] closes the connections and ends the tasks.
///
/// `addr` is resolved again for every attempt, on smol's blocking pool (as `smol::net` does
/// for names); it takes `std`'s `ToSocketAddrs` because the reconnect tasks must be `Send`,
/// which `AsyncToSocketAddrs` cannot promise for a generic address.
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
            let addrs: Vec<SocketAddr> =
                smol::unblock(move || addr.to_socket_addrs().map(Iterator::collect)).await?;
            connect(&addrs[..], config, options)
                .await
                .map(|client| client.into_parts())
        }
    };
    let spawner = SmolSpawner::global();
    open_channels(Arc::new(SmolRuntime), &spawner, connections, backoff, open).await
}
