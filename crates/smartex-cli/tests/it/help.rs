//! `--help` of every command and subcommand, as snapshots (reviewed by hand;
//! a change fails the run until it is reviewed again).

use crate::{smartex, stdout};

/// Every command path that has a `--help`.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["demo"],
    &["sandbox"],
    &["ipn"],
    &["ipn", "verify"],
    &["ipn", "sign"],
    &["ipn", "send"],
    &["ipn", "listen"],
    &["ipn", "secret"],
    &["order"],
    &["order", "create"],
    &["order", "get"],
    &["order", "mark-paid"],
    &["url"],
    &["url", "payment"],
    &["url", "order"],
    &["secret"],
    &["held"],
    &["held", "list"],
    &["held", "accept"],
    &["held", "dismiss"],
];

#[test]
fn every_command_has_a_help_snapshot() {
    for path in COMMANDS {
        let output = smartex().args(*path).arg("--help").output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{path:?}");
        let name = if path.is_empty() {
            "smartex".to_owned()
        } else {
            format!("smartex-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, stdout(&output));
    }
}

#[test]
fn the_top_level_help_documents_exit_codes_and_the_environment() {
    let output = smartex().arg("--help").output().unwrap();
    let text = stdout(&output);
    for needle in [
        "Exit codes:",
        "0  ok",
        "1  a check failed",
        "2  usage error",
        "3  network or platform unavailable",
        "4  the platform refused",
        "5  ambiguous",
        "SMARTEX_IPN_SECRET",
        "SMARTEX_API_KEY",
        "SMARTEX_API_SECRET",
        "SMARTEX_STORE",
        "NO_COLOR",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn secrets_from_the_environment_never_show_in_help() {
    let output = smartex()
        .args(["ipn", "verify", "--help"])
        .env("SMARTEX_IPN_SECRET", "do-not-show-me")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(text.contains("SMARTEX_IPN_SECRET"), "{text}");
    assert!(!text.contains("do-not-show-me"), "{text}");
    let output = smartex()
        .args(["order", "get", "--help"])
        .env("SMARTEX_API_SECRET", "api-secret-value")
        .env("SMARTEX_ORDER_SECRET", "order-secret-value")
        .env("SMARTEX_API_KEY", "api-key-value")
        .output()
        .unwrap();
    let text = stdout(&output);
    for hidden in ["api-secret-value", "order-secret-value", "api-key-value"] {
        assert!(!text.contains(hidden), "{text}");
    }
}

#[test]
fn usage_errors_exit_2_and_version_exits_0() {
    let output = smartex().output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = smartex().arg("no-such-command").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = smartex()
        .args(["demo", "--lose-ipn", "sometimes"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = smartex().arg("--version").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).starts_with("smartex "));
}
