//! A PostgreSQL server for the store's tests: the one in
//! `SMARTEX_TEST_DATABASE_URL`, or a temporary one started here.
//!
//! Starting one: Debian's `postgresql` package is installed if no server
//! binaries are found (only as root, with apt-get), a cluster is created with
//! `initdb` in a temporary directory, and the server listens on 127.0.0.1 on a
//! free port, as an unprivileged user (the `postgres` system user when we run
//! as root, since PostgreSQL refuses to run as root). It is stopped, and its
//! directory removed, when the [`TestPostgres`] is dropped — on success and on
//! failure alike.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, capture, run};

/// The variable the store's tests read.
pub(crate) const URL_VAR: &str = "SMARTEX_TEST_DATABASE_URL";

/// How to provide a server by hand, for error messages.
const HOW_TO_PROVIDE: &str = "\
  provide a server with SMARTEX_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB\n  \
  (a user allowed to CREATE SCHEMA; each test uses a schema of its own),\n  \
  or install PostgreSQL's server binaries (Debian: apt-get install postgresql)";

/// A server for the tests; a temporary one is stopped on drop.
pub(crate) struct TestPostgres {
    /// The URL to give the tests.
    pub(crate) url: String,
    /// The temporary server, if we started one.
    temporary: Option<Temporary>,
}

/// A server started by [`TestPostgres::provide`].
struct Temporary {
    /// `pg_ctl` of the installed server.
    pg_ctl: PathBuf,
    /// The temporary directory holding the cluster, socket and log.
    dir: PathBuf,
    /// Run the server's programs as this user (when we are root).
    run_as: Option<String>,
}

impl TestPostgres {
    /// The server in `SMARTEX_TEST_DATABASE_URL`, or a temporary one that
    /// trades durability for speed (`fsync = off`): for tests.
    pub(crate) fn provide() -> Result<Self> {
        Self::provide_with(false)
    }

    /// Like [`TestPostgres::provide`], but a temporary server keeps
    /// PostgreSQL's durable defaults (`fsync`, `synchronous_commit`): for
    /// benchmarks, whose figures should be those of a real deployment.
    pub(crate) fn provide_durable() -> Result<Self> {
        Self::provide_with(true)
    }

    /// The server in `SMARTEX_TEST_DATABASE_URL`, or a temporary one.
    fn provide_with(durable: bool) -> Result<Self> {
        if let Ok(url) = std::env::var(URL_VAR)
            && !url.trim().is_empty()
        {
            println!("PostgreSQL: using {URL_VAR} from the environment");
            return Ok(Self {
                url,
                temporary: None,
            });
        }
        let bin = server_binaries()?;
        stop_orphans(&bin);
        let run_as = if is_root()? {
            // PostgreSQL refuses to run as root.
            capture(Command::new("id").args(["-u", "postgres"])).map_err(|e| {
                format!(
                    "running as root, the server must run as the `postgres` user, \
                     which does not exist: {e}\n{HOW_TO_PROVIDE}"
                )
            })?;
            Some("postgres".to_owned())
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "smartex-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let temporary = Temporary {
            pg_ctl: bin.join("pg_ctl"),
            dir: dir.clone(),
            run_as,
        };
        if let Some(user) = &temporary.run_as {
            run(Command::new("chown").args([&format!("{user}:"), &path_str(&dir)?]))?;
        }
        let data = dir.join("data");
        run(temporary.command(&bin.join("initdb")).args([
            "-D",
            &path_str(&data)?,
            "-U",
            "smartex",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .map_err(|e| format!("{e}\n  initdb failed; {HOW_TO_PROVIDE}"))?;
        let port = free_port()?;
        let fast = if durable {
            ""
        } else {
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        };
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
             -c max_connections=300{fast}",
            path_str(&dir)?
        );
        let log = dir.join("server.log");
        let started = run(temporary.command(&temporary.pg_ctl).args([
            "-D",
            &path_str(&data)?,
            "-l",
            &path_str(&log)?,
            "-o",
            &options,
            "-w",
            "-t",
            "60",
            "start",
        ]));
        let server = Self {
            url: format!("postgres://smartex@127.0.0.1:{port}/postgres"),
            temporary: Some(temporary),
        };
        if let Err(e) = started {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{e}\n  server log:\n{log}\n{HOW_TO_PROVIDE}"));
        }
        println!("PostgreSQL: started a temporary server at {}", server.url);
        Ok(server)
    }
}

impl Temporary {
    /// A command running `program` as the server's user.
    fn command(&self, program: &Path) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let Some(t) = &self.temporary else {
            return;
        };
        let data = t.dir.join("data");
        let stopped =
            run(t
                .command(&t.pg_ctl)
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"]));
        match stopped {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&t.dir);
                println!("PostgreSQL: temporary server stopped");
            }
            Err(e) => eprintln!(
                "PostgreSQL: could not stop the temporary server ({e}); its files are in {}",
                t.dir.display()
            ),
        }
    }
}

/// Stops temporary servers left by earlier runs whose xtask was killed (a
/// killed process runs no `Drop`): a `smartex-pg-<pid>-…` directory whose
/// pid is no longer alive. Best effort; what cannot be stopped is reported.
fn stop_orphans(bin: &Path) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("smartex-pg-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        let dir = entry.path();
        let data = dir.join("data");
        if data.join("postmaster.pid").exists() {
            let owner = if is_root().unwrap_or(false) {
                Some("postgres".to_owned())
            } else {
                None
            };
            let t = Temporary {
                pg_ctl: bin.join("pg_ctl"),
                dir: dir.clone(),
                run_as: owner,
            };
            let stopped = run(t.command(&t.pg_ctl).arg("-D").arg(&data).args([
                "-m",
                "immediate",
                "-w",
                "stop",
            ]));
            if let Err(e) = stopped {
                eprintln!(
                    "PostgreSQL: a server left by an earlier run in {} did not stop: {e}",
                    dir.display()
                );
                continue;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "PostgreSQL: cleaned up {} (left by a killed run)",
            dir.display()
        );
    }
}

/// Whether `pid` runs (a zombie, killed and not yet reaped, does not).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The newest installed server's `bin` directory, installing Debian's
/// `postgresql` package first if none is found and we may.
fn server_binaries() -> Result<PathBuf> {
    if let Some(bin) = find_server() {
        return Ok(bin);
    }
    if !is_root()? || Command::new("apt-get").arg("--version").output().is_err() {
        return Err(format!(
            "no PostgreSQL server found under /usr/lib/postgresql, and it can only be \
             installed automatically as root with apt-get\n{HOW_TO_PROVIDE}"
        ));
    }
    println!("PostgreSQL: no server found; installing Debian's postgresql package");
    run(Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .map_err(|e| format!("{e}\n{HOW_TO_PROVIDE}"))?;
    find_server().ok_or_else(|| {
        format!("postgresql was installed but no initdb was found\n{HOW_TO_PROVIDE}")
    })
}

/// `/usr/lib/postgresql/<newest version>/bin`, if it has `initdb`.
fn find_server() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether we run as root.
fn is_root() -> Result<bool> {
    Ok(capture(Command::new("id").arg("-u"))?.trim() == "0")
}

/// A port free on 127.0.0.1 right now.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// A path as UTF-8 text, for command-line options.
fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}
