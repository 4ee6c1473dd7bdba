//! [`ZooKeeper`]: a standalone ZooKeeper server for tests, from Debian's `zookeeper` package
//! (3.8; `.ci/run` installs it). Each server runs `ZooKeeperServerMain` in a `java`
//! process (under a small `sh` that kills it when this process goes) on a free loopback port with a private config and data directory under the
//! system temp dir, and answers the `srvr` four-letter word with its mode (it serves) before [`ZooKeeper::start`]
//! returns. Dropping it kills the process by its PID, reaps it and removes the directory:
//! no system service, nothing left behind. A test process killed before it could drop its
//! servers takes them with it (their shell notices), and the next start removes their
//! directories.
//!
//! [`Ensemble`]: three such servers as a quorum (`QuorumPeerMain`), for losing a leader:
//! [`Ensemble::leader`] names it, [`Ensemble::kill`] and [`Ensemble::restart`] take a member
//! down (`SIGKILL`) and back, with the same process-lifetime guarantees and cleanup.
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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tether_registry_zookeeper::{ZookeeperConfig, ZookeeperRegistry};

use crate::estate::tools_present;
use crate::exec::Executor;

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
        let dir = fresh_dir()?;
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
        let config = self.dir.join("zoo.cfg");
        fs::write(
            &config,
            common_config(&self.dir.join("data"), self.port, self.max_session),
        )?;
        let log = self.dir.join("server.log");
        self.child = Some(spawn_server(
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            &config,
            &log,
        )?);
        let served = wait_serving(&mut self.child, self.port, &log, Instant::now() + STARTUP);
        if served.is_err() {
            self.stop();
        }
        served
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

    /// Sends a four-letter word (`ruok`, `srvr`, `cons`, `dump`, `wchs`, `wchc`, `mntr`) and
    /// returns the answer.
    pub fn four_letter(&self, word: &str) -> io::Result<String> {
        four_letter(self.port, word)
    }

    /// The number of watches the server holds, on data and on children (`mntr`'s
    /// `zk_watch_count`; `wchs` and `wchc` report data watches only).
    pub fn watches(&self) -> io::Result<usize> {
        watch_count(&self.four_letter("mntr")?)
    }

    /// Runs one command of ZooKeeper's own command-line client (`ZooKeeperMain`: `ls /path`,
    /// `create /path`, `delete /path`, `stat /path`...) against it and returns its stdout:
    /// an independent view of the tree and a way to write nodes no Dubbo peer would.
    pub fn cli(&self, command: &[&str]) -> io::Result<String> {
        cli(&self.connect_string(), command)
    }

    /// The children of `path` (`ls`), sorted; empty if it does not exist.
    pub fn children(&self, path: &str) -> io::Result<Vec<String>> {
        Ok(parse_ls(&self.cli(&["ls", path])?))
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
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A ZooKeeper ensemble of [`Ensemble::SIZE`] servers (`QuorumPeerMain`), each in a child
/// process like [`ZooKeeper`]'s, on free loopback ports (client, quorum and election), with
/// the same tick (500 ms) and short `initLimit`/`syncLimit`: a follower notices a lost
/// leader within `syncLimit` ticks. Members can be killed (`SIGKILL`) and restarted one by
/// one; dropping it kills them all and removes their directory.
pub struct Ensemble {
    members: Vec<Member>,
    dir: PathBuf,
}

/// One server of an [`Ensemble`]; its data and config live in `<ensemble dir>/<myid>`.
struct Member {
    child: Option<Child>,
    dir: PathBuf,
    client_port: u16,
    quorum_port: u16,
    election_port: u16,
}

impl Member {
    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

impl Ensemble {
    /// How many servers it runs: a quorum of two survives losing any one.
    pub const SIZE: usize = 3;

    /// Starts the servers and waits until they elected a leader and all serve. Sessions
    /// last at most 60 s (Dubbo's default ask).
    pub fn start() -> io::Result<Self> {
        let dir = fresh_dir()?;
        let mut ensemble = Self {
            members: Vec::new(),
            dir,
        };
        // Free ports may be taken between probing and binding: try a few times.
        let mut last = None;
        for _ in 0..3 {
            match ensemble.launch_all() {
                Ok(()) => return Ok(ensemble),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("zookeeper ensemble did not start")))
    }

    /// Picks ports, writes every member's config and `myid`, starts them all and waits.
    fn launch_all(&mut self) -> io::Result<()> {
        for member in &mut self.members {
            member.stop();
        }
        // Hold every probe at once so that the ports are distinct.
        let probes = (0..3 * Self::SIZE)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .collect::<io::Result<Vec<_>>>()?;
        let ports = probes
            .iter()
            .map(|l| Ok(l.local_addr()?.port()))
            .collect::<io::Result<Vec<u16>>>()?;
        drop(probes);
        self.members = (0..Self::SIZE)
            .map(|i| Member {
                child: None,
                dir: self.dir.join((i + 1).to_string()),
                client_port: ports[3 * i],
                quorum_port: ports[3 * i + 1],
                election_port: ports[3 * i + 2],
            })
            .collect();
        let servers: String = self
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    "server.{}=127.0.0.1:{}:{}\n",
                    i + 1,
                    m.quorum_port,
                    m.election_port
                )
            })
            .collect();
        for (i, member) in self.members.iter().enumerate() {
            let data = member.dir.join("data");
            let _ = fs::remove_dir_all(&data);
            fs::create_dir_all(&data)?;
            fs::write(data.join("myid"), format!("{}\n", i + 1))?;
            fs::write(
                member.dir.join("zoo.cfg"),
                format!(
                    "{}initLimit=10\nsyncLimit=4\n{servers}",
                    common_config(&data, member.client_port, Duration::from_secs(60))
                ),
            )?;
        }
        for i in 0..Self::SIZE {
            self.spawn(i)?;
        }
        let deadline = Instant::now() + STARTUP;
        for i in 0..Self::SIZE {
            let member = &mut self.members[i];
            let log = member.log();
            if let Err(e) = wait_serving(&mut member.child, member.client_port, &log, deadline) {
                for member in &mut self.members {
                    member.stop();
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn spawn(&mut self, i: usize) -> io::Result<()> {
        let member = &mut self.members[i];
        member.child = Some(spawn_server(
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            &member.dir.join("zoo.cfg"),
            &member.log(),
        )?);
        Ok(())
    }

    /// `127.0.0.1:<port>,...`: every member's client address, for clients.
    pub fn connect_string(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Member `i`'s client port on 127.0.0.1.
    pub fn client_port(&self, i: usize) -> u16 {
        self.members[i].client_port
    }

    /// The process id of the shell running member `i`, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].child.as_ref().map(Child::id)
    }

    /// Sends a four-letter word to member `i` and returns the answer.
    pub fn four_letter(&self, i: usize, word: &str) -> io::Result<String> {
        four_letter(self.members[i].client_port, word)
    }

    /// Member `i`'s role (`leader`, `follower`) from `srvr`, if it runs and serves.
    pub fn mode(&self, i: usize) -> Option<String> {
        self.members[i].child.as_ref()?;
        let answer = self.four_letter(i, "srvr").ok()?;
        answer
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(|m| m.trim().to_owned())
    }

    /// The member that says it leads, if one does.
    pub fn leader(&self) -> Option<usize> {
        (0..Self::SIZE).find(|&i| self.mode(i).as_deref() == Some("leader"))
    }

    /// Waits until one member leads and every running member serves; returns the leader.
    pub fn wait_for_leader(&self, timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let modes: Vec<Option<String>> = (0..Self::SIZE)
                .filter(|&i| self.members[i].child.is_some())
                .map(|i| self.mode(i))
                .collect();
            let leaders = modes
                .iter()
                .filter(|m| m.as_deref() == Some("leader"))
                .count();
            if leaders == 1 && modes.iter().all(Option::is_some) {
                if let Some(leader) = self.leader() {
                    return Ok(leader);
                }
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "no leader within {timeout:?}: modes {modes:?}"
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills member `i` (`SIGKILL` by its PID, as [`ZooKeeper::stop`]) and reaps it; its
    /// data stays for [`restart`](Self::restart).
    pub fn kill(&mut self, i: usize) {
        self.members[i].stop();
    }

    /// Starts member `i` again with its data and waits until it serves (it rejoins as a
    /// follower when the others have a leader).
    pub fn restart(&mut self, i: usize) -> io::Result<()> {
        self.members[i].stop();
        self.spawn(i)?;
        let member = &mut self.members[i];
        let log = member.log();
        let served = wait_serving(
            &mut member.child,
            member.client_port,
            &log,
            Instant::now() + STARTUP,
        );
        if served.is_err() {
            member.stop();
        }
        served
    }

    /// Runs one command of ZooKeeper's command-line client against the ensemble (see
    /// [`ZooKeeper::cli`]). It is told of the running members only: it runs its command
    /// as soon as it started connecting, and fails if it picked a member that is down.
    pub fn cli(&self, command: &[&str]) -> io::Result<String> {
        let running: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| format!("127.0.0.1:{}", m.client_port))
            .collect();
        cli(&running.join(","), command)
    }

    /// The children of `path` (`ls`), sorted; empty if it does not exist.
    pub fn children(&self, path: &str) -> io::Result<Vec<String>> {
        Ok(parse_ls(&self.cli(&["ls", path])?))
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for member in &mut self.members {
            member.stop();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The config lines every server here shares: a 500 ms tick, a private data directory, a
/// loopback client port, no admin server, and the four-letter words tests read.
fn common_config(data: &Path, port: u16, max_session: Duration) -> String {
    format!(
        "tickTime=500\n\
         dataDir={data}\n\
         clientPort={port}\n\
         clientPortAddress=127.0.0.1\n\
         maxClientCnxns=0\n\
         maxSessionTimeout={max_session}\n\
         admin.enableServer=false\n\
         4lw.commands.whitelist=ruok,srvr,cons,dump,wchs,wchc,mntr\n",
        data = data.display(),
        max_session = max_session.as_millis(),
    )
}

/// Starts `main_class` of ZooKeeper's jars with `config`, its output to `log`.
fn spawn_server(main_class: &str, config: &Path, log: &Path) -> io::Result<Child> {
    let classpath = classpath().ok_or_else(|| io::Error::other("no zookeeper jar"))?;
    let log = fs::File::create(log)?;
    // A shell stands between this process and the server: it runs java, exits when java
    // does, and kills java (by its PID) as soon as its stdin closes. Its stdin is a pipe
    // from this process, so the server goes with this process even when Drop never runs (a
    // test binary killed by a timeout leaves no server behind).
    Command::new("sh")
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
        .arg(main_class)
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
}

/// Waits until the server on `port` serves: `ruok` says `imok` as soon as the process runs,
/// before the server takes requests; `srvr` names the mode only once it serves (a quorum
/// member: once it leads or follows). Fails if the process exits or `deadline` passes.
fn wait_serving(
    child: &mut Option<Child>,
    port: u16,
    log: &Path,
    deadline: Instant,
) -> io::Result<()> {
    loop {
        if let Ok(answer) = four_letter(port, "srvr") {
            if answer.contains("Mode: ") {
                return Ok(());
            }
        }
        if let Some(process) = child {
            if let Ok(Some(status)) = process.try_wait() {
                *child = None;
                return Err(io::Error::other(format!(
                    "zookeeper exited ({status}) on port {port}: {}",
                    log_tail(log)
                )));
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "zookeeper on port {port} did not serve in time: {}",
                log_tail(log)
            )));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Sends a four-letter word to the server on loopback `port` and returns its answer.
fn four_letter(port: u16, word: &str) -> io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(word.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// The `zk_watch_count` of a `mntr` answer (tab-separated lines of name and value).
fn watch_count(mntr: &str) -> io::Result<usize> {
    mntr.lines()
        .find_map(|l| l.strip_prefix("zk_watch_count"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no zk_watch_count in {mntr:?}")))
}

/// Runs one `ZooKeeperMain` command against `connect` and returns its stdout.
fn cli(connect: &str, command: &[&str]) -> io::Result<String> {
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
        .args(["-server", connect])
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

/// The children an `ls` printed, sorted: its last line that looks like `[a, b]`.
fn parse_ls(out: &str) -> Vec<String> {
    let Some(list) = out
        .lines()
        .rev()
        .find(|l| l.starts_with('[') && l.ends_with(']'))
    else {
        return Vec::new();
    };
    let inner = &list[1..list.len() - 1];
    let mut children: Vec<String> = inner
        .split(", ")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    children.sort();
    children
}

/// The last lines of a server's log, for error messages.
fn log_tail(log: &Path) -> String {
    let log = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A new, empty directory for one server or ensemble under the system temp dir, named after
/// this process (see [`remove_stale_dirs`]); stale ones of dead processes go first.
fn fresh_dir() -> io::Result<PathBuf> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    remove_stale_dirs();
    let dir = std::env::temp_dir().join(format!(
        "tether-zk-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    Ok(dir)
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

/// The suite provider (`crate::conformance::provider_exporting`) of `interface`, also
/// serving the `MetadataService` of application `app`, registered in `registry` as `mode`
/// says (interface level, application level, or both) with `methods`: the fixture, its
/// instance and its metadata service (whose calls a test may count).
pub fn app_provider(
    exec: &dyn Executor,
    registry: &ZookeeperRegistry,
    interface: &str,
    app: &str,
    methods: &[&str],
    mode: tether_core::registry::RegisterMode,
) -> (
    crate::conformance::Fixture,
    tether_core::metadata::ServiceInstance,
    tether_core::metadata::MetadataService,
) {
    use tether_core::metadata::{MetadataInfo, MetadataService, ServiceInstance};
    let metadata = MetadataService::new(app);
    let fixture = crate::conformance::provider_exporting(exec, vec![metadata.service()]);
    let port = fixture.addr().port();
    let url = tether_core::registry::ProviderSpec::new(interface, "127.0.0.1", port)
        .application(app)
        .methods(methods.iter().copied())
        .version("1.0.0")
        .to_url(now_ms())
        .expect("a valid provider url");
    let info = MetadataInfo::from_urls(app, [&url]);
    metadata.publish(info.clone());
    let instance = ServiceInstance::new(&info, "127.0.0.1", port, now_ms());
    registry
        .register_application(mode, &[url], &instance, now_ms())
        .wait()
        .expect("registers");
    (fixture, instance, metadata)
}

/// The wall clock in milliseconds since the Unix epoch: the registration time of the URLs
/// and instances the tests register.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A `ZookeeperRegistry` session with `zk` on `exec`'s spawner, retrying every 200 ms.
pub fn registry(zk: &ZooKeeper, exec: &dyn Executor) -> ZookeeperRegistry {
    ZookeeperRegistry::connect(
        ZookeeperConfig::new(zk.connect_string()).retry(Duration::from_millis(200)),
        exec.spawner(),
    )
    .wait_timeout(Duration::from_secs(20))
    .expect("connects in time")
    .expect("connects to zookeeper")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mntr_gives_the_watch_count() {
        let mntr = "zk_version\t3.8.0\nzk_server_state\tleader\nzk_watch_count\t3\nzk_ephemerals_count\t1000\n";
        assert_eq!(watch_count(mntr).unwrap(), 3);
        assert!(watch_count("mntr is not executed because it is not in the whitelist.\n").is_err());
    }

    #[test]
    fn ls_output_gives_sorted_children() {
        let out = "Connecting to 127.0.0.1:2181\n\nWATCHER::\n[b%3A, a]\n";
        assert_eq!(parse_ls(out), ["a", "b%3A"]);
        assert!(parse_ls("[]\n").is_empty());
        assert!(parse_ls("Node does not exist: /x\n").is_empty());
    }
}
