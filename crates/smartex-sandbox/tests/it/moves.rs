//! What a real platform does besides the happy path, from Rust and over the
//! admin endpoint: IPNs timed in seconds, the customer's own `inProgress`,
//! floating rates, under- and overpayment, back-and-forth statuses within
//! milliseconds, operator moves, and expiry.

use std::time::Duration;

use serde_json::{Value, json};
use smartex_core::OrderStatus::{self, *};
use smartex_core::request::{ApiCall, UpdateStatus};
use smartex_core::status::Actor;
use smartex_sandbox::{
    Error, IpnTimestampUnit, OrderExpiry, RateDrift, Sandbox, SandboxConfig, Schedule, Script,
};

use crate::*;

/// A manual-payment, floating-rate order: 1000 RUB by card → 0.00016 BTC.
fn cardrub_btc(receiver: &Receiver, amount: Value) -> Value {
    with_ipn(
        json!({
            "routeId": CARDRUB_BTC,
            "amount": amount,
            "fromValues": [{"key": CARD_FIELD, "value": "4111111111111111"}],
            "toValues": [{"key": "wallet", "value": BTC_WALLET}],
            "agreement": true,
        }),
        receiver,
    )
}

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config.schedule(Schedule::manual()))
        .await
        .unwrap()
}

/// `data.order` of `order/get` over HTTP.
async fn get_order(sb: &Sandbox, data: &Value) -> Value {
    let answer = call(
        sb,
        "public/exchanger/order/get",
        &json!({"orderUID": data["uid"], "orderSecret": data["secret"]}),
    )
    .await;
    answer.data()["order"].clone()
}

fn actors(sb: &Sandbox, uid: smartex_core::OrderUid) -> Vec<(String, Actor)> {
    sb.order(uid)
        .unwrap()
        .history
        .iter()
        .map(|c| (c.status.to_string(), c.by))
        .collect()
}

fn owned(steps: &[(&str, Actor)]) -> Vec<(String, Actor)> {
    steps.iter().map(|(s, a)| ((*s).to_owned(), *a)).collect()
}

/// Polls `check` on the order until it holds, for at most [`WAIT`].
async fn eventually(
    sb: &Sandbox,
    uid: smartex_core::OrderUid,
    what: &str,
    check: impl Fn(&smartex_sandbox::OrderSnapshot) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check(&sb.order(uid).unwrap()) {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_defaults_keep_the_earlier_behaviour() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    assert_eq!(sb.ipn_timestamp_unit(), IpnTimestampUnit::Milliseconds);
    assert_eq!(sb.order_expiry(), OrderExpiry::Off);
    assert_eq!(sb.rate_drift(), None);
    let index = admin(&sb, "GET", "", None).await.json();
    assert_eq!(index["ipnTimestampUnit"], "milliseconds");
    assert_eq!(index["orderExpiry"], json!({"mode": "off"}));
    assert_eq!(index["rateDrift"], Value::Null);
    // expiresAt is still createdAt + the route's orderTTL (30 minutes).
    let data = create(&sb, eth_wmz(json!(2))).await;
    let order = sb.order(uid_of(&data)).unwrap();
    assert_eq!(order.expires_at_ms, order.created_at_ms + 30 * 60_000);
    let floating: Vec<bool> = sb.routes().iter().map(|r| r.floating_rate).collect();
    assert_eq!(floating, [true, false, true]);
}

// 1. IPN timestamps in seconds.

#[tokio::test]
async fn ipns_timed_in_seconds_are_signed_as_sent() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default().ipn_timestamp_unit(IpnTimestampUnit::Seconds)).await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let changes = [
        sb.advance(uid).await.unwrap(),
        sb.advance(uid).await.unwrap(),
    ];
    let history = sb.order(uid).unwrap().history;
    let got = receiver.received();
    for ((t, change), r) in changes.iter().zip(&history[1..]).zip(&got) {
        let record = &t.ipns[0];
        assert_eq!(record.timestamp, (change.at_ms / 1000).to_string());
        assert!(
            record
                .body
                .contains(&format!("&timestamp={}&", record.timestamp)),
            "{}",
            record.body
        );
        // The receiver verified the checksum over the seconds as sent.
        assert_eq!(r.verified().timestamp_raw(), record.timestamp);
    }
    // Changed while running: the next IPN is in milliseconds again.
    sb.set_ipn_timestamp_unit(IpnTimestampUnit::Milliseconds);
    let t = sb.advance(uid).await.unwrap();
    let at = sb.order(uid).unwrap().history[3].at_ms;
    assert_eq!(t.ipns[0].timestamp, at.to_string());
    assert_eq!(
        receiver.received()[2].verified().timestamp_raw(),
        at.to_string()
    );
}

/// The units of 16 IPNs under `Mixed` with `seed` (true: seconds).
async fn mixed_units(seed: u64) -> Vec<bool> {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(
        SandboxConfig::default()
            .ipn_timestamp_unit(IpnTimestampUnit::Mixed)
            .seed(seed),
    )
    .await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let mut units = Vec::new();
    for i in 0..16 {
        let status = if i % 2 == 0 { Hold } else { WaitPayment };
        let t = sb.set_status(uid, status).await.unwrap();
        let at = sb.order(uid).unwrap().history[i + 1].at_ms;
        let ts = &t.ipns[0].timestamp;
        assert!(
            *ts == at.to_string() || *ts == (at / 1000).to_string(),
            "{ts} for {at}"
        );
        units.push(*ts == (at / 1000).to_string());
    }
    for r in receiver.received() {
        r.verified();
    }
    units
}

#[tokio::test]
async fn mixed_units_are_picked_per_ipn_and_repeat_with_the_seed() {
    let a = mixed_units(7).await;
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
    assert_eq!(mixed_units(7).await, a, "the same seed, the same units");
}

#[tokio::test]
async fn the_timestamp_unit_is_set_over_http() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let set = admin(
        &sb,
        "POST",
        "/ipn-timestamps",
        Some(json!({"unit": "seconds"})),
    )
    .await;
    assert_eq!(set.json(), json!({"unit": "seconds"}));
    assert_eq!(
        admin(&sb, "GET", "/ipn-timestamps", None).await.json(),
        json!({"unit": "seconds"})
    );
    let t = admin(&sb, "POST", &format!("/orders/{uid}/advance"), None)
        .await
        .json();
    assert_eq!(
        t["ipns"][0]["timestamp"],
        (sb.order(uid).unwrap().history[1].at_ms / 1000).to_string()
    );
    assert_eq!(sb.ipn_timestamp_unit(), IpnTimestampUnit::Seconds);
    admin(&sb, "POST", "/seed", Some(json!({"seed": 3}))).await;
    admin(
        &sb,
        "POST",
        "/ipn-timestamps",
        Some(json!({"unit": "mixed"})),
    )
    .await;
    assert_eq!(sb.ipn_timestamp_unit(), IpnTimestampUnit::Mixed);
    for bad in [json!({}), json!({"unit": "minutes"})] {
        let answer = admin(&sb, "POST", "/ipn-timestamps", Some(bad)).await;
        assert_eq!(answer.status, 400);
    }
    assert_eq!(
        admin(&sb, "POST", "/seed", Some(json!({"seed": "x"})))
            .await
            .status,
        400
    );
}

// 2. The customer's own inProgress.

#[tokio::test]
async fn the_customer_claims_paid_with_the_uid_and_secret_and_it_is_notified() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let data = create(&sb, cardrub_btc(&receiver, json!(1000))).await;
    let uid = uid_of(&data);
    sb.advance(uid).await.unwrap();
    let t = sb.customer_claims_paid(uid).await.unwrap();
    assert_eq!(
        (t.from.clone(), t.to.clone(), t.by),
        (WaitPayment, InProgress, Actor::Customer)
    );
    assert!(t.ipns[0].delivered());
    let ipn = receiver.received()[1].verified().clone();
    assert_eq!(ipn.status(), InProgress, "signed like any change");
    assert_eq!(
        actors(&sb, uid),
        owned(&[
            ("new", Actor::Server),
            ("waitPayment", Actor::Server),
            ("inProgress", Actor::Customer),
        ])
    );
    // From inProgress the customer can do nothing any more.
    assert!(matches!(
        sb.customer_claims_paid(uid).await,
        Err(Error::NotAllowed { .. })
    ));
    // The admin view says who set it.
    let view = admin(&sb, "GET", &format!("/orders/{uid}"), None)
        .await
        .json();
    assert_eq!(view["order"]["history"][2]["by"], "customer");
    assert_eq!(view["order"]["history"][1]["by"], "server");

    // Over the API, with the two values from the payment page's URL.
    let other = create(&sb, cardrub_btc(&receiver, json!(1000))).await;
    let other_uid = uid_of(&other);
    sb.advance(other_uid).await.unwrap();
    let paid = call(
        &sb,
        UpdateStatus::PATH,
        &json!({"orderUID": other["uid"], "orderSecret": other["secret"], "status": "inProgress"}),
    )
    .await;
    assert_eq!(paid.data()["newStatus"], "inProgress");
    assert_eq!(sb.order(other_uid).unwrap().history[2].by, Actor::Customer);
}

#[tokio::test]
async fn the_customer_follows_the_update_status_rule() {
    let sb = sandbox(SandboxConfig::default()).await;
    async fn order(sb: &Sandbox) -> smartex_core::OrderUid {
        uid_of(&create(sb, eth_wmz(json!(2))).await)
    }
    let uid = order(&sb).await;
    // From new: waitPayment (or deleted), set by the customer.
    let t = sb.customer_update_status(uid, WaitPayment).await.unwrap();
    assert_eq!(t.by, Actor::Customer);
    for refused in [InProgressPayout, Done, Hold, WaitPayment] {
        let e = sb.customer_update_status(uid, refused.clone()).await;
        assert!(
            matches!(e, Err(Error::NotAllowed { .. })),
            "{refused}: {e:?}"
        );
    }
    assert!(matches!(
        sb.customer_update_status(uid, OrderStatus::parse("paid"))
            .await,
        Err(Error::Invalid {
            field: "status",
            ..
        })
    ));
    sb.set_status(uid, ErrorPayment).await.unwrap();
    assert!(
        matches!(
            sb.customer_update_status(uid, Deleted).await,
            Err(Error::NotAllowed { .. })
        ),
        "only from new or waitPayment"
    );
    let fresh = order(&sb).await;
    assert_eq!(
        sb.customer_update_status(fresh, Deleted).await.unwrap().to,
        Deleted
    );

    // Over the admin endpoint.
    let uid = order(&sb).await;
    let path = |action: &str| format!("/orders/{uid}/{action}");
    let done = admin(
        &sb,
        "POST",
        &path("customer-status"),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(done.status, 409);
    assert_eq!(
        admin(&sb, "POST", &path("customer-status"), None)
            .await
            .status,
        400
    );
    let t = admin(
        &sb,
        "POST",
        &path("customer-status"),
        Some(json!({"status": "waitPayment"})),
    )
    .await
    .json();
    assert_eq!(
        (t["from"].clone(), t["by"].clone()),
        (json!("new"), json!("customer"))
    );
    let t = admin(&sb, "POST", &path("customer-claims-paid"), None).await;
    assert_eq!(t.status, 200);
    assert_eq!(t.json()["status"], "inProgress");
    assert_eq!(t.json()["by"], "customer");
    assert_eq!(
        admin(&sb, "POST", &path("customer-claims-paid"), None)
            .await
            .status,
        409
    );
    assert_eq!(
        admin(&sb, "POST", "/orders/99999/customer-claims-paid", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_manual_routes_payment_page_has_the_i_have_paid_button() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let page = |data: &Value| {
        let path = format!(
            "/en/payment/{}/{}",
            data["uid"],
            data["secret"].as_str().unwrap()
        );
        let sb = &sb;
        async move {
            request(sb.local_addr(), "GET", &path, &[], b"")
                .await
                .text()
        }
    };
    let manual = create(&sb, cardrub_btc(&receiver, json!(1000))).await;
    assert!(
        !page(&manual).await.contains("i-have-paid"),
        "not while new"
    );
    sb.advance(uid_of(&manual)).await.unwrap();
    let html = page(&manual).await;
    assert!(html.contains("id=\"i-have-paid\""), "{html}");
    assert!(html.contains("action=\"/service/api/v1/public/exchanger/order/update-status/\""));
    let secret = manual["secret"].as_str().unwrap();
    assert!(html.contains(&format!("name=\"orderSecret\" value=\"{secret}\"")));

    // Submitting the form: a form body with the uid and secret, nothing else.
    let clicked = call_form(
        &sb,
        UpdateStatus::PATH,
        &format!(
            "orderUID={}&orderSecret={secret}&status=inProgress",
            manual["uid"]
        ),
    )
    .await;
    assert_eq!(clicked.data()["newStatus"], "inProgress");
    receiver.wait_for(2).await;
    assert_eq!(receiver.statuses(), ["waitPayment", "inProgress"]);
    assert!(!page(&manual).await.contains("i-have-paid"));

    let automatic = create(&sb, btc_usdt(&receiver)).await;
    sb.advance(uid_of(&automatic)).await.unwrap();
    assert!(
        !page(&automatic).await.contains("i-have-paid"),
        "the platform detects it"
    );
}

// 3. Floating rates.

#[tokio::test]
async fn floating_rates_are_recalculated_while_unpaid_and_later_ipns_carry_them() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let data = create(&sb, btc_usdt(&receiver)).await;
    let uid = uid_of(&data);
    assert_eq!(data["outAmount"], "3250");
    let o = sb.recalculate(uid, "1.02").unwrap();
    assert_eq!(
        (
            o.in_amount.as_str(),
            o.out_amount.as_str(),
            o.rate_factor.as_str()
        ),
        ("0.05", "3315", "1.02")
    );
    assert_eq!(o.created_out_amount, "3250");
    let got = get_order(&sb, &data).await;
    assert_eq!(got["outAmount"], "3315");
    assert_eq!(got["inAmount"], "0.05");
    assert_eq!(got["rate"]["out"], "66300");
    // Factors multiply: 1.02 × 0.5 = 0.51, 0.05 × 65000 × 0.51 = 1657.5.
    assert_eq!(sb.recalculate(uid, "0.5").unwrap().out_amount, "1657.5");
    sb.advance(uid).await.unwrap();
    // Still unpaid in waitPayment: the rate may move again.
    assert_eq!(sb.recalculate(uid, "2").unwrap().out_amount, "3315");
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(t.ipns[0].out_amount, "3315");
    let signed: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.verified().out_amount_raw().to_owned())
        .collect();
    assert_eq!(
        signed,
        ["1657.5", "3315"],
        "each IPN the amounts of its moment"
    );
    assert!(
        matches!(sb.recalculate(uid, "1.1"), Err(Error::NotAllowed { .. })),
        "paid or claimed: the amounts stay"
    );

    let fixed = uid_of(&create(&sb, eth_wmz(json!(2))).await);
    assert!(matches!(
        sb.recalculate(fixed, "1.1"),
        Err(Error::NotAllowed { .. })
    ));
    for bad in ["0", "-1", "abc", ""] {
        assert!(
            matches!(
                sb.recalculate(fixed, bad),
                Err(Error::Invalid {
                    field: "factor",
                    ..
                })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        sb.recalculate(smartex_core::OrderUid::new(99_999).unwrap(), "1"),
        Err(Error::UnknownOrder(99_999))
    ));
}

#[tokio::test]
async fn a_fixed_amount_received_keeps_it_and_the_amount_sent_moves() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    // Receive 0.00016 BTC: send 1000 RUB at 0.00000016.
    let data = create(&sb, cardrub_btc(&receiver, json!("-0.00016"))).await;
    assert_eq!(
        (data["inAmount"].as_str(), data["outAmount"].as_str()),
        (Some("1000"), Some("0.00016"))
    );
    let o = sb.recalculate(uid_of(&data), "1.25").unwrap();
    assert_eq!(
        (o.in_amount.as_str(), o.out_amount.as_str()),
        ("800", "0.00016")
    );
    // Rounded up for the amount sent: 0.00016 / (0.00000016 × 1.1) = 909.09…
    let o = sb.recalculate(uid_of(&data), "0.88").unwrap();
    assert_eq!(o.rate_factor, "1.1");
    assert_eq!(o.in_amount, "909.1");
}

#[tokio::test]
async fn floating_rates_drift_on_a_schedule_while_unpaid() {
    let sb = sandbox(
        SandboxConfig::default()
            .seed(11)
            .rate_drift(Some(RateDrift {
                every: Duration::from_millis(10),
                max_change_bp: 500,
            })),
    )
    .await;
    let receiver = Receiver::start(SECRET).await;
    let floating = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let fixed = uid_of(&create(&sb, eth_wmz(json!(2))).await);
    eventually(&sb, floating, "the rate moves", |o| o.rate_factor != "1").await;
    let o = sb.order(floating).unwrap();
    assert_ne!(o.out_amount, "3250");
    let factor: f64 = o.rate_factor.parse().unwrap();
    assert!((0.5..1.5).contains(&factor), "{factor}");
    assert_eq!(sb.order(fixed).unwrap().out_amount, "317.42");
    // Once paid (claimed), it stays.
    sb.advance(floating).await.unwrap();
    sb.advance(floating).await.unwrap();
    let paid = sb.order(floating).unwrap().out_amount;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(sb.order(floating).unwrap().out_amount, paid);

    sb.set_rate_drift(None).unwrap();
    assert_eq!(sb.rate_drift(), None);
    let still = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(sb.order(still).unwrap().rate_factor, "1", "stopped");
    for bad in [
        RateDrift {
            every: Duration::ZERO,
            max_change_bp: 1,
        },
        RateDrift {
            every: Duration::from_millis(1),
            max_change_bp: 10_000,
        },
    ] {
        assert!(matches!(
            sb.set_rate_drift(Some(bad)),
            Err(Error::Invalid { .. })
        ));
    }
}

#[tokio::test]
async fn rates_are_recalculated_and_drift_over_http() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let fixed = uid_of(&create(&sb, eth_wmz(json!(2))).await);
    let path = |uid, action: &str| format!("/orders/{uid}/{action}");
    let o = admin(
        &sb,
        "POST",
        &path(uid, "recalculate"),
        Some(json!({"factor": "1.1"})),
    )
    .await;
    assert_eq!(o.status, 200);
    assert_eq!(o.json()["order"]["outAmount"], "3575");
    assert_eq!(o.json()["order"]["createdOutAmount"], "3250");
    assert_eq!(o.json()["order"]["rateFactor"], "1.1");
    let status = |body| {
        let sb = &sb;
        let p = path(fixed, "recalculate");
        async move { admin(sb, "POST", &p, Some(body)).await.status }
    };
    assert_eq!(status(json!({"factor": "1.1"})).await, 409);
    assert_eq!(status(json!({"factor": "x"})).await, 400);
    assert_eq!(status(json!({})).await, 400);

    assert_eq!(
        admin(&sb, "GET", "/rate-drift", None).await.json(),
        json!({"rateDrift": null})
    );
    let on = admin(
        &sb,
        "POST",
        "/rate-drift",
        Some(json!({"everyMs": 10, "maxChangeBp": 100})),
    )
    .await;
    assert_eq!(
        on.json(),
        json!({"rateDrift": {"everyMs": 10, "maxChangeBp": 100}})
    );
    assert_eq!(
        sb.rate_drift(),
        Some(RateDrift {
            every: Duration::from_millis(10),
            max_change_bp: 100
        })
    );
    eventually(&sb, uid, "the rate drifts", |o| o.rate_factor != "1.1").await;
    let off = admin(&sb, "DELETE", "/rate-drift", None).await;
    assert_eq!(off.json(), json!({"rateDrift": null}));
    for bad in [
        json!({}),
        json!({"everyMs": 0, "maxChangeBp": 1}),
        json!({"everyMs": 5, "maxChangeBp": 20000}),
    ] {
        assert_eq!(
            admin(&sb, "POST", "/rate-drift", Some(bad.clone()))
                .await
                .status,
            400,
            "{bad}"
        );
    }
}

// 4. Under- and overpayment.

#[tokio::test]
async fn an_underpaid_order_is_notified_with_the_amount_actually_paid() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let data = create(&sb, with_ipn(eth_wmz(json!(2)), &receiver)).await;
    let uid = uid_of(&data);
    sb.advance(uid).await.unwrap();
    sb.advance(uid).await.unwrap();
    let o = sb.set_paid_amount(uid, "1.90").unwrap();
    assert_eq!(o.in_amount, "1.9");
    assert_eq!(o.quoted_in_amount, "2");
    assert_eq!(o.paid_in_amount.as_deref(), Some("1.9"));
    sb.advance(uid).await.unwrap();
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(
        (t.ipns[0].in_amount.as_str(), t.ipns[0].out_amount.as_str()),
        ("1.9", "317.42")
    );
    let signed: Vec<(String, String, String)> = receiver
        .received()
        .iter()
        .map(|r| {
            let ipn = r.verified();
            (
                ipn.status_raw().to_owned(),
                ipn.in_amount_raw().to_owned(),
                ipn.out_amount_raw().to_owned(),
            )
        })
        .collect();
    let row = |s: &str, i: &str| (s.to_owned(), i.to_owned(), "317.42".to_owned());
    assert_eq!(
        signed,
        [
            row("waitPayment", "2"),
            row("inProgress", "2"),
            row("inProgressPayout", "1.9"),
            row("done", "1.9"),
        ]
    );
    assert_eq!(get_order(&sb, &data).await["inAmount"], "1.9");

    // Overpaid, over HTTP: a string keeps every digit, a number is accepted.
    let other = uid_of(&create(&sb, eth_wmz(json!(2))).await);
    let path = format!("/orders/{other}/paid-amount");
    let o = admin(
        &sb,
        "POST",
        &path,
        Some(json!({"inAmount": "2.000000000000000001"})),
    )
    .await;
    assert_eq!(o.json()["order"]["inAmount"], "2.000000000000000001");
    assert_eq!(o.json()["order"]["quotedInAmount"], "2");
    let o = admin(&sb, "POST", &path, Some(json!({"inAmount": 2.5}))).await;
    assert_eq!(o.json()["order"]["paidInAmount"], "2.5");
    for bad in [
        json!({}),
        json!({"inAmount": "-1"}),
        json!({"inAmount": "x"}),
        json!({"inAmount": true}),
    ] {
        assert_eq!(
            admin(&sb, "POST", &path, Some(bad.clone())).await.status,
            400,
            "{bad}"
        );
    }
    assert_eq!(
        admin(
            &sb,
            "POST",
            "/orders/99999/paid-amount",
            Some(json!({"inAmount": "1"}))
        )
        .await
        .status,
        404
    );
    assert!(matches!(
        sb.set_paid_amount(other, "1e"),
        Err(Error::Invalid {
            field: "inAmount",
            ..
        })
    ));
}

// 5. Back-and-forth within milliseconds.

#[tokio::test]
async fn scripted_histories_send_every_change_with_its_own_ipn() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.advance(uid).await.unwrap();
    let retry = Script::new()
        .then(ErrorPayment, Actor::Server)
        .then(WaitPayment, Actor::Customer)
        .then(InProgress, Actor::Server)
        .gap(Duration::from_millis(40));
    let ts = sb.run_script(uid, &retry).await.unwrap();
    let moves: Vec<_> = ts
        .iter()
        .map(|t| (t.from.clone(), t.to.clone(), t.by))
        .collect();
    assert_eq!(
        moves,
        [
            (WaitPayment, ErrorPayment, Actor::Server),
            (ErrorPayment, WaitPayment, Actor::Customer),
            (WaitPayment, InProgress, Actor::Server),
        ]
    );
    assert!(
        ts.iter()
            .all(|t| t.ipns.len() == 1 && t.ipns[0].delivered())
    );
    let history = sb.order(uid).unwrap().history;
    // A change in the same millisecond as the one before is timed 1 ms
    // later (timestamps strictly increase), which shortens the next gap.
    for pair in history[2..].windows(2) {
        assert!(pair[1].at_ms - pair[0].at_ms >= 39, "{pair:?}");
    }

    // No gap at all: the payout fails and is retried at once.
    let payout = Script::new()
        .then(InProgressPayout, Actor::Server)
        .then(ErrorPayout, Actor::Server)
        .then(InProgressPayout, Actor::Operator)
        .then(Hold, Actor::Operator)
        .then(InProgressPayout, Actor::Operator)
        .then(Done, Actor::Server);
    assert_eq!(sb.run_script(uid, &payout).await.unwrap().len(), 6);
    assert_eq!(
        receiver.statuses(),
        [
            "waitPayment",
            "errorPayment",
            "waitPayment",
            "inProgress",
            "inProgressPayout",
            "errorPayout",
            "inProgressPayout",
            "hold",
            "inProgressPayout",
            "done"
        ]
    );
    let stamps: Vec<u64> = receiver
        .received()
        .iter()
        .map(|r| r.verified().timestamp_ms().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");

    for bad in [
        Script::new(),
        Script::new()
            .then(Hold, Actor::Operator)
            .gap_between(Duration::from_millis(2), Duration::from_millis(1)),
    ] {
        assert!(matches!(
            sb.run_script(uid, &bad).await,
            Err(Error::Invalid { .. })
        ));
    }
    assert!(matches!(
        sb.run_script(smartex_core::OrderUid::new(99_999).unwrap(), &payout)
            .await,
        Err(Error::UnknownOrder(99_999))
    ));
}

#[tokio::test]
async fn the_schedule_waits_while_a_script_runs_and_goes_on_after() {
    let receiver = Receiver::start(SECRET).await;
    let sb = Sandbox::start(SandboxConfig::default().schedule(Schedule {
        wait_payment: Some(Duration::from_millis(10)),
        payment_detected: Some(Duration::from_secs(3600)),
        payout: Some(Duration::from_millis(20)),
        done: Some(Duration::from_millis(20)),
    }))
    .await
    .unwrap();
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.wait_for_status(uid, WaitPayment, WAIT).await.unwrap();
    // inProgress would be paid out after 20 ms; within the script it waits.
    let back = Script::new()
        .then(InProgress, Actor::Server)
        .then(WaitPayment, Actor::Operator)
        .gap(Duration::from_millis(150));
    sb.run_script(uid, &back).await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let statuses = |sb: &Sandbox| -> Vec<String> {
        sb.order(uid)
            .unwrap()
            .history
            .iter()
            .map(|c| c.status.to_string())
            .collect()
    };
    assert_eq!(
        statuses(&sb),
        ["new", "waitPayment", "inProgress", "waitPayment"]
    );
    // A script that ends in inProgress: the schedule takes it from there.
    let hold = Script::new()
        .then(Hold, Actor::Operator)
        .then(InProgress, Actor::Operator)
        .gap(Duration::from_millis(50));
    sb.run_script(uid, &hold).await.unwrap();
    sb.wait_for_status(uid, Done, WAIT).await.unwrap();
    assert_eq!(
        statuses(&sb),
        [
            "new",
            "waitPayment",
            "inProgress",
            "waitPayment",
            "hold",
            "inProgress",
            "inProgressPayout",
            "done"
        ]
    );
}

#[tokio::test]
async fn scripts_run_over_http() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default().seed(5)).await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let path = format!("/orders/{uid}/script");
    let answer = admin(
        &sb,
        "POST",
        &path,
        Some(json!({
            "steps": ["waitPayment", {"status": "hold", "by": "operator"}, "waitPayment"],
            "gapMs": [0, 30],
            "by": "server",
        })),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let ts = answer.json()["transitions"].clone();
    let got: Vec<(&str, &str, &str)> = ts
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("new", "waitPayment", "server"),
            ("waitPayment", "hold", "operator"),
            ("hold", "waitPayment", "server"),
        ]
    );
    assert_eq!(ts[1]["ipns"][0]["outcome"], "delivered");
    assert_eq!(receiver.statuses(), ["waitPayment", "hold", "waitPayment"]);
    let fixed = admin(
        &sb,
        "POST",
        &path,
        Some(json!({"steps": ["hold"], "gapMs": 5})),
    )
    .await;
    assert_eq!(fixed.status, 200);
    for bad in [
        json!({}),
        json!({"steps": []}),
        json!({"steps": [1]}),
        json!({"steps": [{"by": "operator"}]}),
        json!({"steps": ["hold"], "gapMs": [5, 1]}),
        json!({"steps": ["hold"], "gapMs": [5]}),
        json!({"steps": ["hold"], "gapMs": "x"}),
        json!({"steps": ["hold"], "by": "nobody"}),
    ] {
        assert_eq!(
            admin(&sb, "POST", &path, Some(bad.clone())).await.status,
            400,
            "{bad}"
        );
    }
    assert_eq!(
        admin(
            &sb,
            "POST",
            "/orders/99999/script",
            Some(json!({"steps": ["hold"]}))
        )
        .await
        .status,
        404
    );
}

// 6. Operator moves.

#[tokio::test]
async fn operators_move_orders_back_and_settle_from_hold_on_record() {
    let receiver = Receiver::start(SECRET).await;
    let sb = sandbox(SandboxConfig::default()).await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.advance(uid).await.unwrap();
    sb.advance(uid).await.unwrap();
    let back = sb.set_status(uid, WaitPayment).await.unwrap();
    assert_eq!((back.from.clone(), back.by), (InProgress, Actor::Operator));
    sb.advance(uid).await.unwrap();
    sb.advance(uid).await.unwrap();
    sb.set_status(uid, Hold).await.unwrap();
    sb.set_status(uid, Done).await.unwrap();
    sb.set_status_by(uid, Returned, Actor::Server)
        .await
        .unwrap();
    assert_eq!(
        actors(&sb, uid),
        owned(&[
            ("new", Actor::Server),
            ("waitPayment", Actor::Server),
            ("inProgress", Actor::Server),
            ("waitPayment", Actor::Operator),
            ("inProgress", Actor::Server),
            ("inProgressPayout", Actor::Server),
            ("hold", Actor::Operator),
            ("done", Actor::Operator),
            ("returned", Actor::Server),
        ])
    );
    assert_eq!(receiver.received().len(), 8, "every move with its IPN");
    for r in receiver.received() {
        r.verified();
    }

    let path = format!("/orders/{uid}/status");
    let t = admin(&sb, "POST", &path, Some(json!({"status": "inProgress"})))
        .await
        .json();
    assert_eq!(
        (t["from"].clone(), t["by"].clone()),
        (json!("returned"), json!("operator"))
    );
    let t = admin(
        &sb,
        "POST",
        &path,
        Some(json!({"status": "hold", "by": "server"})),
    )
    .await
    .json();
    assert_eq!(t["by"], "server");
    let bad = admin(
        &sb,
        "POST",
        &path,
        Some(json!({"status": "hold", "by": "admin"})),
    )
    .await;
    assert_eq!(bad.status, 400);
    let view = admin(&sb, "GET", &format!("/orders/{uid}"), None)
        .await
        .json();
    let by: Vec<&str> = view["order"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["by"].as_str().unwrap())
        .collect();
    assert_eq!(by.len(), 11);
    assert_eq!(&by[7..], ["operator", "server", "operator", "server"]);
}

// 7. Expiry.

#[tokio::test]
async fn unpaid_orders_expire_to_deleted_by_the_server() {
    let receiver = Receiver::start(SECRET).await;
    let ttl = Duration::from_millis(300);
    let sb = sandbox(SandboxConfig::default().order_expiry(OrderExpiry::After(ttl))).await;
    let paid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.advance(paid).await.unwrap();
    sb.advance(paid).await.unwrap();
    let fresh = create(&sb, btc_usdt(&receiver)).await;
    let waiting = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.advance(waiting).await.unwrap();
    let fresh_uid = uid_of(&fresh);
    let o = sb.order(fresh_uid).unwrap();
    assert_eq!(o.expires_at_ms, o.created_at_ms + 300);
    assert_eq!(
        fresh["expiresAt"],
        smartex_core::time::UtcDateTime::from_unix_ms(o.expires_at_ms).to_string()
    );
    for uid in [fresh_uid, waiting] {
        let o = sb.wait_for_status(uid, Deleted, WAIT).await.unwrap();
        let last = o.history.last().unwrap();
        assert_eq!(last.by, Actor::Server);
        assert!(last.at_ms >= o.expires_at_ms);
    }
    sb.wait_ipns_settled(WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        sb.order(paid).unwrap().status,
        InProgress,
        "claimed before expiry"
    );
    let deleted: Vec<_> = receiver
        .received()
        .iter()
        .filter(|r| r.verified().status() == Deleted)
        .map(|r| r.verified().order_uid().unwrap())
        .collect();
    assert_eq!(deleted.len(), 2, "each expiry with its IPN");
    assert!(deleted.contains(&fresh_uid) && deleted.contains(&waiting));

    // By hand, and not for a paid order.
    sb.set_order_expiry(OrderExpiry::Off);
    let kept = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(sb.order(kept).unwrap().status, New, "off: never by itself");
    let t = sb.expire_now(kept).await.unwrap();
    assert_eq!((t.from, t.to, t.by), (New, Deleted, Actor::Server));
    let o = sb.order(kept).unwrap();
    assert!(o.expires_at_ms <= o.history.last().unwrap().at_ms);
    assert!(matches!(
        sb.expire_now(paid).await,
        Err(Error::NotAllowed { .. })
    ));
    sb.set_order_expiry(OrderExpiry::RouteTtl);
    let o = sb
        .order(uid_of(
            &create(&sb, cardrub_btc(&receiver, json!(1000))).await,
        ))
        .unwrap();
    assert_eq!(
        o.expires_at_ms,
        o.created_at_ms + 60 * 60_000,
        "the route's orderTTL"
    );
}

#[tokio::test]
async fn expiry_is_set_over_http() {
    let sb = sandbox(SandboxConfig::default()).await;
    assert_eq!(
        admin(&sb, "GET", "/expiry", None).await.json(),
        json!({"mode": "off"})
    );
    let set = admin(
        &sb,
        "POST",
        "/expiry",
        Some(json!({"mode": "after", "ms": 100})),
    )
    .await;
    assert_eq!(set.json(), json!({"mode": "after", "ms": 100}));
    assert_eq!(
        sb.order_expiry(),
        OrderExpiry::After(Duration::from_millis(100))
    );
    let uid = uid_of(&create(&sb, eth_wmz(json!(2))).await);
    sb.wait_for_status(uid, Deleted, WAIT).await.unwrap();
    assert_eq!(
        admin(&sb, "POST", "/expiry", Some(json!({"mode": "route"})))
            .await
            .json(),
        json!({"mode": "route"})
    );
    admin(&sb, "POST", "/expiry", Some(json!({"mode": "off"}))).await;
    for bad in [json!({}), json!({"mode": "soon"}), json!({"mode": "after"})] {
        assert_eq!(
            admin(&sb, "POST", "/expiry", Some(bad.clone()))
                .await
                .status,
            400,
            "{bad}"
        );
    }
    let uid = uid_of(&create(&sb, eth_wmz(json!(2))).await);
    let path = format!("/orders/{uid}/expire");
    let t = admin(&sb, "POST", &path, None).await.json();
    assert_eq!(
        (t["status"].clone(), t["by"].clone()),
        (json!("deleted"), json!("server"))
    );
    assert_eq!(admin(&sb, "POST", &path, None).await.status, 409);
}
