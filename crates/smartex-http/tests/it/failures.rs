//! Failure behaviour: retries (and their absence), timeouts, the size cap, and
//! the typed error of each kind of bad answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use smartex_core::request::{CreateOrder, OrderViewKind};
use smartex_core::{OrderSecret, OrderStatus, OrderUid};
use smartex_http::transport::{
    HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};
use smartex_http::{Client, ClientBuilder, Error, ErrorKind, ReqwestTransport, RetryPolicy};

use crate::server::{Action, TestServer, platform};
use crate::{IPN_SECRET, ORDER_SECRET, assert_no_secret, make_client};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

fn order() -> CreateOrder {
    CreateOrder::builder()
        .route_id("5d8e6002b80b7b4cd75a6424")
        .amount("2")
        .agreement(true)
        .to_value("wallet", "Z123456789012")
        .ipn_url("https://shop.example/ipn")
        .ipn_secret(IPN_SECRET)
        .build()
        .unwrap()
}

async fn get(
    client: &Client<ReqwestTransport>,
) -> Result<smartex_core::response::OrderView, Error> {
    let secret = OrderSecret::new(ORDER_SECRET).unwrap();
    client
        .get_order(OrderUid::new(1409).unwrap(), &secret, OrderViewKind::Order)
        .await
}

/// Checks the error's text and debug output hold no secret, and returns the text.
fn text(e: &Error) -> String {
    let text = format!("{e}");
    assert_no_secret(&text);
    assert_no_secret(&format!("{e:?}"));
    text
}

const BAD_GATEWAY: &str =
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";

#[tokio::test]
async fn reads_are_retried_on_502_and_succeed() {
    let server = TestServer::start(|req, i| {
        if i < 2 {
            Action::html(502, BAD_GATEWAY)
        } else {
            platform(req, i)
        }
    })
    .await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let view = get(&client).await.unwrap();
    assert_eq!(view.order.uid.get(), 1409);
    assert_eq!(server.count(), 3, "two retries");
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = TestServer::start(|_, _| Action::html(502, BAD_GATEWAY)).await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = get(&client).await.unwrap_err();
    assert_eq!(server.count(), 3, "first attempt + max_retries");
    assert_eq!(err.kind(), ErrorKind::HttpStatus);
    assert_eq!(err.http_status(), Some(502));
    assert_eq!(err.attempts(), 3);
    assert!(err.excerpt().unwrap().starts_with("<html><head><title>502"));
    assert!(err.is_transient());
    assert!(text(&err).contains("HTTP 502"));

    let server = TestServer::start(|_, _| Action::html(502, BAD_GATEWAY)).await;
    let client = make_client(&server, |b| b.retry(RetryPolicy::none()));
    get(&client).await.unwrap_err();
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn reads_are_retried_on_429_503_504_but_not_500() {
    for (status, retried) in [
        (429, true),
        (503, true),
        (504, true),
        (500, false),
        (404, false),
    ] {
        let server = TestServer::start(move |req, i| {
            if i == 0 {
                Action::Respond {
                    status,
                    content_type: "text/plain",
                    body: b"slow down".to_vec(),
                    headers: vec![("retry-after", "0".to_owned())],
                }
            } else {
                platform(req, i)
            }
        })
        .await;
        let client = make_client(&server, |b| b.retry(fast_retries()));
        let result = get(&client).await;
        assert_eq!(result.is_ok(), retried, "status {status}");
        assert_eq!(
            server.count(),
            if retried { 2 } else { 1 },
            "status {status}"
        );
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::HttpStatus);
            assert_eq!(e.http_status(), Some(status));
        }
    }
}

#[tokio::test]
async fn reads_are_retried_on_connection_reset() {
    let server = TestServer::start(|req, i| {
        if i == 0 {
            Action::Reset
        } else {
            platform(req, i)
        }
    })
    .await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    get(&client).await.unwrap();
    assert_eq!(server.count(), 2);

    let server = TestServer::start(|_, _| Action::Reset).await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = get(&client).await.unwrap_err();
    assert_eq!(server.count(), 3);
    assert_eq!(err.kind(), ErrorKind::Transport);
    text(&err);
}

#[tokio::test]
async fn create_order_is_never_retried_and_a_gateway_error_is_ambiguous() {
    let server = TestServer::start(|_, _| Action::html(502, BAD_GATEWAY)).await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = client.create_order(&order()).await.unwrap_err();
    assert_eq!(server.count(), 1, "never retried");
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(err.is_ambiguous() && !err.is_transient());
    assert_eq!(err.http_status(), Some(502));
    assert!(
        text(&err).contains("the order may have been created"),
        "{err}"
    );

    // Any other server error may come after the order was made: ambiguous too.
    for status in [500, 504, 520] {
        let server = TestServer::start(move |_, _| Action::html(status, "<html>oops</html>")).await;
        let client = make_client(&server, |b| b.retry(fast_retries()));
        let err = client.create_order(&order()).await.unwrap_err();
        assert_eq!(server.count(), 1, "never retried");
        assert_eq!(err.kind(), ErrorKind::Ambiguous, "{status}");
    }
    // A refusal envelope that comes with a server error (an error handler
    // answering after the work was done) proves nothing either — even one
    // that looks like a stale-nonce refusal is not retried.
    for status in [500, 502] {
        let server = TestServer::start(move |_, _| {
            Action::json(
                status,
                r#"{"success":false,"error":{"errorCode":40301,"message":"Param time must be greater than in the previous request with this key"}}"#,
            )
        })
        .await;
        let client = make_client(&server, |b| b.retry(fast_retries()));
        let err = client.create_order(&order()).await.unwrap_err();
        assert_eq!(server.count(), 1, "never retried");
        assert_eq!(err.kind(), ErrorKind::Ambiguous, "{status}: {err}");
        assert!(err.api().is_some(), "the platform's error is kept");
    }
    // A success status whose body is not the envelope: the order was probably
    // made and its answer lost.
    let server = TestServer::start(|_, _| Action::html(200, "<html>proxy page</html>")).await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = client.create_order(&order()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);

    // 503 and 429 say the request was not taken: not ambiguous, still not retried.
    for status in [503, 429] {
        let server = TestServer::start(move |_, _| Action::html(status, "busy")).await;
        let client = make_client(&server, |b| b.retry(fast_retries()));
        let err = client.create_order(&order()).await.unwrap_err();
        assert_eq!(server.count(), 1);
        assert_eq!(err.kind(), ErrorKind::HttpStatus);
    }
}

#[tokio::test]
async fn create_order_after_a_reset_is_ambiguous() {
    let server = TestServer::start(|_, _| Action::Reset).await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = client.create_order(&order()).await.unwrap_err();
    assert_eq!(server.count(), 1, "never retried");
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(
        text(&err).contains("ambiguous — the order may have been created"),
        "{err}"
    );
}

#[tokio::test]
async fn refused_connections_are_retried_for_reads_only_and_never_ambiguous() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let site = format!("http://127.0.0.1:{port}");
    let attempts = Arc::new(AtomicUsize::new(0));
    let counting = Counting {
        inner: crate::transport(),
        attempts: attempts.clone(),
    };
    let client = ClientBuilder::new(&site)
        .retry(fast_retries())
        .build_with(counting)
        .unwrap();
    let secret = OrderSecret::new(ORDER_SECRET).unwrap();
    let err = client
        .get_order(OrderUid::new(1409).unwrap(), &secret, OrderViewKind::Order)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert_eq!(err.attempts(), 3);
    assert_eq!(attempts.swap(0, Ordering::SeqCst), 3);
    let err = client.create_order(&order()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Connect,
        "not sent, so not ambiguous: {err}"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "never retried");
    text(&err);
}

/// Middleware: counts attempts, then uses the real transport.
struct Counting<T> {
    inner: T,
    attempts: Arc<AtomicUsize>,
}

impl<T: Transport> Transport for Counting<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request).await
    }
}

#[tokio::test]
async fn timeouts_are_honoured_against_a_stalling_server() {
    let server = TestServer::start(|_, _| Action::Stall).await;
    let client = make_client(&server, |b| {
        b.timeout(Duration::from_millis(300)).retry(fast_retries())
    });

    let started = Instant::now();
    let err = get(&client).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(server.count(), 1, "a timeout is not retried");

    let started = Instant::now();
    let err = client.create_order(&order()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    assert!(
        text(&err).contains("ambiguous — the order may have been created"),
        "{err}"
    );
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn the_transport_connect_timeout_and_its_own_timeout() {
    // The transport's own whole-request timeout, when shorter than the client's,
    // is classified too.
    let server = TestServer::start(|_, _| Action::Stall).await;
    let transport = ReqwestTransport::builder()
        .no_proxy()
        .timeout(Some(Duration::from_millis(200)))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let client = ClientBuilder::new(&server.site())
        .retry(fast_retries())
        .build_with(transport)
        .unwrap();
    let err = client.create_order(&order()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    let source = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<TransportError>())
        .unwrap();
    assert_eq!(source.kind(), TransportErrorKind::Timeout);
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    const CAP: usize = 1024 * 1024;
    let server = TestServer::start(|_, _| Action::Endless).await;
    let client = make_client(&server, |b| b.max_response_bytes(CAP).retry(fast_retries()));
    let started = Instant::now();
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.count(), 1, "not retried");
    // The client stopped reading: the server cannot push more than the cap plus
    // what the kernel's socket buffers hold, and it stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let streamed = server.streamed.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server.streamed.load(Ordering::SeqCst),
        streamed,
        "the stream stopped"
    );
    assert!(streamed < 64 * CAP, "{streamed} bytes streamed");
    text(&err);
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    let server = TestServer::start(|_, _| Action::json(200, "x".repeat(100_000))).await;
    let client = make_client(&server, |b| b.max_response_bytes(10_000));
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
}

#[tokio::test]
async fn an_html_error_page_is_an_http_status_error_with_an_excerpt() {
    let page = format!(
        "<!DOCTYPE html><html><body>{}</body></html>",
        "Internal error. ".repeat(50)
    );
    let server = TestServer::start(move |_, _| Action::html(500, &page)).await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HttpStatus);
    assert_eq!(err.http_status(), Some(500));
    let excerpt = err.excerpt().unwrap();
    assert!(excerpt.starts_with("<!DOCTYPE html>"));
    assert!(
        excerpt.len() <= smartex_core::response::EXCERPT_LEN + 3,
        "bounded"
    );
    assert_eq!(server.count(), 1, "500 is not retried");
}

#[tokio::test]
async fn an_html_page_with_200_is_a_decode_error() {
    let server = TestServer::start(|_, _| Action::html(200, "<html>Technical works</html>")).await;
    let client = make_client(&server, |b| b);
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.excerpt(), Some("<html>Technical works</html>"));
    assert!(text(&err).contains("not the API envelope"));
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_and_a_secret_in_it_is_withheld() {
    let server =
        TestServer::start(|_, _| Action::json(200, r#"{"success":true,"data":{"uid":1409,"#)).await;
    let client = make_client(&server, |b| b);
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.excerpt().unwrap().starts_with(r#"{"success":true"#));

    let truncated = format!(r#"{{"success":true,"data":{{"uid":1409,"secret":"{ORDER_SECRET}"#);
    let server = TestServer::start(move |_, _| Action::json(200, truncated.clone())).await;
    let client = make_client(&server, |b| b);
    let err = client.create_order(&order()).await.unwrap_err();
    // A truncated answer to create: the order was made, its answer lost.
    assert_eq!(err.kind(), ErrorKind::Ambiguous);
    text(&err); // checks that the order secret is not in it
}

#[tokio::test]
async fn data_of_the_wrong_shape_is_a_decode_error() {
    let server = TestServer::start(|_, _| Action::ok(r#"{"order":{"uid":"not a number"}}"#)).await;
    let client = make_client(&server, |b| b);
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.excerpt(), None);
}

#[tokio::test]
async fn success_false_is_an_api_error_with_code_field_and_request_id() {
    let server = TestServer::start(|_, _| {
        Action::json(
            200,
            r#"{"success":false,"error":{"apiError":true,"message":"Param toValues isn't valid: wallet","errorType":"api",
                "object":{"fieldId":"wallet","nameField":"BTC address","err":"regexp","type":"toValues"},
                "level":0,"errorCode":6231546409213868,"stack":"..."},"latency_ms":26,"requestId":"1743542797480-MlMEhvE"}"#,
        )
    })
    .await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = client.create_order(&order()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.code(), Some("6231546409213868"));
    assert_eq!(err.field(), Some("wallet"));
    assert_eq!(err.request_id(), Some("1743542797480-MlMEhvE"));
    assert_eq!(err.http_status(), Some(200));
    assert_eq!(
        err.api().unwrap().field_name.as_deref(),
        Some("BTC address")
    );
    assert!(!err.is_transient());
    insta::assert_snapshot!(text(&err));
}

#[tokio::test]
async fn an_error_envelope_under_a_500_is_an_api_error() {
    let server = TestServer::start(|_, _| {
        Action::json(500, r#"{"success":false,"error":{"message":"Order not found","errorCode":40401},"requestId":"r-1"}"#)
    })
    .await;
    let client = make_client(&server, |b| b.retry(fast_retries()));
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.http_status(), Some(500));
    assert_eq!(err.code(), Some("40401"));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn the_maintenance_code_is_its_own_kind() {
    let server = TestServer::start(|_, _| {
        Action::json(
            200,
            r#"{"success":false,"error":{"message":"Technical works","errorCode":5555555555555555},"requestId":"r-2"}"#,
        )
    })
    .await;
    let client = make_client(&server, |b| b);
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Maintenance);
    assert_eq!(err.code(), Some("5555555555555555"));
    assert!(err.is_transient());
    insta::assert_snapshot!(text(&err));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = TestServer::start(|_, _| Action::Respond {
        status: 302,
        content_type: "text/html",
        body: b"<a href=\"/elsewhere\">moved</a>".to_vec(),
        headers: vec![("location", "/elsewhere".to_owned())],
    })
    .await;
    let client = make_client(&server, |b| b);
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HttpStatus);
    assert_eq!(err.http_status(), Some(302));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn an_illegal_status_change_is_refused_before_any_request() {
    let server = TestServer::start(platform).await;
    let client = make_client(&server, |b| b);
    let secret = OrderSecret::new(ORDER_SECRET).unwrap();
    let uid = OrderUid::new(1409).unwrap();
    for (target, current) in [
        (OrderStatus::Done, None),
        (OrderStatus::Hold, Some(OrderStatus::WaitPayment)),
        (OrderStatus::InProgress, Some(OrderStatus::InProgress)),
        (OrderStatus::Deleted, Some(OrderStatus::InProgressPayout)),
    ] {
        let err = client
            .update_status(uid, &secret, target.clone(), current.as_ref())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{target} from {current:?}");
        assert_eq!(err.attempts(), 0);
        text(&err);
    }
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn an_authorizer_failure_sends_nothing() {
    struct Broken;
    impl smartex_http::Authorizer for Broken {
        fn authorize(
            &self,
            _: &mut smartex_http::auth::CallToSign<'_>,
        ) -> Result<(), smartex_http::AuthError> {
            Err(smartex_http::AuthError::new("token expired"))
        }
    }
    let server = TestServer::start(platform).await;
    let client = make_client(&server, |b| b.authorizer(Broken));
    let err = get(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(text(&err).contains("token expired"));
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn an_oversized_body_from_a_custom_transport_is_still_capped() {
    /// A transport that ignores the cap.
    struct Careless;
    impl Transport for Careless {
        async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            Ok(HttpResponse::new(200, vec![], vec![b' '; 4096]))
        }
    }
    let client = ClientBuilder::new("https://www.smartexpay.com")
        .max_response_bytes(1024)
        .build_with(Careless)
        .unwrap();
    let secret = OrderSecret::new(ORDER_SECRET).unwrap();
    let err = client
        .get_order(OrderUid::new(1409).unwrap(), &secret, OrderViewKind::Order)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
}
