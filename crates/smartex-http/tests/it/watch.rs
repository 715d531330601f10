//! `watch_order` against a server whose order status advances.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use smartex_core::status::Decision;
use smartex_core::{OrderSecret, OrderStatus, OrderUid};
use smartex_http::{ErrorKind, RetryPolicy, StatusChange, WatchEnd, WatchOptions};

use crate::server::{Action, TestServer};
use crate::{ORDER_SECRET, make_client};

fn order_with(status: &str) -> Action {
    Action::ok(&format!(
        r#"{{"order":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"status":"{status}"}},"verifications":[]}}"#
    ))
}

/// A server whose order shows `statuses[i]` at poll `i` (the last one after).
async fn advancing(statuses: &'static [&'static str]) -> TestServer {
    TestServer::start(move |_, i| order_with(statuses[i.min(statuses.len() - 1)])).await
}

fn fast() -> WatchOptions {
    WatchOptions::default()
        .intervals(Duration::from_millis(2), Duration::from_millis(10))
        .deadline(Duration::from_secs(10))
}

fn uid() -> OrderUid {
    OrderUid::new(1409).unwrap()
}

fn secret() -> OrderSecret {
    OrderSecret::new(ORDER_SECRET).unwrap()
}

async fn collect<T: smartex_http::Transport>(
    watch: &mut smartex_http::OrderWatch<'_, T>,
) -> Vec<StatusChange> {
    let mut changes = Vec::new();
    while let Some(change) = watch.next().await {
        changes.push(change.unwrap());
    }
    changes
}

#[tokio::test]
async fn follows_the_status_and_stops_at_the_final_one() {
    let server = advancing(&[
        "waitPayment",
        "waitPayment",
        "inProgress",
        "inProgressPayout",
        "inProgressPayout",
        "inProgressPayout",
        "done",
        "done",
    ])
    .await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let mut watch = client.watch_order(uid(), &secret, fast());
    let changes = collect(&mut watch).await;
    let statuses: Vec<_> = changes.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["waitPayment", "inProgress", "inProgressPayout", "done"]
    );
    assert!(changes.iter().all(|c| c.decision == Decision::Apply));
    // Each change carries its timed observation: the poll's window, widened
    // by the default skew, around now.
    let now_ms = crate::now_ms();
    for change in &changes {
        assert_eq!(change.event.status, change.status);
        let earliest = change.event.at.unwrap().as_millis();
        let latest = change.event.latest().unwrap().as_millis();
        assert!(earliest <= now_ms && now_ms <= latest, "{:?}", change.event);
        assert!(latest - earliest >= 2 * smartex_core::status::DEFAULT_CLOCK_SKEW_MS);
    }
    assert_eq!(changes[3].order.uid.get(), 1409);
    assert_eq!(watch.end(), WatchEnd::Final);
    assert_eq!(watch.known().map(|k| &k.status), Some(&OrderStatus::Done));
    assert_eq!(server.count(), 7, "no poll after the final status");
    assert_eq!(watch.polls(), 7);
    assert!(watch.next().await.is_none(), "stays ended");
    assert_eq!(server.count(), 7);
}

#[tokio::test]
async fn what_the_merchant_knows_is_not_reported_again() {
    let server = advancing(&["waitPayment", "waitPayment", "returned"]).await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let mut watch = client.watch_order(uid(), &secret, fast().known(OrderStatus::WaitPayment));
    let changes = collect(&mut watch).await;
    let statuses: Vec<_> = changes.iter().map(|c| c.status.clone()).collect();
    assert_eq!(statuses, [OrderStatus::Returned]);
}

#[tokio::test]
async fn an_unexpected_status_is_reported_once() {
    let server = advancing(&[
        "inProgress",
        "waitPayment",
        "waitPayment",
        "waitPayment",
        "done",
    ])
    .await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    // Polls a few ms apart: within the default 5 s skew their time windows
    // overlap, and a status going back is of unknown order (held as stale
    // until a poll beyond the skew). With no skew, each poll is strictly
    // later than the one before, and the regression is unexpected at once.
    let options = fast().clock_skew(Duration::ZERO);
    let mut watch = client.watch_order(uid(), &secret, options);
    let changes = collect(&mut watch).await;
    let seen: Vec<_> = changes
        .iter()
        .map(|c| (c.status.as_str(), matches!(c.decision, Decision::Apply)))
        .collect();
    assert_eq!(
        seen,
        [("inProgress", true), ("waitPayment", false), ("done", true)]
    );
    assert_eq!(watch.end(), WatchEnd::Final);
}

#[tokio::test]
async fn transient_errors_do_not_end_the_watch() {
    let served = Arc::new(AtomicUsize::new(0));
    let server = {
        let served = served.clone();
        TestServer::start(move |_, i| {
            served.fetch_add(1, Ordering::SeqCst);
            match i {
                0 => order_with("waitPayment"),
                1 => Action::html(503, "<html>busy</html>"),
                2 => Action::json(200, r#"{"success":false,"error":{"message":"Technical works","errorCode":5555555555555555}}"#),
                _ => order_with("done"),
            }
        })
        .await
    };
    let client = make_client(&server, |b| b.retry(RetryPolicy::none()));
    let secret = secret();
    let mut watch = client.watch_order(uid(), &secret, fast());
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        OrderStatus::WaitPayment
    );
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        OrderStatus::Done
    );
    assert!(watch.next().await.is_none());
    assert_eq!(served.load(Ordering::SeqCst), 4);
    assert!(
        watch.last_error().is_none(),
        "cleared by the successful poll"
    );
}

#[tokio::test]
async fn stops_at_the_deadline() {
    let server = advancing(&["waitPayment"]).await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let options = fast().deadline(Duration::from_millis(150));
    let started = Instant::now();
    let mut watch = client.watch_order(uid(), &secret, options);
    let changes = collect(&mut watch).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(watch.end(), WatchEnd::Deadline);
    assert!(watch.polls() >= 2, "kept polling until the deadline");
    let polls = server.count();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.count(), polls, "nothing sent after the deadline");
}

#[tokio::test]
async fn a_deadline_too_far_for_the_clock_is_accepted() {
    let server = advancing(&["done"]).await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let options = fast().deadline(Duration::MAX);
    let mut watch = client.watch_order(uid(), &secret, options);
    let changes = collect(&mut watch).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].status, OrderStatus::Done);
    assert_eq!(watch.end(), WatchEnd::Final);
}

#[tokio::test]
async fn a_stalled_poll_does_not_overrun_the_deadline() {
    let server = TestServer::start(|_, i| {
        if i == 0 {
            order_with("new")
        } else {
            Action::Stall
        }
    })
    .await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let started = Instant::now();
    let mut watch = client.watch_order(uid(), &secret, fast().deadline(Duration::from_millis(200)));
    let changes = collect(&mut watch).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(watch.end(), WatchEnd::Deadline);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_permanent_error_is_returned_and_ends_the_watch() {
    let server = TestServer::start(|_, _| {
        Action::json(
            200,
            r#"{"success":false,"error":{"message":"Order not found","errorCode":40401}}"#,
        )
    })
    .await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let mut watch = client.watch_order(uid(), &secret, fast());
    let err = watch.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert!(watch.next().await.is_none());
    assert_eq!(watch.end(), WatchEnd::Failed);
    assert_eq!(server.count(), 1);
}

/// The futures a merchant spawns are `Send`.
#[tokio::test]
async fn futures_are_send() {
    fn assert_send<F: std::future::Future + Send>(f: F) -> F {
        f
    }
    let server = advancing(&["done"]).await;
    let client = make_client(&server, |b| b);
    let secret = secret();
    let mut watch = client.watch_order(uid(), &secret, fast());
    let change = assert_send(watch.next()).await.unwrap().unwrap();
    assert_eq!(change.status, OrderStatus::Done);
    let handle = tokio::spawn({
        let client = client.clone();
        async move {
            let secret = OrderSecret::new(ORDER_SECRET).unwrap();
            let mut watch = client.watch_order(uid(), &secret, fast());
            watch.next().await.map(|c| c.map(|c| c.status))
        }
    });
    assert_eq!(handle.await.unwrap().unwrap().unwrap(), OrderStatus::Done);
}
