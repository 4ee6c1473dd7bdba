//! [`ConsistentHash`]: Dubbo's MD5 ring of virtual nodes.

use std::sync::Arc;

use md5::{Digest, Md5};

use super::{Listed, LoadBalance, PerMethod, same_list};
use crate::cluster::{Invoker, Route};

/// Dubbo's default `hash.nodes`: virtual nodes per provider.
const DEFAULT_REPLICAS: usize = 160;

/// Dubbo's `consistenthash`: calls with the same key arguments go to the same provider, and
/// a provider leaving moves only its own keys.
///
/// Each provider has `<method>.hash.nodes` (else `hash.nodes`, else 160) points on a ring of
/// u32s, from the MD5 digests of its address followed by `0`, `1`, ... (four points per
/// digest, read little-endian). A call's key is the text of the arguments at the indexes
/// `<method>.hash.arguments` lists (else `hash.arguments`, else `0`), concatenated, as in
/// [`HashArguments`](crate::cluster::HashArguments); it goes to the first point at or after
/// the key's MD5, wrapping around. Both parameters are read from the first listed provider.
/// Weights and warm-up play no part.
///
/// A call with no [`Route::arguments`] hashes the empty key: all such calls go to one
/// provider. The ring of a method is rebuilt when the list of providers changes.
///
/// ```
/// use std::num::NonZeroUsize;
/// use std::sync::Arc;
/// use tether_core::cluster::{Channels, ConsistentHash, Invoker, LoadBalance, Route};
///
/// let channels = || Arc::new(Channels::new(NonZeroUsize::MIN));
/// let invokers: Vec<Invoker> = (20880..20883)
///     .map(|port| Invoker::new(format!("127.0.0.1:{port}"), channels()))
///     .collect();
/// let lb = ConsistentHash::new();
/// let args = ["hello"];
/// let route = Route::new("org.example.Greeter", "greet").with_arguments(&args);
/// // The same provider as Java's ConsistentHashLoadBalance picks.
/// assert_eq!(lb.select(&invokers, &route).unwrap().address(), "127.0.0.1:20882");
/// ```
#[derive(Debug, Default)]
pub struct ConsistentHash {
    rings: PerMethod<Arc<Ring>>,
}

impl ConsistentHash {
    /// A consistent-hash balancer with no rings yet.
    ///
    /// ```
    /// # use std::num::NonZeroUsize;
    /// # use std::sync::Arc;
    /// use tether_core::cluster::{Channels, ConsistentHash, Invoker, LoadBalance, Route};
    ///
    /// # let invoker = Invoker::new("10.0.0.7:20880", Arc::new(Channels::new(NonZeroUsize::MIN)));
    /// let lb = ConsistentHash::new();
    /// let invokers = [invoker];
    /// let picked = lb.select(&invokers, &Route::new("org.example.Greeter", "greet"));
    /// assert_eq!(picked.unwrap().address(), "10.0.0.7:20880");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The ring of `route`'s method over `invokers`, built if missing or stale.
    fn ring(&self, invokers: &[Invoker], route: &Route<'_>) -> Arc<Ring> {
        if let Some(ring) = self.rings.find(route, |ring| ring.is_over(invokers)) {
            return ring;
        }
        // Built outside the lock: hundreds of MD5s per provider.
        let ring = Arc::new(Ring::new(invokers, route));
        self.rings.insert(route, ring.clone());
        ring
    }
}

impl LoadBalance for ConsistentHash {
    fn select<'a>(&self, invokers: &'a [Invoker], route: &Route<'_>) -> Option<&'a Invoker> {
        if invokers.len() <= 1 {
            return invokers.first();
        }
        // The ring is read in place while the list is the one it was built over.
        let current = |ring: &Arc<Ring>| ring.is_over(invokers).then(|| ring.pick(route));
        let picked = match self.rings.with(route, current).flatten() {
            Some(picked) => picked,
            None => self.ring(invokers, route).pick(route),
        };
        invokers.get(picked)
    }

    fn needs_arguments(&self) -> bool {
        true
    }
}

/// The ring of one method over one list of providers.
#[derive(Debug)]
struct Ring {
    /// The list it was built over.
    invokers: Listed,
    /// Sorted by point, points unique: (point, index in `invokers`).
    points: Box<[(u32, u32)]>,
    /// The argument indexes that make the key.
    arguments: Box<[usize]>,
}

impl Ring {
    fn new(invokers: &[Invoker], route: &Route<'_>) -> Self {
        let method = route.method;
        let first = &invokers[0];
        let param = |key: &str| {
            first
                .param(&format!("{method}.{key}"))
                .filter(|v| !v.is_empty())
                .or_else(|| first.param(key).filter(|v| !v.is_empty()))
        };
        let replicas = param("hash.nodes")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_REPLICAS)
            // Four points per digest; fewer than four replicas would leave an empty ring.
            .max(4);
        // Negative or malformed indexes select nothing (Java skips negative ones and fails
        // the call on malformed ones).
        let arguments = param("hash.arguments")
            .unwrap_or("0")
            .split(',')
            .filter_map(|i| i.trim().parse::<usize>().ok())
            .collect();
        let mut points = Vec::with_capacity(invokers.len() * replicas);
        let mut text = String::new();
        for (at, invoker) in invokers.iter().enumerate() {
            let at = u32::try_from(at).expect("fewer than 2^32 providers");
            for i in 0..replicas / 4 {
                text.clear();
                text.push_str(invoker.address());
                text.push_str(itoa(i, &mut [0; 20]));
                let digest: [u8; 16] = Md5::digest(text.as_bytes()).into();
                for h in 0..4 {
                    points.push((hash_of(&digest, h), at));
                }
            }
        }
        // Java's TreeMap: a later put on a taken point replaces the earlier one. The sort is
        // stable, so among equal points the last one is the later put.
        points.sort_by_key(|&(point, _)| point);
        let mut unique: Vec<(u32, u32)> = Vec::with_capacity(points.len());
        for entry in points {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        Self {
            invokers: Listed::of(invokers, route.list),
            points: unique.into_boxed_slice(),
            arguments,
        }
    }

    /// The index of the provider `route`'s call goes to.
    fn pick(&self, route: &Route<'_>) -> usize {
        let mut key = String::new();
        if let Some(arguments) = route.arguments {
            for &index in self.arguments.iter() {
                arguments.write_argument(index, &mut key);
            }
        }
        self.locate(hash(key.as_bytes()))
    }

    fn is_over(&self, invokers: &[Invoker]) -> bool {
        same_list(&self.invokers, invokers)
    }

    /// The index of the provider owning `point`: the first at or after it, else the first.
    fn locate(&self, point: u32) -> usize {
        let at = self.points.partition_point(|&(p, _)| p < point);
        let (_, owner) = self.points.get(at).unwrap_or(&self.points[0]);
        *owner as usize
    }
}

/// The `h`th little-endian u32 of `digest`.
fn hash_of(digest: &[u8; 16], h: usize) -> u32 {
    u32::from_le_bytes([
        digest[4 * h],
        digest[4 * h + 1],
        digest[4 * h + 2],
        digest[4 * h + 3],
    ])
}

/// The first little-endian u32 of the MD5 of `bytes`: where a key falls on the ring.
fn hash(bytes: &[u8]) -> u32 {
    hash_of(&Md5::digest(bytes).into(), 0)
}

/// `i` in decimal, written into `buf`.
fn itoa(mut i: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::balance::tests::invoker;
    use std::collections::HashMap;

    fn three() -> Vec<Invoker> {
        (20880..20883)
            .map(|port| invoker(&format!("127.0.0.1:{port}"), &[]))
            .collect()
    }

    fn pick<'a>(lb: &ConsistentHash, invokers: &'a [Invoker], key: &str) -> &'a str {
        let args = [key];
        let route = Route::new("s", "m").with_arguments(&args);
        lb.select(invokers, &route).unwrap().address()
    }

    #[test]
    fn md5_points_match_the_vectors() {
        let digest: [u8; 16] = Md5::digest(b"127.0.0.1:208800").into();
        let points: Vec<u32> = (0..4).map(|h| hash_of(&digest, h)).collect();
        assert_eq!(points, [4002238455, 3716746652, 640252868, 3049475639]);
        for (key, point) in [
            ("0", 2216742351),
            ("1", 943901380),
            ("2", 2373066440),
            ("hello", 708854109),
            ("null", 2619713079),
        ] {
            assert_eq!(hash(key.as_bytes()), point, "{key}");
        }
    }

    #[test]
    fn keys_go_where_the_vectors_say() {
        let invokers = three();
        let lb = ConsistentHash::new();
        let ring = lb.ring(&invokers, &Route::new("s", "m"));
        assert_eq!(ring.points.len(), 480);
        for (key, address) in [
            ("0", "127.0.0.1:20881"),
            ("1", "127.0.0.1:20882"),
            ("2", "127.0.0.1:20880"),
            ("hello", "127.0.0.1:20882"),
            ("null", "127.0.0.1:20882"),
        ] {
            assert_eq!(pick(&lb, &invokers, key), address, "{key}");
        }
    }

    /// What Dubbo 3.3.6's own `ConsistentHashLoadBalance` picked for 2,000 keys
    /// `user-0`..`user-1999` over `10.0.0.0:20880`..`10.0.0.4:20880`: the MD5 of the picked
    /// providers' last address digits, concatenated (`tests/interop/java/lbcheck`).
    const JAVA_FIVE_MD5: &str = "775559ef317a79fe22104dca019f2ded";

    #[test]
    fn two_thousand_keys_go_where_java_sends_them() {
        let invokers: Vec<Invoker> = (0..5)
            .map(|i| invoker(&format!("10.0.0.{i}:20880"), &[]))
            .collect();
        let lb = ConsistentHash::new();
        let mut picks = String::new();
        for k in 0..2_000 {
            let address = pick(&lb, &invokers, &format!("user-{k}"));
            picks.push_str(&address["10.0.0.".len()..address.len() - ":20880".len()]);
        }
        assert!(
            picks.starts_with("0304332144334343231042440422402020401044"),
            "{picks}"
        );
        let digest: [u8; 16] = Md5::digest(picks.as_bytes()).into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, JAVA_FIVE_MD5);
    }

    #[test]
    fn configured_arguments_and_nodes_pick_as_java_does() {
        // Dubbo 3.3.6 over the same three providers with `m.hash.arguments=1,2&hash.nodes=8`.
        let invokers: Vec<Invoker> = (20880..20883)
            .map(|port| {
                let params = [("m.hash.arguments", "1,2"), ("hash.nodes", "8")];
                invoker(&format!("127.0.0.1:{port}"), &params)
            })
            .collect();
        let lb = ConsistentHash::new();
        for (args, address) in [
            (&["x", "hel", "lo"][..], "127.0.0.1:20880"),
            (&["z", "2"], "127.0.0.1:20882"),
            (&["z", "1"], "127.0.0.1:20882"),
            (&["z", "0"], "127.0.0.1:20882"),
            (&["q", "abc", "def"], "127.0.0.1:20881"),
        ] {
            let route = Route::new("s", "m").with_arguments(&args);
            assert_eq!(
                lb.select(&invokers, &route).unwrap().address(),
                address,
                "{args:?}"
            );
        }
    }

    #[test]
    fn the_key_is_made_of_the_configured_arguments() {
        let invokers: Vec<Invoker> = (20880..20883)
            .map(|port| {
                invoker(
                    &format!("127.0.0.1:{port}"),
                    &[("m.hash.arguments", "1, 2")],
                )
            })
            .collect();
        let lb = ConsistentHash::new();
        let at = |args: &[&str]| {
            let route = Route::new("s", "m").with_arguments(&args);
            lb.select(&invokers, &route).unwrap().address().to_owned()
        };
        // Arguments 1 and 2 concatenated: "hel" + "lo" hashes as "hello"; argument 0 is
        // ignored, a missing argument adds nothing.
        assert_eq!(at(&["x", "hel", "lo"]), "127.0.0.1:20882");
        assert_eq!(at(&["y", "hel", "lo"]), "127.0.0.1:20882");
        assert_eq!(at(&["z", "2"]), "127.0.0.1:20880");
        assert_eq!(at(&["z", "1"]), "127.0.0.1:20882");
        assert_eq!(at(&["z", "0"]), "127.0.0.1:20881");
    }

    #[test]
    fn the_same_key_goes_to_the_same_provider_and_keys_spread() {
        let invokers: Vec<Invoker> = (0..5)
            .map(|i| invoker(&format!("10.0.0.{i}:20880"), &[]))
            .collect();
        let lb = ConsistentHash::new();
        let mut counts = HashMap::new();
        for k in 0..5_000 {
            let key = format!("user-{k}");
            let first = pick(&lb, &invokers, &key);
            assert_eq!(pick(&lb, &invokers, &key), first);
            *counts.entry(first).or_insert(0) += 1;
        }
        // 160 points each spread the keys: every provider gets 10-30 %.
        assert_eq!(counts.len(), 5);
        assert!(
            counts.values().all(|&n| (500..1_500).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn removing_a_provider_moves_only_its_keys() {
        let invokers: Vec<Invoker> = (0..5)
            .map(|i| invoker(&format!("10.0.0.{i}:20880"), &[]))
            .collect();
        let lb = ConsistentHash::new();
        let keys: Vec<String> = (0..2_000).map(|k| format!("order-{k}")).collect();
        let before: Vec<String> = keys
            .iter()
            .map(|k| pick(&lb, &invokers, k).into())
            .collect();
        let gone = invokers[2].address().to_owned();
        let rest: Vec<Invoker> = (invokers.iter())
            .filter(|i| i.address() != gone)
            .cloned()
            .collect();
        let mut moved = 0;
        for (key, was) in keys.iter().zip(&before) {
            let now = pick(&lb, &rest, key);
            if *was == gone {
                moved += 1;
                assert_ne!(now, gone);
            } else {
                assert_eq!(now, was, "{key} moved off a provider that stayed");
            }
        }
        assert!(
            moved > 100,
            "only {moved} keys were on the removed provider"
        );
    }

    #[test]
    fn replicas_come_from_the_first_provider() {
        let invokers = [
            invoker("a:1", &[("hash.nodes", "8")]),
            invoker("b:1", &[("hash.nodes", "400")]),
        ];
        let lb = ConsistentHash::new();
        let ring = lb.ring(&invokers, &Route::new("s", "m"));
        assert_eq!(ring.points.len(), 16);
        let by_method = [invoker(
            "a:1",
            &[("hash.nodes", "8"), ("m.hash.nodes", "12")],
        )];
        assert_eq!(
            Ring::new(&by_method, &Route::new("s", "m")).points.len(),
            12
        );
        assert_eq!(
            Ring::new(&by_method, &Route::new("s", "other"))
                .points
                .len(),
            8
        );
        assert_eq!(itoa(0, &mut [0; 20]), "0");
        assert_eq!(itoa(159, &mut [0; 20]), "159");
        assert_eq!(itoa(usize::MAX, &mut [0; 20]), usize::MAX.to_string());
    }
}
