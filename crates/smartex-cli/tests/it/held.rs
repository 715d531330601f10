//! `smartex held list | accept | dismiss` against a merchant's store, on
//! SQLite and PostgreSQL.

use predicates::prelude::*;
use serde_json::Value;
use smartex_core::OrderStatus::{self, *};
use smartex_core::amounts::Amounts;
use smartex_core::status::{Decision, StatusEvent};
use smartex_store::{
    AnyStore, ApplyOutcome, DecisionKind, Lease, NotificationKey, Observation, OrderKey,
    OrderStore, PendingOrder,
};

use crate::common::{Fixture, Location, both_backends, ms, oid, r};
use crate::{smartex, stderr, stdout};

both_backends!(held_changes_are_listed_accepted_and_dismissed);

/// The URL the command opens the fixture's store with.
fn store_url(f: &Fixture) -> String {
    match &f.location {
        Location::Sqlite(dir) => format!("sqlite:{}", dir.path().join("store.db").display()),
        Location::Postgres { url, schema } => {
            let join = if url.contains('?') { '&' } else { '?' };
            format!("{url}{join}options[search_path]={schema}")
        }
    }
}

/// An IPN of order `n` with amounts.
fn ipn(n: u64, status: OrderStatus, at: u64, amounts: Amounts) -> Observation {
    let key = NotificationKey::ipn(&oid(n), &format!("{n:02}{at:062x}"));
    Observation::ipn(StatusEvent::ipn(status, ms(at)), key, ms(at + 10)).with_amounts(amounts)
}

fn eth_wmz(in_amount: &str) -> Amounts {
    Amounts {
        in_amount: Some(in_amount.to_owned()),
        out_amount: Some("317.42".to_owned()),
        from: Some("ETH".to_owned()),
        to: Some("WMZ".to_owned()),
    }
}

/// Order `reference` paid and done, then `status` signed at 2 000: held.
/// Returns the held row's id.
async fn done_then(
    s: &AnyStore,
    reference: &str,
    n: u64,
    status: OrderStatus,
    amounts: Amounts,
) -> i64 {
    s.insert_order(PendingOrder {
        reference: r(reference),
        ipn_secret: smartex_store::IpnSecretSource::None,
        created_at: ms(500),
        first_poll_at: None,
        asked_amount: Some("2".into()),
    })
    .await
    .unwrap();
    let key = OrderKey::Reference(&r(reference));
    for (step, at) in [(WaitPayment, 1_000), (Done, 1_500)] {
        assert!(
            s.apply(key, ipn(n, step, at, eth_wmz("2")))
                .await
                .unwrap()
                .is_applied()
        );
    }
    let held = s.apply(key, ipn(n, status, 2_000, amounts)).await.unwrap();
    let ApplyOutcome::Decided {
        decision: Decision::Unexpected { .. },
        event_id,
        ..
    } = held
    else {
        panic!("held: {held:?}")
    };
    event_id
}

async fn held_changes_are_listed_accepted_and_dismissed(f: &Fixture) {
    let s = &f.store;
    let url = store_url(f);
    let returned = done_then(s, "r-1", 1, Returned, eth_wmz("2")).await;
    // What a notification carries is printed escaped: a status and an
    // amount with terminal escapes, a line break and a bidi override.
    let evil_status = OrderStatus::parse("x\u{1b}[2J\u{202e}");
    let evil_amounts = Amounts {
        in_amount: Some("1\n#99 order r-9: forged".into()),
        ..eth_wmz("2")
    };
    let evil = done_then(s, "r-2", 2, evil_status, evil_amounts).await;

    let out = smartex()
        .args(["held", "list", "--store", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "2 changes held for review, oldest first:".to_owned(),
        format!("#{returned} order r-1: done → returned"),
        "    held: the order's status is final".to_owned(),
        "in 2 ETH, out 317.42 WMZ".to_owned(),
        format!("#{evil} order r-2: done → x\\u{{1b}}[2J\\u{{202e}}"),
        "in 1\\n#99 order r-9: forged ETH".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains(['\u{1b}', '\u{202e}']), "{text:?}");
    assert!(!text.lines().any(|l| l.starts_with("#99")), "{text}");

    // One order's, as JSON.
    let out = smartex()
        .args(["held", "list", "--reference", "r-1", "--json"])
        .env("SMARTEX_STORE", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["event_id"], returned);
    assert_eq!(list[0]["current"], "done");
    assert_eq!(list[0]["status"], "returned");
    assert_eq!(list[0]["amounts"]["in_amount"], "2");
    assert_eq!(list[0]["source"], "ipn");
    assert_eq!(list[0]["stale"], Value::Null);

    // Accepted: the order's status, and an outbox item with who decided.
    let id = returned.to_string();
    smartex()
        .args(["held", "accept", &id, "--by", "cli:alice"])
        .env("SMARTEX_STORE", &url)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "✓ accepted held change #{returned}: order r-1 is now returned, by cli:alice"
        )))
        .stdout(predicate::str::contains("outbox item"));
    let key = OrderKey::Reference(&r("r-1"));
    let order = s.order(key).await.unwrap().unwrap();
    assert_eq!(order.known.unwrap().status, Returned);
    let log = s.events(key).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.decision, DecisionKind::Accepted);
    assert_eq!(last.resolution.as_ref().unwrap().by, "cli:alice");
    let lease = Lease {
        owner: "t".into(),
        now: ms(u64::MAX / 4),
        duration: std::time::Duration::from_millis(1),
        limit: 10,
    };
    let mut delivered = Vec::new();
    for _ in 0..10 {
        for item in s.claim_outbox(lease.clone()).await.unwrap() {
            s.ack_outbox(item.id, ms(u64::MAX / 4)).await.unwrap();
            delivered.push(item);
        }
    }
    let item = delivered.iter().find(|i| i.status == Returned).unwrap();
    assert_eq!(item.decided_by.as_deref(), Some("cli:alice"));
    assert!(item.current);

    // Twice: refused (4), naming the first decision.
    let out = smartex()
        .args(["held", "accept", &id, "--by", "cli:bob", "--store", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(
        err.contains("already accepted") && err.contains("by cli:alice"),
        "{err}"
    );
    // Not a held change: refused (4).
    let applied = log[0].id.to_string();
    smartex()
        .args([
            "held", "dismiss", &applied, "--by", "cli:bob", "--store", &url,
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("not a change held for review"));
    // Who decides must be named: a usage error (2).
    for by in ["", "a\nb"] {
        smartex()
            .args([
                "held",
                "dismiss",
                &evil.to_string(),
                "--by",
                by,
                "--store",
                &url,
            ])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("decided by"));
    }
    // Dismissed, as JSON; nothing is held any more.
    let out = smartex()
        .args([
            "held",
            "dismiss",
            &evil.to_string(),
            "--by",
            "ops:bob",
            "--json",
        ])
        .env("SMARTEX_STORE", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let outcome: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(outcome["decision"], "dismissed");
    assert_eq!(outcome["held_event_id"], evil);
    assert_eq!(outcome["reference"], "r-2");
    assert_eq!(outcome["status"], "done");
    assert_eq!(outcome["outbox_id"], Value::Null);
    smartex()
        .args(["held", "list", "--store", &url])
        .assert()
        .code(0)
        .stdout("no change is held for review\n");
}

#[test]
fn a_store_that_is_not_there_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("shop.db");
    let url = format!("sqlite:{}", missing.display());
    smartex()
        .args(["held", "list", "--store", &url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no SQLite store at"));
    assert!(!missing.exists(), "no empty store created");
    smartex()
        .args([
            "held",
            "accept",
            "1",
            "--by",
            "alice",
            "--store",
            "mysql://shop",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unsupported store URL"));
    // An event id is a positive number.
    for id in ["0", "x"] {
        smartex()
            .args(["held", "accept", id, "--by", "alice", "--store", &url])
            .assert()
            .code(2);
    }
    // A file that is not a database: the store is unavailable (3).
    std::fs::write(&missing, b"not a database").unwrap();
    let out = smartex()
        .args(["held", "list", "--store", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // A store URL may carry a password: never shown in the help.
    let out = smartex()
        .args(["held", "list", "--help"])
        .env("SMARTEX_STORE", "postgres://shop:hunter2@127.0.0.1:1/shop")
        .output()
        .unwrap();
    assert!(stdout(&out).contains("SMARTEX_STORE"));
    assert!(!stdout(&out).contains("hunter2"));
}
