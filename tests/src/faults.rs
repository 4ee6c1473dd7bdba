//! The fault harness, for tests that break things on purpose over real sockets:
//!
//! - [`Proxy`]: a TCP proxy on a free loopback port that forwards to a target, and on command
//!   swallows everything both ways while keeping both sockets open ([`Mode::Blackhole`]),
//!   stops reading one side ([`Proxy::pause_reading`]: that side's peer is not read, its
//!   socket buffers fill and TCP pushes back), or closes every connection it carries
//!   ([`Proxy::sever`]).
//! - [`ChildPeer`]: the suite's provider in a second process (the `fault-peer` binary of
//!   this package), to kill (`SIGKILL`), freeze (`SIGSTOP`) and thaw (`SIGCONT`), query over
//!   its stdin (`inflight`, `logged`...) and measure ([`ChildPeer::rss_bytes`]). Dropping it
//!   kills the process and waits for it; the process also exits by itself when its stdin
//!   closes, so it never outlives the test process.
//! - [`Ledger`]: the books of a batch of asynchronous calls: when each started, when and how
//!   it ended, and how many outcomes it got (exactly one, or the test fails).
//! - [`rss_bytes`], [`open_fds`] and [`threads`]: the current process's resident memory,
//!   open file descriptors and threads, from `/proc/self`.
//!
//! Signals are sent with the `kill` command (no `libc`): the crate forbids `unsafe`.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tether_core::Completion;

use crate::child::Listening;
use crate::conformance::PATIENCE;

// ------------------------------------------------------------------------------------------
// The current process

/// The resident set size of the current process (`VmRSS` of `/proc/self/status`), in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    vm_rss(&status).expect("VmRSS in /proc/self/status")
}

/// The number of open file descriptors of the current process (entries of `/proc/self/fd`,
/// the one opened to list them included).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// The number of threads of the current process (entries of `/proc/self/task`).
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

/// `VmRSS` from the text of a `/proc/PID/status`, in bytes.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

// ------------------------------------------------------------------------------------------
// A provider in a second process

/// The `fault-peer` binary serving the suite's provider in a process of its own.
///
/// Spawn it with the binary's path, which integration tests of this package get as
/// `env!("CARGO_BIN_EXE_fault-peer")`.
pub struct ChildPeer {
    process: Listening,
    stdin: ChildStdin,
    /// The lines the process prints after its `listening on` line, read by
    /// [`Listening`]'s thread so that it never blocks on a full pipe.
    lines: mpsc::Receiver<String>,
    executor: String,
}

impl ChildPeer {
    /// Starts `bin --executor EXECUTOR --port PORT` (port 0, a free one, when `None`) and
    /// waits until it listens.
    pub fn spawn(bin: impl AsRef<OsStr>, executor: &str, port: Option<u16>) -> io::Result<Self> {
        Self::spawn_with(bin, executor, port, &[])
    }

    /// [`spawn`](Self::spawn), with more arguments for `fault-peer` (`--heartbeat-ms N`,
    /// `--idle-ms N`, `--high-water BYTES`, `--direct`).
    pub fn spawn_with(
        bin: impl AsRef<OsStr>,
        executor: &str,
        port: Option<u16>,
        extra: &[&str],
    ) -> io::Result<Self> {
        let port = port.unwrap_or(0).to_string();
        let mut command = Command::new(bin);
        command
            .args(["--executor", executor, "--port", &port])
            .args(extra)
            .stdin(Stdio::piped())
            .stderr(Stdio::inherit());
        let (tx, lines) = mpsc::channel();
        let name = format!("fault-peer ({executor}, port {port})");
        let mut process = Listening::spawn(&name, command, PATIENCE, move |line| {
            let _ = tx.send(line);
        })?;
        let Some(stdin) = process.take_stdin() else {
            return Err(io::Error::other("fault-peer: no stdin pipe"));
        };
        Ok(Self {
            process,
            stdin,
            lines,
            executor: executor.to_owned(),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The executor it runs on.
    pub fn executor(&self) -> &str {
        &self.executor
    }

    /// Its resident set size in bytes, while it runs.
    pub fn rss_bytes(&self) -> Option<u64> {
        if self.process.exited().is_some() {
            return None;
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        vm_rss(&status)
    }

    /// Freezes it (`SIGSTOP`), returning once every one of its threads is stopped: from then
    /// on it reads, writes, accepts and answers nothing, while the kernel keeps its sockets
    /// open (and completes connections in its listen backlog).
    pub fn stop(&self) -> io::Result<()> {
        self.signal("-STOP")?;
        let deadline = Instant::now() + PATIENCE;
        while !self.all_threads_in_state('T') {
            if Instant::now() >= deadline {
                return Err(io::Error::other("fault-peer did not stop"));
            }
            thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// Thaws it (`SIGCONT`).
    pub fn cont(&self) -> io::Result<()> {
        self.signal("-CONT")
    }

    /// Kills it (`SIGKILL`, which also ends a stopped process) and reaps it. The kernel
    /// closes its sockets as it dies. Killing it again returns the same status.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        self.process.kill()
    }

    /// Whether it still runs (it may be stopped).
    pub fn is_alive(&mut self) -> bool {
        self.process.is_alive()
    }

    /// Sends `command` (a line) and returns the value of its answer line (`command VALUE`).
    /// Commands: `inflight` (two-way requests awaiting an answer, over its connections),
    /// `connections`, `logged` (one-way `log` calls received), `hung` (`hang` calls held),
    /// `release` (lets them return), `pid`, `shutdown MS` (a graceful shutdown with that
    /// deadline; answers whether it drained, then exits). A stopped process answers once
    /// thawed: this fails after [`PATIENCE`].
    pub fn query(&mut self, command: &str) -> io::Result<String> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let name = command.split_whitespace().next().unwrap_or_default();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|e| io::Error::other(format!("fault-peer, {command:?}: {e}")))?;
            if let Some(value) = line.strip_prefix(name).and_then(|v| v.strip_prefix(' ')) {
                return Ok(value.to_owned());
            }
            if let Some(error) = line.strip_prefix("error ") {
                return Err(io::Error::other(format!("fault-peer: {error}")));
            }
        }
    }

    /// [`query`](Self::query) for a count.
    pub fn count(&mut self, command: &str) -> usize {
        let value = self
            .query(command)
            .unwrap_or_else(|e| panic!("fault-peer {command}: {e}"));
        value
            .parse()
            .unwrap_or_else(|_| panic!("fault-peer {command}: {value:?}"))
    }

    fn signal(&self, signal: &str) -> io::Result<()> {
        if self.process.exited().is_some() {
            return Err(io::Error::other("fault-peer already exited"));
        }
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!("kill {signal}: {status}")));
        }
        Ok(())
    }

    /// Whether every thread of the process is in `state` (`/proc/PID/task/*/stat`).
    fn all_threads_in_state(&self, state: char) -> bool {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else {
            return false;
        };
        tasks.flatten().all(|task| {
            std::fs::read_to_string(task.path().join("stat"))
                // The state follows the command name, which is in parentheses.
                .is_ok_and(|stat| {
                    stat.rsplit_once(") ")
                        .and_then(|(_, rest)| rest.chars().next())
                        == Some(state)
                })
        })
    }
}

// ------------------------------------------------------------------------------------------
// A fault-injecting proxy

/// What the proxy does with the bytes it reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Forwards them.
    Pass,
    /// Reads and discards them, both ways, keeping both sockets of every connection open:
    /// a link that silently loses everything. Connections are still accepted and
    /// connected to the target (their bytes lost as well). A peer closing its end still
    /// closes the proxied connection (so that nothing outlives its peers).
    Blackhole,
}

/// A direction through the proxy, named by where the bytes go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// From the connecting side (the client) to the target.
    Upstream,
    /// From the target back to the client.
    Downstream,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::Upstream => 0,
            Direction::Downstream => 1,
        }
    }
}

/// What the proxy has done so far.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ProxyStats {
    /// Connections accepted (and connected to the target).
    pub accepted: u64,
    /// Bytes forwarded (handed to the other side's socket) upstream and downstream.
    pub forwarded: [u64; 2],
    /// Bytes read and discarded in [`Mode::Blackhole`], upstream and downstream.
    pub dropped: [u64; 2],
}

/// A TCP proxy on a free loopback port, forwarding every connection it accepts to a target,
/// with faults on command ([`Mode`], [`pause_reading`](Self::pause_reading),
/// [`sever`](Self::sever)). Two threads per proxied connection, one per direction. Dropping
/// it closes everything, waits for its threads, and frees the port.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    accept: Option<JoinHandle<()>>,
}

struct ProxyShared {
    target: SocketAddr,
    state: Mutex<ProxyState>,
    /// Signalled when the mode, a pause or the set of links changes.
    changed: Condvar,
    accepted: AtomicU64,
    forwarded: [AtomicU64; 2],
    dropped: [AtomicU64; 2],
}

struct ProxyState {
    mode: Mode,
    paused: [bool; 2],
    stopping: bool,
    next_link: u64,
    links: Vec<Link>,
}

/// One proxied connection: handles on both sockets, to shut them down from outside.
struct Link {
    id: u64,
    client: TcpStream,
    server: TcpStream,
    pumps: Vec<JoinHandle<()>>,
}

impl Link {
    fn shut(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }
}

/// How long a pump's blocking read waits before looking at the proxy's state again.
const PUMP_TICK: Duration = Duration::from_millis(20);
const PUMP_BUF: usize = 64 * 1024;

impl Proxy {
    /// Listens on `127.0.0.1:0` and forwards to `target`, in [`Mode::Pass`].
    pub fn start(target: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(ProxyShared {
            target,
            state: Mutex::new(ProxyState {
                mode: Mode::Pass,
                paused: [false; 2],
                stopping: false,
                next_link: 0,
                links: Vec::new(),
            }),
            changed: Condvar::new(),
            accepted: AtomicU64::new(0),
            forwarded: Default::default(),
            dropped: Default::default(),
        });
        let accepting = shared.clone();
        let accept = thread::Builder::new()
            .name("fault-proxy-accept".to_owned())
            .spawn(move || accept_loop(&accepting, listener))?;
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where it forwards to.
    pub fn target(&self) -> SocketAddr {
        self.shared.target
    }

    /// Switches mode, for the connections it carries and those to come.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.state.lock().mode = mode;
        self.shared.changed.notify_all();
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.shared.state.lock().mode
    }

    /// Stops reading the bytes going `direction` on every connection (those to come too):
    /// the peer that sends them is not read, so its socket buffers fill and its writes
    /// block. At most one buffer read just before the pause is held back with the rest.
    /// The path then holds more than a direct connection would: the proxy's own socket
    /// buffers (on loopback, up to a few MiB each way) and that held buffer (64 KiB).
    pub fn pause_reading(&self, direction: Direction) {
        self.shared.state.lock().paused[direction.index()] = true;
        self.shared.changed.notify_all();
    }

    /// Reads (and forwards) `direction` again.
    pub fn resume_reading(&self, direction: Direction) {
        self.shared.state.lock().paused[direction.index()] = false;
        self.shared.changed.notify_all();
    }

    /// Closes every connection it carries now (both sockets, with a FIN each way: std
    /// cannot send a reset without `SO_LINGER`). Later connections are served as usual.
    pub fn sever(&self) {
        let links: Vec<Link> = std::mem::take(&mut self.shared.state.lock().links);
        self.shared.changed.notify_all();
        finish(links);
    }

    /// Proxied connections open now.
    pub fn connections(&self) -> usize {
        self.shared.state.lock().links.len()
    }

    /// What it has done so far.
    pub fn stats(&self) -> ProxyStats {
        let load = |a: &AtomicU64| a.load(Ordering::SeqCst);
        let s = &self.shared;
        ProxyStats {
            accepted: load(&s.accepted),
            forwarded: [load(&s.forwarded[0]), load(&s.forwarded[1])],
            dropped: [load(&s.dropped[0]), load(&s.dropped[1])],
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.state.lock().stopping = true;
        self.shared.changed.notify_all();
        // The accept thread blocks in `accept`: a connection wakes it to see `stopping`.
        if let Some(accept) = self.accept.take() {
            let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
            if woken {
                let _ = accept.join();
            }
        }
        let links: Vec<Link> = std::mem::take(&mut self.shared.state.lock().links);
        finish(links);
    }
}

/// Shuts the links' sockets down and waits for their pumps.
fn finish(links: Vec<Link>) {
    for link in &links {
        link.shut();
    }
    for link in links {
        for pump in link.pumps {
            // A pump never waits for the one calling this: it only takes the state's lock.
            if pump.thread().id() != thread::current().id() {
                let _ = pump.join();
            }
        }
    }
}

fn accept_loop(shared: &Arc<ProxyShared>, listener: TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.state.lock().stopping {
            return;
        }
        let Ok((client, _)) = accepted else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        // A target that cannot be reached: the client sees its connection closed.
        let Ok(server) = TcpStream::connect_timeout(&shared.target, PATIENCE) else {
            continue;
        };
        if let Err(e) = start_link(shared, client, server) {
            eprintln!("fault proxy: cannot start a link: {e}");
        }
    }
}

fn start_link(shared: &Arc<ProxyShared>, client: TcpStream, server: TcpStream) -> io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let mut state = shared.state.lock();
    let id = state.next_link;
    state.next_link += 1;
    let mut pumps = Vec::with_capacity(2);
    for (direction, from, to) in [
        (Direction::Upstream, &client, &server),
        (Direction::Downstream, &server, &client),
    ] {
        let (from, to) = (from.try_clone()?, to.try_clone()?);
        from.set_read_timeout(Some(PUMP_TICK))?;
        let shared = shared.clone();
        let name = format!("fault-proxy-{direction:?}").to_lowercase();
        let pump = thread::Builder::new()
            .name(name)
            .spawn(move || pump(&shared, id, direction, from, to));
        match pump {
            Ok(pump) => pumps.push(pump),
            Err(e) => {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                return Err(e);
            }
        }
    }
    shared.accepted.fetch_add(1, Ordering::SeqCst);
    state.links.push(Link {
        id,
        client,
        server,
        pumps,
    });
    Ok(())
}

/// Moves bytes one way on link `id` until either end closes or the link is shut down.
fn pump(
    shared: &Arc<ProxyShared>,
    id: u64,
    direction: Direction,
    mut from: TcpStream,
    mut to: TcpStream,
) {
    let d = direction.index();
    let mut buf = vec![0u8; PUMP_BUF];
    // `false` once the link is gone from the state (severed or the proxy dropped).
    let wait_while_paused = |shared: &ProxyShared| -> Option<Mode> {
        let mut state = shared.state.lock();
        loop {
            if state.stopping || !state.links.iter().any(|l| l.id == id) {
                return None;
            }
            if !state.paused[d] {
                return Some(state.mode);
            }
            shared.changed.wait(&mut state);
        }
    };
    loop {
        // Registered by `start_link` before this thread can take the lock.
        if wait_while_paused(shared).is_none() {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        // A pause set during the read holds these bytes back too; the mode is the one at
        // the time they would be forwarded.
        let Some(mode) = wait_while_paused(shared) else {
            break;
        };
        match mode {
            Mode::Pass => {
                // Counted before the write: whoever receives them sees them counted.
                shared.forwarded[d].fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Mode::Blackhole => {
                shared.dropped[d].fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    // Either end closed (or the link was shut): close the whole link, as the peers would
    // see it without a proxy in between.
    let link = {
        let mut state = shared.state.lock();
        let at = state.links.iter().position(|l| l.id == id);
        at.map(|at| state.links.swap_remove(at))
    };
    shared.changed.notify_all();
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
    if let Some(link) = link {
        // Reap the other pump on this thread; this one ends right after.
        finish(vec![link]);
    }
}

// ------------------------------------------------------------------------------------------
// Books of calls

/// One call's entry in a [`Ledger`].
#[derive(Debug)]
pub struct Record<T> {
    /// When the call was started (just before it was issued).
    pub started: Instant,
    /// When its outcome arrived.
    pub finished: Instant,
    pub outcome: T,
}

impl<T> Record<T> {
    /// From start to outcome.
    pub fn elapsed(&self) -> Duration {
        self.finished.saturating_duration_since(self.started)
    }
}

/// The books of a batch of asynchronous calls: each call is stamped as it starts, and its
/// completion continued to record when its outcome arrives and how many outcomes it got.
/// [`close`](Self::close) checks that every call got exactly one.
pub struct Ledger<T: Send + 'static> {
    inner: Arc<LedgerInner<T>>,
}

struct LedgerInner<T> {
    slots: Mutex<LedgerSlots<T>>,
    resolved: Condvar,
}

struct LedgerSlots<T> {
    slots: Vec<Slot<T>>,
    resolved: usize,
}

struct Slot<T> {
    started: Instant,
    deliveries: u32,
    outcome: Option<(Instant, T)>,
}

impl<T: Send + 'static> Default for Ledger<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Ledger<T> {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(LedgerInner {
                slots: Mutex::new(LedgerSlots {
                    slots: Vec::new(),
                    resolved: 0,
                }),
                resolved: Condvar::new(),
            }),
        }
    }

    /// Books a call: stamps its start, issues it with `call`, and records its outcome when
    /// the returned completion resolves. Returns the call's index.
    pub fn start(&self, call: impl FnOnce() -> Completion<T>) -> usize {
        let index = {
            let mut books = self.inner.slots.lock();
            books.slots.push(Slot {
                started: Instant::now(),
                deliveries: 0,
                outcome: None,
            });
            books.slots.len() - 1
        };
        let inner = self.inner.clone();
        call().on_complete(move |outcome| inner.record(index, outcome));
        index
    }

    /// Calls booked so far.
    pub fn len(&self) -> usize {
        self.inner.slots.lock().slots.len()
    }

    /// Whether no call was booked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls whose outcome arrived.
    pub fn resolved(&self) -> usize {
        self.inner.slots.lock().resolved
    }

    /// Waits until at least `n` calls have their outcome, for at most `patience`. Returns
    /// whether they do.
    pub fn wait_for(&self, n: usize, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let mut books = self.inner.slots.lock();
        while books.resolved < n {
            if self
                .inner
                .resolved
                .wait_until(&mut books, deadline)
                .timed_out()
            {
                return books.resolved >= n;
            }
        }
        true
    }

    /// Waits for every booked call's outcome (for at most `patience`), then hands the books
    /// over, in the order the calls started. Fails the test if a call never got an outcome
    /// (lost) or got more than one.
    pub fn close(&self, patience: Duration) -> Vec<Record<T>> {
        let total = self.len();
        self.wait_for(total, patience);
        let mut books = self.inner.slots.lock();
        let lost: Vec<usize> = (books.slots.iter().enumerate())
            .filter(|(_, s)| s.deliveries == 0)
            .map(|(i, _)| i)
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {total} calls got no outcome within {patience:?} (lost), the first: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        );
        let doubled: Vec<(usize, u32)> = (books.slots.iter().enumerate())
            .filter(|(_, s)| s.deliveries > 1)
            .map(|(i, s)| (i, s.deliveries))
            .collect();
        assert!(
            doubled.is_empty(),
            "calls with more than one outcome (index, outcomes): {doubled:?}"
        );
        books
            .slots
            .iter_mut()
            .map(|slot| {
                let (finished, outcome) = slot.outcome.take().expect("recorded once");
                Record {
                    started: slot.started,
                    finished,
                    outcome,
                }
            })
            .collect()
    }
}

impl<T> LedgerInner<T> {
    fn record(&self, index: usize, outcome: T) {
        let finished = Instant::now();
        let mut books = self.slots.lock();
        let slot = &mut books.slots[index];
        slot.deliveries += 1;
        if slot.deliveries == 1 {
            slot.outcome = Some((finished, outcome));
            books.resolved += 1;
        }
        drop(books);
        self.resolved.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_parses_kib() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    2048 kB\nThreads:\t1\n";
        assert_eq!(vm_rss(status), Some(2048 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn the_current_process_has_memory_and_descriptors() {
        // Other tests open and close descriptors meanwhile: no exact counts here.
        assert!(rss_bytes() > 0);
        assert!(open_fds() >= 3, "stdin, stdout, stderr at least");
    }
}
