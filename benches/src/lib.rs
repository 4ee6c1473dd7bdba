//! Benchmarks of tether: criterion micro benches of core live in `benches/`; the `compare`
//! binary puts tether side by side with peers over loopback TCP, and `scale` measures the
//! memory of pending calls and a million calls in flight. This library holds what both share.

use std::time::Duration;

/// Process CPU time (user + system, all threads) from `/proc/self/stat`, in seconds; zero
/// where that file does not exist. Resolution is one clock tick (10 ms).
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15: indices 11 and 12 after the name.
    let ticks: u64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    // USER_HZ is 100 on every Linux ABI in use.
    Duration::from_millis(ticks * 10)
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`...), or 0.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resident set size in bytes, from `/proc/self/statm` (4 KiB pages), or 0.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// The providers the load-balancer picks are measured over (the `pick` bench, and the
/// `picks` example that counts instructions per pick).
pub mod picks {
    use std::num::NonZeroUsize;
    use std::sync::Arc;

    use tether_core::cluster::{Active, Channels, Invoker, Invokers};

    /// The service picked for.
    pub const SERVICE: &str = "org.apache.dubbo.demo.DemoService";
    /// The method picked for, whose calls the busy providers have in flight.
    pub const METHOD: &str = "sayHello";
    /// How many providers a pick chooses among.
    pub const PROVIDERS: u16 = 100;

    /// 100 providers with weights 1..=100 when `weighted`, none otherwise: a directory's
    /// list, as the consumer lends it to the balancer with the route.
    pub fn providers(weighted: bool) -> Invokers {
        (0..PROVIDERS)
            .map(|i| {
                let invoker = Invoker::new(
                    format!("10.0.{}.{}:20880", i / 250, i % 250),
                    Arc::new(Channels::new(NonZeroUsize::MIN)),
                )
                .with_params([("timeout", "3000"), ("side", "provider")]);
                if weighted {
                    invoker.with_params([("weight", (i + 1).to_string())])
                } else {
                    invoker
                }
            })
            .collect()
    }

    /// A call of [`METHOD`] in flight on every provider but one in ten: least active's
    /// "10 idle" case, whose ten idle providers tie. The calls end when dropped.
    pub fn busy_but_one_in_ten(invokers: &[Invoker]) -> Vec<Active> {
        (invokers.iter().enumerate())
            .filter(|(i, _)| i % 10 != 0)
            .map(|(_, invoker)| invoker.stats(METHOD).begin())
            .collect()
    }

    /// [`busy_but_one_in_ten`] and one call more on every provider: least active's "none
    /// idle" case, whose ten least busy providers tie at one call.
    pub fn none_idle(invokers: &[Invoker]) -> Vec<Active> {
        let mut calls = busy_but_one_in_ten(invokers);
        calls.extend(invokers.iter().map(|invoker| invoker.stats(METHOD).begin()));
        calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_readers_answer_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(rss_bytes() > 0);
            assert!(status_kib("VmHWM") > 0);
            let _ = process_cpu();
        }
    }
}
