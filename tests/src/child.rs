//! [`Listening`]: a peer in a child process that prints `listening on HOST:PORT` once it
//! serves. The one piece under [`ChildPeer`](crate::faults::ChildPeer),
//! [`PeerProcess`](crate::estate::PeerProcess) and the Python interop provider: it spawns
//! the command with a piped stdout, reads that stdout on a thread of its own (so the child
//! never blocks on a full pipe), waits for the `listening on` line with a timeout and
//! parses the address, hands every other line to the caller's sink, and kills and reaps
//! the process when dropped.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A child process that said where it listens; killed and reaped when dropped.
pub struct Listening {
    child: Child,
    addr: SocketAddr,
    /// Set once the process was reaped: no signal goes to its pid after that (it may be
    /// reused).
    exited: Option<ExitStatus>,
}

impl Listening {
    /// Starts `command` with its stdout piped (its stdin and stderr as `command` sets them)
    /// and waits up to `startup` for its first `listening on HOST:PORT` line. Every other
    /// line of its stdout goes to `sink`, in order, on the reader thread. If `command` pipes
    /// its stderr, that is printed by a thread of its own as `[name!] line`. If it exits or
    /// stays silent, it is killed and reaped and the error names it as `name`.
    pub fn spawn(
        name: &str,
        mut command: Command,
        startup: Duration,
        mut sink: impl FnMut(String) + Send + 'static,
    ) -> io::Result<Self> {
        let mut child = command.stdout(Stdio::piped()).spawn()?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!("{name}: no stdout pipe")));
        };
        if let Some(stderr) = child.stderr.take() {
            let mut print = print_prefixed(&format!("{name}!"));
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    print(line);
                }
            });
        }
        // From here on, dropping `peer` kills the process.
        let mut peer = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            exited: None,
        };
        let (tx, said) = mpsc::channel();
        thread::Builder::new()
            .name(format!("{name}-stdout"))
            .spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    if let Some(addr) = line.trim().strip_prefix("listening on ") {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(addr.trim().to_owned());
                            continue;
                        }
                    }
                    sink(line);
                }
            })?;
        let said = match said.recv_timeout(startup) {
            Ok(said) => said,
            Err(_) => {
                let status = peer.kill()?;
                return Err(io::Error::other(format!(
                    "{name} did not say `listening on` within {startup:?} (exit: {status})"
                )));
            }
        };
        peer.addr = said
            .parse()
            .map_err(|_| io::Error::other(format!("{name} said `listening on {said}`")))?;
        Ok(peer)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdin, if it was piped and not taken yet.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Its exit status, once it was reaped.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.exited
    }

    /// Closes its stdin (if still held), kills it (`SIGKILL`) and reaps it. Killing it again
    /// returns the same status.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.exited {
            return Ok(status);
        }
        drop(self.child.stdin.take());
        self.child.kill()?;
        let status = self.child.wait()?;
        self.exited = Some(status);
        Ok(status)
    }

    /// Whether it still runs (it may be stopped).
    pub fn is_alive(&mut self) -> bool {
        if self.exited.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exited = Some(status);
                false
            }
            _ => true,
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// A sink for [`Listening::spawn`] that prints each line as `[name] line` (to this
/// process's stdout, which a test harness captures).
pub fn print_prefixed(name: &str) -> impl FnMut(String) + Send + 'static {
    let name = name.to_owned();
    move |line| println!("[{name}] {line}")
}
