//! The outbox: at least once, in order per order, acknowledged.

use smartex_core::OrderStatus::*;
use smartex_store::{Lease, OrderKey, OrderStore};

use crate::common::{Fixture, both_backends, ms, r};
use crate::store::{ipn, new_order};

both_backends!(outbox_delivers_at_least_once_in_order);

fn lease(owner: &str, now: u64) -> Lease {
    Lease {
        owner: owner.to_owned(),
        now: ms(now),
        duration: std::time::Duration::from_millis(1_000),
        limit: 10,
    }
}

async fn outbox_delivers_at_least_once_in_order(f: &Fixture) {
    let s = &f.store;
    s.insert_order(new_order("r-1")).await.unwrap();
    s.insert_order(new_order("r-2")).await.unwrap();
    for (status, at) in [(WaitPayment, 1_000), (InProgress, 2_000), (Done, 3_000)] {
        assert!(
            s.apply(OrderKey::Reference(&r("r-1")), ipn(1, status, at))
                .await
                .unwrap()
                .is_applied()
        );
    }
    assert!(
        s.apply(OrderKey::Reference(&r("r-2")), ipn(2, WaitPayment, 1_500))
            .await
            .unwrap()
            .is_applied()
    );
    // One item per order at a time: r-1's first change and r-2's.
    let got = s.claim_outbox(lease("a", 10_000)).await.unwrap();
    let seen: Vec<_> = got
        .iter()
        .map(|i| (i.reference.as_str(), i.status.clone()))
        .collect();
    assert_eq!(seen, vec![("r-1", WaitPayment), ("r-2", WaitPayment)]);
    assert_eq!(got[0].previous, None);
    assert_eq!(got[0].attempts, 1);
    // Held by a: b gets nothing.
    assert!(s.claim_outbox(lease("b", 10_500)).await.unwrap().is_empty());
    // a crashes after its business step for r-1 but before acking: the item
    // comes back once the lease ends (at least once).
    let again = s.claim_outbox(lease("b", 11_001)).await.unwrap();
    assert_eq!(
        again.iter().map(|i| i.id).collect::<Vec<_>>(),
        got.iter().map(|i| i.id).collect::<Vec<_>>()
    );
    assert_eq!(again[0].attempts, 2);
    // b acks r-1's item; a late ack from a is harmless.
    assert!(s.ack_outbox(again[0].id, ms(11_100)).await.unwrap());
    assert!(!s.ack_outbox(again[0].id, ms(11_200)).await.unwrap());
    // b's step for r-2 fails: it retries later, not now.
    assert!(s.retry_outbox(again[1].id, "b", ms(20_000)).await.unwrap());
    assert!(
        !s.retry_outbox(again[1].id, "a", ms(20_000)).await.unwrap(),
        "not a's lease"
    );
    let next = s.claim_outbox(lease("c", 12_000)).await.unwrap();
    let seen: Vec<_> = next
        .iter()
        .map(|i| (i.reference.as_str(), i.status.clone(), i.previous.clone()))
        .collect();
    assert_eq!(seen, vec![("r-1", InProgress, Some(WaitPayment))]);
    assert!(s.ack_outbox(next[0].id, ms(12_100)).await.unwrap());
    let next = s.claim_outbox(lease("c", 20_000)).await.unwrap();
    let seen: Vec<_> = next
        .iter()
        .map(|i| (i.reference.as_str(), i.status.clone()))
        .collect();
    assert_eq!(seen, vec![("r-1", Done), ("r-2", WaitPayment)]);
    for item in &next {
        assert!(s.ack_outbox(item.id, ms(20_100)).await.unwrap());
    }
    assert!(s.claim_outbox(lease("c", 99_000)).await.unwrap().is_empty());
}

both_backends!(outbox_claims_are_exclusive_across_instances);

async fn outbox_claims_are_exclusive_across_instances(f: &Fixture) {
    let second = f
        .another_instance(smartex_store::StoreOptions::default())
        .await;
    for i in 0..40u64 {
        let reference = r(&format!("r-{i}"));
        f.store
            .insert_order(new_order(reference.as_str()))
            .await
            .unwrap();
        f.store
            .apply(OrderKey::Reference(&reference), ipn(i, WaitPayment, 1_000))
            .await
            .unwrap();
    }
    let claim = |owner: &str| Lease {
        owner: owner.to_owned(),
        now: ms(5_000),
        duration: std::time::Duration::from_millis(60_000),
        limit: 25,
    };
    let (a, b) = tokio::join!(
        f.store.claim_outbox(claim("a")),
        second.claim_outbox(claim("b"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut ids: Vec<i64> = a.iter().chain(&b).map(|i| i.id).collect();
    assert_eq!(ids.len(), 40, "every item claimed");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "no item claimed by both instances");
    second.close().await;
}
