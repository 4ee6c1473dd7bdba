//! [`ZooKeeper`]: a standalone ZooKeeper server for tests, from Debian's `zookeeper` package
//! (3.8; `.ci/run` installs it). Each server runs `ZooKeeperServerMain` in a `java`
//! process (under a small `sh` that kills it when this process goes) on a free loopback port with a private config and data directory under the
//! system temp dir, and answers the `srvr` four-letter word with its mode (it serves) before [`ZooKeeper::start`]
//! returns. Dropping it kills the process by its PID, reaps it and removes the directory:
//! no system service, nothing left behind. A test process killed before it could drop its
//! servers takes them with it (their shell notices), and the next start removes their
//! directories.
//!
//! The server's classpath is `/usr/share/java/zookeeper.jar` (its manifest names the
//! dependency jars Debian installs beside it) or `$TETHER_ZOOKEEPER_CLASSPATH`.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::estate::tools_present;

/// Debian's ZooKeeper server jar.
const DEBIAN_JAR: &str = "/usr/share/java/zookeeper.jar";

/// How long a server may take to answer `ruok` (a cold JVM on a busy 2-core machine).
const STARTUP: Duration = Duration::from_secs(60);

/// The classpath to run the server with, if one is configured or installed.
fn classpath() -> Option<String> {
    if let Ok(cp) = std::env::var("TETHER_ZOOKEEPER_CLASSPATH") {
        return Some(cp);
    }
    Path::new(DEBIAN_JAR)
        .is_file()
        .then(|| DEBIAN_JAR.to_owned())
}

/// Whether a ZooKeeper server can be started here (`java` and the ZooKeeper jars). Without
/// them it prints a loud `SKIPPED` line and returns false, or panics under `CI=true`
/// (the convention of [`tools_present`]).
pub fn zookeeper_present(what: &str) -> bool {
    if !tools_present(
        &["java"],
        what,
        "install Java 17 and Debian's zookeeper package",
    ) {
        return false;
    }
    if classpath().is_some() {
        return true;
    }
    let message = format!(
        "{what}: {DEBIAN_JAR} not found (apt-get install zookeeper, or set TETHER_ZOOKEEPER_CLASSPATH)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}; CI must run it");
    }
    eprintln!("\n======== SKIPPED: {message} ========\n");
    println!("SKIPPED: {message}");
    false
}

/// A standalone ZooKeeper server in a child process; killed and its directory removed when
/// dropped.
pub struct ZooKeeper {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// The longest session it grants (`maxSessionTimeout`).
    max_session: Duration,
}

impl ZooKeeper {
    /// Starts a server on a free loopback port and waits until it serves requests.
    ///
    /// Its tick is 500 ms, so sessions may be as short as 1 s (`minSessionTimeout` = 2
    /// ticks) and at most 60 s (Dubbo's default ask).
    pub fn start() -> io::Result<Self> {
        Self::start_with_max_session(Duration::from_secs(60))
    }

    /// [`start`](Self::start), granting sessions of at most `max_session`: the nodes of a
    /// killed peer go after that long.
    pub fn start_with_max_session(max_session: Duration) -> io::Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!(
            "tether-zk-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("data"))?;
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            max_session,
        };
        // The free port may be taken between probing and binding: try a few.
        let mut last = None;
        for _ in 0..3 {
            server.port = free_port()?;
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("zookeeper did not start")))
    }

    /// Writes the config for the current port and starts the process (again, after
    /// [`stop`](Self::stop): same port, same data).
    fn launch(&mut self) -> io::Result<()> {
        let classpath = classpath().ok_or_else(|| io::Error::other("no zookeeper jar"))?;
        let config = self.dir.join("zoo.cfg");
        fs::write(
            &config,
            format!(
                "tickTime=500\n\
                 dataDir={data}\n\
                 clientPort={port}\n\
                 clientPortAddress=127.0.0.1\n\
                 maxClientCnxns=0\n\
                 maxSessionTimeout={max_session}\n\
                 admin.enableServer=false\n\
                 4lw.commands.whitelist=ruok,srvr,cons,dump\n",
                data = self.dir.join("data").display(),
                port = self.port,
                max_session = self.max_session.as_millis(),
            ),
        )?;
        let log = fs::File::create(self.dir.join("server.log"))?;
        // A shell stands between this process and the server: it runs java, exits when java
        // does, and kills java (by its PID) as soon as its stdin closes. Its stdin is a pipe
        // from this process, so the server goes with this process even when Drop never
        // runs (a test binary killed by a timeout leaves no server behind).
        let child = Command::new("sh")
            .arg("-c")
            .arg(
                "exec 3<&0; \"$@\" </dev/null & pid=$!; \
                 (read _ <&3; kill -9 $pid 2>/dev/null) & wait $pid",
            )
            .arg("zookeeper-server")
            .arg("java")
            .args(["-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"])
            .arg("-Dzookeeper.admin.enableServer=false")
            .arg("-cp")
            .arg(classpath)
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        loop {
            // `ruok` says `imok` as soon as the process runs, before the server takes
            // requests; `srvr` names the mode only once it serves.
            if let Ok(answer) = self.four_letter("srvr") {
                if answer.contains("Mode: ") {
                    return Ok(());
                }
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "zookeeper exited ({status}) on port {}: {}",
                        self.port,
                        self.log_tail()
                    )));
                }
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(io::Error::other(format!(
                    "zookeeper did not serve within {STARTUP:?}: {}",
                    self.log_tail()
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`: a connect string for clients.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `zookeeper://127.0.0.1:<port>`: the registry address Dubbo peers take.
    pub fn registry_url(&self) -> String {
        format!("zookeeper://127.0.0.1:{}", self.port)
    }

    /// The process id of the shell that runs it (and reaps it before exiting), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends a four-letter word (`ruok`, `srvr`, `cons`, `dump`) and returns the answer.
    pub fn four_letter(&self, word: &str) -> io::Result<String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(word.as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    /// Runs one command of ZooKeeper's own command-line client (`ZooKeeperMain`: `ls /path`,
    /// `create /path`, `delete /path`, `stat /path`...) against it and returns its stdout:
    /// an independent view of the tree and a way to write nodes no Dubbo peer would.
    pub fn cli(&self, command: &[&str]) -> io::Result<String> {
        let classpath = classpath().ok_or_else(|| io::Error::other("no zookeeper jar"))?;
        let output = Command::new("java")
            .args([
                "-Xmx64m",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-cp",
            ])
            .arg(classpath)
            .arg("org.apache.zookeeper.ZooKeeperMain")
            .args(["-server", &self.connect_string()])
            .args(command)
            .stdin(Stdio::null())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "zkCli {command:?}: {} {stdout} {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(stdout)
    }

    /// The children of `path` (`ls`), sorted; empty if it does not exist.
    pub fn children(&self, path: &str) -> io::Result<Vec<String>> {
        let out = self.cli(&["ls", path])?;
        // The last line that looks like `[a, b]` is the answer.
        let Some(list) = out
            .lines()
            .rev()
            .find(|l| l.starts_with('[') && l.ends_with(']'))
        else {
            return Ok(Vec::new());
        };
        let inner = &list[1..list.len() - 1];
        let mut children: Vec<String> = inner
            .split(", ")
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        children.sort();
        Ok(children)
    }

    /// Kills the server (`SIGKILL`, by its PID, from the shell that started it: closing the
    /// shell's stdin tells it to) and reaps it; its data stays for
    /// [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data (sessions survive a restart
    /// that is shorter than their timeout).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.launch()
    }

    /// The last lines of its log, for error messages.
    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Removes the directories of servers whose test process died without dropping them (their
/// servers died with it: see [`ZooKeeper::start`]'s shell).
fn remove_stale_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("tether-zk-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
