//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` from the distribution's
//! server package (`/usr/lib/postgresql/<version>/bin`) in a private temporary directory.
//!
//! - No TCP: `listen_addresses` is empty, so the only way in is the unix socket in the
//!   cluster's own 0700 directory (which is also why `trust` authentication is fine).
//! - Durability off (`-F`, no synchronous commit, no full-page writes): a test cluster
//!   never needs to survive a power cut, and fsyncs would dominate test time.
//! - As root (CI), every server program runs as the `postgres` user through `runuser`,
//!   because `initdb` and `postgres` refuse to run as root.
//! - It stops by itself: on `Drop`, and, when the test process dies without dropping it
//!   (a `static`, a SIGKILL, Ctrl-C), through a watchdog child that blocks reading a pipe
//!   only this process holds; the pipe's end-of-file is its signal to stop the cluster
//!   (`-m immediate`) and remove the directory. Its own signals are ignored, so the
//!   Ctrl-C that kills the test process group does not take the watchdog with it.
//!
//! Missing binaries are a test failure naming `scripts/setup.sh`, never a skip.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// A database made by [`TempPostgres::create_database`].
#[derive(Debug, Clone)]
pub struct Database {
    /// Its name.
    pub name: String,
    /// Its URL over the cluster's unix socket.
    pub url: String,
}

/// A running throwaway cluster.
pub struct TempPostgres {
    dir: PathBuf,
    bin: PathBuf,
    /// Run the server programs as the `postgres` user (we are root).
    as_postgres: bool,
    /// Holding the watchdog's stdin keeps it waiting; see the module docs.
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    databases: AtomicU32,
}

/// The directory holding `initdb` and `pg_ctl`: `GUMLOOP_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn find_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("GUMLOOP_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) are not in /usr/lib/postgresql/*/bin: run scripts/setup.sh \
             (it installs the Debian package `postgresql`), or set GUMLOOP_TEST_PG_BIN to their directory"
        )
    })
}

/// The effective uid, from `/proc/self/status` (no libc call needed).
fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|u| u.parse().ok()).unwrap_or(u32::MAX)
}

/// The `postgres` user's uid and gid, from `/etc/passwd`.
fn postgres_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?))).flatten()
        })
        .unwrap_or_else(|| panic!("running as root, but there is no `postgres` user to run PostgreSQL as: run scripts/setup.sh"))
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    if !out.status.success() {
        panic!("{what} failed ({}):\n{}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl TempPostgres {
    /// Creates and starts a new cluster (about a second).
    pub fn start() -> Self {
        let bin = find_bin();
        let as_postgres = euid() == 0;
        let dir = tempfile::Builder::new().prefix("gmpg").tempdir_in("/tmp").expect("a temporary directory").keep();
        if as_postgres {
            let (uid, gid) = postgres_user();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the cluster directory to postgres");
        }
        let pg = Self { dir, bin, as_postgres, watchdog: Mutex::new(None), databases: AtomicU32::new(0) };
        // The watchdog first, so that a failure below still leaves nothing behind.
        pg.spawn_watchdog();
        let mut initdb = pg.server_cmd("initdb");
        initdb.arg("-D").arg(pg.data()).args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions"]);
        run(initdb, "initdb");
        pg.start_again();
        pg
    }

    /// One cluster for the whole test binary (each test takes its own database with
    /// [`create_database`](Self::create_database)); the watchdog stops it at exit.
    pub fn shared() -> &'static TempPostgres {
        static SHARED: OnceLock<TempPostgres> = OnceLock::new();
        SHARED.get_or_init(TempPostgres::start)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The socket directory (`host=` in a URL).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// A URL for database `db` over the unix socket.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@/{db}?host={}", self.dir.display())
    }

    /// The postmaster's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
    }

    fn server_cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn spawn_watchdog(&self) {
        let mut stop = self.server_cmd("pg_ctl");
        stop.arg("-D").arg(self.data()).args(["-m", "immediate", "stop"]);
        let mut argv: Vec<std::ffi::OsString> = vec![stop.get_program().into()];
        argv.extend(stop.get_args().map(Into::into));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"trap '' INT TERM HUP; read _ignored; "$@" >/dev/null 2>&1; rm -rf "$CLUSTER_DIR""#)
            .arg("watchdog")
            .args(argv)
            .env("CLUSTER_DIR", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a terminal's Ctrl-C goes to the test's group only.
            .process_group(0)
            .spawn()
            .expect("spawning the cluster watchdog (sh)");
        let stdin = child.stdin.take().expect("piped stdin");
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some((child, stdin));
    }

    /// Starts the (stopped) cluster again, on the same socket and data.
    pub fn start_again(&self) {
        let options = format!("-c listen_addresses= -k {} -F -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", self.dir.display());
        let mut start = self.server_cmd("pg_ctl");
        start.arg("-D").arg(self.data()).arg("-l").arg(self.dir.join("log")).args(["-w", "-t", "60", "-o", &options, "start"]);
        let out = start.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output().expect("pg_ctl start");
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            panic!("pg_ctl start failed ({}): {}\nserver log:\n{log}", out.status, String::from_utf8_lossy(&out.stderr));
        }
    }

    /// Stops the cluster, cutting every client off (`-m fast`: open transactions roll
    /// back). Not `immediate`: with durability off, a crash-like stop would lose recent
    /// commits, which a real database (with fsync) keeps.
    pub fn stop(&self) {
        let mut stop = self.server_cmd("pg_ctl");
        stop.arg("-D").arg(self.data()).args(["-m", "fast", "-w", "stop"]);
        run(stop, "pg_ctl stop");
    }

    /// Runs SQL with `psql` on database `db`; the unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut psql = Command::new(self.bin.join("psql"));
        psql.arg("-h").arg(&self.dir).args(["-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql]);
        run(psql, &format!("psql -c {sql:?}"))
    }

    /// A new empty database.
    pub fn create_database(&self) -> Database {
        let name = format!("t{}_{}", std::process::id(), self.databases.fetch_add(1, Ordering::SeqCst));
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        Database { url: self.url(&name), name }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.pid().is_some() {
            let mut stop = self.server_cmd("pg_ctl");
            stop.arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]);
            let _ = stop.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // Closing the pipe lets the watchdog finish (its stop and rm find nothing left).
        if let Some((mut child, mut stdin)) = self.watchdog.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = stdin.flush();
            drop(stdin);
            let _ = child.wait();
        }
    }
}
