//! The soak at a small size: the whole durable flow under faults and
//! SIGKILLs, on SQLite (the CI size runs in `cargo xtask ci`, on SQLite and
//! PostgreSQL).

// Tests assert by unwrapping; that is their job.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn soak(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smartex-soak"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_small_soak_passes_and_reports_its_checks() {
    let output = soak(&[
        "--orders",
        "24",
        "--instances",
        "2",
        "--kill-every-ms",
        "700",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}\n{errors}");
    assert!(
        text.contains("0 mismatched, 0 applied twice, 0 regressions, 0 not acknowledged"),
        "{text}"
    );
    assert!(text.contains("soak: PASSED"), "{text}");
}

#[test]
fn the_soak_refuses_bad_sizes() {
    for bad in [
        &["--instances", "0"][..],
        &["--instances", "33"],
        &["--orders", "x"],
    ] {
        assert_eq!(soak(bad).status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn an_instance_without_its_master_key_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_smartex-soak"))
        .args([
            "instance",
            "--store",
            "sqlite::memory:",
            "--site",
            "http://127.0.0.1:9",
            "--ipn-url",
            "http://127.0.0.1:9/ipn",
            "--name",
            "i0",
            "--acks",
            "acks.log",
            "--timeout-ms",
            "100",
            "--pending-horizon-ms",
            "100",
        ])
        .env_remove("SMARTEX_SOAK_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SMARTEX_SOAK_MASTER_KEY is not set"));
}
