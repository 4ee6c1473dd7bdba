//! An idle connection costs no CPU: its reader blocks in `read` and its writer sleeps until
//! the next deadline (no polling). Alone in its test binary, so the process's CPU time is
//! this test's.
#![cfg(target_os = "linux")]

use std::thread;
use std::time::Duration;

use tether_core::driver::RejectRequests;
use tether_core::{CallOptions, Config, Side};
use tether_threadpool::{Options, Server, connect};

/// The process's user + system CPU time, in clock ticks (`/proc/self/stat` fields 14, 15).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Voluntary context switches (a thread blocking, then woken) summed over the process's
/// threads (`/proc/self/task/*/status`).
fn voluntary_switches() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        // A thread may end between listing and reading: it no longer counts.
        let Ok(status) = std::fs::read_to_string(task.unwrap().path().join("status")) else {
            continue;
        };
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .expect("a voluntary_ctxt_switches line");
        total += line.trim().parse::<u64>().unwrap();
    }
    total
}

/// The most wake-ups allowed in the idle second. Measured: 1 (the test's own sleep), run
/// after run; one thread polling every 100 ms would make 10, every 10 ms 100.
const SWITCH_LIMIT: u64 = 8;

#[test]
fn idle_connections_use_no_cpu() {
    let server = Server::bind("127.0.0.1:0", RejectRequests).unwrap();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            connect(
                server.local_addr(),
                Config::new(Side::Consumer),
                Options::default(),
            )
            .unwrap()
        })
        .collect();
    // A call whose answer never comes keeps a timer armed too.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pending = connect(
        silent.local_addr().unwrap(),
        Config::new(Side::Consumer),
        Options::default(),
    )
    .unwrap();
    let call = pending
        .shared()
        .start_call(CallOptions::new(Duration::from_secs(60)), b"?".to_vec())
        .unwrap();
    thread::sleep(Duration::from_millis(200));

    let before = cpu_ticks();
    let switches_before = voluntary_switches();
    thread::sleep(Duration::from_secs(1));
    let switches = voluntary_switches().saturating_sub(switches_before);
    let used = cpu_ticks() - before;
    // 17 connections (34 IO threads) idle for a second: polling would burn most of it.
    // Ticks are usually 10 ms.
    assert!(used <= 5, "{used} ticks of CPU while idle");
    // Polling cheap enough to stay under a few ticks still wakes its thread each time; an
    // idle second wakes almost nobody (the test's own sleep and the harness, a handful).
    assert!(switches <= SWITCH_LIMIT, "{switches} wake-ups while idle");
    assert!(clients.iter().all(|c| c.shared().close_reason().is_none()));
    drop(call);
}
