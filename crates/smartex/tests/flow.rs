//! The facade over real HTTP: the sandbox as the platform, an axum IPN
//! endpoint calling `handle_ipn`, and a real SQLite file as the store.
//!
//! The merchant and the sandbox share one `ManualClock` per test: leases,
//! retries and backoff are passed by moving it, never by sleeping. The only
//! waits left are for work in flight over HTTP (`eventually`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::post;
use smartex::core::request::CreateOrder;
use smartex::http::ReqwestTransport;
use smartex::ipn::IpnRequest;
use smartex::store::{DecisionKind, OrderKey, OrderStore, Source, SqliteStore, StoreOptions};
use smartex::{Error, MasterKey, Merchant, OutboxOptions, ReconcileOptions, Reference};
use smartex_core::OrderStatus;
use smartex_core::time::{Clock, ManualClock, UnixMillis};
use smartex_sandbox::{IpnSpelling, Sandbox, SandboxConfig, Schedule};

type Shop = Merchant<SqliteStore, ReqwestTransport>;

async fn ipn(State(m): State<Shop>, parts: Parts, body: Bytes) -> Response {
    let request = IpnRequest::from_http_parts(&parts, &body);
    m.handle_ipn(&request)
        .await
        .answer
        .to_http_response()
        .map(Body::from)
}

fn key() -> MasterKey {
    MasterKey::new("k1", [0x42; 32]).unwrap()
}

/// The reconciler's lease, and the outbox's.
const LEASE: Duration = Duration::from_millis(300);
/// The wait before an order's first poll.
const FIRST_POLL: Duration = Duration::from_millis(50);
/// The wait before a failed business step's change is offered again.
const RETRY_AFTER: Duration = Duration::from_millis(10);

/// A test's clock, shared by the sandbox and every merchant: it starts at
/// this machine's time (the IPN timestamp window is checked against it) and
/// moves only when the test says.
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UnixMillis::from(
        std::time::SystemTime::now(),
    )))
}

/// Moves `clock` forward by `d`.
fn advance(clock: &ManualClock, d: Duration) {
    clock.advance_ms(u64::try_from(d.as_millis()).unwrap());
}

/// Waits until `done` holds, for work in flight over real HTTP (a stalled
/// answer, a task in the background) — never for a lease, a retry or a
/// backoff, which the clock passes.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    for _ in 0..500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 5 s");
}

/// A merchant over the SQLite file `db`, its IPN endpoint served on `port`
/// (0: a new one), on `clock`. Returns the merchant and the port.
async fn merchant(sb: &Sandbox, clock: &Arc<ManualClock>, db: &Path, port: u16) -> (Shop, u16) {
    merchant_with(sb, clock, db, port, key(), None).await
}

/// As [`merchant`], with these master keys (current, previous).
async fn merchant_with(
    sb: &Sandbox,
    clock: &Arc<ManualClock>,
    db: &Path,
    port: u16,
    current: MasterKey,
    previous: Option<MasterKey>,
) -> (Shop, u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = SqliteStore::open(db, StoreOptions::default())
        .await
        .unwrap();
    let transport = ReqwestTransport::builder().no_proxy().build().unwrap();
    let ms = Duration::from_millis;
    let mut builder = Merchant::builder(sb.site_url(), store, current);
    if let Some(previous) = previous {
        builder = builder.previous_key(previous);
    }
    let m = builder
        .ipn_url(format!("http://127.0.0.1:{port}/ipn"))
        .clock(clock.clone())
        .reconcile(
            ReconcileOptions::default()
                .backoff(FIRST_POLL, ms(200))
                .pending_horizon(ms(30_000))
                .lease(LEASE)
                .clock_skew(ms(20)),
        )
        .outbox(
            OutboxOptions::default()
                .lease(LEASE)
                .retry_after(RETRY_AFTER)
                // A tokio timer between empty claims: the runner's polling
                // pace, not a lease or a retry.
                .idle_wait(ms(5)),
        )
        .client(|c| c.timeout(ms(1_000)))
        .build_with(transport)
        .unwrap();
    let app = axum::Router::new()
        .route("/ipn", post(ipn))
        .with_state(m.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (m, port)
}

async fn sandbox(clock: &Arc<ManualClock>) -> Sandbox {
    // Each IPN in a Node client's spelling picked at random: the facade must
    // take them all.
    Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .ipn_spelling(IpnSpelling::Random)
            .clock(clock.clone()),
    )
    .await
    .unwrap()
}

fn order(sb: &Sandbox) -> smartex::core::request::CreateOrderBuilder {
    let route = sb.route_by_xml("ETH", "WMZ").unwrap();
    CreateOrder::builder()
        .route_id(route.id)
        .amount("2")
        .agreement(true)
        .to_value("wallet", "Z123456789012")
}

/// The sandbox's order whose `ipnUrl` carries `reference`.
fn sandbox_uid(sb: &Sandbox, reference: &str) -> smartex_core::OrderUid {
    let suffix = format!("ref={reference}");
    let found: Vec<_> = sb
        .orders()
        .into_iter()
        .filter(|o| o.ipn_url.as_deref().is_some_and(|u| u.ends_with(&suffix)))
        .collect();
    assert_eq!(found.len(), 1, "one order on the sandbox for {reference}");
    found[0].uid
}

async fn stored(m: &Shop, reference: &str) -> smartex::store::OrderRecord {
    m.store()
        .order(OrderKey::Reference(&Reference::new(reference).unwrap()))
        .await
        .unwrap()
        .unwrap()
}

async fn stored_status(m: &Shop, reference: &str) -> Option<OrderStatus> {
    m.store()
        .order(OrderKey::Reference(&Reference::new(reference).unwrap()))
        .await
        .unwrap()
        .and_then(|r| r.known.map(|k| k.status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipn_that_outruns_the_create_response_is_applied_and_binds_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let reference = Reference::new("early-1").unwrap();

    // The create is processed, but its answer is held back for 600 ms …
    sb.stall_responses(Duration::from_millis(600), smartex_sandbox::Times::Once);
    let checkout = tokio::spawn({
        let m = m.clone();
        let order = order(&sb);
        let reference = reference.clone();
        async move { m.checkout(&reference, order).await }
    });
    // Once the platform has it …
    eventually("the create reached the sandbox", || {
        let found = sb.orders().iter().any(|o| {
            o.ipn_url
                .as_deref()
                .is_some_and(|u| u.ends_with("ref=early-1"))
        });
        async move { found }
    })
    .await;
    // … it sends waitPayment while its answer is still held back.
    let uid = sandbox_uid(&sb, "early-1");
    let transition = sb.advance(uid).await.unwrap();
    assert_eq!(transition.ipns[0].outcome.http_status(), Some(200));
    let record = stored(&m, "early-1").await;
    assert!(
        record.uid.is_none(),
        "the create response is not stored yet"
    );
    assert_eq!(record.order_id, Some(sb.order(uid).unwrap().id));
    assert_eq!(record.known.unwrap().status, OrderStatus::WaitPayment);

    // The create answer arrives and completes the same record.
    let checkout = checkout.await.unwrap().unwrap();
    assert_eq!(checkout.uid(), uid);
    let record = stored(&m, "early-1").await;
    assert_eq!(record.uid, Some(uid));
    assert!(record.order_secret.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_create_is_recovered_by_its_first_ipn() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let reference = Reference::new("ambiguous-1").unwrap();

    sb.fail_next_create(500);
    let err = m.checkout(&reference, order(&sb)).await.unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err:?}");
    let pending = stored(&m, "ambiguous-1").await;
    assert!(pending.order_id.is_none() && pending.known.is_none());
    // Checking out the same reference again is refused: the order may exist.
    let again = m.checkout(&reference, order(&sb)).await.unwrap_err();
    assert!(matches!(again, Error::ReferenceTaken(_)), "{again:?}");

    let uid = sandbox_uid(&sb, "ambiguous-1");
    let transition = sb.advance(uid).await.unwrap();
    assert_eq!(transition.ipns[0].outcome.http_status(), Some(200));
    let record = stored(&m, "ambiguous-1").await;
    assert_eq!(record.order_id, Some(sb.order(uid).unwrap().id));
    assert_eq!(record.known.unwrap().status, OrderStatus::WaitPayment);
    // Later IPNs find it by reference too.
    sb.advance(uid).await.unwrap();
    assert_eq!(
        stored_status(&m, "ambiguous-1").await,
        Some(OrderStatus::InProgress)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_ipn_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let reference = Reference::new("dup-1").unwrap();
    let c = m.checkout(&reference, order(&sb)).await.unwrap();
    sb.duplicate_next_ipn(c.uid());
    let transition = sb.advance(c.uid()).await.unwrap();
    let answers: Vec<_> = transition
        .ipns
        .iter()
        .map(|r| match &r.outcome {
            smartex_sandbox::DeliveryResult::Delivered { status, body } => (*status, body.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0], (200, "OK".to_owned()));
    assert_eq!(answers[1], (200, "OK: duplicate".to_owned()));
    let events = m
        .store()
        .events(OrderKey::Reference(&reference))
        .await
        .unwrap();
    let applied = events
        .iter()
        .filter(|e| e.decision == DecisionKind::Apply)
        .count();
    assert_eq!(applied, 1, "{events:?}");

    // A forged notification for the same reference (signed with a guess)
    // is refused before the store is consulted.
    let body = transition.ipns[0].body.replace("waitPayment", "done");
    let forged = IpnRequest::new("POST", body.as_bytes())
        .content_type("application/x-www-form-urlencoded")
        .query("ref=dup-1");
    assert_eq!(m.handle_ipn(&forged).await.answer.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_identical_resend_of_a_stale_ipn_is_answered_stale() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let reference = Reference::new("stale-1").unwrap();
    let c = m.checkout(&reference, order(&sb)).await.unwrap();
    // waitPayment's IPN is lost; the next status's IPN is applied.
    sb.drop_next_ipn(c.uid());
    sb.advance(c.uid()).await.unwrap();
    sb.advance(c.uid()).await.unwrap();
    sb.wait_ipns_settled(Duration::from_secs(5)).await.unwrap();
    // The lost one arrives late, then again, byte for byte: stale both times.
    for _ in 0..2 {
        let late = sb
            .resend_stale_ipn(c.uid(), OrderStatus::WaitPayment)
            .await
            .unwrap();
        match &late.outcome {
            smartex_sandbox::DeliveryResult::Delivered { status, body } => {
                assert_eq!((*status, body.as_str()), (200, "OK: stale, ignored"));
            }
            other => panic!("{other:?}"),
        }
    }
    let events = m
        .store()
        .events(OrderKey::Reference(&reference))
        .await
        .unwrap();
    let stale = events
        .iter()
        .filter(|e| e.decision == DecisionKind::Stale)
        .count();
    assert_eq!(stale, 1, "the resend writes nothing: {events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_merchant_reconciles_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let clock = clock();
    let sb = sandbox(&clock).await;
    let reference = Reference::new("restart-1").unwrap();
    let (first, _) = merchant(&sb, &clock, &db, 0).await;
    let c = first.checkout(&reference, order(&sb)).await.unwrap();
    drop(first); // the instance goes away; nothing runs its reconciler

    // Every IPN of the order is lost while it completes.
    sb.drop_all_ipns(c.uid());
    for _ in 0..4 {
        sb.advance(c.uid()).await.unwrap();
    }
    assert_eq!(sb.order(c.uid()).unwrap().status, OrderStatus::Done);

    // A new instance over the same file resumes from the store: not before
    // the order's first poll is due …
    let (second, _) = merchant(&sb, &clock, &db, 0).await;
    advance(&clock, FIRST_POLL - Duration::from_millis(1));
    assert_eq!(second.reconciler().run_once().await.unwrap().claimed, 0);
    // … and then at once.
    advance(&clock, Duration::from_millis(1));
    let report = second.reconciler().run_once().await.unwrap();
    assert_eq!((report.claimed, report.polled), (1, 1), "{report:?}");
    assert_eq!(report.applied, 1, "one poll applies the final status");
    assert_eq!(
        stored_status(&second, "restart-1").await,
        Some(OrderStatus::Done)
    );
    let events = second
        .store()
        .events(OrderKey::Reference(&reference))
        .await
        .unwrap();
    let applied: Vec<_> = events
        .iter()
        .filter(|e| e.decision == DecisionKind::Apply)
        .collect();
    assert_eq!(applied.len(), 1);
    assert!(matches!(applied[0].event.source, Source::Poll { .. }));
    // Final: never claimed again, however late (past any lease and backoff).
    advance(&clock, LEASE * 10);
    assert_eq!(second.reconciler().run_once().await.unwrap().claimed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_step_that_crashes_gets_the_change_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &db, 0).await;
    let c = m
        .checkout(&Reference::new("biz-1").unwrap(), order(&sb))
        .await
        .unwrap();
    sb.advance(c.uid()).await.unwrap();

    // The business step takes the change and "crashes": no ack.
    let items = m.outbox().claim().await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, OrderStatus::WaitPayment);
    // Under its lease, nobody else gets it, up to its last millisecond …
    assert!(m.outbox().claim().await.unwrap().is_empty());
    let (restarted, _) = merchant(&sb, &clock, &db, 0).await;
    advance(&clock, LEASE - Duration::from_millis(1));
    assert!(restarted.outbox().claim().await.unwrap().is_empty());
    // … after the lease, a restarted instance does.
    advance(&clock, Duration::from_millis(1));
    let again = restarted.outbox().claim().await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, items[0].id);
    assert!(restarted.outbox().ack(&again[0]).await.unwrap());
    // Acknowledged: never delivered again, not even after its lease.
    advance(&clock, LEASE * 2);
    assert!(restarted.outbox().claim().await.unwrap().is_empty());

    // A failed business step's change comes back after `retry_after`, not
    // before.
    sb.advance(c.uid()).await.unwrap();
    let failed = restarted.outbox().claim().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert!(restarted.outbox().retry(&failed[0]).await.unwrap());
    advance(&clock, RETRY_AFTER - Duration::from_millis(1));
    assert!(
        restarted.outbox().claim().await.unwrap().is_empty(),
        "too early"
    );
    advance(&clock, Duration::from_millis(1));

    // `run` acknowledges after the handler succeeds and retries after it
    // fails.
    let (seen, mut deliveries) = tokio::sync::mpsc::unbounded_channel();
    let outbox = restarted.outbox();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn(async move {
        let mut failed_once = false;
        outbox
            .run(
                move |item| {
                    let fail = !failed_once;
                    failed_once = true;
                    let _ = seen.send((item.id, fail));
                    async move { if fail { Err("crash") } else { Ok(()) } }
                },
                async {
                    let _ = stopped.await;
                },
            )
            .await;
    });
    let first = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, (failed[0].id, true), "the first delivery fails");
    // The runner gives it back in its own time: move the clock past each
    // retry time it may have set until the change comes again.
    let mut second = None;
    for _ in 0..250 {
        advance(&clock, RETRY_AFTER);
        let next = tokio::time::timeout(Duration::from_millis(20), deliveries.recv()).await;
        if let Ok(delivery) = next {
            second = delivery;
            break;
        }
    }
    assert_eq!(second, Some((first.0, false)), "the failed item came back");
    let _ = stop.send(());
    runner.await.unwrap();
    advance(&clock, LEASE * 2);
    assert!(
        restarted.outbox().claim().await.unwrap().is_empty(),
        "acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_created_without_a_reference_is_found_by_its_order_id() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, port) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    // Created the old way: a plain ipnUrl and a secret of the merchant's own.
    let secret = smartex_core::IpnSecret::new("my-own-secret").unwrap();
    let created = m
        .client()
        .create_order(
            &order(&sb)
                .ipn_url(format!("http://127.0.0.1:{port}/ipn"))
                .ipn_secret(secret.expose())
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let store = m.store();
    let reference = Reference::new("plain-1").unwrap();
    store
        .insert_order(smartex::store::PendingOrder {
            reference: reference.clone(),
            ipn_secret: smartex::store::IpnSecretSource::Stored(secret),
            created_at: smartex::ipn::now(),
            first_poll_at: None,
            asked_amount: None,
        })
        .await
        .unwrap();
    store
        .bind_order(
            &reference,
            smartex::store::OrderBinding {
                order_id: Some(created.id()),
                uid: Some(created.uid()),
                order_secret: Some(created.secret().clone()),
                expected: None,
            },
            smartex::ipn::now(),
        )
        .await
        .unwrap();
    let transition = sb.advance(created.uid()).await.unwrap();
    assert_eq!(transition.ipns[0].outcome.http_status(), Some(200));
    assert_eq!(
        stored_status(&m, "plain-1").await,
        Some(OrderStatus::WaitPayment)
    );

    // An order the store does not know: 404, nothing recorded.
    let other = m
        .client()
        .create_order(
            &order(&sb)
                .ipn_url(format!("http://127.0.0.1:{port}/ipn"))
                .ipn_secret("unknown")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let transition = sb.advance(other.uid()).await.unwrap();
    assert_eq!(transition.ipns[0].outcome.http_status(), Some(404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_key_rotation_orders_of_the_old_key_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (old, _) = merchant(&sb, &clock, &db, 0).await;
    let c = old
        .checkout(&Reference::new("rot-1").unwrap(), order(&sb))
        .await
        .unwrap();
    assert_eq!(
        stored(&old, "rot-1").await.ipn_secret,
        smartex::store::IpnSecretSource::Derived {
            key_id: "k1".to_owned()
        }
    );
    // The platform's next IPN (taken off the wire here) reaches an instance
    // restarted with a new current key and the old one kept.
    sb.drop_next_ipn(c.uid());
    sb.advance(c.uid()).await.unwrap();
    let body = sb.ipns_for(c.uid())[0].body.clone();
    let request = IpnRequest::new("POST", body.as_bytes())
        .content_type("application/x-www-form-urlencoded")
        .query("ref=rot-1");
    let k2 = MasterKey::new("k2", [0x43; 32]).unwrap();
    let (rotated, _) = merchant_with(&sb, &clock, &db, 0, k2.clone(), Some(key())).await;
    assert_eq!(rotated.handle_ipn(&request).await.answer.status, 200);
    assert_eq!(
        stored_status(&rotated, "rot-1").await,
        Some(OrderStatus::WaitPayment)
    );
    // New orders use the new key.
    rotated
        .checkout(&Reference::new("rot-2").unwrap(), order(&sb))
        .await
        .unwrap();
    assert_eq!(
        stored(&rotated, "rot-2").await.ipn_secret,
        smartex::store::IpnSecretSource::Derived {
            key_id: "k2".to_owned()
        }
    );
    // Without the old key, the old order's IPNs no longer verify.
    let (only_new, _) = merchant_with(&sb, &clock, &db, 0, k2, None).await;
    assert_eq!(only_new.handle_ipn(&request).await.answer.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_notification_delivered_to_two_instances_at_once_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (a, _) = merchant(&sb, &clock, &db, 0).await;
    let (b, _) = merchant(&sb, &clock, &db, 0).await;
    for i in 0..8 {
        let reference = Reference::new(format!("race-{i}")).unwrap();
        let c = a.checkout(&reference, order(&sb)).await.unwrap();
        sb.advance(c.uid()).await.unwrap(); // waitPayment, through a
        let sent = sb.advance(c.uid()).await.unwrap(); // inProgress, through a
        let body = sent.ipns[0].body.clone();
        let query = format!("ref={reference}");
        let deliver = |m: Shop| {
            let body = body.clone();
            let query = query.clone();
            tokio::spawn(async move {
                let request = IpnRequest::new("POST", body.as_bytes())
                    .content_type("application/x-www-form-urlencoded")
                    .query(&query);
                m.handle_ipn(&request).await.answer
            })
        };
        let (x, y) = (deliver(a.clone()), deliver(b.clone()));
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        assert!(x.is_success() && y.is_success(), "{x:?} {y:?}");
        let events = a
            .store()
            .events(OrderKey::Reference(&reference))
            .await
            .unwrap();
        let applied = events
            .iter()
            .filter(|e| e.decision == DecisionKind::Apply)
            .count();
        assert_eq!(
            applied, 2,
            "waitPayment and inProgress, once each: {events:?}"
        );
    }
}

/// A checkout whose caller goes away while `order/create` is in flight (a web
/// framework drops the handler when its client disconnects) still stores the
/// created order's uid and secret: the reconciler can poll it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_dropped_mid_call_still_records_the_created_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let reference = Reference::new("dropped-1").unwrap();
    // The create is processed; its answer is held back for 400 ms, and the
    // caller gives up after 100.
    sb.stall_responses(Duration::from_millis(400), smartex_sandbox::Times::Once);
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        m.checkout(&reference, order(&sb)),
    )
    .await;
    assert!(gave_up.is_err(), "the caller was dropped mid-call");
    // The answer arrives 300 ms later; the task left behind binds it.
    eventually("the created order was bound", || {
        let m = m.clone();
        async move { stored(&m, "dropped-1").await.uid.is_some() }
    })
    .await;
    let uid = sandbox_uid(&sb, "dropped-1");
    let record = stored(&m, "dropped-1").await;
    assert_eq!(record.uid.map(|u| u.get()), Some(uid.get()), "uid stored");
    assert!(record.order_secret.is_some(), "secret stored");
}

/// Paid means paid, end to end: the customer's own "I have paid"
/// (`inProgress`) reaches the business step as a claim, not a payment; an
/// underpaid `done` reaches it received, but with its signed amount and the
/// check `Less` against the quote — never as paid in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_business_step_sees_claims_and_underpayments_for_what_they_are() {
    use smartex::core::amounts::AmountCheck;
    use smartex::core::status::PaymentView;
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let reference = Reference::new("paid-1").unwrap();
    let c = m.checkout(&reference, order(&sb)).await.unwrap();
    let quoted = sb.order(c.uid()).unwrap().in_amount;
    sb.advance(c.uid()).await.unwrap(); // waitPayment
    sb.customer_claims_paid(c.uid()).await.unwrap(); // inProgress, by the customer
    // The customer paid less than the quote; the platform pays out all the same.
    sb.set_paid_amount(c.uid(), "0.00000001").unwrap();
    sb.set_status(c.uid(), OrderStatus::InProgressPayout)
        .await
        .unwrap();
    sb.set_status(c.uid(), OrderStatus::Done).await.unwrap();
    let outbox = m.outbox();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let items = outbox.claim().await.unwrap();
        assert!(!items.is_empty(), "outbox ran dry after {seen:?}");
        for item in items {
            outbox.ack(&item).await.unwrap();
            seen.push((
                item.status.clone(),
                item.current,
                item.payment(),
                item.amount_check(),
                item.amounts.in_amount.clone(),
            ));
        }
    }
    let by_status = |s: OrderStatus| seen.iter().find(|x| x.0 == s).cloned().unwrap();
    let claimed = by_status(OrderStatus::InProgress);
    assert_eq!(claimed.2, PaymentView::ClaimedByCustomer, "{seen:?}");
    assert!(!claimed.2.is_received());
    let done = by_status(OrderStatus::Done);
    assert!(done.1, "current");
    assert_eq!(done.2, PaymentView::Received);
    assert_eq!(done.3, AmountCheck::Less, "{seen:?} (quoted {quoted})");
    assert!(!done.3.is_paid_in_full());
    assert_eq!(
        done.4.as_deref(),
        Some("0.00000001"),
        "the signed amount, exactly"
    );
}

/// A sender that disconnects while the store is busy loses nothing: the
/// verified notification's store work runs in a task of its own, so the
/// dropped handler future (what hyper and axum do when the client goes away)
/// does not cancel it, and the change is applied once the store answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_disconnects_while_the_store_is_busy_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &db, 0).await;
    let reference = Reference::new("busy-1").unwrap();
    let c = m.checkout(&reference, order(&sb)).await.unwrap();
    let ipn = undelivered_ipn(&sb, c.uid()).await;
    let request = as_request(&ipn);
    // Another writer holds the database's write lock.
    let mut lock = write_lock(&db).await;
    // The sender gives up after 300 ms: its request future is dropped.
    let gave_up = tokio::time::timeout(Duration::from_millis(300), m.handle_ipn(&request)).await;
    assert!(gave_up.is_err(), "the store was locked: {gave_up:?}");
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    eventually(
        "the verified change applied after the sender left",
        || async { stored_status(&m, "busy-1").await == Some(OrderStatus::WaitPayment) },
    )
    .await;
}

/// A business step that panics is one failed delivery, counted, never the end
/// of the outbox: the other orders' changes are delivered and the panicking
/// one comes back later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_business_step_is_counted_and_the_outbox_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let bad = Reference::new("panics-1").unwrap();
    let good = Reference::new("fine-1").unwrap();
    for reference in [&bad, &good] {
        let c = m.checkout(reference, order(&sb)).await.unwrap();
        sb.advance(c.uid()).await.unwrap();
    }
    let delivered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&delivered);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let outbox = m.outbox();
    let run = tokio::spawn(async move {
        outbox
            .run(
                move |item: smartex::OutboxItem| {
                    let seen = std::sync::Arc::clone(&seen);
                    async move {
                        if item.reference.as_str() == "panics-1" {
                            panic!("the merchant's bug");
                        }
                        seen.lock()
                            .unwrap()
                            .push(item.reference.as_str().to_owned());
                        Ok::<(), std::io::Error>(())
                    }
                },
                async {
                    let _ = stopped.await;
                },
            )
            .await;
    });
    eventually("the healthy order's change delivered", || async {
        delivered.lock().unwrap().iter().any(|r| r == "fine-1")
    })
    .await;
    eventually("the panic counted", || async {
        m.failures().business_step_panics >= 1
    })
    .await;
    let _ = stop.send(());
    run.await
        .expect("the outbox stopped on its shutdown, not on the panic");
    assert_eq!(m.failures().business_steps, 0);
}

/// Plain `http://` is refused for the site, the API root and the `ipnUrl`
/// unless the host is a loopback one or the named opt-in says so: an
/// `order/create` carries the order's IPN secret (issue 18: it went out in
/// clear text).
#[tokio::test]
async fn plain_http_is_refused_unless_loopback_or_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db"), StoreOptions::default())
        .await
        .unwrap();
    let build = |site: &str, ipn: &str, allow: bool| {
        Merchant::builder(site, store.clone(), key())
            .ipn_url(ipn)
            .danger_allow_plain_http(allow)
            .build()
            .map(|_| ())
    };
    assert!(
        build(
            "https://www.smartexpay.com",
            "https://shop.example/ipn",
            false
        )
        .is_ok()
    );
    assert!(build("http://127.0.0.1:8080", "http://localhost:9/ipn", false).is_ok());
    let ipn = build(
        "https://www.smartexpay.com",
        "http://shop.example/ipn",
        false,
    )
    .unwrap_err();
    assert!(ipn.to_string().contains("ipnUrl"), "{ipn}");
    let site = build(
        "http://www.smartexpay.com",
        "https://shop.example/ipn",
        false,
    )
    .unwrap_err();
    assert!(site.to_string().contains("site"), "{site}");
    assert!(build("http://www.smartexpay.com", "http://shop.example/ipn", true).is_ok());
}

/// An operator's move the lifecycle does not expect (a done order returned:
/// a refund by hand) is held for review; a person accepts it and the
/// business step gets it like any applied change, with who decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_change_accepted_by_a_person_reaches_the_business_step() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, _) = merchant(&sb, &clock, &dir.path().join("shop.db"), 0).await;
    let c = m
        .checkout(&Reference::new("held-1").unwrap(), order(&sb))
        .await
        .unwrap();
    for status in [
        OrderStatus::WaitPayment,
        OrderStatus::InProgressPayout,
        OrderStatus::Done,
    ] {
        sb.set_status(c.uid(), status).await.unwrap();
    }
    let outbox = m.outbox();
    let mut delivered = Vec::new();
    while delivered.len() < 3 {
        let items = outbox.claim().await.unwrap();
        assert!(!items.is_empty(), "outbox ran dry after {delivered:?}");
        for item in items {
            outbox.ack(&item).await.unwrap();
            delivered.push(item.status.clone());
        }
    }
    assert!(m.held(10).await.unwrap().is_empty());
    // The operator returns the paid order: a final status changing, held.
    sb.set_status(c.uid(), OrderStatus::Returned).await.unwrap();
    eventually("the returned order's IPN is held", || async {
        !m.held(10).await.unwrap().is_empty()
    })
    .await;
    let held = m.held(10).await.unwrap();
    assert_eq!(held.len(), 1);
    let change = &held[0];
    assert_eq!(change.event.reference.as_str(), "held-1");
    assert_eq!(change.event.event.status, OrderStatus::Returned);
    assert_eq!(change.event.decision, DecisionKind::Unexpected);
    assert!(change.event.reason.is_some());
    assert!(
        change.event.amounts.in_amount.is_some(),
        "signed amounts kept"
    );
    assert_eq!(
        change.current.as_ref().map(|k| &k.status),
        Some(&OrderStatus::Done)
    );
    assert_eq!(change.stale(), None);
    assert!(
        outbox.claim().await.unwrap().is_empty(),
        "held: not delivered"
    );

    advance(&clock, Duration::from_millis(500));
    let decided_at = clock.now();
    let resolved = m.accept_held(change.event.id, "ops:alice").await.unwrap();
    assert_eq!(
        stored_status(&m, "held-1").await,
        Some(OrderStatus::Returned)
    );
    assert_eq!(resolved.order, stored(&m, "held-1").await);
    let items = outbox.claim().await.unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(Some(item.id), resolved.outbox_id);
    assert_eq!(
        (item.previous.clone(), item.status.clone()),
        (Some(OrderStatus::Done), OrderStatus::Returned)
    );
    assert!(item.current);
    assert_eq!(item.decided_by.as_deref(), Some("ops:alice"));
    assert_eq!(item.amounts, change.event.amounts);
    assert!(outbox.ack(item).await.unwrap());
    // The event log says who decided, and when; a second decision is refused.
    let log = m
        .store()
        .events(OrderKey::Reference(&Reference::new("held-1").unwrap()))
        .await
        .unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.decision, DecisionKind::Accepted);
    let resolution = last.resolution.as_ref().unwrap();
    assert_eq!(
        (resolution.resolves, resolution.by.as_str(), resolution.at),
        (change.event.id, "ops:alice", decided_at)
    );
    assert!(matches!(
        m.dismiss_held(change.event.id, "ops:bob").await,
        Err(Error::Store(smartex::store::Error::AlreadyResolved {
            decision: DecisionKind::Accepted,
            ..
        }))
    ));
    assert!(m.held(10).await.unwrap().is_empty());
}

/// Past `ipn_store_deadline` the answer is a truthful 500 — before the
/// sender's own timeout turns it into silence — while the change is still
/// applied once the store answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_store_deadline_the_answer_is_500_and_the_change_still_lands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let clock = clock();
    let sb = sandbox(&clock).await;
    let (m, port) = merchant(&sb, &clock, &db, 0).await;
    // A second instance on the same file, with a short deadline.
    let hurried = Merchant::builder(
        sb.site_url(),
        SqliteStore::open(&db, StoreOptions::default())
            .await
            .unwrap(),
        key(),
    )
    .ipn_url(format!("http://127.0.0.1:{port}/ipn"))
    .clock(clock.clone())
    .ipn_store_deadline(Duration::from_millis(200))
    .build_with(ReqwestTransport::builder().no_proxy().build().unwrap())
    .unwrap();
    let reference = Reference::new("late-1").unwrap();
    let c = m.checkout(&reference, order(&sb)).await.unwrap();
    let ipn = undelivered_ipn(&sb, c.uid()).await;
    let request = as_request(&ipn);
    let mut lock = write_lock(&db).await;
    let outcome = hurried.handle_ipn(&request).await;
    assert_eq!(outcome.answer.status, 500, "{outcome:?}");
    assert!(
        matches!(outcome.handled, smartex::Handled::StoreTimedOut { .. }),
        "{outcome:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    eventually("the change applied after the 500", || async {
        stored_status(&m, "late-1").await == Some(OrderStatus::WaitPayment)
    })
    .await;
}

/// The next IPN of order `uid`, signed but not delivered: for a test to
/// deliver it by hand.
async fn undelivered_ipn(sb: &Sandbox, uid: smartex_core::OrderUid) -> smartex_sandbox::IpnRecord {
    sb.drop_next_ipn(uid);
    sb.advance(uid).await.unwrap().ipns.remove(0)
}

/// `ipn` as the request its `ipnUrl` receives.
fn as_request(ipn: &smartex_sandbox::IpnRecord) -> IpnRequest<'_> {
    let query = ipn.target.split_once('?').map_or("", |(_, q)| q);
    IpnRequest::new("POST", ipn.body.as_bytes())
        .content_type("application/x-www-form-urlencoded")
        .query(query)
}

/// Another writer holding the SQLite file's write lock until `ROLLBACK`.
async fn write_lock(db: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    let mut lock = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut lock)
        .await
        .unwrap();
    lock
}
