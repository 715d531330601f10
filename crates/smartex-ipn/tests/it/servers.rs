//! The hyper, axum and actix-web example receivers, started on 127.0.0.1:0, answering
//! real IPNs over HTTP: the valid one is applied, and every failure class
//! gets the documented answer.

use std::net::SocketAddr;
use std::sync::Arc;

use smartex_ipn::{ChecksumLocation, Config, KnownStatus, OrderStatus, Receiver};

fn now_ms() -> u64 {
    smartex_ipn::now().as_millis()
}

use crate::common::{
    FORM, Reply, checksum_of, secret, send, signed_body, signed_body_with, without_hash,
};

const ORDER: &str = "5d8e6002b80b7b4cd75a6424";
const UNKNOWN_ORDER: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";

/// The checksum may come in the body, a query parameter or a header.
fn receiver() -> Receiver {
    Receiver::with_config(Config::default().checksum_in([
        ChecksumLocation::body_field("hash"),
        ChecksumLocation::query_param("hash"),
        ChecksumLocation::header("X-Hash"),
    ]))
}

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_receiver_answers_as_documented() {
    use crate::hyper_receiver::{Shop, serve};
    let shop = Arc::new(Shop::new(receiver()));
    shop.add_order(ORDER, secret());
    let (listener, addr) = listener().await;
    let server = tokio::spawn(serve(listener, Arc::clone(&shop)));
    exercise(addr, |id| shop.known(id)).await;
    server.abort();
}

#[cfg(feature = "http")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_receiver_answers_as_documented() {
    use crate::axum_receiver::{Shop, app};
    let shop = Arc::new(Shop::new(receiver()));
    shop.add_order(ORDER, secret());
    let (listener, addr) = listener().await;
    let served = app(Arc::clone(&shop));
    let server = tokio::spawn(async move { axum::serve(listener, served).await });
    exercise(addr, |id| shop.known(id)).await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_receiver_answers_as_documented() {
    use crate::actix_receiver::{Shop, server};
    let shop = actix_web::web::Data::new(Shop::new(receiver(), ORDER, secret()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // actix-web runs on its own runtime (actix-rt), here on a thread of its own.
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let served = shop.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = server(listener, served).unwrap();
            handle_tx.send(server.handle()).unwrap();
            server.await
        })
    });
    let handle = handle_rx.recv().unwrap();
    exercise(addr, |id| shop.known(id)).await;
    handle.stop(true).await;
    thread.join().unwrap().unwrap();
}

async fn post(addr: SocketAddr, target: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    send(addr, "POST", target, headers, body.as_bytes()).await
}

fn expect(reply: &Reply, status: u16, body: Option<&str>, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply:?}");
    if let Some(body) = body {
        assert_eq!(reply.body, body, "{what}: {reply:?}");
    }
}

/// Runs every class against a server; `known` reads the shop's stored status.
async fn exercise(addr: SocketAddr, known: impl Fn(&str) -> Option<KnownStatus>) {
    let form = [("Content-Type", FORM)];
    let t0 = now_ms() - 60_000;
    let status_of = |id: &str| known(id).map(|k| k.status);

    // Valid: applied, and stored.
    let first = signed_body(ORDER, "waitPayment", t0);
    expect(
        &post(addr, "/ipn", &form, &first).await,
        200,
        Some("OK"),
        "valid",
    );
    assert_eq!(status_of(ORDER), Some(OrderStatus::WaitPayment));

    // The very same notification again: the replay guard.
    let again = post(addr, "/ipn", &form, &first).await;
    expect(&again, 200, Some("OK: duplicate"), "replay");

    // A later status, then a delayed earlier one: stale, not applied.
    let done = signed_body(ORDER, "done", t0 + 2_000);
    expect(
        &post(addr, "/ipn", &form, &done).await,
        200,
        Some("OK"),
        "done",
    );
    let late = signed_body(ORDER, "inProgress", t0 + 1_000);
    let reply = post(addr, "/ipn", &form, &late).await;
    expect(&reply, 200, Some("OK: stale, ignored"), "late inProgress");
    assert_eq!(status_of(ORDER), Some(OrderStatus::Done));
    // The first notification again, byte for byte, now that the order is
    // done: the replay guard catches it, and it is reported as stale.
    let reply = post(addr, "/ipn", &form, &first).await;
    expect(&reply, 200, Some("OK: stale, ignored"), "stale resend");

    // The same status at another time: a duplicate for the tracker.
    let done_again = signed_body(ORDER, "done", t0 + 3_000);
    let reply = post(addr, "/ipn", &form, &done_again).await;
    expect(&reply, 200, Some("OK: duplicate"), "done again");

    // A final status changing: received, not applied.
    let after_done = signed_body(ORDER, "waitPayment", t0 + 4_000);
    let reply = post(addr, "/ipn", &form, &after_done).await;
    expect(&reply, 202, Some("Accepted: held for review"), "after done");
    assert_eq!(status_of(ORDER), Some(OrderStatus::Done));

    // The checksum in a query parameter or a header instead of the body.
    let body = signed_body(ORDER, "new", t0 + 5_000);
    let target = format!("/ipn?shop=1&hash={}", checksum_of(&body));
    let reply = post(addr, &target, &form, &without_hash(&body)).await;
    expect(&reply, 202, None, "checksum in the query");
    let body = signed_body(ORDER, "hold", t0 + 6_000);
    let headers = [("Content-Type", FORM), ("X-Hash", &checksum_of(&body))];
    let reply = post(addr, "/ipn", &headers, &without_hash(&body)).await;
    expect(&reply, 202, None, "checksum in a header");

    // Malformed: 400.
    let malformed = "Bad Request: malformed notification";
    let body = signed_body(ORDER, "done", t0 + 7_000);
    let missing_field = body.replace("xml_to=WMZ&", "");
    expect(
        &post(addr, "/ipn", &form, &missing_field).await,
        400,
        Some(malformed),
        "missing field",
    );
    let repeated = format!("newStatus=done&{body}");
    expect(
        &post(addr, "/ipn", &form, &repeated).await,
        400,
        Some(malformed),
        "repeated field",
    );
    let bad_escape = body.replace("inAmount=2", "inAmount=2%G1");
    expect(
        &post(addr, "/ipn", &form, &bad_escape).await,
        400,
        Some(malformed),
        "bad escape",
    );
    // A checksum for other values, alone in the query: refused. (Beside the
    // body's own, it would be one more candidate; see the api tests.)
    let other = signed_body(ORDER, "done", t0 + 7_001);
    let target = format!("/ipn?hash={}", checksum_of(&other));
    let reply = post(addr, &target, &form, &without_hash(&body)).await;
    expect(&reply, 401, None, "a checksum for other values");

    // Checksum missing, malformed or wrong: 401.
    let unauthorized = "Unauthorized: checksum missing or wrong";
    let reply = post(addr, "/ipn", &form, &without_hash(&body)).await;
    expect(&reply, 401, Some(unauthorized), "no checksum");
    let short = body.replace(&checksum_of(&body), "abc123");
    expect(
        &post(addr, "/ipn", &form, &short).await,
        401,
        Some(unauthorized),
        "short checksum",
    );
    let other_secret = smartex_ipn::IpnSecret::new("not the secret").unwrap();
    let forged = signed_body_with(ORDER, "done", t0 + 7_000, &other_secret, "hash");
    expect(
        &post(addr, "/ipn", &form, &forged).await,
        401,
        Some(unauthorized),
        "wrong secret",
    );
    let tampered = body.replace("outAmount=317.42", "outAmount=317.43");
    expect(
        &post(addr, "/ipn", &form, &tampered).await,
        401,
        Some(unauthorized),
        "tampered",
    );

    // Unknown order: 404.
    let unknown = signed_body(UNKNOWN_ORDER, "done", t0);
    let reply = post(addr, "/ipn", &form, &unknown).await;
    expect(
        &reply,
        404,
        Some("Not Found: unknown order"),
        "unknown order",
    );

    // Wrong method: 405 with Allow.
    let reply = send(addr, "GET", "/ipn", &[], b"").await;
    expect(&reply, 405, Some("Method Not Allowed"), "GET");
    assert_eq!(reply.header("allow"), Some("POST"), "{reply:?}");
    let reply = send(addr, "PUT", "/ipn", &form, body.as_bytes()).await;
    expect(&reply, 405, None, "PUT");

    // Too large: 413 (the axum app lets axum's body limit answer).
    let huge = format!("{body}&pad={}", "x".repeat(Config::DEFAULT_MAX_BODY));
    let reply = post(addr, "/ipn", &form, &huge).await;
    expect(&reply, 413, None, "too large");

    // Wrong or missing content type: 415.
    let media = "Unsupported Media Type";
    let text = [("Content-Type", "text/plain")];
    expect(
        &post(addr, "/ipn", &text, &body).await,
        415,
        Some(media),
        "text/plain",
    );
    expect(
        &post(addr, "/ipn", &[], &body).await,
        415,
        Some(media),
        "no content type",
    );
    let json = [("Content-Type", "application/json")];
    expect(
        &post(addr, "/ipn", &json, "{}").await,
        415,
        Some(media),
        "json not enabled",
    );

    // Outside the time window: 422.
    let window = "Unprocessable: timestamp outside the accepted window";
    let old = signed_body(ORDER, "done", now_ms() - 25 * 3_600_000);
    expect(
        &post(addr, "/ipn", &form, &old).await,
        422,
        Some(window),
        "25 h old",
    );
    let future = signed_body(ORDER, "done", now_ms() + 10 * 60_000);
    expect(
        &post(addr, "/ipn", &form, &future).await,
        422,
        Some(window),
        "10 min ahead",
    );

    // Nothing refused changed the books.
    assert_eq!(status_of(ORDER), Some(OrderStatus::Done));
    assert_eq!(status_of(UNKNOWN_ORDER), None);
}
