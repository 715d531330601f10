//! `smartex order create | get | mark-paid` against a sandbox over loopback
//! HTTP, and their exit codes.

use std::time::Duration;

use serde_json::Value;
use smartex_core::{OrderStatus, OrderUid};
use smartex_sandbox::{SandboxConfig, Schedule, TEST_API_KEY, TEST_API_SECRET};

use crate::{BTC_WALLET, Background, CARD_FIELD, CARDRUB_BTC, WMZ_WALLET, smartex, stderr, stdout};

/// `smartex order create` of CARDRUB → BTC (manual payment) on `site`,
/// returning the JSON it printed.
fn create_manual(site: &str) -> Value {
    let output = smartex()
        .args(["order", "create", "--site", site, "--route", CARDRUB_BTC])
        .args(["--amount", "5000", "--json"])
        .args(["--from-value", &format!("{CARD_FIELD}=4111111111111111")])
        .args(["--to-value", &format!("wallet={BTC_WALLET}")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn uid_of(created: &Value) -> OrderUid {
    OrderUid::new(created["uid"].as_u64().unwrap()).unwrap()
}

#[test]
fn create_get_and_mark_paid_drive_a_manual_order() {
    let bg = Background::manual();
    let site = bg.site();
    let created = create_manual(&site);
    let uid = uid_of(&created);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "new");
    assert_eq!(created["inAmount"], "5000");
    assert_eq!(created["outAmount"], "0.0008");
    assert_eq!(
        created["paymentPage"],
        format!("{site}/en/payment/{uid}/{secret}")
    );
    let order = bg.sb.order(uid).unwrap();
    assert_eq!(order.secret.expose(), secret, "the sandbox has it");

    bg.rt.block_on(bg.sb.advance(uid)).unwrap(); // new → waitPayment

    let get = |extra: &[&str]| {
        smartex()
            .args(["order", "get", "--site", &site, "--uid", &uid.to_string()])
            .args(extra)
            .env("SMARTEX_ORDER_SECRET", &secret)
            .output()
            .unwrap()
    };
    let output = get(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!("order {uid}: waitPayment")),
        "{text}"
    );
    assert!(text.contains("5000 CARDRUB → 0.0008 BTC"), "{text}");
    assert!(!text.contains(&secret), "get does not print the secret");

    let output = get(&["--json", "--view", "payment"]);
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["order"]["status"], "waitPayment");
    assert_eq!(json["order"]["uid"], uid.get());
    assert!(
        json["order"]["payment"].is_object(),
        "the payment view: {json}"
    );

    let mark = || {
        smartex()
            .args([
                "order",
                "mark-paid",
                "--site",
                &site,
                "--uid",
                &uid.to_string(),
            ])
            .env("SMARTEX_ORDER_SECRET", &secret)
            .output()
            .unwrap()
    };
    let output = mark();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("marked paid: now inProgress"));
    assert_eq!(bg.sb.order(uid).unwrap().status, OrderStatus::InProgress);

    // The platform's rule: only from new or waitPayment. Refused: exit 4.
    let output = mark();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("not allowed"),
        "{}",
        stderr(&output)
    );

    // A wrong secret is an unknown order: refused, exit 4.
    let output = smartex()
        .args(["order", "get", "--site", &site, "--uid", &uid.to_string()])
        .args(["--order-secret", "not-the-secret"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stderr(&output).contains("Order not found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn create_finds_the_route_by_currency_codes() {
    let bg = Background::manual();
    let output = smartex()
        .args(["order", "create", "--site", &bg.site(), "--xml-from", "ETH"])
        .args(["--xml-to", "WMZ", "--amount", "2", "--to-value"])
        .arg(format!("wallet={WMZ_WALLET}"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("order 1001 created"), "{text}");
    assert!(text.contains("2 ETH → 317.42 WMZ"), "{text}");
    assert!(
        text.contains(&format!("{}/en/payment/1001/", bg.site())),
        "{text}"
    );
    let order = bg.sb.order(OrderUid::new(1001).unwrap()).unwrap();
    assert_eq!(order.xml_from, "ETH");
    assert_eq!(order.to_values[0].value, WMZ_WALLET);
}

#[test]
fn create_with_an_ipn_url_makes_the_sandbox_notify_it() {
    let bg = Background::manual();
    let output = smartex()
        .args([
            "order",
            "create",
            "--site",
            &bg.site(),
            "--route",
            crate::ETH_WMZ,
        ])
        .args([
            "--amount",
            "2",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
        ])
        .args(["--ipn-url", "http://127.0.0.1:9/ipn", "--json"])
        .env("SMARTEX_IPN_SECRET", "order-ipn-secret")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let order = bg.sb.order(OrderUid::new(1001).unwrap()).unwrap();
    assert_eq!(order.ipn_url.as_deref(), Some("http://127.0.0.1:9/ipn"));
    assert!(order.has_ipn_secret);

    // Without a URL, the IPN secret in the environment is not sent.
    let output = smartex()
        .args([
            "order",
            "create",
            "--site",
            &bg.site(),
            "--route",
            crate::ETH_WMZ,
        ])
        .args([
            "--amount",
            "2",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
        ])
        .env("SMARTEX_IPN_SECRET", "order-ipn-secret")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        !bg.sb
            .order(OrderUid::new(1002).unwrap())
            .unwrap()
            .has_ipn_secret
    );
}

#[test]
fn the_platforms_refusal_exits_4_and_names_the_field() {
    let bg = Background::manual();
    let output = smartex()
        .args([
            "order",
            "create",
            "--site",
            &bg.site(),
            "--route",
            crate::ETH_WMZ,
        ])
        .args(["--amount", "2", "--to-value", "wallet=not-a-purse"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let err = stderr(&output);
    assert!(err.contains("field `wallet`"), "{err}");
    assert!(err.contains("6231546409213868"), "{err}");
    assert!(bg.sb.orders().is_empty());
}

#[test]
fn requests_refused_before_sending_exit_2() {
    let bg = Background::manual();
    for args in [
        &["--route", crate::ETH_WMZ, "--amount", "0"][..],
        &["--route", crate::ETH_WMZ, "--amount", "1,5"],
        &[
            "--route",
            crate::ETH_WMZ,
            "--amount",
            "2",
            "--to-value",
            "novalue",
        ],
        &[
            "--route",
            crate::ETH_WMZ,
            "--amount",
            "2",
            "--ipn-url",
            "http://127.0.0.1:9/",
        ],
        &[
            "--route",
            crate::ETH_WMZ,
            "--amount",
            "2",
            "--callback-url",
            "ftp://x",
        ],
        &["--amount", "2"],
        &["--route", "xyz", "--amount", "2"],
    ] {
        let output = smartex()
            .args(["order", "create", "--site", &bg.site()])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let output = smartex()
        .args(["order", "get", "--site", "not a site", "--uid", "1"])
        .args(["--order-secret", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(bg.sb.orders().is_empty(), "nothing was sent");
}

#[test]
fn a_5xx_after_create_exits_5_ambiguous() {
    // 502/504: the client's own `Ambiguous`; 500: an error page after the
    // order was made, which the command treats as ambiguous too.
    for status in [502, 504, 500] {
        let bg = Background::manual();
        bg.sb.fail_next_create(status);
        let output = smartex()
            .args([
                "order",
                "create",
                "--site",
                &bg.site(),
                "--route",
                crate::ETH_WMZ,
            ])
            .args([
                "--amount",
                "2",
                "--to-value",
                &format!("wallet={WMZ_WALLET}"),
            ])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(5),
            "{status}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("the order may have been created"),
            "{}",
            stderr(&output)
        );
        assert_eq!(bg.sb.orders().len(), 1, "it was created, and not twice");
    }
    // 503 says the request was not taken: unavailable, exit 3.
    let bg = Background::manual();
    bg.sb.inject_api_fault(
        None,
        smartex_sandbox::ApiFault::ErrorPage { status: 503 },
        smartex_sandbox::Times::Once,
    );
    let output = smartex()
        .args([
            "order",
            "create",
            "--site",
            &bg.site(),
            "--route",
            crate::ETH_WMZ,
        ])
        .args([
            "--amount",
            "2",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(bg.sb.orders().is_empty());
}

#[test]
fn an_unreachable_site_or_maintenance_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = smartex()
        .args([
            "order",
            "get",
            "--site",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args([
            "--uid",
            "1001",
            "--order-secret",
            "x",
            "--timeout-secs",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

    let bg = Background::manual();
    bg.sb.set_maintenance(true);
    let output = smartex()
        .args(["order", "get", "--site", &bg.site(), "--uid", "1001"])
        .args(["--order-secret", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("maintenance"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_timeout_too_large_for_the_clock_is_no_limit_not_a_crash() {
    let bg = Background::manual();
    for command in ["get", "mark-paid"] {
        let output = smartex()
            .args(["order", command, "--site", &bg.site(), "--uid", "1001"])
            .args([
                "--order-secret",
                "x",
                "--timeout-secs",
                &u64::MAX.to_string(),
            ])
            .output()
            .unwrap();
        // The order does not exist: the platform refuses, exit 4 (not a panic's 101).
        assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    }
}

#[test]
fn api_keys_come_from_the_environment() {
    let bg = Background::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .test_api_key()
            .require_api_key(true),
    );
    let create = |env: &[(&str, &str)]| {
        let mut cmd = smartex();
        cmd.args([
            "order",
            "create",
            "--site",
            &bg.site(),
            "--route",
            crate::ETH_WMZ,
        ])
        .args([
            "--amount",
            "2",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
        ]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let output = create(&[]);
    assert_eq!(output.status.code(), Some(4), "a key is required here");
    let output = create(&[
        ("SMARTEX_API_KEY", TEST_API_KEY),
        ("SMARTEX_API_SECRET", TEST_API_SECRET),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stdout(&output).contains(TEST_API_SECRET));
    let output = create(&[
        ("SMARTEX_API_KEY", TEST_API_KEY),
        ("SMARTEX_API_SECRET", "not-the-secret"),
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(!stderr(&output).contains("not-the-secret"));
    let output = create(&[("SMARTEX_API_KEY", TEST_API_KEY)]);
    assert_eq!(output.status.code(), Some(2), "a key without its secret");
    assert!(stderr(&output).contains("SMARTEX_API_SECRET"));
    assert_eq!(bg.sb.orders().len(), 1);
}

#[test]
fn get_watch_follows_an_order_to_done() {
    let bg = Background::start(
        SandboxConfig::default().schedule(Schedule::every(Duration::from_millis(30))),
    );
    let output = smartex()
        .args([
            "order",
            "create",
            "--site",
            &bg.site(),
            "--route",
            crate::ETH_WMZ,
        ])
        .args([
            "--amount",
            "2",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
            "--json",
        ])
        .output()
        .unwrap();
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let output = smartex()
        .args(["order", "get", "--site", &bg.site(), "--watch", "--json"])
        .args(["--poll-ms", "20", "--uid", &created["uid"].to_string()])
        .env("SMARTEX_ORDER_SECRET", created["secret"].as_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["status"], "done", "{lines:?}");
    assert!(
        lines.iter().all(|l| l["decision"] == "applied"),
        "{lines:?}"
    );
    // Each status at most once, in lifecycle order.
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    let mut dedup = statuses.clone();
    dedup.dedup();
    assert_eq!(statuses, dedup);
}

#[test]
fn get_watch_that_ends_before_a_final_status_exits_1() {
    let bg = Background::manual();
    let created = create_manual(&bg.site());
    let output = smartex()
        .args([
            "order",
            "get",
            "--site",
            &bg.site(),
            "--watch",
            "--watch-secs",
            "1",
        ])
        .args(["--poll-ms", "50", "--uid", &created["uid"].to_string()])
        .env("SMARTEX_ORDER_SECRET", created["secret"].as_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).contains(": new"), "{}", stdout(&output));
    assert!(stderr(&output).contains("still new"), "{}", stderr(&output));
}

#[test]
fn the_api_root_can_be_given_apart_from_the_site() {
    let bg = Background::manual();
    let output = smartex()
        .args(["order", "create", "--site", "https://shop-facing.example"])
        .args(["--api-root", &bg.sb.api_root(), "--route", crate::ETH_WMZ])
        .args([
            "--amount",
            "2",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        created["paymentPage"]
            .as_str()
            .unwrap()
            .starts_with("https://shop-facing.example/en/payment/1001/"),
        "pages are on the site: {created}"
    );
    assert_eq!(bg.sb.orders().len(), 1, "the call went to the API root");
}
