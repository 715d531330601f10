//! `smartex soak` at a small size: the whole durable flow under faults and
//! SIGKILLs, on SQLite (the CI size runs in `cargo xtask ci`).

use crate::{smartex, stdout};

#[test]
fn a_small_soak_passes_and_reports_its_checks() {
    let output = smartex()
        .args([
            "soak",
            "--orders",
            "24",
            "--instances",
            "2",
            "--kill-every-ms",
            "700",
        ])
        .output()
        .unwrap();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("0 mismatched, 0 applied twice, 0 regressions, 0 not acknowledged"),
        "{text}"
    );
    assert!(text.contains("soak: PASSED"), "{text}");
}

#[test]
fn the_soak_refuses_bad_sizes() {
    let output = smartex()
        .args(["soak", "--instances", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
