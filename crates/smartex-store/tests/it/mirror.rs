//! The store decides exactly as the core tracker does: random sequences of
//! IPNs and polls (repeats included) applied one by one to the store and to
//! an in-memory `Tracker` give the same decisions and the same known state.

use smartex_core::OrderStatus;
use smartex_core::status::{StatusEvent, Tracker};
use smartex_store::{ApplyOutcome, NotificationKey, Observation, OrderKey, OrderStore};

use crate::common::{Fixture, both_backends, ms, oid, r};
use crate::store::new_order;

both_backends!(store_mirrors_the_tracker);

/// splitmix64, seeded per sequence.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

async fn store_mirrors_the_tracker(f: &Fixture) {
    let s = &f.store;
    for seq in 0..40u64 {
        let reference = r(&format!("r-{seq}"));
        s.insert_order(new_order(reference.as_str())).await.unwrap();
        let key = OrderKey::Reference(&reference);
        let mut tracker = Tracker::default();
        let mut rng = seq * 7919 + 1;
        let mut sent: Vec<Observation> = Vec::new();
        let (mut decided, mut applies) = (0, 0);
        for step in 0..25u64 {
            let obs = if !sent.is_empty() && next(&mut rng).is_multiple_of(5) {
                // A repeat of an earlier notification (or poll).
                sent[(next(&mut rng) % sent.len() as u64) as usize].clone()
            } else {
                let status = OrderStatus::KNOWN[(next(&mut rng) % 10) as usize].clone();
                let at = 1_000 + next(&mut rng) % 60_000;
                if next(&mut rng).is_multiple_of(3) {
                    let sent_ms = at + next(&mut rng) % 100;
                    let event =
                        StatusEvent::polled_between(status, ms(sent_ms), ms(sent_ms + 50), 5_000);
                    Observation::poll(event, ms(sent_ms + 50))
                } else {
                    let k = NotificationKey::ipn(&oid(seq), &format!("{step:064x}"));
                    Observation::ipn(StatusEvent::ipn(status, ms(at)), k, ms(at + 5))
                }
            };
            sent.push(obs.clone());
            let outcome = s.apply(key, obs.clone()).await.unwrap();
            match outcome {
                ApplyOutcome::Decided {
                    decision, order, ..
                } => {
                    let expected = tracker.apply(&obs.event);
                    decided += 1;
                    applies += usize::from(expected == smartex_core::status::Decision::Apply);
                    assert_eq!(decision, expected, "seq {seq} step {step}: {obs:?}");
                    assert_eq!(
                        order.known.as_ref(),
                        tracker.known(),
                        "seq {seq} step {step}"
                    );
                }
                ApplyOutcome::Repeat { .. } => {
                    assert!(obs.key.is_some(), "only keyed notifications repeat");
                }
            }
        }
        let stored = s.order(key).await.unwrap().unwrap();
        assert_eq!(stored.known.as_ref(), tracker.known(), "seq {seq}");
        // One log row per decision, and the applied ones are the tracker's.
        let log = s.events(key).await.unwrap();
        assert_eq!(log.len(), decided, "seq {seq}");
        let applied = log
            .iter()
            .filter(|e| e.decision == smartex_store::DecisionKind::Apply)
            .count();
        assert_eq!(applied, applies, "seq {seq}");
    }
}
