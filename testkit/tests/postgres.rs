//! The throwaway PostgreSQL harness: it serves, restarts, and leaves nothing running,
//! whether it is dropped or its test process is killed.

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gumloop_testkit::postgres::TempPostgres;

/// Whether process `pid` is alive (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serves_restarts_and_stops_on_drop() {
    let pg = TempPostgres::start();
    let gumloop_testkit::postgres::Database { name: db, url } = pg.create_database();
    assert_eq!(pg.psql(&db, "SELECT 1").trim(), "1");
    assert!(url.contains(&format!("host={}", pg.socket_dir().display())), "{url}");
    // No TCP: the socket file is the only way in.
    assert!(pg.socket_dir().join(".s.PGSQL.5432").exists());
    assert_eq!(pg.psql(&db, "SHOW listen_addresses").trim(), "");
    pg.psql(&db, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)");
    let pid = pg.pid().unwrap();
    pg.stop();
    assert!(!alive(pid), "stopped");
    pg.start_again();
    assert_eq!(pg.psql(&db, "SELECT x FROM kept").trim(), "7", "data survives a restart");
    let (pid, dir) = (pg.pid().unwrap(), pg.socket_dir().to_owned());
    drop(pg);
    assert!(!alive(pid), "the postmaster is gone after drop");
    assert!(!dir.exists(), "its directory is removed");
}

/// Run by `a_killed_test_process_leaves_no_cluster` in a child process: starts a
/// cluster, reports it, and waits to be killed.
#[test]
fn holder() {
    if std::env::var_os("GUMLOOP_TESTKIT_PG_HOLDER").is_none() {
        return;
    }
    let pg = TempPostgres::shared();
    println!("READY {} {}", pg.pid().unwrap(), pg.socket_dir().display());
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_killed_test_process_leaves_no_cluster() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "holder", "--nocapture", "--test-threads", "1"])
        .env("GUMLOOP_TESTKIT_PG_HOLDER", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // libtest prints `test holder ... ` first, on the same line.
    let ready = lines.find_map(|l| l.ok().and_then(|l| l.split_once("READY ").map(|(_, r)| r.to_owned()))).expect("the holder reports its cluster");
    let mut parts = ready.split(' ');
    let pid: u32 = parts.next().unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(parts.next().unwrap());
    assert!(alive(pid) && dir.exists());
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    wait_until("the postmaster stops", || !alive(pid));
    wait_until("the cluster directory is removed", || !dir.exists());
}
