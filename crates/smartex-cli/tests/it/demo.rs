//! `smartex demo`, as CI runs it: it must pass, fast, with and without faults.

use crate::{smartex, stderr, stdout};

fn demo(args: &[&str]) -> (Option<i32>, String) {
    let output = smartex().arg("demo").args(args).output().unwrap();
    let text = stdout(&output);
    println!("smartex demo {}\n{text}{}", args.join(" "), stderr(&output));
    (output.status.code(), text)
}

#[test]
fn the_demo_passes() {
    let (code, text) = demo(&[]);
    assert_eq!(code, Some(0), "{text}");
    for needle in [
        "→ order/create           order 1001: 5000 CARDRUB → 0.0008 BTC",
        "payment page           http://127.0.0.1:",
        "/en/payment/1001/",
        "→ order/update-status",
        "IPN     waitPayment       ✓ verified  applied  → 200 OK",
        "IPN     inProgress        ✓ verified  applied  → 200 OK",
        "IPN     inProgressPayout  ✓ verified  applied  → 200 OK",
        "IPN     done              ✓ verified  applied  → 200 OK",
        "poll    done              ✓ agrees with the IPNs",
        "✓ 4 IPN(s) arrived, 4 verified",
        "✓ final status in the merchant's records: done",
        "✓ reconciliation agrees: order/get says done",
        // The durable part: an IPN lost while the merchant was down,
        // recovered from the store after its restart.
        "↓ merchant down          endpoint closed, store closed",
        "← IPN done               not delivered: the merchant is down",
        "↻ merchant restarted     same SQLite file",
        "✓ durable: waitPayment verified and applied through the store (200 OK)",
        "✓ durable: 3 IPN(s) lost while the merchant was down (last: done)",
        "✓ durable: after the restart, recovered from the store: done (applied once, by poll)",
        "demo passed",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains('✗'), "{text}");
    assert!(!text.contains('\x1b'), "no colour into a pipe");
}

/// The sandbox speaks like Node: the demo passes with every client spelling
/// of the IPN body, and with a random one per IPN.
#[test]
fn the_demo_passes_in_every_node_spelling() {
    for spelling in [
        "qs-brackets",
        "qs-allow-dots",
        "qs-no-indices",
        "url-search-params",
        "querystring",
        "random",
    ] {
        let (code, text) = demo(&["--ipn-spelling", spelling, "--pace-ms", "0"]);
        assert_eq!(code, Some(0), "{spelling}: {text}");
        assert!(
            text.contains("✓ 4 IPN(s) arrived, 4 verified"),
            "{spelling}: {text}"
        );
        assert!(!text.contains('✗'), "{spelling}: {text}");
    }
}

#[test]
fn a_lost_ipn_is_recovered_by_reconciliation() {
    let (code, text) = demo(&["--lose-ipn", "done", "--pace-ms", "10"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("the done IPN will be lost"), "{text}");
    assert!(
        text.contains("IPN     done              ✗ lost by the exchange (injected)"),
        "{text}"
    );
    assert!(
        text.contains(
            "poll    done              ✓ recovered by reconciliation: no verified IPN had told it"
        ),
        "{text}"
    );
    assert!(text.contains("✓ 3 IPN(s) arrived, 3 verified"), "{text}");
    assert!(text.contains("demo passed"), "{text}");
}

#[test]
fn a_lost_ipn_in_the_middle_is_skipped_over_by_the_tracker() {
    let (code, text) = demo(&["--lose-ipn", "inProgress", "--pace-ms", "10"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("each status was processed once (waitPayment → inProgressPayout → done)"),
        "{text}"
    );
}

#[test]
fn a_duplicate_is_answered_200_and_processed_once() {
    let (code, text) = demo(&["--duplicate-ipn", "inProgress", "--pace-ms", "10"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("replay (received before), not processed again  → 200 OK: duplicate"),
        "{text}"
    );
    assert!(text.contains("✓ 5 IPN(s) arrived, 5 verified"), "{text}");
    assert!(
        text.contains(
            "each status was processed once (waitPayment → inProgress → inProgressPayout → done)"
        ),
        "{text}"
    );
}

#[test]
fn a_late_ipn_is_ignored_as_stale() {
    let (code, text) = demo(&["--late-ipn", "waitPayment", "--pace-ms", "10"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("held back by the exchange"), "{text}");
    assert!(
        text.contains("waitPayment       ✓ verified  stale (older than what is known), ignored  → 200 OK: stale, ignored"),
        "{text}"
    );
    // The late one is the last line of the timeline.
    let timeline: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("timeline"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(
        timeline.last().unwrap().contains("waitPayment"),
        "{timeline:?}"
    );
}

#[test]
fn every_fault_at_once_still_checks_out() {
    let (code, text) = demo(&[
        "--lose-ipn",
        "done",
        "--duplicate-ipn",
        "inProgressPayout",
        "--late-ipn",
        "waitPayment",
        "--pace-ms",
        "0",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("demo passed"), "{text}");
}

#[test]
fn two_faults_on_one_status_are_a_usage_error() {
    let (code, _) = demo(&["--lose-ipn", "done", "--late-ipn", "done"]);
    assert_eq!(code, Some(2));
}

#[test]
fn an_endpoint_with_the_wrong_secret_fails_the_demo_with_exit_1() {
    let (code, text) = demo(&["--wrong-secret", "--pace-ms", "0"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "IPN     waitPayment       ✗ refused  checksum does not match  → 401 Unauthorized"
        ),
        "{text}"
    );
    assert!(text.contains("✗ 4 IPN(s) arrived, 0 verified"), "{text}");
    assert!(
        text.contains("✗ every IPN was answered 2xx (401, 401, 401, 401)"),
        "{text}"
    );
    assert!(text.contains("demo FAILED"), "{text}");
}
