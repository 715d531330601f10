//! Exactly one Apply under concurrent deliveries, several pools (instances)
//! and several processes.

use std::collections::HashMap;

use smartex_core::OrderStatus::{self, *};
use smartex_core::status::Decision;
use smartex_store::{
    AnyStore, ApplyOutcome, DecisionKind, Lease, OrderKey, OrderStore, StoreOptions,
};

use crate::common::{Fixture, both_backends, ms, r};
use crate::store::{ipn, new_order};

both_backends!(
    one_ipn_delivered_concurrently_applies_once,
    many_ipns_from_several_instances_apply_each_once,
    reconciler_leases_are_exclusive,
);

/// Tasks on `stores` apply `observations` (each one `copies` times) to the
/// order `reference`, all at once; returns every outcome.
async fn storm(
    stores: &[AnyStore],
    reference: &str,
    observations: &[smartex_store::Observation],
    copies: usize,
) -> Vec<ApplyOutcome> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(observations.len() * copies));
    let mut tasks = Vec::new();
    for (i, obs) in observations.iter().enumerate() {
        for c in 0..copies {
            let store = stores[(i + c) % stores.len()].clone();
            let obs = obs.clone();
            let reference = r(reference);
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                store.apply(OrderKey::Reference(&reference), obs).await
            }));
        }
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    outcomes
}

async fn one_ipn_delivered_concurrently_applies_once(f: &Fixture) {
    let second = f.another_instance(StoreOptions::default()).await;
    let stores = [f.store.clone(), second.clone()];
    f.store.insert_order(new_order("r-1")).await.unwrap();
    let outcomes = storm(&stores, "r-1", &[ipn(1, InProgress, 1_000)], 16).await;
    let applied = outcomes.iter().filter(|o| o.is_applied()).count();
    let repeats = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                ApplyOutcome::Repeat {
                    decision: DecisionKind::Apply,
                    ..
                }
            )
        })
        .count();
    assert_eq!((applied, repeats), (1, 15), "{outcomes:?}");
    assert_eq!(
        f.store
            .events(OrderKey::Reference(&r("r-1")))
            .await
            .unwrap()
            .len(),
        1
    );
    let lease = Lease {
        owner: "t".into(),
        now: ms(u64::MAX / 4),
        duration: std::time::Duration::from_millis(1),
        limit: 100,
    };
    assert_eq!(f.store.claim_outbox(lease).await.unwrap().len(), 1);
    second.close().await;
}

async fn many_ipns_from_several_instances_apply_each_once(f: &Fixture) {
    let mut stores = vec![f.store.clone()];
    for _ in 0..2 {
        stores.push(f.another_instance(StoreOptions::default()).await);
    }
    f.store.insert_order(new_order("r-1")).await.unwrap();
    // The whole lifecycle, each IPN delivered 4 times, all at once, in any order.
    let lifecycle = [WaitPayment, InProgress, InProgressPayout, Done];
    let observations: Vec<_> = lifecycle
        .iter()
        .enumerate()
        .map(|(i, s)| ipn(1, s.clone(), 1_000 * (i as u64 + 1)))
        .collect();
    let outcomes = storm(&stores, "r-1", &observations, 4).await;
    let mut applied: HashMap<OrderStatus, usize> = HashMap::new();
    for o in &outcomes {
        if let ApplyOutcome::Decided {
            decision: Decision::Apply,
            order,
            ..
        } = o
        {
            *applied
                .entry(order.known.clone().unwrap().status)
                .or_default() += 1;
        }
    }
    assert!(
        applied.values().all(|&n| n == 1),
        "no status applied twice: {applied:?}"
    );
    assert_eq!(applied.get(&Done), Some(&1), "done is always reached");
    let order = f
        .store
        .order(OrderKey::Reference(&r("r-1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.known.unwrap().status, Done);
    assert_eq!(order.version as usize, applied.values().sum::<usize>());
    // One event row per distinct notification, never more.
    let log = f
        .store
        .events(OrderKey::Reference(&r("r-1")))
        .await
        .unwrap();
    assert_eq!(log.len(), lifecycle.len());
    let repeats = outcomes
        .iter()
        .filter(|o| matches!(o, ApplyOutcome::Repeat { .. }))
        .count();
    assert_eq!(repeats, observations.len() * 3);
    // The applied statuses follow each other in lifecycle order.
    let applied_in_log: Vec<_> = log
        .iter()
        .filter(|e| e.decision == DecisionKind::Apply)
        .map(|e| e.event.at.map(smartex_core::time::UnixMillis::as_millis))
        .collect();
    assert!(
        applied_in_log.windows(2).all(|w| w[0] < w[1]),
        "{applied_in_log:?}"
    );
    for s in &stores[1..] {
        s.close().await;
    }
}

async fn reconciler_leases_are_exclusive(f: &Fixture) {
    let second = f.another_instance(StoreOptions::default()).await;
    for i in 0..30 {
        f.store
            .insert_order(new_order(&format!("r-{i}")))
            .await
            .unwrap();
    }
    // A final order is never due.
    f.store
        .apply(OrderKey::Reference(&r("r-0")), ipn(0, Done, 1))
        .await
        .unwrap();
    let lease = |owner: &str| Lease {
        owner: owner.to_owned(),
        now: ms(6_000),
        duration: std::time::Duration::from_millis(10_000),
        limit: 20,
    };
    let (a, b) = tokio::join!(f.store.claim_due(lease("a")), second.claim_due(lease("b")));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 29, "every due order claimed once");
    let mut all: Vec<_> = a.iter().chain(&b).map(|o| o.reference.clone()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 29, "no order held by both");
    assert!(!all.contains(&r("r-0")));
    // Held: nobody else gets them until the lease ends.
    assert!(f.store.claim_due(lease("c")).await.unwrap().is_empty());
    // Finishing a poll releases it and schedules the next one.
    let first = &a[0].reference;
    assert!(
        f.store
            .finish_poll(first, "a", Some(ms(7_000)))
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .finish_poll(first, "a", Some(ms(7_000)))
            .await
            .unwrap(),
        "lease gone"
    );
    let mut later = lease("c");
    later.now = ms(7_000);
    let got = f.store.claim_due(later.clone()).await.unwrap();
    assert_eq!(
        got.iter().map(|o| o.reference.as_str()).collect::<Vec<_>>(),
        vec![first.as_str()]
    );
    assert_eq!(got[0].poll_attempts, 1);
    // An expired lease is claimable again (the holder crashed).
    later.now = ms(16_001);
    assert_eq!(f.store.claim_due(later).await.unwrap().len(), 20);
    // No more polls.
    assert!(f.store.finish_poll(first, "c", None).await.unwrap());
    let o = f
        .store
        .order(OrderKey::Reference(first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.next_poll_at, None);
    second.close().await;
}

/// Two processes on one SQLite file: this test binary runs itself twice as
/// `process_child`, each child applying the same IPNs to the same orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_apply_each_ipn_once() {
    let fixture = crate::common::sqlite(StoreOptions::default()).await;
    let path = fixture.sqlite_path().unwrap();
    for i in 0..20 {
        fixture
            .store
            .insert_order(new_order(&format!("r-{i}")))
            .await
            .unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            tokio::process::Command::new(&exe)
                .args([
                    "--exact",
                    "concurrency::process_child",
                    "--ignored",
                    "--nocapture",
                ])
                .env(CHILD_DB, &path)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied_by_children = 0;
    for child in children {
        let out = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}");
        let n: usize = stdout
            .lines()
            .find_map(|l| l.strip_prefix("applied="))
            .unwrap_or_else(|| panic!("child reported nothing: {stdout}"))
            .trim()
            .parse()
            .unwrap();
        applied_by_children += n;
    }
    let mut applied_in_store = 0;
    for i in 0..20 {
        let log = fixture
            .store
            .events(OrderKey::Reference(&r(&format!("r-{i}"))))
            .await
            .unwrap();
        assert_eq!(log.len(), 4, "one row per notification");
        applied_in_store += log
            .iter()
            .filter(|e| e.decision == DecisionKind::Apply)
            .count();
        let o = fixture
            .store
            .order(OrderKey::Reference(&r(&format!("r-{i}"))))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.known.unwrap().status, Done);
    }
    assert_eq!(
        applied_by_children, applied_in_store,
        "each Apply reported by exactly one process"
    );
    crate::common::cleanup(fixture).await;
}

const CHILD_DB: &str = "SMARTEX_STORE_TEST_CHILD_DB";

/// Not a test on its own: the child process of
/// `sqlite_two_processes_apply_each_ipn_once` (it refuses to run without the
/// parent's environment).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "run by sqlite_two_processes_apply_each_ipn_once"]
async fn process_child() {
    let path =
        std::env::var(CHILD_DB).expect("run only by sqlite_two_processes_apply_each_ipn_once");
    let store = AnyStore::Sqlite(
        smartex_store::SqliteStore::open(path, StoreOptions::default().max_connections(4))
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        for (n, status) in [WaitPayment, InProgress, InProgressPayout, Done]
            .into_iter()
            .enumerate()
        {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let obs = ipn(i, status, 1_000 * (n as u64 + 1));
                store
                    .apply(OrderKey::Reference(&r(&format!("r-{i}"))), obs)
                    .await
            }));
        }
    }
    let mut applied = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_applied() {
            applied += 1;
        }
    }
    println!("applied={applied}");
    store.close().await;
}
