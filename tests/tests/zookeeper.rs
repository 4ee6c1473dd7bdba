//! The ZooKeeper test server ([`tether_tests::zk`]): it starts on a free port, serves, and
//! leaves nothing behind. Skipped (loudly) without Java and Debian's `zookeeper` package;
//! fails under `CI=true`.

use std::time::Instant;

use tether_tests::zk::{ZooKeeper, zookeeper_present};

#[test]
fn a_zookeeper_server_starts_serves_restarts_and_is_cleaned_up() {
    if !zookeeper_present("zookeeper harness") {
        return;
    }
    let started = Instant::now();
    let mut zk = ZooKeeper::start().expect("zookeeper starts");
    println!(
        "zookeeper on {} in {:?}",
        zk.connect_string(),
        started.elapsed()
    );
    let srvr = zk.four_letter("srvr").unwrap();
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    assert!(srvr.starts_with("Zookeeper version: 3."), "{srvr}");

    let pid = zk.pid().unwrap();
    zk.restart().expect("zookeeper restarts");
    assert_ne!(zk.pid(), Some(pid));
    assert_eq!(zk.four_letter("ruok").unwrap(), "imok");

    let pid = zk.pid().unwrap();
    let port = zk.port();
    drop(zk);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the server process is gone"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on its port any more"
    );
}
