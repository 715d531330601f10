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
        text.contains(
            "0 mismatched, 0 applied twice, 0 regressions, 0 not acknowledged, \
             0 genuine changes withheld, 0 amounts altered, 0 shipped unpaid, 0 paid not shipped, \
             0 underpaid seen paid, 0 claims seen received"
        ),
        "{text}"
    );
    // There was something to check: IPNs timed in seconds among them.
    assert!(text.contains("IPNs timed in seconds"), "{text}");
    assert!(!text.contains("; 0 of "), "{text}");
    assert!(text.contains("soak: PASSED"), "{text}");
}

#[test]
fn a_business_step_that_sees_other_amounts_than_signed_fails_the_soak() {
    // Every inAmount recorded with a `0` appended: the same value, not the
    // text the platform signed.
    let output = soak(&[
        "--orders",
        "8",
        "--instances",
        "1",
        "--kill-every-ms",
        "0",
        "--alter-amounts",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    if let Some(dir) = text
        .lines()
        .find_map(|l| l.strip_prefix("soak: FAILED (files kept in "))
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    assert_eq!(output.status.code(), Some(1), "{text}");
    let checks = text
        .lines()
        .find(|l| l.trim_start().starts_with("checks"))
        .unwrap();
    assert!(
        checks.contains(" 0 mismatched, 0 applied twice, 0 regressions"),
        "{text}"
    );
    assert!(!checks.contains(" 0 amounts altered"), "{text}");
    assert!(text.contains("altered: "), "{text}");
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
