//! The lifecycle and its IPNs, received and verified by a real endpoint, for
//! the happy paths and for each injected fault.

use std::time::Duration;

use serde_json::json;
use smartex_core::request::{ApiCall, UpdateStatus};
use smartex_core::{OrderStatus, OrderUid};
use smartex_sandbox::{
    DeliveryResult, IpnFault, IpnKind, IpnSpelling, Sandbox, SandboxConfig, Schedule, Times,
};

use crate::*;

async fn fast_sandbox(step_ms: u64) -> Sandbox {
    Sandbox::start(
        SandboxConfig::default().schedule(Schedule::every(Duration::from_millis(step_ms))),
    )
    .await
    .unwrap()
}

/// The sandbox speaks like Node: in every client spelling of `toValues` (and
/// a random one per notification), the order runs to `done` and every IPN
/// verifies at a real endpoint with the same signed values.
#[tokio::test]
async fn every_node_spelling_of_an_ipn_verifies() {
    for spelling in IpnSpelling::ALL.into_iter().chain([IpnSpelling::Random]) {
        let receiver = Receiver::start(SECRET).await;
        let sb = Sandbox::start(
            SandboxConfig::default()
                .schedule(Schedule::every(Duration::from_millis(20)))
                .ipn_spelling(spelling),
        )
        .await
        .unwrap();
        let data = create(&sb, btc_usdt(&receiver)).await;
        let uid = uid_of(&data);
        sb.wait_for_status(uid, OrderStatus::Done, WAIT)
            .await
            .unwrap();
        let got = receiver.wait_for(4).await;
        assert_eq!(
            receiver.statuses(),
            ["waitPayment", "inProgress", "inProgressPayout", "done"],
            "{spelling:?}"
        );
        for r in &got {
            let ipn = r.verified();
            assert_eq!(ipn.order_id_raw(), data["_id"].as_str().unwrap());
            assert_eq!(ipn.in_amount_raw(), "0.05");
            let tv = ipn.to_values();
            if matches!(
                spelling,
                IpnSpelling::UrlSearchParams | IpnSpelling::Querystring
            ) {
                assert!(!tv.is_structured(), "{spelling:?}");
            } else if spelling != IpnSpelling::Random {
                let values: Vec<_> = tv.map(|v| v.value().to_owned()).collect();
                assert_eq!(values, [TRON_WALLET.to_owned()], "{spelling:?}");
            }
        }
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn an_automatic_route_runs_to_done_and_every_ipn_verifies() {
    let receiver = Receiver::start(SECRET).await;
    let sb = fast_sandbox(30).await;
    let data = create(&sb, btc_usdt(&receiver)).await;
    let uid = uid_of(&data);
    sb.wait_for_status(uid, OrderStatus::Done, WAIT)
        .await
        .unwrap();
    let records = sb.wait_for_ipns(Some(uid), 4, WAIT).await.unwrap();
    let got = receiver.wait_for(4).await;

    let expected = ["waitPayment", "inProgress", "inProgressPayout", "done"];
    assert_eq!(receiver.statuses(), expected);
    let mut last_ts = 0;
    for (r, status) in got.iter().zip(expected) {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.path, "/ipn?shop=1",
            "the ipnUrl's path and query are kept"
        );
        assert_eq!(r.content_type, "application/x-www-form-urlencoded");
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert!(
            body.starts_with(&format!("orderUID={uid}&orderId=")),
            "{body}"
        );
        assert!(
            body.contains("toValues%5B0%5D%5Bkey%5D=wallet"),
            "qs spelling: {body}"
        );
        assert!(
            body.contains("toValues%5B0%5D%5Bname%5D=USDT%20TRC20%20address"),
            "{body}"
        );
        assert!(!body.contains(SECRET));
        let ipn = r.verified();
        assert_eq!(ipn.status_raw(), status);
        assert_eq!(ipn.order_uid().unwrap(), uid);
        assert_eq!(ipn.order_id_raw(), data["_id"].as_str().unwrap());
        assert_eq!(ipn.in_amount_raw(), "0.05");
        assert_eq!(ipn.out_amount_raw(), "3250");
        assert_eq!(ipn.xml_from().unwrap().as_str(), "BTC");
        assert_eq!(ipn.xml_to().unwrap().as_str(), "USDTTRC20");
        let to: Vec<_> = ipn
            .to_values()
            .map(|v| (v.key().to_owned(), v.value().to_owned()))
            .collect();
        assert_eq!(to, [("wallet".to_owned(), TRON_WALLET.to_owned())]);
        let ts = ipn.timestamp_ms().unwrap();
        assert!(ts > last_ts, "timestamps strictly increase");
        assert!(ts > 1_600_000_000_000, "milliseconds");
        last_ts = ts;
    }
    // The sandbox recorded the same bodies, delivered with the receiver's answer.
    for (record, r) in records.iter().zip(&got) {
        assert_eq!(record.kind, IpnKind::Original);
        assert_eq!(record.body.as_bytes(), r.body.as_slice());
        assert_eq!(record.target, receiver.url());
        assert_eq!(
            record.outcome,
            DeliveryResult::Delivered {
                status: 200,
                body: "OK".to_owned()
            }
        );
    }
    let order = sb.order(uid).unwrap();
    let history: Vec<&str> = order.history.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(
        history,
        [
            "new",
            "waitPayment",
            "inProgress",
            "inProgressPayout",
            "done"
        ]
    );
    // The IPN timestamps are the history's.
    assert_eq!(order.history[4].at_ms, last_ts);
}

#[tokio::test]
async fn a_manual_route_waits_in_wait_payment_for_update_status() {
    let receiver = Receiver::start(SECRET).await;
    let sb = fast_sandbox(20).await;
    let body = with_ipn(
        json!({
            "routeId": CARDRUB_BTC,
            "amount": 1000,
            "fromValues": [{"key": CARD_FIELD, "value": "4111111111111111"}],
            "toValues": [{"key": "wallet", "value": BTC_WALLET}],
            "agreement": true,
        }),
        &receiver,
    );
    let data = create(&sb, body).await;
    let uid = uid_of(&data);
    sb.wait_for_status(uid, OrderStatus::WaitPayment, WAIT)
        .await
        .unwrap();
    // Several steps' worth of time later it still waits for the merchant.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(sb.order(uid).unwrap().status, OrderStatus::WaitPayment);
    assert_eq!(receiver.wait_for(1).await.len(), 1);

    let paid = call(
        &sb,
        UpdateStatus::PATH,
        &json!({"orderUID": uid.get(), "orderSecret": data["secret"], "status": "inProgress"}),
    )
    .await;
    assert_eq!(paid.data()["newStatus"], "inProgress");
    sb.wait_for_status(uid, OrderStatus::Done, WAIT)
        .await
        .unwrap();
    receiver.wait_for(4).await;
    assert_eq!(
        receiver.statuses(),
        ["waitPayment", "inProgress", "inProgressPayout", "done"]
    );
    let ipn = receiver.received()[3].verified().clone();
    assert_eq!(ipn.xml_from().unwrap().as_str(), "CARDRUB");
    assert_eq!(ipn.out_amount_raw(), "0.00016");
}

#[tokio::test]
async fn statuses_set_on_command_send_their_ipn_before_returning() {
    let receiver = Receiver::start(SECRET).await;
    let sb = manual_sandbox().await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        sb.order(uid).unwrap().status,
        OrderStatus::New,
        "a manual schedule never moves"
    );

    let t = sb.advance(uid).await.unwrap();
    assert_eq!(
        (t.from.clone(), t.to.clone()),
        (OrderStatus::New, OrderStatus::WaitPayment)
    );
    assert_eq!(t.ipns.len(), 1);
    assert!(t.ipns[0].delivered());
    assert_eq!(
        receiver.received().len(),
        1,
        "delivered when advance returned"
    );

    // An operator may set anything, even out of the lifecycle.
    let t = sb.set_status(uid, OrderStatus::Hold).await.unwrap();
    assert_eq!(t.from, OrderStatus::WaitPayment);
    assert!(sb.advance(uid).await.is_err(), "no next step from hold");
    sb.set_status(uid, OrderStatus::WaitPayment).await.unwrap();
    sb.advance(uid).await.unwrap();
    sb.advance(uid).await.unwrap();
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(t.to, OrderStatus::Done);
    assert!(matches!(
        sb.advance(uid).await,
        Err(smartex_sandbox::Error::NotAllowed { .. })
    ));
    assert_eq!(
        receiver.statuses(),
        [
            "waitPayment",
            "hold",
            "waitPayment",
            "inProgress",
            "inProgressPayout",
            "done"
        ]
    );
    assert!(matches!(
        sb.set_status(OrderUid::new(4242).unwrap(), OrderStatus::Done)
            .await,
        Err(smartex_sandbox::Error::UnknownOrder(4242))
    ));
}

#[tokio::test]
async fn a_command_resets_the_schedule() {
    let receiver = Receiver::start(SECRET).await;
    let sb = Sandbox::start(SandboxConfig::default().schedule(Schedule {
        wait_payment: Some(Duration::from_millis(10)),
        payment_detected: Some(Duration::from_secs(3600)),
        payout: Some(Duration::from_millis(10)),
        done: Some(Duration::from_millis(10)),
    }))
    .await
    .unwrap();
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.wait_for_status(uid, OrderStatus::WaitPayment, WAIT)
        .await
        .unwrap();
    // Payment detection would take an hour; a command moves on, and the
    // schedule continues from there.
    sb.set_status(uid, OrderStatus::InProgress).await.unwrap();
    sb.wait_for_status(uid, OrderStatus::Done, WAIT)
        .await
        .unwrap();
    receiver.wait_for(4).await;
    assert_eq!(
        receiver.statuses(),
        ["waitPayment", "inProgress", "inProgressPayout", "done"]
    );
    // The hour-long step was void; nothing else happens.
    sb.wait_ipns_settled(WAIT).await.unwrap();
    assert_eq!(sb.order(uid).unwrap().history.len(), 5);
}

#[tokio::test]
async fn a_dropped_ipn_never_arrives_and_the_next_one_does() {
    let receiver = Receiver::start(SECRET).await;
    let sb = manual_sandbox().await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.drop_next_ipn(uid);
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(t.ipns[0].outcome, DeliveryResult::Dropped);
    assert!(
        !t.ipns[0].body.is_empty(),
        "the lost body is kept for inspection"
    );
    assert!(receiver.received().is_empty());
    sb.advance(uid).await.unwrap();
    assert_eq!(receiver.statuses(), ["inProgress"]);
    // The order itself moved on: reconciliation (order/get) would see it.
    assert_eq!(sb.order(uid).unwrap().status, OrderStatus::InProgress);

    // All of an order's IPNs; other orders are not affected.
    let other = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.drop_all_ipns(uid);
    sb.advance(uid).await.unwrap();
    sb.advance(other).await.unwrap();
    sb.advance(uid).await.unwrap();
    assert_eq!(receiver.statuses(), ["inProgress", "waitPayment"]);
    let lost: Vec<_> = sb
        .ipns_for(uid)
        .iter()
        .filter(|r| r.outcome == DeliveryResult::Dropped)
        .map(|r| r.status.to_string())
        .collect();
    assert_eq!(lost, ["waitPayment", "inProgressPayout", "done"]);
}

#[tokio::test]
async fn a_delayed_ipn_arrives_after_later_ones() {
    let receiver = Receiver::start(SECRET).await;
    let sb = fast_sandbox(30).await;
    let body = btc_usdt(&receiver);
    // The rule is in place before the order exists: any order's next IPN.
    sb.inject_ipn_fault(
        None,
        IpnFault::Delay(Duration::from_millis(400)),
        Times::Once,
    );
    let uid = uid_of(&create(&sb, body).await);
    sb.wait_for_status(uid, OrderStatus::Done, WAIT)
        .await
        .unwrap();
    receiver.wait_for(4).await;
    assert_eq!(
        receiver.statuses(),
        ["inProgress", "inProgressPayout", "done", "waitPayment"]
    );
    for r in receiver.received() {
        r.verified();
    }
    // The receiver counts a request before it answers; the sandbox records the
    // answer after: wait for that.
    let records = sb.wait_ipns_settled(WAIT).await.unwrap();
    assert_eq!(records[0].delay, Some(Duration::from_millis(400)));
    assert!(records.iter().all(IpnRecordExt::ok));
}

trait IpnRecordExt {
    fn ok(&self) -> bool;
}

impl IpnRecordExt for smartex_sandbox::IpnRecord {
    fn ok(&self) -> bool {
        self.outcome.http_status() == Some(200)
    }
}

#[tokio::test]
async fn a_duplicated_ipn_arrives_twice_byte_for_byte() {
    let receiver = Receiver::start(SECRET).await;
    let sb = manual_sandbox().await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.advance(uid).await.unwrap();
    sb.duplicate_next_ipn(uid);
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(t.ipns.len(), 2);
    assert_eq!(t.ipns[0].kind, IpnKind::Original);
    assert_eq!(t.ipns[1].kind, IpnKind::Duplicate);
    assert!(t.ipns.iter().all(IpnRecordExt::ok));
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].body, got[2].body);
    assert_eq!(got[1].verified(), got[2].verified());
    assert_eq!(got[2].verified().status_raw(), "inProgress");
}

#[tokio::test]
async fn a_stale_wait_payment_arrives_after_done() {
    let receiver = Receiver::start(SECRET).await;
    let sb = manual_sandbox().await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    for _ in 0..4 {
        sb.advance(uid).await.unwrap();
    }
    assert!(matches!(
        sb.resend_stale_ipn(uid, OrderStatus::ErrorPayment).await,
        Err(smartex_sandbox::Error::NoSuchIpn { .. })
    ));
    let stale = sb
        .resend_stale_ipn(uid, OrderStatus::WaitPayment)
        .await
        .unwrap();
    assert_eq!(stale.kind, IpnKind::Stale);
    assert!(stale.ok());
    let got = receiver.received();
    assert_eq!(
        receiver.statuses(),
        [
            "waitPayment",
            "inProgress",
            "inProgressPayout",
            "done",
            "waitPayment"
        ]
    );
    assert_eq!(
        got[4].body, got[0].body,
        "the very same body, old timestamp and all"
    );
    assert!(
        got[4].verified().timestamp_ms().unwrap() < got[3].verified().timestamp_ms().unwrap(),
        "older than done"
    );
}

#[tokio::test]
async fn ipns_are_sent_once_whatever_the_answer() {
    let receiver = Receiver::with(SECRET, "hash", 500).await;
    let sb = manual_sandbox().await;
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(t.ipns[0].outcome.http_status(), Some(500));
    sb.wait_ipns_settled(WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.received().len(), 1, "no retry");
    assert_eq!(sb.sent_ipns().len(), 1);
}

#[tokio::test]
async fn undeliverable_ipns_are_recorded_not_retried() {
    let sb = manual_sandbox().await;
    // Nobody listens on this port any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut refused = eth_wmz(json!(2));
    refused["ipnUrl"] = json!(format!("http://{closed}/ipn"));
    refused["ipnSecret"] = json!(SECRET);
    let mut tls = refused.clone();
    tls["ipnUrl"] = json!("https://127.0.0.1/ipn");
    let mut unsigned = refused.clone();
    unsigned.as_object_mut().unwrap().remove("ipnSecret");
    let silent = eth_wmz(json!(2));

    let uids: Vec<OrderUid> = [
        create(&sb, refused).await,
        create(&sb, tls).await,
        create(&sb, unsigned).await,
        create(&sb, silent).await,
    ]
    .iter()
    .map(uid_of)
    .collect();
    let mut outcomes = Vec::new();
    for uid in &uids {
        let t = sb.advance(*uid).await.unwrap();
        outcomes.push(t.ipns.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>());
    }
    assert!(
        matches!(&outcomes[0][..], [DeliveryResult::Failed(e)] if e.contains("connect")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1][..], [DeliveryResult::NotSent(e)] if e.contains("http://")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[2][..], [DeliveryResult::NotSent(e)] if e.contains("ipnSecret")),
        "{outcomes:?}"
    );
    assert!(outcomes[3].is_empty(), "no ipnUrl, no IPN");
    assert_eq!(sb.sent_ipns().len(), 3);
}

#[tokio::test]
async fn the_checksum_field_name_is_configurable() {
    let receiver = Receiver::with(SECRET, "signature", 200).await;
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .checksum_field("signature"),
    )
    .await
    .unwrap();
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    sb.advance(uid).await.unwrap();
    let got = receiver.received();
    assert_eq!(got[0].verified().status_raw(), "waitPayment");
    let body = String::from_utf8(got[0].body.clone()).unwrap();
    assert!(
        body.contains("&signature=") && !body.contains("&hash="),
        "{body}"
    );
    // A receiver looking for `hash` finds no checksum.
    let default_format =
        smartex_core::ipn::UnverifiedIpn::parse_form(&got[0].body, &Default::default()).unwrap();
    assert!(!default_format.has_checksum());
}

#[tokio::test]
async fn a_create_answered_with_5xx_still_notifies() {
    let receiver = Receiver::start(SECRET).await;
    let sb = fast_sandbox(20).await;
    sb.fail_next_create(502);
    let answer = call(&sb, "public/exchanger/order/create", &btc_usdt(&receiver)).await;
    assert_eq!(answer.status, 502);
    // The client saw an error, yet the order lives and its IPNs come.
    receiver.wait_for(4).await;
    assert_eq!(
        receiver.statuses(),
        ["waitPayment", "inProgress", "inProgressPayout", "done"]
    );
    let uid = receiver.received()[0].verified().order_uid().unwrap();
    assert_eq!(sb.order(uid).unwrap().status, OrderStatus::Done);
}

#[tokio::test]
async fn waits_without_a_limit_do_not_overflow_the_clock() {
    let receiver = Receiver::start(SECRET).await;
    // Settling waits up to the deliveries' timeout plus a margin: with no
    // limit (Duration::MAX) the sum must saturate, not overflow.
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .ipn_timeout(Duration::MAX),
    )
    .await
    .unwrap();
    let uid = uid_of(&create(&sb, btc_usdt(&receiver)).await);
    let t = sb.advance(uid).await.unwrap();
    assert_eq!(t.to, OrderStatus::WaitPayment);
    assert!(t.ipns[0].delivered(), "{:?}", t.ipns[0].outcome);
    assert_eq!(
        sb.wait_for_status(uid, OrderStatus::WaitPayment, Duration::MAX)
            .await
            .unwrap()
            .status,
        OrderStatus::WaitPayment
    );
    assert_eq!(
        sb.wait_for_ipns(Some(uid), 1, Duration::MAX)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(sb.wait_ipns_settled(Duration::MAX).await.unwrap().len(), 1);
}

#[tokio::test]
async fn shutdown_and_drop_close_the_port() {
    let sb = manual_sandbox().await;
    let addr = sb.local_addr();
    call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .data();
    sb.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "shut down"
    );

    let sb = manual_sandbox().await;
    let addr = sb.local_addr();
    drop(sb);
    // Aborted tasks end at their next poll; give the runtime a moment.
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "dropped");
}

#[tokio::test]
async fn a_port_in_use_is_a_listen_error() {
    let sb = manual_sandbox().await;
    assert!(matches!(
        Sandbox::start(SandboxConfig::default().listen(sb.local_addr())).await,
        Err(smartex_sandbox::Error::Listen { .. })
    ));
}

#[tokio::test]
async fn a_bad_route_catalogue_is_refused_at_start() {
    let mut routes = smartex_sandbox::RouteSpec::default_catalogue();
    routes[0].to.fields[0].regex = Some("([unclosed".to_owned());
    let e = Sandbox::start(SandboxConfig::default().routes(routes))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, smartex_sandbox::Error::Config(m) if m.contains("bad regex")),
        "{e}"
    );
    let mut routes = smartex_sandbox::RouteSpec::default_catalogue();
    routes[1].id = "not-an-id".to_owned();
    assert!(
        Sandbox::start(SandboxConfig::default().routes(routes))
            .await
            .is_err()
    );
    let mut routes = smartex_sandbox::RouteSpec::default_catalogue();
    routes[2].rate_out = "0".to_owned();
    assert!(
        Sandbox::start(SandboxConfig::default().routes(routes))
            .await
            .is_err()
    );
    let twice = [
        smartex_sandbox::RouteSpec::default_catalogue(),
        smartex_sandbox::RouteSpec::default_catalogue(),
    ]
    .concat();
    assert!(
        Sandbox::start(SandboxConfig::default().routes(twice))
            .await
            .is_err()
    );
}
