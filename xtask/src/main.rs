//! Project automation for smartex, run as `cargo xtask <command>`.
//!
//! * `cargo xtask ci` is the project's one test command: format, lints, tests,
//!   the builds that must run alone (coexistence with an application's
//!   reqwest and rustls, the `smartex` crate's features one by one),
//!   the soak chaos run (`smartex-soak`, SQLite and PostgreSQL), docs, the
//!   no_std/wasm build, a fuzz smoke run and `tidy`, in that order,
//!   stopping at the first failure.
//! * `cargo xtask tidy` checks repository hygiene (also run as a `#[test]`).
//! * `cargo xtask fuzz [TARGET] [--seconds N]` fuzzes for longer.
//! * `cargo xtask bench` runs the benchmarks.
//! * `cargo xtask pg -- CMD...` runs a command with a PostgreSQL server for
//!   the store's tests (`SMARTEX_TEST_DATABASE_URL`, or a temporary one).
//!
//! It only uses std (plus serde_json to read `cargo metadata`) and shells out
//! to cargo, rustup and friends.

// A command-line tool prints: its whole user interface is stdout and stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod fuzz;
mod ipn_bench;
mod pg;
mod tidy;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The result type used throughout: errors are messages meant for a person.
type Result<T = (), E = String> = std::result::Result<T, E>;

/// Usage text printed for `help`, no arguments or unknown arguments.
const USAGE: &str = "\
Usage: cargo xtask <COMMAND>

Commands:
  ci [--skip-fuzz]              Run every check CI runs, in order, stopping at the first
                                failure: fmt, clippy, test, alone (coexistence with an
                                app's reqwest/rustls; smartex's features one by one),
                                soak (SQLite, PostgreSQL),
                                doc, no_std/wasm build, fuzz smoke, tidy. This is the project's test command.
                                --skip-fuzz skips the fuzz smoke (local iteration only).
  tidy                          Repository hygiene checks (also a #[test] in xtask).
  fuzz [TARGET] [--seconds N]   Fuzz one target (or all) for longer, default 300 s each,
                                on the run corpus fuzz/corpus-run/<target>.
  bench [-- ARGS...]            Run the benchmarks; ARGS go to every benchmark binary.
  pg -- CMD [ARGS...]           Run CMD with SMARTEX_TEST_DATABASE_URL set: the one in the
                                environment, or a temporary PostgreSQL server started for
                                it (initdb in a temporary directory, 127.0.0.1, a free
                                port; installed with apt-get if missing and we are root)
                                and stopped afterwards. For example:
                                cargo xtask pg -- cargo test -p smartex-store
  help                          Print this message.

Environment:
  SMARTEX_FUZZ_SECONDS          Seconds per target for the `ci` fuzz smoke (default 15).
  SMARTEX_TEST_DATABASE_URL     A PostgreSQL server for the store's tests and benchmark
                                (`ci`, `bench` and `pg` start a temporary one without it).
";

/// Runs the command named on the command line. Exits with 0 on success, 1
/// when a step fails, 2 for a command-line mistake (after printing the usage).
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = match workspace_root() {
        Ok(root) => root,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match args.as_slice() {
        ["ci", rest @ ..] => parse_ci(rest).and_then(|skip_fuzz| ci(&root, skip_fuzz)),
        ["tidy"] => tidy_command(&root),
        ["tidy", extra @ ..] => Err(usage_error(format!(
            "`tidy` takes no arguments, got {extra:?}"
        ))),
        ["fuzz", rest @ ..] => parse_fuzz(rest)
            .and_then(|(target, seconds)| fuzz::long_run(&root, target.as_deref(), seconds)),
        ["bench", rest @ ..] => parse_bench(rest).and_then(|extra| bench(&root, &extra)),
        ["pg", "--", program, args @ ..] => with_postgres(&root, program, args),
        ["pg", ..] => Err(usage_error("`pg` takes `-- CMD [ARGS...]`")),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [] => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
        [other, ..] => Err(usage_error(format!("unknown command `{other}`"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.strip_prefix(USAGE_ERROR) {
            Some(mistake) => {
                eprintln!("xtask: {mistake}\n");
                eprint!("{USAGE}");
                ExitCode::from(2)
            }
            None => {
                eprintln!("\nxtask: FAILED: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Prefix marking an error as a command-line mistake, answered with the usage.
const USAGE_ERROR: &str = "usage: ";

/// Builds a command-line error (printed together with the usage text).
fn usage_error(message: impl std::fmt::Display) -> String {
    format!("{USAGE_ERROR}{message}")
}

/// Parses the arguments of `ci`; returns whether the fuzz smoke is skipped.
fn parse_ci(args: &[&str]) -> Result<bool> {
    match args {
        [] => Ok(false),
        ["--skip-fuzz"] => Ok(true),
        _ => Err(usage_error(format!(
            "`ci` takes only --skip-fuzz, got {args:?}"
        ))),
    }
}

/// Parses the arguments of `fuzz`: an optional target and `--seconds N`.
fn parse_fuzz(args: &[&str]) -> Result<(Option<String>, u64)> {
    let mut target = None;
    let mut seconds = fuzz::LONG_RUN_SECONDS;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--seconds" => {
                let value = rest
                    .next()
                    .ok_or_else(|| usage_error("--seconds needs a value"))?;
                seconds = parse_seconds("--seconds", value).map_err(usage_error)?;
            }
            flag if flag.starts_with('-') => {
                return Err(usage_error(format!("unknown option `{flag}` for `fuzz`")));
            }
            name if target.is_none() => target = Some(name.to_owned()),
            extra => return Err(usage_error(format!("unexpected argument `{extra}`"))),
        }
    }
    Ok((target, seconds))
}

/// Parses the arguments of `bench`: nothing, or `--` followed by pass-through arguments.
fn parse_bench(args: &[&str]) -> Result<Vec<String>> {
    match args {
        [] => Ok(Vec::new()),
        ["--", extra @ ..] => Ok(extra.iter().map(|s| (*s).to_owned()).collect()),
        _ => Err(usage_error(format!(
            "`bench` takes only `-- ARGS...`, got {args:?}"
        ))),
    }
}

/// Parses a positive whole number of seconds; `what` names its source in the error.
fn parse_seconds(what: &str, value: &str) -> Result<u64> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{what} must be a positive whole number of seconds, got `{value}`"
        )),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "cannot find the workspace root above xtask/".to_owned())
}

/// `cargo xtask ci`: every check, in order, stopping at the first failure.
fn ci(root: &Path, skip_fuzz: bool) -> Result {
    let mut steps = Steps::new("ci", 9);
    steps.run("fmt", || {
        run(cargo(root).args(["fmt", "--all", "--", "--check"]))
            .map_err(|e| format!("{e}\n  fix it with: cargo fmt --all"))
    })?;
    steps.run("clippy", || {
        run(cargo(root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("test", || {
        // The store's tests need a real PostgreSQL server; it is stopped when
        // `server` drops, whether the tests passed or not.
        let server = pg::TestPostgres::provide()?;
        // `cargo test` runs the doctests too. Snapshots are never accepted
        // here: a changed snapshot fails the run, and is reviewed with
        // `cargo insta review` by whoever changed it.
        run(cargo(root)
            .args(["test", "--workspace", "--all-features"])
            .env("INSTA_UPDATE", "no")
            .env_remove("INSTA_FORCE_PASS")
            .env(pg::URL_VAR, &server.url)
            .env_remove("SMARTEX_ALLOW_NO_POSTGRES"))
    })?;
    steps.run("alone", || alone(root))?;
    steps.run("soak", || soak(root))?;
    steps.run("doc", || {
        run(cargo(root)
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    })?;
    steps.run("no_std/wasm", || wasm_build(root))?;
    if skip_fuzz {
        steps.skip(
            "fuzz smoke",
            "--skip-fuzz was given; CI never skips it, so run `cargo xtask ci` before you push",
        );
    } else {
        steps.run("fuzz smoke", || fuzz::smoke(root))?;
    }
    steps.run("tidy", || tidy::run(root))?;
    steps.finish();
    Ok(())
}

/// Builds that must not be unified with the rest of the workspace: Cargo
/// unifies features across every package of one build, so in `cargo test
/// --workspace` other members' features would hide what an application
/// gets. The coexistence tests run alone (with an app's JSON-only reqwest,
/// then with reqwest's defaults), and the umbrella crate `smartex` is
/// checked with each layer on its own.
fn alone(root: &Path) -> Result {
    let coexist = ["test", "-p", "smartex-coexist-test"];
    run(cargo(root).args(coexist))?;
    run(cargo(root)
        .args(coexist)
        .args(["--features", "reqwest-default"]))?;
    for features in ["", "client", "receiver", "sqlite", "http,tracing"] {
        run(cargo(root).args([
            "check",
            "-p",
            "smartex",
            "--no-default-features",
            "--features",
            features,
        ]))?;
    }
    Ok(())
}

/// The soak chaos run (the unpublished `smartex-soak` crate) at CI size: 200
/// orders through 3 instances killed and restarted at random, on SQLite and
/// on PostgreSQL (about 15 s each); the PostgreSQL run, the shape of several
/// servers, signs every call with the sandbox's API key (`--api-key`: strict
/// nonces, keyed calls reordered, the instances sharing one nonce lane
/// through the database). A fixed seed would hide new interleavings, so the
/// seed is drawn and printed; a failure names it for
/// `cargo run -p smartex-soak -- --seed N`.
fn soak(root: &Path) -> Result {
    let soak = |store: Option<&str>, keyed: bool| {
        let mut command = cargo(root);
        command.args([
            "run",
            "--quiet",
            "-p",
            "smartex-soak",
            "--",
            "--orders",
            "200",
            "--instances",
            "3",
        ]);
        if let Some(url) = store {
            command.args(["--store", url]);
        }
        if keyed {
            command.arg("--api-key");
        }
        command
    };
    run(&mut soak(None, false))?;
    let server = pg::TestPostgres::provide()?;
    run(&mut soak(Some(&server.url), true))
}

/// `cargo xtask tidy`, as one timed step.
fn tidy_command(root: &Path) -> Result {
    let mut steps = Steps::new("tidy", 1);
    steps.run("tidy", || tidy::run(root))?;
    steps.finish();
    Ok(())
}

/// The target the no_std build of smartex-core is checked on.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Builds smartex-core without default features (so without std) for wasm32.
fn wasm_build(root: &Path) -> Result {
    let installed = capture(Command::new("rustup").args(["target", "list", "--installed"]))
        .map_err(|e| {
            format!(
                "cannot list the installed targets: {e}\n  \
                 the no_std check needs rustup and `rustup target add {WASM_TARGET}`"
            )
        })?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("target {WASM_TARGET} is installed");
    } else {
        println!("target {WASM_TARGET} is missing: installing it");
        run(Command::new("rustup").args(["target", "add", WASM_TARGET])).map_err(|e| {
            format!(
                "{e}\n  the no_std/wasm check needs the {WASM_TARGET} target and could not \
                 install it.\n  Install it with: rustup target add {WASM_TARGET}\n  \
                 (for the toolchain in use; `rustup show` tells which)"
            )
        })?;
    }
    run(cargo(root).args([
        "build",
        "-p",
        "smartex-core",
        "--no-default-features",
        "--target",
        WASM_TARGET,
    ]))
}

/// One benchmark suite of `cargo xtask bench`.
struct BenchSuite {
    /// Short name shown in headers and the summary.
    name: &'static str,
    /// Runs the suite from the workspace root with the pass-through arguments.
    run: fn(&Path, &[String]) -> Result,
}

/// Every benchmark suite, run in this order. Add a comparison (for example
/// the Node.js SDK on the same inputs) as another entry here: it gets its own
/// header, duration and summary line. Suites print their own measurements;
/// nothing here makes up or post-processes numbers.
const BENCH_SUITES: &[BenchSuite] = &[
    BenchSuite {
        name: "smartex-core ipn (criterion)",
        run: |root, extra| {
            run(cargo(root)
                .args(["bench", "-p", "smartex-core", "--bench", "ipn", "--"])
                .args(extra))
        },
    },
    BenchSuite {
        name: "smartex-http vs bare reqwest: get_order overhead (criterion)",
        run: |root, extra| {
            run(cargo(root)
                .args(["bench", "-p", "smartex-http", "--bench", "overhead", "--"])
                .args(extra))
        },
    },
    BenchSuite {
        name: "smartex-store apply vs bare sqlx insert, SQLite and PostgreSQL (criterion)",
        run: |root, extra| {
            let server = pg::TestPostgres::provide_durable()?;
            run(cargo(root)
                .args(["bench", "-p", "smartex-store", "--bench", "apply", "--"])
                .args(extra)
                .env(pg::URL_VAR, &server.url))
        },
    },
    BenchSuite {
        name: "smartex-ipn vs Node: verify one IPN",
        run: ipn_bench::verify_vs_node,
    },
    BenchSuite {
        name: "smartex-ipn vs Node: receiver under load",
        run: ipn_bench::load_vs_node,
    },
];

/// `cargo xtask bench`: runs every suite in [`BENCH_SUITES`].
fn bench(root: &Path, extra: &[String]) -> Result {
    let mut steps = Steps::new("bench", BENCH_SUITES.len());
    for suite in BENCH_SUITES {
        steps.run(suite.name, || (suite.run)(root, extra))?;
    }
    steps.finish();
    Ok(())
}

/// `cargo xtask pg -- CMD...`: runs CMD with a PostgreSQL server for the
/// store's tests, stopping a temporary one afterwards.
fn with_postgres(root: &Path, program: &str, args: &[&str]) -> Result {
    let server = pg::TestPostgres::provide()?;
    println!("{}={}", pg::URL_VAR, server.url);
    run(Command::new(program)
        .args(args)
        .current_dir(root)
        .env(pg::URL_VAR, &server.url))
}

/// How a step ended, for the summary table.
enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed (and everything after it did not run).
    Failed,
    /// It was skipped on purpose.
    Skipped,
}

/// Runs named steps with headers and durations, and prints a summary table.
struct Steps {
    /// The command these steps belong to (`ci`, `bench`...).
    command: &'static str,
    /// How many steps the command has in all, for `[3/7]` in headers.
    total: usize,
    /// The steps done so far, with how they ended and how long they took.
    done: Vec<(String, Outcome, Duration)>,
    /// When the first step started.
    started: Instant,
}

impl Steps {
    /// Starts a command of `total` steps.
    fn new(command: &'static str, total: usize) -> Self {
        Self {
            command,
            total,
            done: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Prints the header of the next step.
    fn header(&self, name: &str) {
        println!(
            "\n==> [{} {}/{}] {name}",
            self.command,
            self.done.len() + 1,
            self.total
        );
    }

    /// Runs one step; on failure prints the summary and returns the error.
    fn run(&mut self, name: &str, step: impl FnOnce() -> Result) -> Result {
        self.header(name);
        let start = Instant::now();
        let result = step();
        let took = start.elapsed();
        match result {
            Ok(()) => {
                println!("<== {name}: ok in {}", fmt_duration(took));
                self.done.push((name.to_owned(), Outcome::Ok, took));
                Ok(())
            }
            Err(e) => {
                eprintln!("<== {name}: FAILED after {}", fmt_duration(took));
                self.done.push((name.to_owned(), Outcome::Failed, took));
                self.summary();
                Err(format!(
                    "step `{name}` of `cargo xtask {}` failed:\n{e}",
                    self.command
                ))
            }
        }
    }

    /// Records a step as skipped, with a line nobody can miss.
    fn skip(&mut self, name: &str, why: &str) {
        self.header(name);
        let bar = "!".repeat(78);
        eprintln!("{bar}\n!!! SKIPPED: {name}: {why}\n{bar}");
        self.done
            .push((name.to_owned(), Outcome::Skipped, Duration::ZERO));
    }

    /// Prints the summary of a command whose steps all ran.
    fn finish(&self) {
        self.summary();
        let skipped = self
            .done
            .iter()
            .filter(|(_, outcome, _)| matches!(outcome, Outcome::Skipped))
            .count();
        if skipped == 0 {
            println!("cargo xtask {}: ok", self.command);
        } else {
            println!(
                "cargo xtask {}: ok, but {skipped} step(s) SKIPPED: this is not a full run",
                self.command
            );
        }
    }

    /// Prints a table of every step with its outcome and duration.
    fn summary(&self) {
        let width = self
            .done
            .iter()
            .map(|(name, _, _)| name.len())
            .max()
            .unwrap_or(0)
            .max("total".len());
        let mut table = format!("\n--- summary of cargo xtask {} ---\n", self.command);
        for (name, outcome, took) in &self.done {
            let (status, time) = match outcome {
                Outcome::Ok => ("ok", fmt_duration(*took)),
                Outcome::Failed => ("FAILED", fmt_duration(*took)),
                Outcome::Skipped => ("SKIPPED", "-".to_owned()),
            };
            let _ = writeln!(table, "  {name:<width$}  {status:<7}  {time:>9}");
        }
        let not_run = self.total.saturating_sub(self.done.len());
        if not_run > 0 {
            let _ = writeln!(
                table,
                "  ({not_run} later step(s) not run because of the failure)"
            );
        }
        let total = fmt_duration(self.started.elapsed());
        let _ = writeln!(table, "  {:<width$}  {:<7}  {total:>9}", "total", "");
        print!("{table}");
    }
}

/// Formats a duration as seconds, or minutes and seconds past a minute.
fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// A `cargo` command run from the workspace root.
///
/// It is the `cargo` on PATH (the rustup proxy), not `$CARGO`: rustup exports
/// `RUSTUP_TOOLCHAIN` to us, so the proxy stays on the toolchain xtask was
/// started with, and `cargo +nightly` keeps working.
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root);
    cmd
}

/// Renders a command as a shell-like line: environment, program and arguments.
fn display(cmd: &Command) -> String {
    let mut line = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            let _ = write!(
                line,
                "{}={} ",
                key.to_string_lossy(),
                quote(value.to_string_lossy().as_ref())
            );
        }
    }
    line.push_str(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line
}

/// Quotes a word for display if it has spaces or is empty.
fn quote(word: &str) -> String {
    if word.is_empty() || word.contains(char::is_whitespace) {
        format!("'{word}'")
    } else {
        word.to_owned()
    }
}

/// Runs a command with inherited output, failing on a non-zero exit.
fn run(cmd: &mut Command) -> Result {
    let line = display(cmd);
    println!("$ {line}");
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .map_err(|e| spawn_error(cmd.get_program(), &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs a command quietly and returns its stdout; failing on a non-zero exit
/// with its stderr in the message.
fn capture(cmd: &mut Command) -> Result<String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(cmd.get_program(), &e))?;
    if output.status.success() {
        String::from_utf8(output.stdout)
            .map_err(|_| format!("`{}` printed something that is not UTF-8", display(cmd)))
    } else {
        Err(format!(
            "`{}` failed ({}):\n{}",
            display(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))
    }
}

/// The message for a program that could not be started at all.
fn spawn_error(program: &OsStr, e: &std::io::Error) -> String {
    format!(
        "could not start `{}`: {e} (is it installed and on PATH?)",
        program.to_string_lossy()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository itself passes `cargo xtask tidy`, so `cargo test` catches drift.
    #[test]
    fn repository_is_tidy() {
        let result = workspace_root().and_then(|root| tidy::run(&root));
        assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
    }

    /// Command-line parsing accepts what the usage promises and nothing else.
    #[test]
    fn parses_arguments() {
        assert_eq!(parse_ci(&[]), Ok(false));
        assert_eq!(parse_ci(&["--skip-fuzz"]), Ok(true));
        assert!(parse_ci(&["--quick"]).is_err());
        assert_eq!(parse_fuzz(&[]), Ok((None, fuzz::LONG_RUN_SECONDS)));
        assert_eq!(
            parse_fuzz(&["ipn_body", "--seconds", "5"]),
            Ok((Some("ipn_body".to_owned()), 5))
        );
        assert!(parse_fuzz(&["--seconds", "0"]).is_err());
        assert!(parse_fuzz(&["a", "b"]).is_err());
        assert_eq!(
            parse_bench(&["--", "--quick"]),
            Ok(vec!["--quick".to_owned()])
        );
        assert!(parse_bench(&["x"]).is_err());
    }

    /// Durations read naturally in the summary.
    #[test]
    fn formats_durations() {
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_secs(125)), "2m05s");
    }
}
