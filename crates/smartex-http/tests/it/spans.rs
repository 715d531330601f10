//! The `tracing` feature: one span per call with method, request id, status and
//! latency — and no secret, URL or body.

use std::io::Write;
use std::sync::{Arc, Mutex};

use smartex_core::request::OrderViewKind;
use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderUid};
use smartex_http::ApiKeyAuth;

use crate::server::{Action, TestServer, platform};
use crate::{API_SECRET, ORDER_SECRET, assert_no_secret, make_client};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn spans_name_the_call_and_hold_no_secret() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start(|req, i| {
        if i == 2 {
            Action::json(200, r#"{"success":false,"error":{"message":"Technical works","errorCode":5555555555555555},"requestId":"r-9"}"#)
        } else {
            platform(req, i)
        }
    })
    .await;
    let auth = ApiKeyAuth::new(
        ApiKey::new("EF04794F718A3FC8C6DFA0B").unwrap(),
        ApiSecret::new(API_SECRET).unwrap(),
    );
    let client = make_client(&server, |b| b.api_key(auth).reads_with_get());
    let secret = OrderSecret::new(ORDER_SECRET).unwrap();
    let uid = OrderUid::new(1409).unwrap();
    client
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    client.mark_paid(uid, &secret).await.unwrap();
    client
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap_err();

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("smartex.call"), "{log}");
    assert!(
        log.contains("method=\"public/exchanger/order/get\"")
            || log.contains("method=public/exchanger/order/get"),
        "{log}"
    );
    assert!(
        log.contains("request_id=\"1742774343407-ATmqdjI\"")
            || log.contains("request_id=1742774343407-ATmqdjI"),
        "{log}"
    );
    assert!(log.contains("latency_ms="), "{log}");
    assert!(log.contains("http_status=200"), "{log}");
    assert!(log.contains("Maintenance"), "{log}");
    assert!(
        !log.contains("orderSecret"),
        "no URL or body in the log: {log}"
    );
    assert_no_secret(&log);
}
