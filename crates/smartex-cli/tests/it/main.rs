//! Integration tests of the `smartex` command (every command and exit code,
//! `--help` snapshots) and of the whole flow — client → sandbox → IPN →
//! receiver — over real loopback HTTP. Every server listens on 127.0.0.1.

// Tests assert by unwrapping and panicking, and report on the console; that
// is their job.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../../smartex-store/tests/it/common.rs"]
mod common;
mod demo;
mod held;
mod help;
mod ipn;
mod order;
mod sandbox;
mod url;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use smartex_sandbox::{Sandbox, SandboxConfig, Schedule};

/// How long any wait in these tests may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The docs' sample IPN body, signed with [`SAMPLE_SECRET`].
pub(crate) const SAMPLE: &str = include_str!("../data/sample-ipn-body.txt");
pub(crate) const SAMPLE_SECRET: &str = "SECRET123";

/// The built-in routes' ids and field values.
pub(crate) const ETH_WMZ: &str = "5f1a0c9e8b3d4a0012a1b002";
pub(crate) const CARDRUB_BTC: &str = "5f1a0c9e8b3d4a0012a1b003";
pub(crate) const CARD_FIELD: &str = "5f1a0c9e8b3d4a0012a1d001";
pub(crate) const WMZ_WALLET: &str = "Z123456789012";
pub(crate) const BTC_WALLET: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

/// The environment variables the command reads; cleared for every run so
/// that a developer's own settings cannot change a result.
const ENV: [&str; 11] = [
    "SMARTEX_SANDBOX_TOKEN",
    "SMARTEX_STORE",
    "SMARTEX_IPN_SECRET",
    "SMARTEX_API_KEY",
    "SMARTEX_API_SECRET",
    "SMARTEX_ORDER_SECRET",
    "SMARTEX_SITE",
    "NO_COLOR",
    "HTTP_PROXY",
    "COLUMNS",
    "LINES",
];

/// The `smartex` binary, with a clean environment, as `assert_cmd` runs it.
pub(crate) fn smartex() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_smartex"));
    for var in ENV {
        cmd.env_remove(var);
    }
    cmd.timeout(WAIT);
    cmd
}

/// The `smartex` binary as a std command, for processes that run alongside a test.
pub(crate) fn smartex_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smartex"));
    for var in ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// A child process this test started: killed (by its handle) if still
/// running when dropped, so a failing test never leaves one behind.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    lines: mpsc::Receiver<String>,
}

impl Spawned {
    /// Starts `cmd` with stdout piped; its lines are read on a thread.
    pub(crate) fn start(cmd: std::process::Command) -> Spawned {
        Self::start_with_stderr(cmd, Stdio::inherit())
    }

    /// As [`Spawned::start`], with stderr going to `stderr`.
    pub(crate) fn start_with_stderr(mut cmd: std::process::Command, stderr: Stdio) -> Spawned {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Spawned { child, lines }
    }

    /// The next line of its stdout.
    pub(crate) fn line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .expect("the process printed no line in time")
    }

    /// Every remaining line, until it closes its stdout.
    pub(crate) fn rest(&self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            out.push(line);
        }
        out
    }

    /// Waits for it to exit (at most [`WAIT`]) and returns its exit code.
    pub(crate) fn wait(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not exit in time"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends it SIGINT (as Ctrl-C does), by its process id.
    pub(crate) fn interrupt(&self) {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A sandbox running in the background of a blocking test (for driving the
/// command, which blocks), with the runtime that serves it.
pub(crate) struct Background {
    pub(crate) sb: Sandbox,
    pub(crate) rt: tokio::runtime::Runtime,
}

impl Background {
    pub(crate) fn start(config: SandboxConfig) -> Background {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sb = rt.block_on(Sandbox::start(config)).unwrap();
        Background { sb, rt }
    }

    /// A sandbox whose orders move only on command.
    pub(crate) fn manual() -> Background {
        Background::start(SandboxConfig::default().schedule(Schedule::manual()))
    }

    pub(crate) fn site(&self) -> String {
        self.sb.site_url().to_owned()
    }
}

/// `stdout` of an `assert_cmd` output, as text.
pub(crate) fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `stderr` of an `assert_cmd` output, as text.
pub(crate) fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
