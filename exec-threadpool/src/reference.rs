//! The connections of a consumer's reference: [`reference_channels`] opens N of them and
//! keeps each slot connected, reconnecting with backoff when one drops.

use std::io;
use std::net::ToSocketAddrs;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread;

use futures::executor::block_on;
use futures::future::join_all;
use parking_lot::Mutex;
use tether_core::consumer::{Backoff, Channels};
use tether_core::driver::open_channels;
use tether_core::{BoxFuture, Config, Spawner};

use crate::{Options, ThreadRuntime, connect};

/// Opens `connections` connections to `addr` (Dubbo's `connections`) for a
/// [`Reference`](tether_core::consumer::Reference), failing if one cannot be opened
/// (Dubbo's `check=true`); blocks while connecting.
///
/// One thread (`tether-reconnect`) keeps every slot connected: when a slot's connection
/// drops, its pending calls have already failed, the slot empties (calls go to the other
/// connections), and a new connection is attempted after `backoff`. Reconnect attempts of
/// different slots take turns on that thread. Dropping the returned [`Channels`] closes the
/// connections and ends the thread.
pub fn reference_channels<A>(
    addr: A,
    connections: NonZeroUsize,
    config: Config,
    options: Options,
    backoff: Backoff,
) -> io::Result<Arc<Channels>>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    let keepers = Collect::default();
    let open = move || {
        // Blocking inside a future is fine here: the future runs on the caller now and on
        // the reconnect thread later, never on a shared executor.
        let result = connect(addr.clone(), config.clone(), options.clone())
            .map(|client| client.into_parts());
        std::future::ready(result)
    };
    let channels = block_on(open_channels(
        Arc::new(ThreadRuntime),
        &keepers,
        connections,
        backoff,
        open,
    ))?;
    let keepers = std::mem::take(&mut *keepers.0.lock());
    // On failure the channels are dropped, which closes their connections.
    thread::Builder::new()
        .name("tether-reconnect".to_owned())
        .spawn(move || {
            block_on(join_all(keepers));
        })?;
    Ok(channels)
}

/// Holds the slots' keeper futures until their thread starts.
#[derive(Default)]
struct Collect(Mutex<Vec<BoxFuture>>);

impl Spawner for Collect {
    fn spawn(&self, future: BoxFuture) {
        self.0.lock().push(future);
    }
}
