//! Changes held for review: listed, accepted or dismissed once, recorded in
//! the append-only event log with who decided.

use smartex_core::OrderStatus::{self, *};
use smartex_core::amounts::Amounts;
use smartex_core::status::{Decision, Source, StaleHeld};
use smartex_store::{
    AnyStore, ApplyOutcome, DecisionKind, Error, Lease, Observation, OrderBinding, OrderKey,
    OrderStore, OutboxItem, Resolution, StoreOptions,
};

use crate::common::{Fixture, both_backends, ms, r};
use crate::store::{ipn, new_order};

both_backends!(
    an_accepted_change_becomes_current_and_reaches_the_outbox,
    a_dismissed_change_changes_nothing,
    a_held_change_is_resolved_once,
    only_held_changes_can_be_resolved,
    an_older_held_change_is_not_accepted_over_a_newer_status,
    who_decided_is_checked,
    held_changes_are_listed_oldest_first_by_order,
    concurrent_resolutions_resolve_each_held_change_once,
);

/// The signed amounts of an IPN of `status`.
fn signed(in_amount: &str) -> Amounts {
    Amounts {
        in_amount: Some(in_amount.to_owned()),
        out_amount: Some("317.42".to_owned()),
        from: Some("ETH".to_owned()),
        to: Some("WMZ".to_owned()),
    }
}

/// Order `reference` (IPNs numbered `n`) through `waitPayment` and `done`,
/// then an operator's `status` at `at`: held. Returns the held row's id.
async fn done_then_held(
    s: &AnyStore,
    reference: &str,
    n: u64,
    status: OrderStatus,
    at: u64,
) -> i64 {
    let key = OrderKey::Reference(&r(reference));
    if s.order(key).await.unwrap().is_none() {
        s.insert_order(new_order(reference)).await.unwrap();
        let expected = OrderBinding {
            expected: Some(signed("2")),
            ..Default::default()
        };
        s.bind_order(&r(reference), expected, ms(900))
            .await
            .unwrap();
        for (status, at) in [(WaitPayment, 1_000), (Done, 1_500)] {
            let obs = ipn(n, status, at).with_amounts(signed("2"));
            assert!(s.apply(key, obs).await.unwrap().is_applied());
        }
    }
    let held = s
        .apply(key, ipn(n, status, at).with_amounts(signed("1.5")))
        .await
        .unwrap();
    let ApplyOutcome::Decided {
        decision: Decision::Unexpected { .. },
        event_id,
        outbox_id: None,
        ..
    } = held
    else {
        panic!("a final status changing is held: {held:?}")
    };
    event_id
}

/// Every outbox item of the store, acknowledged one by one (one per order
/// at a time), in delivery order.
async fn drain_outbox(s: &AnyStore) -> Vec<OutboxItem> {
    let mut all = Vec::new();
    for round in 0..100u64 {
        let lease = Lease {
            owner: "t".into(),
            now: ms(1_000_000 + round),
            duration: std::time::Duration::from_millis(1),
            limit: 100,
        };
        let items = s.claim_outbox(lease).await.unwrap();
        if items.is_empty() {
            return all;
        }
        for item in items {
            assert!(s.ack_outbox(item.id, ms(1_000_000 + round)).await.unwrap());
            all.push(item);
        }
    }
    panic!("the outbox never emptied")
}

async fn an_accepted_change_becomes_current_and_reaches_the_outbox(f: &Fixture) {
    let s = &f.store;
    let held_id = done_then_held(s, "r-1", 1, InProgressPayout, 2_000).await;
    let key = OrderKey::Reference(&r("r-1"));
    let before = s.order(key).await.unwrap().unwrap();
    assert_eq!(before.next_poll_at, None, "final: no poll due");
    let held_row = s.events(key).await.unwrap().pop().unwrap();
    // Listed, with what the order knows now.
    let list = s.held(None, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].event, held_row);
    assert_eq!(list[0].event.id, held_id);
    assert!(list[0].event.reason.is_some());
    assert_eq!(list[0].current.as_ref().map(|k| &k.status), Some(&Done));
    assert_eq!(list[0].stale(), None);
    drain_outbox(s).await;

    let resolved = s
        .accept_held(held_id, "cli:alice", ms(5_000))
        .await
        .unwrap();
    assert!(resolved.outbox_id.is_some());
    assert!(resolved.event_id > held_id);
    let order = s.order(key).await.unwrap().unwrap();
    assert_eq!(
        resolved.order, order,
        "the record returned is the one stored"
    );
    assert_eq!(order.known.as_ref().unwrap().status, InProgressPayout);
    assert_eq!(order.version, before.version + 1);
    assert_eq!(
        order.next_poll_at,
        Some(ms(5_000)),
        "no longer final: polled at once"
    );
    // The business step gets it like any applied change.
    let items = drain_outbox(s).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(Some(item.id), resolved.outbox_id);
    assert_eq!(item.event_id, resolved.event_id);
    assert_eq!(
        (item.previous.clone(), item.status.clone()),
        (Some(Done), InProgressPayout)
    );
    assert!(item.current);
    assert_eq!(item.source, Source::Ipn);
    assert_eq!(item.amounts, signed("1.5"));
    assert_eq!(item.expected, signed("2"));
    assert_eq!(item.decided_by.as_deref(), Some("cli:alice"));
    assert_eq!(item.created_at, ms(5_000));
    // The log: the held row as it was, then the person's decision.
    let log = s.events(key).await.unwrap();
    let held_after = log.iter().find(|e| e.id == held_id).unwrap();
    assert_eq!(held_after, &held_row, "the held row is never rewritten");
    let last = log.last().unwrap();
    assert_eq!(last.id, resolved.event_id);
    assert_eq!(last.decision, DecisionKind::Accepted);
    assert_eq!(
        last.resolution,
        Some(Resolution {
            resolves: held_id,
            by: "cli:alice".into(),
            at: ms(5_000),
        })
    );
    assert_eq!(last.event, held_row.event);
    assert_eq!(last.amounts, held_row.amounts);
    assert_eq!(last.received_at, held_row.received_at);
    assert_eq!(last.version, order.version);
    assert_eq!(last.key, None);
    assert!(s.held(None, 10).await.unwrap().is_empty());
    // The lifecycle goes on from the accepted status.
    assert!(
        s.apply(key, ipn(1, Done, 3_000))
            .await
            .unwrap()
            .is_applied()
    );
    // Other rows carry no resolution.
    assert!(
        log.iter()
            .filter(|e| e.id != last.id)
            .all(|e| e.resolution.is_none())
    );
}

async fn a_dismissed_change_changes_nothing(f: &Fixture) {
    let s = &f.store;
    let held_id = done_then_held(s, "r-1", 1, Hold, 2_000).await;
    let key = OrderKey::Reference(&r("r-1"));
    let before = s.order(key).await.unwrap().unwrap();
    drain_outbox(s).await;
    let resolved = s.dismiss_held(held_id, "ops:bob", ms(6_000)).await.unwrap();
    assert_eq!(resolved.outbox_id, None);
    assert_eq!(resolved.order, before);
    assert_eq!(s.order(key).await.unwrap().unwrap(), before);
    assert!(drain_outbox(s).await.is_empty());
    assert!(s.held(None, 10).await.unwrap().is_empty());
    let last = s.events(key).await.unwrap().pop().unwrap();
    assert_eq!(last.decision, DecisionKind::Dismissed);
    assert_eq!(last.event.status, Hold);
    assert_eq!(last.version, before.version);
    assert_eq!(
        last.resolution,
        Some(Resolution {
            resolves: held_id,
            by: "ops:bob".into(),
            at: ms(6_000),
        })
    );
}

async fn a_held_change_is_resolved_once(f: &Fixture) {
    let s = &f.store;
    let held_id = done_then_held(s, "r-1", 1, Hold, 2_000).await;
    let first = s.accept_held(held_id, "alice", ms(5_000)).await.unwrap();
    let key = OrderKey::Reference(&r("r-1"));
    let after = s.order(key).await.unwrap().unwrap();
    for again in [
        s.accept_held(held_id, "bob", ms(6_000)).await,
        s.dismiss_held(held_id, "bob", ms(6_000)).await,
    ] {
        match again {
            Err(Error::AlreadyResolved {
                resolution_event_id,
                decision: DecisionKind::Accepted,
                decided_by,
            }) => {
                assert_eq!(resolution_event_id, first.event_id);
                assert_eq!(decided_by, "alice");
            }
            other => panic!("a second resolution is refused: {other:?}"),
        }
    }
    assert_eq!(
        s.order(key).await.unwrap().unwrap(),
        after,
        "nothing written"
    );
    let resolutions = s
        .events(key)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.resolution.is_some())
        .count();
    assert_eq!(resolutions, 1);
}

async fn only_held_changes_can_be_resolved(f: &Fixture) {
    let s = &f.store;
    let held_id = done_then_held(s, "r-1", 1, Hold, 2_000).await;
    let key = OrderKey::Reference(&r("r-1"));
    let applied = s.events(key).await.unwrap()[0].id;
    assert_eq!(
        s.events(key).await.unwrap()[0].decision,
        DecisionKind::Apply
    );
    let resolution = s.dismiss_held(held_id, "alice", ms(5_000)).await.unwrap();
    for id in [applied, resolution.event_id, held_id + 1_000, -1] {
        for outcome in [
            s.accept_held(id, "alice", ms(6_000)).await,
            s.dismiss_held(id, "alice", ms(6_000)).await,
        ] {
            assert!(
                matches!(outcome, Err(Error::NotHeld { .. })),
                "event {id}: {outcome:?}"
            );
        }
    }
}

async fn an_older_held_change_is_not_accepted_over_a_newer_status(f: &Fixture) {
    let s = &f.store;
    let older = done_then_held(s, "r-1", 1, InProgressPayout, 2_000).await;
    let newer = done_then_held(s, "r-1", 1, Hold, 3_000).await;
    s.accept_held(newer, "alice", ms(5_000)).await.unwrap();
    let key = OrderKey::Reference(&r("r-1"));
    let after = s.order(key).await.unwrap().unwrap();
    let list = s.held(None, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].stale(), Some(StaleHeld::CurrentIsNewer));
    assert!(matches!(
        s.accept_held(older, "alice", ms(6_000)).await,
        Err(Error::StaleHeld(StaleHeld::CurrentIsNewer))
    ));
    assert_eq!(
        s.order(key).await.unwrap().unwrap(),
        after,
        "nothing written"
    );
    // A poll confirms `hold` after the older one too: still refused, and
    // dismissing it is what is left.
    let poll = Observation::poll(
        smartex_core::status::StatusEvent::polled_between(Hold, ms(8_000), ms(8_100), 1_000),
        ms(8_100),
    );
    s.apply(key, poll).await.unwrap();
    assert!(matches!(
        s.accept_held(older, "alice", ms(9_000)).await,
        Err(Error::StaleHeld(_))
    ));
    s.dismiss_held(older, "alice", ms(9_000)).await.unwrap();
    assert!(s.held(None, 10).await.unwrap().is_empty());
}

async fn who_decided_is_checked(f: &Fixture) {
    let s = &f.store;
    let held_id = done_then_held(s, "r-1", 1, Hold, 2_000).await;
    let long = "x".repeat(201);
    for by in ["", "  ", "alice\nbob", "a\u{7}", long.as_str()] {
        assert!(
            matches!(
                s.accept_held(held_id, by, ms(5_000)).await,
                Err(Error::InvalidInput {
                    field: "decided by",
                    ..
                })
            ),
            "{by:?}"
        );
    }
    assert_eq!(s.held(None, 10).await.unwrap().len(), 1, "nothing resolved");
    let resolved = s.accept_held(held_id, &"é".repeat(100), ms(5_000)).await;
    assert!(resolved.is_ok(), "200 bytes of text: {resolved:?}");
}

async fn held_changes_are_listed_oldest_first_by_order(f: &Fixture) {
    let s = &f.store;
    let a1 = done_then_held(s, "r-a", 1, Hold, 2_000).await;
    let b1 = done_then_held(s, "r-b", 2, Hold, 2_100).await;
    let a2 = done_then_held(s, "r-a", 1, InProgressPayout, 2_200).await;
    let ids = |list: Vec<smartex_store::HeldChange>| -> Vec<i64> {
        list.into_iter().map(|h| h.event.id).collect()
    };
    assert_eq!(ids(s.held(None, 10).await.unwrap()), [a1, b1, a2]);
    assert_eq!(ids(s.held(None, 2).await.unwrap()), [a1, b1]);
    assert_eq!(ids(s.held(Some(&r("r-a")), 10).await.unwrap()), [a1, a2]);
    assert_eq!(ids(s.held(Some(&r("r-b")), 10).await.unwrap()), [b1]);
    assert!(s.held(Some(&r("r-none")), 10).await.unwrap().is_empty());
    assert!(s.held(None, 0).await.unwrap().is_empty());
    s.dismiss_held(b1, "alice", ms(5_000)).await.unwrap();
    assert_eq!(ids(s.held(None, 10).await.unwrap()), [a1, a2]);
}

async fn concurrent_resolutions_resolve_each_held_change_once(f: &Fixture) {
    let second = f.another_instance(StoreOptions::default()).await;
    let stores = [f.store.clone(), second.clone()];
    let mut held = Vec::new();
    for n in 0..4u64 {
        let reference = format!("r-{n}");
        held.push((
            reference.clone(),
            done_then_held(&f.store, &reference, n, Hold, 2_000).await,
        ));
    }
    drain_outbox(&f.store).await;
    // Eight people at once on each held change: half accept, half dismiss.
    let copies = 8;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(held.len() * copies));
    let mut tasks = Vec::new();
    for (i, (_, id)) in held.iter().enumerate() {
        for c in 0..copies {
            let store = stores[(i + c) % stores.len()].clone();
            let (id, barrier) = (*id, barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let by = format!("person-{c}");
                let outcome = if c % 2 == 0 {
                    store.accept_held(id, &by, ms(5_000)).await
                } else {
                    store.dismiss_held(id, &by, ms(5_000)).await
                };
                (id, outcome)
            }));
        }
    }
    let mut won = std::collections::HashMap::new();
    for t in tasks {
        let (id, outcome) = t.await.unwrap();
        match outcome {
            Ok(resolved) => assert!(won.insert(id, resolved).is_none(), "{id} resolved twice"),
            Err(Error::AlreadyResolved { .. }) => {}
            Err(e) => panic!("{id}: {e}"),
        }
    }
    assert_eq!(won.len(), held.len(), "every held change resolved once");
    let accepted = won.values().filter(|r| r.outbox_id.is_some()).count();
    assert_eq!(drain_outbox(&f.store).await.len(), accepted);
    for (reference, id) in &held {
        let key = OrderKey::Reference(&r(reference));
        let log = f.store.events(key).await.unwrap();
        let resolutions: Vec<_> = log.iter().filter(|e| e.resolution.is_some()).collect();
        assert_eq!(resolutions.len(), 1, "{reference}");
        assert_eq!(resolutions[0].id, won[id].event_id);
        let order = f.store.order(key).await.unwrap().unwrap();
        let status = order.known.unwrap().status;
        match resolutions[0].decision {
            DecisionKind::Accepted => assert_eq!(status, Hold),
            DecisionKind::Dismissed => assert_eq!(status, Done),
            other => panic!("{other}"),
        }
    }
    assert!(f.store.held(None, 100).await.unwrap().is_empty());
    second.close().await;
}
