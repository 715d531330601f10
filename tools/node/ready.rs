//! Test support shared by the crates whose tests drive the Node.js peer in
//! this directory (included with `#[path]`, so there is one copy): find the
//! directory and make its npm packages ready.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

const INSTALL: &str = "install Node.js >= 20 with npm (Debian/Ubuntu: `apt-get install -y nodejs npm`), \
or set SMARTEX_ALLOW_NO_NODE=1 to skip this test explicitly";

/// `tools/node`, from the including crate's manifest directory.
pub(crate) fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/node")
}

/// Makes the Node peer ready (`ensure.sh` installs the locked npm packages);
/// `false` if node is absent and skipping is allowed. Without node the test
/// FAILS, saying how to install it, unless `SMARTEX_ALLOW_NO_NODE=1` is set:
/// then a loud SKIPPED line names `test` and says what did not run.
pub(crate) fn node_ready(test: &str, what: &str) -> bool {
    let allow_skip = std::env::var("SMARTEX_ALLOW_NO_NODE").is_ok_and(|v| v == "1");
    let missing = |why: &str| -> bool {
        let banner = "=".repeat(78);
        if allow_skip {
            // Straight to stderr, past the test harness's capture: this must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n{banner}\nSKIPPED {test}: {why}.\nSMARTEX_ALLOW_NO_NODE=1 is set, so {what} \
                 did NOT run.\n{banner}"
            );
            false
        } else {
            panic!("\n{banner}\n{test}: {why}.\nTo run it, {INSTALL}.\n{banner}");
        }
    };
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(_) => return missing("`node --version` failed"),
        Err(e) => return missing(&format!("`node` NOT FOUND on PATH ({e})")),
    }
    let out = Command::new("bash")
        .arg(node_dir().join("ensure.sh"))
        .output()
        .expect("run tools/node/ensure.sh");
    match out.status.code() {
        Some(0) => true,
        Some(3) => missing(&format!(
            "tools/node/ensure.sh says node/npm is missing or too old:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )),
        _ => panic!(
            "tools/node/ensure.sh failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
