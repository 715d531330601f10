//! `cargo xtask tidy`: repository hygiene checks, also run by `cargo test`.
//!
//! Every check runs, and all problems are reported together.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{Result, capture, fuzz};

/// Crates that do I/O or bring an async runtime: smartex-core is sans-I/O, so
/// none of them may be in its normal dependency tree. (libc and getrandom are
/// fine: hashing and randomness crates use them without doing I/O for us.)
const BANNED_IN_CORE: &[&str] = &[
    "tokio",
    "mio",
    "hyper",
    "hyper-util",
    "reqwest",
    "h2",
    "http-body",
    "socket2",
    "async-std",
    "smol",
    "ureq",
    "curl",
    "isahc",
    "surf",
    "futures-io",
];

/// The path no file may mention: a sibling directory that only exists on the
/// developers' machines. Built in two pieces so this file does not contain it.
const SHARED_PATH: &str = concat!("..", "/shared");

/// Macros that must not be left in the crates' code, built in pieces so that
/// this file does not trip its own check.
const PLACEHOLDER_MACROS: &[&str] = &[
    concat!("todo", "!("),
    concat!("unimplemented", "!("),
    concat!("dbg", "!("),
];

/// Clock reads smartex-core must not make: its decisions take "now" as an
/// argument, and `time::Clock` is a trait that the layers above implement.
/// (`SystemTime` itself may appear: converting an instant reads no clock.)
const CLOCK_READS: &[&str] = &[
    "SystemTime::now",
    "Instant::now",
    "std::time::Instant",
    ".elapsed()",
];

/// A named check that appends the problems it finds.
type Check = fn(&Path, &mut Vec<String>);

/// Every check, in the order they run.
const CHECKS: &[(&str, Check)] = &[
    ("smartex-core has no I/O dependencies", core_dependencies),
    (
        "no file mentions the developers' shared path",
        no_shared_path,
    ),
    ("fuzz targets have a [[bin]] and a seed corpus", fuzz_layout),
    (
        "no placeholder or debug macros in crates/",
        no_placeholder_macros,
    ),
    ("smartex-core reads no clock", core_reads_no_clock),
];

/// Runs every check; the error lists every problem found.
pub(crate) fn run(root: &Path) -> Result {
    let mut all = Vec::new();
    for (name, check) in CHECKS {
        let mut problems = Vec::new();
        check(root, &mut problems);
        if problems.is_empty() {
            println!("tidy: ok      {name}");
        } else {
            println!("tidy: FAILED  {name}");
            all.extend(problems.into_iter().map(|p| format!("[{name}] {p}")));
        }
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            all.len(),
            all.join("\n  ")
        ))
    }
}

/// smartex-core's normal dependency tree, with default and with all features,
/// has none of [`BANNED_IN_CORE`].
fn core_dependencies(root: &Path, problems: &mut Vec<String>) {
    for features in [None, Some("--all-features")] {
        let label = features.unwrap_or("default features");
        let found = cargo_metadata(root, features).and_then(|metadata| {
            let resolved = core_tree(root, features)?;
            banned_paths(&metadata, "smartex-core", BANNED_IN_CORE, &resolved)
        });
        match found {
            Ok(paths) => problems.extend(
                paths
                    .into_iter()
                    .map(|path| format!("smartex-core ({label}) depends on an I/O crate: {path}")),
            ),
            Err(e) => problems.push(format!("({label}) {e}")),
        }
    }
}

/// The crates in smartex-core's normal dependency tree for every target, as
/// Cargo's resolver activates them for smartex-core alone (`cargo tree`).
///
/// `cargo metadata`'s graph over-approximates: it lists optional
/// dependencies named only by a weak feature (`quinn?/…` in reqwest) as if
/// they were enabled, which puts wasm-only crates (ring → getrandom/js →
/// js-sys → futures-util → futures-io) on paths from the core that no build
/// ever takes. A path is reported only through crates this tree holds.
fn core_tree(root: &Path, features: Option<&str>) -> Result<HashSet<String>> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .args([
            "tree",
            "-p",
            "smartex-core",
            "-e",
            "normal",
            "--target",
            "all",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .args(features);
    let tree = capture(&mut cmd)?;
    Ok(tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// `cargo metadata` as JSON, offline if that works (no network needed), else online.
fn cargo_metadata(root: &Path, features: Option<&str>) -> Result<Value> {
    let attempt = |offline: bool| {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(root)
            .args(["metadata", "--format-version", "1"])
            .args(features)
            .args(offline.then_some("--offline"));
        capture(&mut cmd)
    };
    let json = attempt(true).or_else(|_| attempt(false))?;
    serde_json::from_str(&json).map_err(|e| format!("cannot parse cargo metadata: {e}"))
}

/// Every banned crate reachable from `root_name` through normal (not dev,
/// not build) dependencies among the `resolved` crates, each as the path it
/// comes in through.
fn banned_paths(
    metadata: &Value,
    root_name: &str,
    banned: &[&str],
    resolved: &HashSet<String>,
) -> Result<Vec<String>> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let members: HashSet<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let start = members
        .iter()
        .copied()
        .find(|id| names.get(id) == Some(&root_name))
        .ok_or_else(|| format!("{root_name} is not a workspace member"))?;
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("cargo metadata has no resolve graph")?
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let normal = node["deps"].as_array().into_iter().flatten().filter(|dep| {
            dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|kind| kind["kind"].is_null())
        });
        edges.insert(id, normal.filter_map(|dep| dep["pkg"].as_str()).collect());
    }
    // Breadth first, so each path reported is a shortest one.
    let mut parent: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = HashSet::from([start]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        let name = names.get(id).copied().unwrap_or(id);
        if banned.contains(&name) {
            let mut path = vec![name];
            let mut at = id;
            while let Some(&up) = parent.get(at) {
                path.push(names.get(up).copied().unwrap_or(up));
                at = up;
            }
            path.reverse();
            found.push(path.join(" -> "));
        }
        for &dep in edges.get(id).into_iter().flatten() {
            let dep_name = names.get(dep).copied().unwrap_or(dep);
            if resolved.contains(dep_name) && seen.insert(dep) {
                parent.insert(dep, id);
                queue.push_back(dep);
            }
        }
    }
    Ok(found)
}

/// No file in git (tracked, or new and not ignored) mentions [`SHARED_PATH`].
fn no_shared_path(root: &Path, problems: &mut Vec<String>) {
    let listed = capture(Command::new("git").current_dir(root).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]));
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => {
            problems.push(format!("cannot list the repository's files: {e}"));
            return;
        }
    };
    let needle = SHARED_PATH.as_bytes();
    for file in listed.split('\0').filter(|f| !f.is_empty()) {
        // Deleted but still in the index, a directory (submodule): nothing to read.
        let Ok(bytes) = fs::read(root.join(file)) else {
            continue;
        };
        if bytes.windows(needle.len()).any(|window| window == needle) {
            problems.push(format!(
                "{file} mentions `{SHARED_PATH}`, which exists only on developers' machines"
            ));
        }
    }
}

/// Every fuzz target has a matching `[[bin]]` in fuzz/Cargo.toml and a
/// non-empty seed corpus; every `[[bin]]` has its source file.
pub(crate) fn fuzz_layout(root: &Path, problems: &mut Vec<String>) {
    let targets = match fuzz::targets(root) {
        Ok(targets) => targets,
        Err(e) => {
            problems.push(e);
            return;
        }
    };
    let manifest_path = root.join("fuzz").join("Cargo.toml");
    let bins = match fs::read_to_string(&manifest_path) {
        Ok(manifest) => bin_entries(&manifest),
        Err(_) if targets.is_empty() => return,
        Err(e) => {
            problems.push(format!("cannot read fuzz/Cargo.toml: {e}"));
            return;
        }
    };
    for target in &targets {
        let path = format!("fuzz_targets/{target}.rs");
        if !bins.iter().any(|(name, p)| name == target && *p == path) {
            problems.push(format!(
                "fuzz/{path} has no `[[bin]] name = \"{target}\" path = \"{path}\"` \
                 in fuzz/Cargo.toml"
            ));
        }
        let corpus = root.join("fuzz").join("corpus").join(target);
        let seeds = fs::read_dir(&corpus).map(|entries| {
            entries
                .filter_map(std::result::Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        });
        match seeds {
            Ok(0) => problems.push(format!("fuzz/corpus/{target}/ has no seed input")),
            Ok(_) => {}
            Err(_) => problems.push(format!(
                "fuzz target `{target}` has no seed corpus directory fuzz/corpus/{target}/"
            )),
        }
    }
    for (name, path) in &bins {
        if !root.join("fuzz").join(path).is_file() {
            problems.push(format!(
                "fuzz/Cargo.toml's [[bin]] `{name}` points at missing file fuzz/{path}"
            ));
        }
    }
}

/// The `(name, path)` of every `[[bin]]` table of a Cargo.toml, read line by
/// line (enough for the plain `key = "value"` lines of fuzz/Cargo.toml).
fn bin_entries(manifest: &str) -> Vec<(String, String)> {
    let mut bins = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            bins.extend(current.take());
            if line == "[[bin]]" {
                current = Some((String::new(), String::new()));
            }
        } else if let Some((name, path)) = current.as_mut()
            && let Some((key, value)) = line.split_once('=')
        {
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim() {
                "name" => *name = value,
                "path" => *path = value,
                _ => {}
            }
        }
    }
    bins.extend(current);
    bins
}

/// No `.rs` file under crates/ uses a placeholder or debug macro.
fn no_placeholder_macros(root: &Path, problems: &mut Vec<String>) {
    each_line(root, "crates", problems, |at, line, problems| {
        for needle in PLACEHOLDER_MACROS {
            if uses_macro(line, needle) {
                problems.push(format!("{at}: uses `{needle})`"));
            }
        }
    });
}

/// No `.rs` file under crates/smartex-core/src reads the clock ([`CLOCK_READS`]).
fn core_reads_no_clock(root: &Path, problems: &mut Vec<String>) {
    each_line(
        root,
        "crates/smartex-core/src",
        problems,
        |at, line, problems| {
            if let Some(read) = clock_read(line) {
                problems.push(format!(
                    "{at}: reads the clock (`{read}`); the core takes `now` as an argument"
                ));
            }
        },
    );
}

/// Hands `check` every line of every `.rs` file under `root/dir`, in file
/// order, with its place (`path:line`); a file that cannot be read is a
/// problem of its own.
fn each_line(
    root: &Path,
    dir: &str,
    problems: &mut Vec<String>,
    mut check: impl FnMut(&str, &str, &mut Vec<String>),
) {
    let mut files = Vec::new();
    if let Err(e) = rust_files(&root.join(dir), &mut files) {
        problems.push(e);
    }
    files.sort();
    for file in files {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("cannot read {shown}: {e}"));
                continue;
            }
        };
        for (number, line) in text.lines().enumerate() {
            check(&format!("{shown}:{}", number + 1), line, problems);
        }
    }
}

/// The clock read `line` makes, if any. Comment lines (docs too) may name
/// one, to say what the caller passes in; code may not, however it is spaced.
fn clock_read(line: &str) -> Option<&'static str> {
    if line.trim_start().starts_with("//") {
        return None;
    }
    let code: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    CLOCK_READS.iter().copied().find(|read| code.contains(read))
}

/// Whether `line` calls the macro `needle` (`name!(`), not one whose name
/// merely ends the same way.
fn uses_macro(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Collects the `.rs` files under `dir`, skipping hidden and `target` directories.
fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> Result {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                rust_files(&path, files)?;
            }
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The needles really are what they stand for.
    #[test]
    fn needles_are_assembled() {
        assert_eq!(SHARED_PATH.len(), 9);
        assert!(SHARED_PATH.starts_with("../"));
        assert!(PLACEHOLDER_MACROS.iter().all(|m| m.ends_with("!(")));
    }

    /// Macro calls are found; longer names that end the same way are not.
    #[test]
    fn finds_macro_calls() {
        let needle = PLACEHOLDER_MACROS[2];
        assert!(uses_macro(&format!("    {needle}x);"), needle));
        assert!(uses_macro(&format!("let y = {needle}x);"), needle));
        assert!(!uses_macro(&format!("my_{needle}x);"), needle));
        assert!(!uses_macro("let x = 1;", needle));
    }

    /// Clock reads are found in code however it is spaced, not in comment
    /// lines, and an instant's conversion or a `now` method is not one.
    #[test]
    fn finds_clock_reads() {
        assert_eq!(
            clock_read("    let t = std::time::SystemTime::now();"),
            Some("SystemTime::now")
        );
        assert_eq!(
            clock_read("let start = Instant :: now();"),
            Some("Instant::now")
        );
        assert_eq!(
            clock_read("fn f(t: std::time::Instant) {}"),
            Some("std::time::Instant")
        );
        assert_eq!(clock_read("let d = t.elapsed();"), Some(".elapsed()"));
        assert_eq!(clock_read("/// Pass `SystemTime::now()` in."), None);
        assert_eq!(clock_read("    // not Instant::now: the caller's"), None);
        assert_eq!(
            clock_read("impl From<std::time::SystemTime> for UnixMillis {"),
            None
        );
        assert_eq!(clock_read("    fn now(&self) -> UnixMillis;"), None);
    }

    /// `[[bin]]` tables are read; commented-out ones and other tables are not.
    #[test]
    fn reads_bin_entries() {
        let manifest = r#"
[package]
name = "smartex-fuzz"

# [[bin]]
# name = "commented"

[[bin]]
name = "ipn_body"
path = "fuzz_targets/ipn_body.rs"
test = false

[dependencies]
libfuzzer-sys = "0.4"

[[bin]]
path = "fuzz_targets/status.rs"
name = "status"
"#;
        assert_eq!(
            bin_entries(manifest),
            vec![
                ("ipn_body".to_owned(), "fuzz_targets/ipn_body.rs".to_owned()),
                ("status".to_owned(), "fuzz_targets/status.rs".to_owned()),
            ]
        );
    }

    /// Banned crates are found through normal edges only, with their path.
    #[test]
    fn finds_banned_dependencies() {
        let metadata = serde_json::json!({
            "packages": [
                {"id": "core", "name": "smartex-core"},
                {"id": "serde", "name": "serde"},
                {"id": "tokio", "name": "tokio"},
                {"id": "mio", "name": "mio"},
                {"id": "hyper", "name": "hyper"},
            ],
            "workspace_members": ["core"],
            "resolve": {"nodes": [
                {"id": "core", "deps": [
                    {"pkg": "serde", "dep_kinds": [{"kind": null, "target": null}]},
                    {"pkg": "hyper", "dep_kinds": [{"kind": "dev", "target": null}]},
                ]},
                {"id": "serde", "deps": [
                    {"pkg": "tokio", "dep_kinds": [{"kind": null, "target": "cfg(unix)"}]},
                ]},
                {"id": "tokio", "deps": [
                    {"pkg": "mio", "dep_kinds": [{"kind": "build", "target": null}]},
                ]},
                {"id": "hyper", "deps": []},
                {"id": "mio", "deps": []},
            ]},
        });
        let resolved: HashSet<String> = ["smartex-core", "serde", "tokio", "mio", "hyper"]
            .map(str::to_owned)
            .into();
        assert_eq!(
            banned_paths(&metadata, "smartex-core", BANNED_IN_CORE, &resolved),
            Ok(vec!["smartex-core -> serde -> tokio".to_owned()])
        );
        assert!(banned_paths(&metadata, "smartex-ipn", BANNED_IN_CORE, &resolved).is_err());
        // A crate the resolver never activates (metadata's over-approximation)
        // is not a path.
        let without_tokio: HashSet<String> = ["smartex-core", "serde"].map(str::to_owned).into();
        assert_eq!(
            banned_paths(&metadata, "smartex-core", BANNED_IN_CORE, &without_tokio),
            Ok(vec![])
        );
    }
}
