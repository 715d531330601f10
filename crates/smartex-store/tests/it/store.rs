//! Orders, binding, apply and the event log.

use smartex_core::status::{Decision, Source, StatusEvent};
use smartex_core::{IpnSecret, OrderSecret, OrderStatus::*, OrderUid};
use smartex_store::{
    ApplyOutcome, DecisionKind, Error, IpnSecretSource, NotificationKey, Observation, OrderBinding,
    OrderKey, OrderStore, PendingOrder,
};

use crate::common::{Fixture, both_backends, ms, oid, r};

pub(crate) fn new_order(reference: &str) -> PendingOrder {
    PendingOrder {
        reference: r(reference),
        ipn_secret: IpnSecretSource::Derived {
            key_id: "k1".to_owned(),
        },
        created_at: ms(1_000),
        first_poll_at: Some(ms(5_000)),
        asked_amount: None,
    }
}

/// An IPN observation with a key made of its status and time.
pub(crate) fn ipn(order: u64, status: smartex_core::OrderStatus, at: u64) -> Observation {
    let key = NotificationKey::ipn(
        &oid(order),
        &format!("{}{:060x}", status.as_str().len(), at),
    );
    Observation::ipn(StatusEvent::ipn(status, ms(at)), key, ms(at + 10))
}

both_backends!(
    insert_and_read,
    bind_is_idempotent_and_refuses_conflicts,
    apply_decides_with_the_tracker,
    a_poll_learned_status_is_not_undone_by_a_late_ipn,
    event_log_is_append_only,
    secrets_are_sealed_at_rest,
    a_stored_reference_that_does_not_parse_is_corrupt,
);

async fn insert_and_read(f: &Fixture) {
    let s = &f.store;
    let rec = s.insert_order(new_order("r-1")).await.unwrap();
    assert_eq!(rec.version, 0);
    assert!(rec.known.is_none());
    let read = s
        .order(OrderKey::Reference(&r("r-1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, rec);
    assert!(matches!(
        s.insert_order(new_order("r-1")).await,
        Err(Error::ReferenceTaken)
    ));
    assert!(
        s.order(OrderKey::Reference(&r("nope")))
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.order(OrderKey::OrderId(&oid(1))).await.unwrap().is_none());
    let mut stored = new_order("r-2");
    stored.ipn_secret = IpnSecretSource::Stored(IpnSecret::new("IPN-SECRET").unwrap());
    s.insert_order(stored.clone()).await.unwrap();
    let read = s
        .order(OrderKey::Reference(&r("r-2")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.ipn_secret, stored.ipn_secret);
    let mut none = new_order("r-3");
    none.ipn_secret = IpnSecretSource::None;
    s.insert_order(none).await.unwrap();
    let read = s
        .order(OrderKey::Reference(&r("r-3")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.ipn_secret, IpnSecretSource::None);
}

async fn bind_is_idempotent_and_refuses_conflicts(f: &Fixture) {
    let s = &f.store;
    s.insert_order(new_order("r-1")).await.unwrap();
    s.insert_order(new_order("r-2")).await.unwrap();
    // An IPN revealed the orderId first (the create response was lost).
    let rec = s
        .bind_order(
            &r("r-1"),
            OrderBinding {
                order_id: Some(oid(1)),
                ..Default::default()
            },
            ms(2_000),
        )
        .await
        .unwrap();
    assert_eq!(rec.order_id, Some(oid(1)));
    assert_eq!(rec.version, 1);
    // Then the create response: same orderId, plus uid and secret.
    let full = OrderBinding {
        order_id: Some(oid(1)),
        uid: Some(OrderUid::new(42).unwrap()),
        order_secret: Some(OrderSecret::new("ORDER-SECRET").unwrap()),
        expected: None,
    };
    let rec = s
        .bind_order(&r("r-1"), full.clone(), ms(3_000))
        .await
        .unwrap();
    assert_eq!(rec.version, 2);
    assert_eq!(rec.uid, Some(OrderUid::new(42).unwrap()));
    // Again: nothing changes.
    let again = s.bind_order(&r("r-1"), full, ms(4_000)).await.unwrap();
    assert_eq!(again, rec);
    let read = s.order(OrderKey::OrderId(&oid(1))).await.unwrap().unwrap();
    assert_eq!(read, rec);
    assert_eq!(
        read.order_secret.as_ref().map(OrderSecret::expose),
        Some("ORDER-SECRET")
    );
    // A different value is a conflict, a taken orderId is refused.
    let other_id = OrderBinding {
        order_id: Some(oid(2)),
        ..Default::default()
    };
    assert!(matches!(
        s.bind_order(&r("r-1"), other_id, ms(5_000)).await,
        Err(Error::Conflict { field: "orderId" })
    ));
    let taken = OrderBinding {
        order_id: Some(oid(1)),
        ..Default::default()
    };
    assert!(matches!(
        s.bind_order(&r("r-2"), taken, ms(5_000)).await,
        Err(Error::OrderIdTaken)
    ));
    assert!(matches!(
        s.bind_order(&r("nope"), OrderBinding::default(), ms(5_000))
            .await,
        Err(Error::NotFound)
    ));
}

async fn apply_decides_with_the_tracker(f: &Fixture) {
    let s = &f.store;
    s.insert_order(new_order("r-1")).await.unwrap();
    let key = OrderKey::Reference(&r("r-1"));
    let wait = ipn(1, WaitPayment, 1_000);
    let out = s.apply(key, wait.clone()).await.unwrap();
    let ApplyOutcome::Decided {
        decision: Decision::Apply,
        order,
        event_id,
        outbox_id: Some(_),
    } = out
    else {
        panic!("first IPN applies: {out:?}")
    };
    assert_eq!(order.version, 1);
    assert_eq!(order.known.as_ref().unwrap().status, WaitPayment);
    // The same notification again: a repeat, nothing written.
    let again = s.apply(key, wait).await.unwrap();
    assert_eq!(
        again,
        ApplyOutcome::Repeat {
            event_id,
            decision: DecisionKind::Apply
        }
    );
    // Done, then a late inProgress: stale; then a duplicate done (other key).
    assert!(
        s.apply(key, ipn(1, Done, 3_000))
            .await
            .unwrap()
            .is_applied()
    );
    let late = s.apply(key, ipn(1, InProgress, 2_000)).await.unwrap();
    assert!(matches!(
        late,
        ApplyOutcome::Decided {
            decision: Decision::Stale,
            outbox_id: None,
            ..
        }
    ));
    let poll = Observation::poll(
        StatusEvent::polled_between(Done, ms(9_000), ms(9_100), 5_000),
        ms(9_100),
    );
    let dup = s.apply(key, poll).await.unwrap();
    assert!(matches!(
        dup,
        ApplyOutcome::Decided {
            decision: Decision::Duplicate,
            outbox_id: None,
            ..
        }
    ));
    // A final status moving: unexpected, recorded with its reason.
    let odd = s.apply(key, ipn(1, Hold, 20_000)).await.unwrap();
    assert!(matches!(
        odd,
        ApplyOutcome::Decided {
            decision: Decision::Unexpected { .. },
            ..
        }
    ));
    let read = s.order(key).await.unwrap().unwrap();
    assert_eq!(read.known.as_ref().unwrap().status, Done);
    assert_eq!(
        read.version, 3,
        "the confirming poll moved the known time forward"
    );
    let known = read.known.as_ref().unwrap();
    assert_eq!(
        (
            known.at.map(smartex_core::time::UnixMillis::as_millis),
            known
                .latest()
                .map(smartex_core::time::UnixMillis::as_millis)
        ),
        (Some(4_000), Some(14_100))
    );
    assert_eq!(read.next_poll_at, None, "a final order needs no more polls");
    let log = s.events(key).await.unwrap();
    let kinds: Vec<_> = log
        .iter()
        .map(|e| (e.event.status.clone(), e.decision))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (WaitPayment, DecisionKind::Apply),
            (Done, DecisionKind::Apply),
            (InProgress, DecisionKind::Stale),
            (Done, DecisionKind::Duplicate),
            (Hold, DecisionKind::Unexpected),
        ]
    );
    assert!(log[4].reason.is_some());
    assert_eq!(log[3].event.source, Source::Poll { window_ms: 10_100 });
    assert_eq!(
        log.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1, 2, 2, 3, 3]
    );
    assert!(matches!(
        s.apply(OrderKey::Reference(&r("nope")), ipn(9, Done, 1))
            .await,
        Err(Error::NotFound)
    ));
}

async fn a_poll_learned_status_is_not_undone_by_a_late_ipn(f: &Fixture) {
    let s = &f.store;
    let mut first = new_order("r-1");
    first.first_poll_at = Some(ms(1_000_000));
    s.insert_order(first).await.unwrap();
    s.insert_order(new_order("r-2")).await.unwrap();
    // IPN inProgress@1000 → poll errorPayout at 10 000 → late IPN inProgressPayout@2000.
    let k1 = OrderKey::Reference(&r("r-1"));
    assert!(
        s.apply(k1, ipn(1, InProgress, 1_000))
            .await
            .unwrap()
            .is_applied()
    );
    let poll = Observation::poll(
        StatusEvent::polled_between(ErrorPayout, ms(10_000), ms(10_200), 5_000),
        ms(10_200),
    );
    assert!(s.apply(k1, poll).await.unwrap().is_applied());
    // A genuine signed change the status has moved past: recorded, and
    // given to the business step as history; the status stays errorPayout.
    let late = s.apply(k1, ipn(1, InProgressPayout, 2_000)).await.unwrap();
    let ApplyOutcome::Decided {
        decision: Decision::Superseded,
        outbox_id: Some(history),
        order,
        ..
    } = late
    else {
        panic!("{late:?}");
    };
    assert_eq!(order.known.unwrap().status, ErrorPayout);
    let lease = smartex_store::Lease {
        owner: "t".into(),
        now: ms(11_000),
        duration: std::time::Duration::from_secs(1),
        limit: 10,
    };
    // One item of an order at a time, oldest first: acknowledge the two
    // changes before it (inProgress, errorPayout), then it comes.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let items = s.claim_outbox(lease.clone()).await.unwrap();
        let item = items
            .into_iter()
            .find(|i| i.reference.as_str() == "r-1")
            .unwrap();
        s.ack_outbox(item.id, ms(11_000)).await.unwrap();
        seen.push((item.id, item.status, item.current));
    }
    assert_eq!(seen[2], (history, InProgressPayout, false), "{seen:?}");
    assert!(seen[0].2 && seen[1].2, "the applied changes are current");
    // Older than the signed change just recorded: stale, nothing delivered.
    let older = s.apply(k1, ipn(1, InProgress, 1_500)).await.unwrap();
    assert!(matches!(
        older,
        ApplyOutcome::Decided {
            decision: Decision::Stale,
            outbox_id: None,
            ..
        }
    ));
    // Sent within the clock-skew allowance of the poll: time cannot order it
    // against errorPayout (a cycle), so it is history too, and the order is
    // due for a poll at once to settle which is current.
    let close = s.apply(k1, ipn(1, InProgressPayout, 9_000)).await.unwrap();
    let ApplyOutcome::Decided {
        decision: Decision::Superseded,
        order,
        ..
    } = close
    else {
        panic!("{close:?}");
    };
    assert_eq!(order.known.as_ref().unwrap().status, ErrorPayout);
    assert_eq!(order.next_poll_at, Some(ms(9_010)), "due at once");
    assert_eq!(
        s.order(k1).await.unwrap().unwrap().next_poll_at,
        Some(ms(9_010))
    );
    // Sent well after the poll: a genuine new status.
    assert!(
        s.apply(k1, ipn(1, InProgressPayout, 20_000))
            .await
            .unwrap()
            .is_applied()
    );
    // A poll-learned hold is not lifted by a late IPN.
    let k2 = OrderKey::Reference(&r("r-2"));
    assert!(
        s.apply(k2, ipn(2, WaitPayment, 1_000))
            .await
            .unwrap()
            .is_applied()
    );
    let hold = Observation::poll(
        StatusEvent::polled_between(Hold, ms(10_000), ms(10_100), 5_000),
        ms(10_100),
    );
    assert!(s.apply(k2, hold).await.unwrap().is_applied());
    let late = s.apply(k2, ipn(2, InProgress, 8_000)).await.unwrap();
    assert!(!late.is_applied(), "{late:?}");
    assert_eq!(
        s.order(k2).await.unwrap().unwrap().known.unwrap().status,
        Hold
    );
}

async fn event_log_is_append_only(f: &Fixture) {
    let s = &f.store;
    s.insert_order(new_order("r-1")).await.unwrap();
    s.apply(OrderKey::Reference(&r("r-1")), ipn(1, WaitPayment, 1_000))
        .await
        .unwrap();
    let update = "UPDATE events SET decision = 'stale'";
    let delete = "DELETE FROM events";
    match &f.store {
        smartex_store::AnyStore::Sqlite(db) => {
            assert!(sqlx::query(update).execute(db.pool()).await.is_err());
            assert!(sqlx::query(delete).execute(db.pool()).await.is_err());
        }
        smartex_store::AnyStore::Postgres(db) => {
            assert!(sqlx::query(update).execute(db.pool()).await.is_err());
            assert!(sqlx::query(delete).execute(db.pool()).await.is_err());
        }
        _ => unreachable!("two backends"),
    }
    assert_eq!(
        s.events(OrderKey::Reference(&r("r-1")))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A row whose reference is not a [`Reference`](smartex_core::derived::Reference)
/// (written by hand, or by an older version with a looser rule) is reported,
/// never handed out as if it were one.
async fn a_stored_reference_that_does_not_parse_is_corrupt(f: &Fixture) {
    let s = &f.store;
    s.insert_order(new_order("r-1")).await.unwrap();
    s.bind_order(
        &r("r-1"),
        OrderBinding {
            order_id: Some(oid(1)),
            ..Default::default()
        },
        ms(2_000),
    )
    .await
    .unwrap();
    let edit = "UPDATE orders SET reference = 'a b' WHERE reference = 'r-1'";
    match &f.store {
        smartex_store::AnyStore::Sqlite(db) => {
            sqlx::query(edit).execute(db.pool()).await.unwrap();
        }
        smartex_store::AnyStore::Postgres(db) => {
            sqlx::query(edit).execute(db.pool()).await.unwrap();
        }
        _ => unreachable!("two backends"),
    }
    let read = s.order(OrderKey::OrderId(&oid(1))).await;
    assert!(
        matches!(
            read,
            Err(Error::Corrupt {
                field: "reference",
                ..
            })
        ),
        "{read:?}"
    );
}

async fn secrets_are_sealed_at_rest(f: &Fixture) {
    use smartex_store::{SealingKey, SecretSealing, StoreOptions};
    let key = SealingKey::new("k1", [3; 32]).unwrap();
    let sealed = f
        .another_instance(StoreOptions::default().sealing(SecretSealing::sealed(key.clone())))
        .await;
    let mut order = new_order("r-1");
    order.ipn_secret = IpnSecretSource::Stored(IpnSecret::new("IPN-SECRET-VALUE").unwrap());
    sealed.insert_order(order).await.unwrap();
    let binding = OrderBinding {
        order_id: Some(oid(1)),
        uid: None,
        order_secret: Some(OrderSecret::new("ORDER-SECRET-VALUE").unwrap()),
        expected: None,
    };
    sealed
        .bind_order(&r("r-1"), binding, ms(2_000))
        .await
        .unwrap();
    let read = sealed
        .order(OrderKey::Reference(&r("r-1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.order_secret.unwrap().expose(), "ORDER-SECRET-VALUE");
    // The raw columns hold neither secret.
    let raw = "SELECT order_secret, ipn_secret FROM orders";
    let (a, b): (String, String) = match &sealed {
        smartex_store::AnyStore::Sqlite(db) => {
            sqlx::query_as(raw).fetch_one(db.pool()).await.unwrap()
        }
        smartex_store::AnyStore::Postgres(db) => {
            sqlx::query_as(raw).fetch_one(db.pool()).await.unwrap()
        }
        _ => unreachable!("two backends"),
    };
    for column in [&a, &b] {
        assert!(column.starts_with("xc20p:k1:"), "{column}");
        assert!(!column.contains("SECRET"));
    }
    // Without the key the store says so instead of handing out garbage.
    assert!(matches!(
        f.store.order(OrderKey::Reference(&r("r-1"))).await,
        Err(Error::Unseal { .. })
    ));
    // Debug never shows a secret.
    let debug = format!(
        "{:?}",
        sealed.order(OrderKey::Reference(&r("r-1"))).await.unwrap()
    );
    assert!(!debug.contains("SECRET-VALUE"), "{debug}");
    sealed.close().await;
}

#[tokio::test]
async fn any_store_opens_by_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("orders.db").display());
    let store = smartex_store::AnyStore::open(&url, Default::default())
        .await
        .unwrap();
    store.insert_order(new_order("r-1")).await.unwrap();
    store.close().await;
    // Reopened: the order survived, the migrations are not run twice.
    let store = smartex_store::AnyStore::open(&url, Default::default())
        .await
        .unwrap();
    assert!(
        store
            .order(OrderKey::Reference(&r("r-1")))
            .await
            .unwrap()
            .is_some()
    );
    store.close().await;
    for bad in ["sqlite::memory:", "mysql://x", "orders.db"] {
        assert!(matches!(
            smartex_store::AnyStore::open(bad, Default::default()).await,
            Err(Error::UnsupportedUrl { .. })
        ));
    }
}

#[path = "../../../smartex-core/tests/data/one_history.rs"]
mod one_history;

both_backends!(one_history_decided_by_the_store);

/// The scripted history every receive path must decide alike (the core's
/// and the `ipn listen` receiver's suites replay the same file): each IPN a
/// notification of its own, applied through the store's exactly-once path.
async fn one_history_decided_by_the_store(f: &Fixture) {
    let s = &f.store;
    s.insert_order(new_order("r-1")).await.unwrap();
    let base = 1_700_000_000_000;
    for (i, step) in one_history::history().iter().enumerate() {
        let n: u64 = one_history::timestamp(step, base).parse().unwrap();
        let key = NotificationKey::ipn(&oid(1), &format!("{:064x}", i + 1));
        let event = StatusEvent::ipn_timestamp(step.status.clone(), n);
        let observation = Observation::ipn(event, key, ms(base + 10_000));
        let outcome = s
            .apply(OrderKey::Reference(&r("r-1")), observation)
            .await
            .unwrap();
        let ApplyOutcome::Decided { decision, .. } = outcome else {
            panic!("step {i}: {outcome:?}");
        };
        assert_eq!(decision, step.decision, "step {i}");
    }
}
