//! Fuzzing with cargo-fuzz: the short smoke run of `cargo xtask ci` and the
//! longer `cargo xtask fuzz`.
//!
//! Layout (a cargo-fuzz project of its own, outside the workspace):
//! * `fuzz/fuzz_targets/<name>.rs`: one target per file, each with a
//!   `[[bin]]` entry in `fuzz/Cargo.toml`;
//! * `fuzz/corpus/<name>/`: the committed seed corpus. Never written to by
//!   any run: the smoke run fuzzes a throwaway copy in a temporary directory,
//!   `cargo xtask fuzz` the git-ignored run corpus `fuzz/corpus-run/<name>/`;
//! * `fuzz/artifacts/<name>/`: crashing inputs, written by libFuzzer (ignored).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Result, Steps, capture, cargo, fmt_duration, parse_seconds, run, tidy};

/// Seconds per target for `cargo xtask fuzz` unless `--seconds` says otherwise.
pub(crate) const LONG_RUN_SECONDS: u64 = 300;

/// Seconds per target for the `ci` smoke run unless [`SECONDS_ENV`] says otherwise.
const SMOKE_SECONDS: u64 = 15;

/// Environment variable overriding [`SMOKE_SECONDS`].
const SECONDS_ENV: &str = "SMARTEX_FUZZ_SECONDS";

/// The cargo-fuzz release installed when it is missing (checked with `cargo info`).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The sanitizer targets are built with: cargo-fuzz's default, AddressSanitizer.
///
/// It was tried on this project's machines (2 cores, x86_64 Linux) with both
/// `cargo +nightly fuzz` and stable with `RUSTC_BOOTSTRAP=1`: it builds, links
/// and reports crashes reliably. Our crates forbid `unsafe`, but dependencies
/// do not, and ASan is what catches their memory errors; `none` would run about
/// twice as fast, and is the first thing to try if ASan ever breaks.
const SANITIZER: &str = "address";

/// libFuzzer's limit on one input, in seconds: a slower input is reported as a hang.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// How `cargo fuzz` gets the nightly-only compiler flags it needs.
#[derive(Debug, PartialEq, Eq)]
enum Toolchain {
    /// A nightly toolchain installed with rustup, used as `cargo +<name> fuzz`.
    Nightly(String),
    /// No nightly: the default toolchain with `RUSTC_BOOTSTRAP=1`.
    Bootstrap,
}

impl Toolchain {
    /// Uses a nightly from `rustup toolchain list` if there is one.
    fn detect() -> Self {
        match capture(Command::new("rustup").args(["toolchain", "list"])) {
            Ok(list) => pick_nightly(&list).map_or(Self::Bootstrap, Self::Nightly),
            Err(e) => {
                println!("cannot ask rustup for toolchains ({e}); assuming no nightly");
                Self::Bootstrap
            }
        }
    }

    /// Prints which toolchain fuzzing uses.
    fn announce(&self) {
        match self {
            Self::Nightly(name) => println!("fuzz toolchain: nightly (`cargo +{name} fuzz`)"),
            Self::Bootstrap => {
                let version = capture(Command::new("rustc").arg("--version"))
                    .unwrap_or_else(|e| format!("unknown: {e}"));
                println!(
                    "fuzz toolchain: no nightly installed, so the default toolchain ({}) \
                     with RUSTC_BOOTSTRAP=1",
                    version.trim()
                );
            }
        }
    }

    /// `cargo fuzz <subcommand>` on this toolchain, from the workspace root.
    fn cargo_fuzz(&self, root: &Path, subcommand: &str) -> Command {
        let mut cmd = cargo(root);
        match self {
            Self::Nightly(name) => {
                cmd.arg(format!("+{name}"));
            }
            Self::Bootstrap => {
                cmd.env("RUSTC_BOOTSTRAP", "1");
            }
        }
        cmd.args(["fuzz", subcommand, "--sanitizer", SANITIZER]);
        cmd
    }

    /// How to rerun a target on one input by hand.
    fn reproduce_hint(&self, target: &str) -> String {
        let prefix = match self {
            Self::Nightly(name) => format!("cargo +{name} fuzz"),
            Self::Bootstrap => "RUSTC_BOOTSTRAP=1 cargo fuzz".to_owned(),
        };
        format!("{prefix} run --sanitizer {SANITIZER} {target} fuzz/artifacts/{target}/<file>")
    }
}

/// The nightly to use from `rustup toolchain list` output: the plain
/// `nightly-<host>` if installed, else the last (newest) dated one.
fn pick_nightly(list: &str) -> Option<String> {
    let nightlies: Vec<&str> = list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with("nightly"))
        .collect();
    let undated = nightlies.iter().find(|name| {
        !name
            .strip_prefix("nightly-")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    });
    undated.or(nightlies.last()).map(|name| (*name).to_owned())
}

/// The fuzz targets: the names of `fuzz/fuzz_targets/*.rs`, sorted.
pub(crate) fn targets(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("fuzz").join("fuzz_targets");
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "rs")
            && let Some(stem) = path.file_stem()
        {
            names.push(stem.to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Everything before fuzzing: the targets, their layout, cargo-fuzz, the
/// toolchain, and one build of every target.
fn prepare(root: &Path) -> Result<(Toolchain, Vec<String>)> {
    let targets = targets(root)?;
    if targets.is_empty() {
        return Err("no fuzz targets: fuzz/fuzz_targets/ has no *.rs file.\n  \
             Add one with a `[[bin]]` entry in fuzz/Cargo.toml (its comments say how) and a \
             seed corpus in fuzz/corpus/<name>/.\n  \
             While iterating locally, `cargo xtask ci --skip-fuzz` skips this step (CI never does)."
            .to_owned());
    }
    println!("fuzz targets: {}", targets.join(", "));
    let mut problems = Vec::new();
    tidy::fuzz_layout(root, &mut problems);
    if !problems.is_empty() {
        return Err(format!(
            "the fuzz project is incomplete:\n  {}",
            problems.join("\n  ")
        ));
    }
    ensure_cargo_fuzz(root)?;
    let toolchain = Toolchain::detect();
    toolchain.announce();
    let start = Instant::now();
    run(&mut toolchain.cargo_fuzz(root, "build"))
        .map_err(|e| format!("{e}\n  the fuzz targets do not build"))?;
    println!(
        "built every fuzz target in {}",
        fmt_duration(start.elapsed())
    );
    Ok((toolchain, targets))
}

/// Makes sure `cargo fuzz` exists, installing the pinned release if not.
fn ensure_cargo_fuzz(root: &Path) -> Result {
    if let Ok(version) = capture(cargo(root).args(["fuzz", "--version"])) {
        let version = version.trim();
        println!("found {version}");
        if !version.contains(CARGO_FUZZ_VERSION) {
            println!(
                "note: the pinned cargo-fuzz is {CARGO_FUZZ_VERSION}; \
                 `cargo install cargo-fuzz --locked --version {CARGO_FUZZ_VERSION} --force` \
                 matches CI"
            );
        }
        return Ok(());
    }
    println!("cargo-fuzz is missing: installing {CARGO_FUZZ_VERSION} (takes a minute or two)");
    run(cargo(root).args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
    .map_err(|e| {
        format!(
            "{e}\n  could not install cargo-fuzz; install it by hand with:\n  \
             cargo install cargo-fuzz --locked --version {CARGO_FUZZ_VERSION}"
        )
    })?;
    capture(cargo(root).args(["fuzz", "--version"]))
        .map(|version| println!("installed {}", version.trim()))
        .map_err(|e| format!("cargo-fuzz was installed but `cargo fuzz` does not run: {e}"))
}

/// The `ci` step: every target for a short time on a throwaway copy of its seed corpus.
pub(crate) fn smoke(root: &Path) -> Result {
    let seconds = match std::env::var(SECONDS_ENV) {
        Ok(value) => parse_seconds(SECONDS_ENV, &value)?,
        Err(_) => SMOKE_SECONDS,
    };
    let (toolchain, targets) = prepare(root)?;
    let scratch = std::env::temp_dir().join(format!("smartex-fuzz-smoke-{}", std::process::id()));
    let result = targets.iter().try_for_each(|target| {
        let corpus = scratch.join(target);
        copy_dir(&seed_corpus(root, target), &corpus, false)?;
        println!("\n--> fuzz target {target}: {seconds} s on a copy of fuzz/corpus/{target}/");
        let start = Instant::now();
        fuzz_target(root, &toolchain, target, &corpus, seconds)?;
        println!("--> {target}: ok in {}", fmt_duration(start.elapsed()));
        Ok(())
    });
    let _ = fs::remove_dir_all(&scratch);
    result
}

/// `cargo xtask fuzz`: one or all targets for `seconds` each on the run corpus.
pub(crate) fn long_run(root: &Path, only: Option<&str>, seconds: u64) -> Result {
    let all = targets(root)?;
    let chosen: Vec<String> = match only {
        Some(target) if all.iter().any(|t| t == target) => vec![target.to_owned()],
        Some(target) => {
            return Err(format!(
                "no fuzz target `{target}`; the targets are: {}",
                if all.is_empty() {
                    "(none)".to_owned()
                } else {
                    all.join(", ")
                }
            ));
        }
        None => all,
    };
    // One build step, then one step per target.
    let mut steps = Steps::new("fuzz", 1 + chosen.len());
    let mut toolchain = None;
    steps.run("build", || {
        toolchain = Some(prepare(root)?.0);
        Ok(())
    })?;
    let toolchain = toolchain.ok_or("the fuzz build did not report its toolchain")?;
    for target in &chosen {
        steps.run(&format!("fuzz {target} ({seconds} s)"), || {
            let corpus = run_corpus(root, target);
            // Seed the run corpus with any committed input it does not have yet.
            copy_dir(&seed_corpus(root, target), &corpus, true)?;
            fuzz_target(root, &toolchain, target, &corpus, seconds)
        })?;
    }
    println!(
        "\nthe grown corpora are in fuzz/corpus-run/; to keep new inputs, minimise them \
         (`cargo fuzz cmin`) and copy the useful ones into fuzz/corpus/<target>/"
    );
    steps.finish();
    Ok(())
}

/// The committed seed corpus of a target.
fn seed_corpus(root: &Path, target: &str) -> PathBuf {
    root.join("fuzz").join("corpus").join(target)
}

/// The git-ignored corpus that `cargo xtask fuzz` grows.
fn run_corpus(root: &Path, target: &str) -> PathBuf {
    root.join("fuzz").join("corpus-run").join(target)
}

/// Runs one built target for `seconds` on `corpus`, where new inputs are written.
fn fuzz_target(
    root: &Path,
    toolchain: &Toolchain,
    target: &str,
    corpus: &Path,
    seconds: u64,
) -> Result {
    let mut cmd = toolchain.cargo_fuzz(root, "run");
    cmd.arg(target).arg(corpus).args([
        "--".to_owned(),
        format!("-max_total_time={seconds}"),
        format!("-timeout={INPUT_TIMEOUT_SECONDS}"),
    ]);
    run(&mut cmd).map_err(|e| {
        format!(
            "{e}\n  fuzz target `{target}` failed (see its output above). If it found a \
             crash or a hang, the input is saved in fuzz/artifacts/{target}/.\n  \
             Reproduce it with: {}\n  \
             and once fixed, add that input to fuzz/corpus/{target}/ as a regression test",
            toolchain.reproduce_hint(target)
        )
    })
}

/// Copies the files of `from` into `to` (created if needed), recursively.
/// With `keep_existing`, files already in `to` are left alone.
fn copy_dir(from: &Path, to: &Path, keep_existing: bool) -> Result {
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_dir(&source, &dest, keep_existing)?;
        } else if !(keep_existing && dest.exists()) {
            fs::copy(&source, &dest).map_err(|e| {
                format!(
                    "cannot copy {} to {}: {e}",
                    source.display(),
                    dest.display()
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain nightly wins over dated ones; no nightly means none.
    #[test]
    fn picks_a_nightly() {
        let list = "stable-x86_64-unknown-linux-gnu (active, default)\n\
                    nightly-2024-01-01-x86_64-unknown-linux-gnu\n\
                    nightly-x86_64-unknown-linux-gnu\n\
                    1.95.0-x86_64-unknown-linux-gnu\n";
        assert_eq!(
            pick_nightly(list),
            Some("nightly-x86_64-unknown-linux-gnu".to_owned())
        );
        let dated = "nightly-2024-01-01-x86_64-unknown-linux-gnu\n\
                     nightly-2024-02-01-x86_64-unknown-linux-gnu (default)\n";
        assert_eq!(
            pick_nightly(dated),
            Some("nightly-2024-02-01-x86_64-unknown-linux-gnu".to_owned())
        );
        assert_eq!(
            pick_nightly("stable-x86_64-unknown-linux-gnu (default)\n"),
            None
        );
    }
}
