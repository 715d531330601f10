//! The platform's error catalogue, anti-flood retries and lossless answers,
//! over real HTTP: against the sandbox (which answers with the platform's
//! codes) and against a test server for answers the sandbox never gives.

use std::time::{Duration, Instant};

use smartex_core::request::{CreateOrder, OrderViewKind};
use smartex_core::response::{ApiErrorKind, Warning};
use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderStatus, OrderUid};
use smartex_http::{ApiKeyAuth, Client, ClientBuilder, ErrorKind, ReqwestTransport, RetryPolicy};
use smartex_sandbox::{ApiFault, RouteSpec, Sandbox, SandboxConfig, Schedule, Times, codes};

use crate::server::{Action, TestServer};
use crate::{assert_no_secret, make_client, transport};

const ETH_WMZ: &str = "5f1a0c9e8b3d4a0012a1b002";
const CREATE: &str = "public/exchanger/order/create";
const GET: &str = "public/exchanger/order/get";

/// A sandbox whose ETH → WMZ route holds a reserve of 1000 WMZ (≈ 6.3 ETH).
async fn sandbox() -> Sandbox {
    let mut routes = RouteSpec::default_catalogue();
    for r in &mut routes {
        if r.id == ETH_WMZ {
            r.reserve = Some("1000".to_owned());
        }
    }
    Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .routes(routes),
    )
    .await
    .unwrap()
}

fn client(sb: &Sandbox, retry: RetryPolicy) -> Client<ReqwestTransport> {
    ClientBuilder::new(sb.site_url())
        .api_root(sb.api_root())
        .retry(retry)
        .build_with(transport())
        .unwrap()
}

fn order(amount: &str) -> CreateOrder {
    CreateOrder::builder()
        .route_id(ETH_WMZ)
        .amount(amount)
        .agreement(true)
        .to_value("wallet", "Z123456789012")
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_platform_refusals_are_typed() {
    let sb = sandbox().await;
    let client = client(&sb, RetryPolicy::none());
    for (amount, kind) in [
        ("0.001", ApiErrorKind::AmountBelowMinimum),
        ("101", ApiErrorKind::AmountAboveMaximum),
        ("10", ApiErrorKind::NotEnoughReserve),
    ] {
        let e = client.create_order(&order(amount)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api, "{e}");
        assert_eq!(e.api_kind(), Some(kind), "{e}");
        assert!(!e.is_ambiguous() && !e.is_transient(), "{e}");
    }
    sb.inject_api_fault(
        Some(CREATE),
        ApiFault::Refuse {
            code: codes::ROUTE_UNAVAILABLE,
            message: "Route is unavailable",
        },
        Times::Once,
    );
    let e = client.create_order(&order("1")).await.unwrap_err();
    assert_eq!(e.api_kind(), Some(ApiErrorKind::RouteUnavailable), "{e}");
    assert_eq!(e.code(), Some("6801545277215051"));
    assert!(sb.orders().is_empty(), "no refusal created an order");

    // An unknown API key: the platform's unauthorized code.
    let unknown = ClientBuilder::new(sb.site_url())
        .api_root(sb.api_root())
        .api_key(ApiKeyAuth::new(
            ApiKey::new("NOT-A-KEY").unwrap(),
            ApiSecret::new("0000").unwrap(),
        ))
        .build_with(transport())
        .unwrap();
    let e = unknown.create_order(&order("1")).await.unwrap_err();
    assert_eq!(e.api_kind(), Some(ApiErrorKind::Unauthorized), "{e}");
    assert_eq!(e.code(), Some("40301"));
}

#[tokio::test]
async fn a_read_waits_out_the_anti_flood_guard_and_succeeds() {
    let sb = sandbox().await;
    let client = client(
        &sb,
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        },
    );
    let created = client.create_order(&order("1")).await.unwrap();
    sb.inject_api_fault(
        Some(GET),
        ApiFault::AntiFlood {
            retry_after_secs: 1,
        },
        Times::Once,
    );
    let started = Instant::now();
    let view = client
        .get_order(created.uid(), created.secret(), OrderViewKind::Order)
        .await
        .unwrap();
    assert_eq!(view.order.uid, created.uid());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_wait_past_the_policy_is_returned_not_slept() {
    let sb = sandbox().await;
    let client = client(&sb, RetryPolicy::default());
    let created = client.create_order(&order("1")).await.unwrap();
    sb.inject_api_fault(
        Some(GET),
        ApiFault::AntiFlood {
            retry_after_secs: 60,
        },
        Times::Always,
    );
    let started = Instant::now();
    let e = client
        .get_order(created.uid(), created.secret(), OrderViewKind::Order)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(e.attempts(), 1);
    assert!(e.is_transient());
    insta::assert_snapshot!(e.to_string().replace(e.request_id().unwrap_or("-"), "<id>"), @"smartex public/exchanger/order/get: too many calls (the platform's anti-flood guard); HTTP 200; Too many requests. Try again in 60 seconds (code 5030000); retry after 60s; request id <id>");
}

#[tokio::test]
async fn create_order_is_never_retried_on_the_anti_flood_guard() {
    let sb = sandbox().await;
    let client = client(
        &sb,
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(10),
        },
    );
    sb.inject_api_fault(
        Some(CREATE),
        ApiFault::AntiFlood {
            retry_after_secs: 1,
        },
        Times::Once,
    );
    let e = client.create_order(&order("1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(e.attempts(), 1);
    assert!(!e.is_ambiguous());
    assert!(sb.orders().is_empty());
    // The fault struck once: the next create goes through.
    client.create_order(&order("1")).await.unwrap();
    assert_eq!(sb.orders().len(), 1);
}

#[tokio::test]
async fn update_status_answer_is_typed() {
    let sb = Sandbox::start(SandboxConfig::default().schedule(Schedule::manual()))
        .await
        .unwrap();
    let client = client(&sb, RetryPolicy::none());
    let created = client.create_order(&order("1")).await.unwrap();
    let update = client
        .update_status(
            created.uid(),
            created.secret(),
            OrderStatus::Deleted,
            Some(&OrderStatus::New),
        )
        .await
        .unwrap();
    assert!(update.ok);
    assert_eq!(update.old_status, Some(OrderStatus::New));
    assert_eq!(update.new_status, Some(OrderStatus::Deleted));
}

/// What a created order looks like when its uid and secret break the limits
/// this crate assumed, and its amounts have more digits than a float holds.
const LONG_SECRET: &str = "dGqwF2M2eBPaSN1G5ljMS1cbdGqwF2M2eBPaSN1G5ljMS1cbdGqwF2M2eBPaSN1G";

#[tokio::test]
async fn a_created_order_past_the_guessed_limits_is_a_success_with_warnings() {
    let server = TestServer::start(|req, _| {
        if req.path.contains("order/create") {
            Action::ok(&format!(
                r#"{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1234567890123,"secret":"{LONG_SECRET}",
                "inAmount":0.123456789012345678,"outAmount":19.591234567890123456789}}"#
            ))
        } else {
            Action::ok(
                r#"{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1234567890123,"status":"new",
                "inAmount":0.123456789012345678,"outAmount":"19.591234567890123456789"}}"#,
            )
        }
    })
    .await;
    let client = make_client(&server, |b| b.retry(RetryPolicy::none()));
    let created = client
        .create_order(
            &CreateOrder::builder()
                .route_id(ETH_WMZ)
                // What we send must be a number a double holds (the platform's
                // server would round it); what comes back may have more digits.
                .amount("0.1234567")
                .agreement(true)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.uid().get(), 1_234_567_890_123);
    assert_eq!(created.secret().expose(), LONG_SECRET);
    assert_eq!(
        created.warnings,
        [
            Warning::UidTooLong { digits: 13 },
            Warning::SecretTooLong { chars: 64 }
        ]
    );
    assert_eq!(
        created.in_amount.as_ref().unwrap().as_str(),
        "0.123456789012345678"
    );
    assert_eq!(
        created.out_amount.as_ref().unwrap().as_str(),
        "19.591234567890123456789"
    );
    assert!(created.payment_page().contains("/1234567890123/"));
    assert!(!format!("{created:?}").contains(LONG_SECRET));

    // And the order can be read back with them.
    let secret = OrderSecret::from_platform(LONG_SECRET).unwrap();
    let view = client
        .get_order(created.uid(), &secret, OrderViewKind::Order)
        .await
        .unwrap();
    assert_eq!(
        view.order.uid,
        OrderUid::parse_platform("uid", "1234567890123").unwrap()
    );
    assert_eq!(
        view.order.in_amount.unwrap().as_str(),
        "0.123456789012345678"
    );
    assert!(server.requests()[1].body_str().contains(LONG_SECRET));
}

#[tokio::test]
async fn platform_text_in_an_error_cannot_forge_a_log_line() {
    let server = TestServer::start(|_, _| {
        Action::json(
            200,
            r#"{"success":false,"error":{"message":"bad\nERROR forged\r","errorCode":"1\n","object":{"fieldId":"w\u001b[2J","type":"toValues\n"}},"requestId":"id\nforged"}"#,
        )
    })
    .await;
    let client = make_client(&server, |b| b.retry(RetryPolicy::none()));
    let e = client.create_order(&order("1")).await.unwrap_err();
    let shown = e.to_string();
    assert_no_secret(&shown);
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    insta::assert_snapshot!(shown, @r"smartex public/exchanger/order/create: the platform refused the call; HTTP 200; bad\nERROR forged\r (code 1\n); field `w\u{1b}[2J` in toValues\n; request id id\nforged");
}

/// The anti-flood answer under an HTTP 429: its envelope's wait is honoured
/// (not only the header's), and a wait past the policy is returned at once.
#[tokio::test]
async fn an_anti_flood_429_is_waited_out_as_its_envelope_asks() {
    const FLOOD: &str = r#"{"success":false,"error":{"message":"Too many requests. Try again in 1 seconds","errorCode":5030000}}"#;
    let server = TestServer::start(|_, i| {
        if i == 0 {
            Action::json(429, FLOOD)
        } else {
            Action::ok(r#"{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"status":"new"}}"#)
        }
    })
    .await;
    let client = make_client(&server, |b| {
        b.retry(RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(2),
        })
    });
    let secret = OrderSecret::new(crate::ORDER_SECRET).unwrap();
    let uid = OrderUid::new(1409).unwrap();
    let started = Instant::now();
    client
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);

    // With a policy that cannot wait a second: one request, the typed error.
    let server = TestServer::start(|_, _| Action::json(429, FLOOD)).await;
    let client = make_client(&server, |b| {
        b.retry(RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(100),
        })
    });
    let e = client
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(server.requests().len(), 1);
    // create_order: never retried, and not ambiguous (the guard refused it).
    let e = client.create_order(&order("1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(server.requests().len(), 2);
}

/// A success answer whose order cannot be typed (an `_id` that is no
/// ObjectId) is still ambiguous, but the error carries the order's uid and
/// secret: the order exists and can be found.
#[tokio::test]
async fn an_untypable_created_order_still_yields_its_uid_and_secret() {
    let server = TestServer::start(|_, _| {
        Action::ok(&format!(
            r#"{{"_id":"not-an-object-id","uid":1409,"secret":"{}"}}"#,
            crate::ORDER_SECRET
        ))
    })
    .await;
    let client = make_client(&server, |b| b.retry(RetryPolicy::none()));
    let e = client.create_order(&order("1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Ambiguous, "{e}");
    let found = e.created_order().unwrap();
    assert_eq!(found.uid, "1409");
    assert_eq!(found.secret.expose(), crate::ORDER_SECRET);
    assert_eq!(found.id.as_deref(), Some("not-an-object-id"));
    let shown = e.to_string();
    assert_no_secret(&shown);
    assert_no_secret(&format!("{e:?}"));
    assert!(shown.contains("created order uid 1409"), "{shown}");
}
