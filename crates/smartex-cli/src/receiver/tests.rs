//! End to end over real loopback HTTP: the API client (reqwest) → the
//! sandbox → its IPNs → the merchant's receiver ([`IpnServer`]), for the
//! happy path and for each fault the platform can inflict.

// Tests assert by unwrapping and panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use smartex_core::request::CreateOrder;
use smartex_core::status::Decision;
use smartex_core::{IpnSecret, OrderStatus};
use smartex_http::{
    Client, ClientBuilder, CreateReply, ErrorKind, ReqwestTransport, RetryPolicy, WatchEnd,
    WatchOptions,
};
use smartex_sandbox::{DeliveryResult, IpnKind, IpnSpelling, Sandbox, SandboxConfig, Schedule};

use super::{Delivery, IpnServer, IpnServerOptions, Reception};
use crate::exit::Exit;

/// How long any wait in these tests may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);
/// The built-in manual-payment route CARDRUB → BTC, its card field, and a
/// BTC address.
const CARDRUB_BTC: &str = "5f1a0c9e8b3d4a0012a1b003";
const CARD_FIELD: &str = "5f1a0c9e8b3d4a0012a1d001";
const BTC_WALLET: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

/// The exchange, the merchant's endpoint and the merchant's API client.
struct World {
    sb: Sandbox,
    merchant: IpnServer,
    client: Client<ReqwestTransport>,
}

impl World {
    async fn start() -> World {
        // Each IPN in a Node client's spelling picked at random.
        let sb = Sandbox::start(
            SandboxConfig::default()
                .schedule(Schedule::manual())
                .ipn_spelling(IpnSpelling::Random),
        )
        .await
        .unwrap();
        let merchant =
            IpnServer::start("127.0.0.1:0".parse().unwrap(), IpnServerOptions::default())
                .await
                .unwrap();
        let transport = ReqwestTransport::builder().no_proxy().build().unwrap();
        let client = ClientBuilder::new(sb.site_url())
            .retry(RetryPolicy::none())
            .timeout(WAIT)
            .build_with(transport)
            .unwrap();
        World {
            sb,
            merchant,
            client,
        }
    }

    fn order_request(&self, secret: &IpnSecret) -> CreateOrder {
        CreateOrder::builder()
            .route_id(CARDRUB_BTC)
            .amount("5000")
            .agreement(true)
            .from_value(CARD_FIELD, "4111111111111111")
            .to_value("wallet", BTC_WALLET)
            .ipn_url(self.merchant.url())
            .ipn_secret(secret.expose())
            .build()
            .unwrap()
    }

    /// Creates a manual-payment order whose IPNs go to the merchant.
    async fn create(&self) -> CreateReply {
        let secret = IpnSecret::new("e2e-order-secret").unwrap();
        let created = self
            .client
            .create_order(&self.order_request(&secret))
            .await
            .unwrap();
        self.merchant.expect_order(created.id().as_str(), secret);
        created
    }

    /// waitPayment (exchange) → inProgress (merchant's update-status) →
    /// inProgressPayout → done (exchange), each IPN settled before the next.
    async fn run_to_done(&self, order: &CreateReply) {
        let uid = order.uid();
        self.sb.advance(uid).await.unwrap();
        self.client.mark_paid(uid, order.secret()).await.unwrap();
        self.settle().await;
        self.sb.advance(uid).await.unwrap();
        self.sb.advance(uid).await.unwrap();
        self.settle().await;
    }

    async fn settle(&self) {
        self.sb.wait_ipns_settled(WAIT).await.unwrap();
    }

    /// Reconciles as a merchant does: `watch_order` from the status the IPNs
    /// told, each change applied to the books.
    async fn reconcile(&self, order: &CreateReply) -> (Vec<(OrderStatus, Decision)>, WatchEnd) {
        let id = order.id();
        let mut options = WatchOptions::default()
            .deadline(WAIT)
            .intervals(Duration::from_millis(20), Duration::from_millis(100));
        if let Some(known) = self.merchant.known(id.as_str()) {
            options = options.known_status(known);
        }
        let mut watch = self
            .client
            .watch_order(order.uid(), order.secret(), options);
        let mut changes = Vec::new();
        while let Some(change) = watch.next().await {
            let change = change.unwrap();
            let books = self.merchant.reconcile(id.as_str(), &change.event);
            changes.push((change.status, books));
        }
        assert_eq!(
            watch.last_order().map(|o| o.status.clone()),
            Some(OrderStatus::Done)
        );
        (changes, watch.end())
    }
}

fn statuses(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| {
            d.reception
                .ipn()
                .map_or("?".into(), |i| i.status_raw().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn happy_path_every_ipn_verified_and_reconciliation_agrees() {
    let w = World::start().await;
    let order = w.create().await;
    assert_eq!(
        order.payment_page(),
        format!(
            "{}/en/payment/{}/{}",
            w.sb.site_url(),
            order.uid(),
            order.secret().expose()
        )
    );
    w.run_to_done(&order).await;

    let deliveries = w.merchant.wait_for(4, WAIT).await.unwrap();
    assert_eq!(
        statuses(&deliveries),
        ["waitPayment", "inProgress", "inProgressPayout", "done"]
    );
    for d in &deliveries {
        assert!(
            matches!(
                d.reception,
                Reception::Verified {
                    decision: Decision::Apply,
                    ..
                }
            ),
            "{d:?}"
        );
        assert_eq!(d.answer.status, 200);
    }
    // What the exchange recorded: each IPN once, each answered 200.
    let records = w.sb.ipns_for(order.uid());
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.outcome.http_status() == Some(200)));

    let id = order.id();
    assert_eq!(
        w.merchant.known(id.as_str()).map(|k| k.status),
        Some(OrderStatus::Done)
    );
    let (changes, end) = w.reconcile(&order).await;
    assert!(
        changes.is_empty(),
        "nothing the IPNs had not told: {changes:?}"
    );
    assert_eq!(end, WatchEnd::Final);
    assert_eq!(
        w.merchant.applied(id.as_str()),
        [
            OrderStatus::WaitPayment,
            OrderStatus::InProgress,
            OrderStatus::InProgressPayout,
            OrderStatus::Done
        ]
    );
}

#[tokio::test]
async fn a_lost_ipn_is_recovered_by_watch_order() {
    let w = World::start().await;
    let order = w.create().await;
    let uid = order.uid();
    w.sb.advance(uid).await.unwrap();
    w.client.mark_paid(uid, order.secret()).await.unwrap();
    w.settle().await;
    w.sb.advance(uid).await.unwrap();
    w.sb.drop_next_ipn(uid);
    w.sb.advance(uid).await.unwrap(); // done: its IPN is lost
    w.settle().await;

    let deliveries = w.merchant.deliveries();
    assert_eq!(
        statuses(&deliveries),
        ["waitPayment", "inProgress", "inProgressPayout"]
    );
    let lost = w.sb.ipns_for(uid).pop().unwrap();
    assert_eq!(
        (lost.status, lost.outcome),
        (OrderStatus::Done, DeliveryResult::Dropped)
    );
    let id = order.id();
    assert_eq!(
        w.merchant.known(id.as_str()).map(|k| k.status),
        Some(OrderStatus::InProgressPayout),
        "the books lag behind"
    );

    let (changes, end) = w.reconcile(&order).await;
    assert_eq!(changes, [(OrderStatus::Done, Decision::Apply)]);
    assert_eq!(end, WatchEnd::Final);
    assert_eq!(
        w.merchant.known(id.as_str()).map(|k| k.status),
        Some(OrderStatus::Done),
        "recovered"
    );
}

#[tokio::test]
async fn a_duplicate_is_answered_200_twice_and_processed_once() {
    let w = World::start().await;
    let order = w.create().await;
    let uid = order.uid();
    w.sb.duplicate_next_ipn(uid);
    let transition = w.sb.advance(uid).await.unwrap();
    assert_eq!(transition.ipns.len(), 2);
    assert_eq!(transition.ipns[1].kind, IpnKind::Duplicate);
    assert_eq!(
        transition.ipns[0].body, transition.ipns[1].body,
        "byte for byte"
    );
    // Both answered 200 ...
    for r in &transition.ipns {
        assert_eq!(r.outcome.http_status(), Some(200), "{r:?}");
    }
    let deliveries = w.merchant.wait_for(2, WAIT).await.unwrap();
    assert!(matches!(
        deliveries[0].reception,
        Reception::Verified {
            decision: Decision::Apply,
            ..
        }
    ));
    assert!(matches!(
        deliveries[1].reception,
        Reception::Replayed { .. }
    ));
    assert_eq!(deliveries[1].reception.outcome(), "replay");
    assert_eq!(deliveries[1].answer.body, "OK: duplicate");
    // ... processed once.
    assert_eq!(
        w.merchant.applied(order.id().as_str()),
        [OrderStatus::WaitPayment]
    );

    // And the rest of the flow is unaffected.
    w.client.mark_paid(uid, order.secret()).await.unwrap();
    w.settle().await;
    w.sb.advance(uid).await.unwrap();
    w.sb.advance(uid).await.unwrap();
    let (changes, _) = w.reconcile(&order).await;
    assert!(changes.is_empty());
    assert_eq!(w.merchant.applied(order.id().as_str()).len(), 4);
}

#[tokio::test]
async fn a_wait_payment_arriving_after_done_is_ignored_as_stale() {
    let w = World::start().await;
    let order = w.create().await;
    let uid = order.uid();
    w.sb.delay_next_ipn(uid, Duration::from_millis(600));
    // The exchange moves to waitPayment; its IPN is held back while the rest
    // of the flow runs to done.
    let late = w.sb.advance(uid);
    let rest = async {
        w.sb.wait_for_status(uid, OrderStatus::WaitPayment, WAIT)
            .await
            .unwrap();
        w.client.mark_paid(uid, order.secret()).await.unwrap();
        w.sb.wait_for_ipns(Some(uid), 1, WAIT).await.unwrap();
        w.sb.advance(uid).await.unwrap();
        w.sb.advance(uid).await.unwrap();
    };
    let (late, ()) = tokio::join!(late, rest);
    let late = late.unwrap();
    assert_eq!(late.ipns[0].delay, Some(Duration::from_millis(600)));
    w.settle().await;

    let deliveries = w.merchant.wait_for(4, WAIT).await.unwrap();
    assert_eq!(
        statuses(&deliveries),
        ["inProgress", "inProgressPayout", "done", "waitPayment"]
    );
    let last = deliveries.last().unwrap();
    assert!(
        matches!(
            last.reception,
            Reception::Verified {
                decision: Decision::Stale,
                ..
            }
        ),
        "{last:?}"
    );
    assert_eq!(
        (last.answer.status, last.answer.body),
        (200, "OK: stale, ignored")
    );
    let id = order.id();
    assert_eq!(
        w.merchant.known(id.as_str()).map(|k| k.status),
        Some(OrderStatus::Done),
        "a late waitPayment never overwrites done"
    );
    assert!(
        !w.merchant
            .applied(id.as_str())
            .contains(&OrderStatus::WaitPayment)
    );
}

#[tokio::test]
async fn a_stale_resend_is_stale_for_the_tracker_and_a_replay_for_the_guard() {
    let w = World::start().await;
    let order = w.create().await;
    let uid = order.uid();
    // The first waitPayment IPN is lost; its body is sent again after done.
    w.sb.drop_next_ipn(uid);
    w.run_to_done(&order).await;
    let record =
        w.sb.resend_stale_ipn(uid, OrderStatus::WaitPayment)
            .await
            .unwrap();
    assert_eq!(record.kind, IpnKind::Stale);
    assert_eq!(record.outcome.http_status(), Some(200));
    let deliveries = w.merchant.wait_for(4, WAIT).await.unwrap();
    let last = deliveries.last().unwrap();
    assert!(
        matches!(
            last.reception,
            Reception::Verified {
                decision: Decision::Stale,
                ..
            }
        ),
        "never seen, but older than done: {last:?}"
    );
    // Sent once more, byte for byte: now the replay guard knows it.
    w.sb.resend_stale_ipn(uid, OrderStatus::WaitPayment)
        .await
        .unwrap();
    let deliveries = w.merchant.wait_for(5, WAIT).await.unwrap();
    assert!(matches!(
        deliveries[4].reception,
        Reception::Replayed {
            decision_now: Decision::Stale,
            ..
        }
    ));
    // Reported as what it is: stale, not a duplicate.
    assert_eq!(deliveries[4].reception.outcome(), "stale");
    assert_eq!(
        (deliveries[4].answer.status, deliveries[4].answer.body),
        (200, "OK: stale, ignored")
    );
    assert_eq!(
        w.merchant.known(order.id().as_str()).map(|k| k.status),
        Some(OrderStatus::Done)
    );
}

#[tokio::test]
async fn a_5xx_after_create_is_ambiguous_and_the_order_exists() {
    for status in [500, 502, 504] {
        let w = World::start().await;
        w.sb.fail_next_create(status);
        let secret = IpnSecret::new("s").unwrap();
        let err = w
            .client
            .create_order(&w.order_request(&secret))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Ambiguous, "{status}: {err}");
        assert!(err.is_ambiguous() && !err.is_transient());
        assert_eq!(err.http_status(), Some(status));
        assert!(err.to_string().contains("the order may have been created"));
        assert_eq!(Exit::for_http(&err), Exit::Ambiguous);
        // It was created, once (never retried), and it notifies as usual.
        let orders = w.sb.orders();
        assert_eq!(orders.len(), 1);
        w.merchant.expect_order(orders[0].id.as_str(), secret);
        w.sb.advance(orders[0].uid).await.unwrap();
        let deliveries = w.merchant.wait_for(1, WAIT).await.unwrap();
        assert!(deliveries[0].reception.is_verified());
    }
}

#[tokio::test]
async fn forged_and_unknown_ipns_are_refused() {
    let w = World::start().await;
    let order = w.create().await;
    let now = crate::now_ms().to_string();
    let uid = order.uid().to_string();
    let body = |order_id: &str, secret: &str| {
        smartex_core::ipn::IpnBody {
            order_uid: &uid,
            signed: smartex_core::checksum::SignedFields {
                order_id,
                new_status: "done",
                in_amount: "5000",
                out_amount: "0.0008",
                xml_from: "CARDRUB",
                xml_to: "BTC",
                timestamp: &now,
            },
            to_values: &[],
        }
        .to_form(&IpnSecret::new(secret).unwrap(), "hash")
    };
    let http = ReqwestTransport::builder()
        .no_proxy()
        .build()
        .unwrap()
        .reqwest_client()
        .clone();
    let post = |body: String| {
        http.post(w.merchant.url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let forged = post(body(order.id().as_str(), "guessed")).await.unwrap();
    assert_eq!(forged.status(), 401);
    let unknown = post(body("5d8e6002b80b7b4cd75a6424", "e2e-order-secret"))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let deliveries = w.merchant.deliveries();
    assert!(deliveries.iter().all(|d| !d.reception.is_verified()));
    assert!(
        w.merchant.applied(order.id().as_str()).is_empty(),
        "nothing applied"
    );
}

#[tokio::test]
async fn the_receiver_refuses_what_is_not_an_ipn_over_http() {
    let w = World::start().await;
    let http = ReqwestTransport::builder()
        .no_proxy()
        .build()
        .unwrap()
        .reqwest_client()
        .clone();
    let get = http.get(w.merchant.url()).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    let json = http
        .post(w.merchant.url())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    let huge = http
        .post(w.merchant.url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let garbage = http
        .post(w.merchant.url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("orderUID=1")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let deliveries = w.merchant.wait_for(4, WAIT).await.unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.reception.outcome() == "refused")
    );
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.answer.status)
            .collect::<Vec<_>>(),
        [405, 415, 413, 400]
    );
}

#[tokio::test]
async fn the_receiver_keeps_a_bounded_ring_of_recent_deliveries() {
    let sb = Sandbox::start(SandboxConfig::default().schedule(Schedule::manual()))
        .await
        .unwrap();
    let merchant = IpnServer::start(
        "127.0.0.1:0".parse().unwrap(),
        IpnServerOptions::default().keep(2),
    )
    .await
    .unwrap();
    let client = ClientBuilder::new(sb.site_url())
        .retry(RetryPolicy::none())
        .timeout(WAIT)
        .build_with(ReqwestTransport::builder().no_proxy().build().unwrap())
        .unwrap();
    let w = World {
        sb,
        merchant,
        client,
    };
    let secret = IpnSecret::new("ring-secret").unwrap();
    let created = w
        .client
        .create_order(&w.order_request(&secret))
        .await
        .unwrap();
    w.merchant.expect_order(created.id().as_str(), secret);
    let uid = created.uid();
    w.sb.advance(uid).await.unwrap();
    w.client.mark_paid(uid, created.secret()).await.unwrap();
    w.settle().await;
    w.sb.advance(uid).await.unwrap();
    w.settle().await;
    let kept = w.merchant.wait_for(3, WAIT).await.unwrap();
    assert_eq!(w.merchant.delivery_count(), 3);
    let seqs: Vec<_> = kept.iter().map(|d| d.seq).collect();
    assert_eq!(seqs, [1, 2], "the oldest is forgotten");
    assert_eq!(statuses(&kept), ["inProgress", "inProgressPayout"]);
    let since: Vec<_> = w
        .merchant
        .deliveries_since(2)
        .iter()
        .map(|d| d.seq)
        .collect();
    assert_eq!(since, [2]);
    assert!(w.merchant.deliveries_since(3).is_empty());
    assert_eq!(w.merchant.deliveries_since(0).len(), 2);
}

#[path = "../../../smartex-core/tests/data/one_history.rs"]
mod one_history;

/// The scripted history every receive path must decide alike (the core's and
/// the store's suites replay the same file), posted over HTTP to the
/// receiver `ipn listen` runs: its books decide through the core's one rule,
/// never a copy of it.
#[tokio::test]
async fn one_history_decided_by_the_listener() {
    let merchant = IpnServer::start("127.0.0.1:0".parse().unwrap(), IpnServerOptions::default())
        .await
        .unwrap();
    let order_id = "5d8e6002b80b7b4cd75a6424";
    let secret = IpnSecret::new("one-history-secret").unwrap();
    merchant.expect_order(order_id, secret.clone());
    let http = ReqwestTransport::builder()
        .no_proxy()
        .build()
        .unwrap()
        .reqwest_client()
        .clone();
    // A second-aligned base a minute ago: inside the receiver's time window.
    let base = (crate::now_ms() - 60_000) / 1000 * 1000;
    for (i, step) in one_history::history().iter().enumerate() {
        let timestamp = one_history::timestamp(step, base);
        let body = smartex_core::ipn::IpnBody {
            order_uid: "104857",
            signed: smartex_core::checksum::SignedFields {
                order_id,
                new_status: step.status.as_str(),
                in_amount: "2",
                out_amount: "317.42",
                xml_from: "ETH",
                xml_to: "WMZ",
                timestamp: &timestamp,
            },
            to_values: &[],
        }
        .to_form(&secret, "hash");
        let answer = http
            .post(merchant.url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "step {i}: {}",
            answer.status()
        );
        let delivery = merchant.wait_for(i + 1, WAIT).await.unwrap().pop().unwrap();
        let Reception::Verified { decision, .. } = delivery.reception else {
            panic!("step {i}: {:?}", delivery.reception);
        };
        assert_eq!(decision, step.decision, "step {i}");
    }
    merchant.shutdown().await;
}
