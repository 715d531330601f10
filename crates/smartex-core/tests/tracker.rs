//! The tracker never regresses and withholds no genuine change: any
//! interleaving of IPNs (reordered, duplicated, dropped, timed in
//! milliseconds or in whole seconds) and polls (with and without the order's
//! own time, with our clock off the platform's by up to the allowance, so
//! their windows are seconds wide) over histories with cycles
//! (`waitPayment ↔ errorPayment`, `inProgressPayout ↔ errorPayout`, `hold`
//! and back, within a few hundred ms) ends at the platform's final status; no
//! decision ever makes current a status older than what the tracker already
//! learned; and every IPN is delivered (applied, or recorded as history)
//! unless a change already delivered is as new or newer.
//!
//! The platform is modelled as a walk through the inferred lifecycle
//! ([`OrderStatus::successors`]), with `hold` detours that return where they
//! left or move on to a next status — the premise the tracker's lifecycle
//! rests on. Hand-set statuses outside the lifecycle are out of scope (the
//! tracker reports them as unexpected and applies nothing).

// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use smartex_core::OrderStatus;
use smartex_core::status::{DEFAULT_CLOCK_SKEW_MS, Decision, StatusEvent, Tracker};

/// splitmix64: a small deterministic generator driven by proptest's seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A platform history: statuses and the platform time each was set, ending final.
fn history(rng: &mut Rng) -> Vec<(OrderStatus, u64)> {
    let mut t = 1_000_000 + rng.below(1_000);
    let mut path = vec![(OrderStatus::WaitPayment, t)];
    let mut current = OrderStatus::WaitPayment;
    while !current.is_final() {
        let gap = if rng.chance(50) { 50 } else { 8_000 };
        t += 1 + rng.below(gap);
        let forward: Vec<OrderStatus> = current
            .successors()
            .filter(|s| **s != OrderStatus::Hold)
            .cloned()
            .collect();
        let long = path.len() > 12;
        let next = if long {
            // Settle: every non-final status has a final successor.
            forward.iter().find(|s| s.is_final()).cloned().unwrap()
        } else if rng.chance(15) {
            // A hold detour: back where it left, or on to a next status.
            path.push((OrderStatus::Hold, t));
            t += 1 + rng.below(8_000);
            if rng.chance(50) {
                current.clone()
            } else {
                rng.pick(&forward).clone()
            }
        } else {
            rng.pick(&forward).clone()
        };
        if next == current {
            path.push((next.clone(), t));
        } else {
            path.push((next.clone(), t));
            current = next;
        }
    }
    path
}

/// One delivery to the tracker: the event, when it arrives on our clock, and
/// the index in the history of the status it reports.
struct Delivery {
    arrives: u64,
    event: StatusEvent,
    index: usize,
    what: String,
}

/// The index of the status current at platform time `u`.
fn index_at(path: &[(OrderStatus, u64)], u: u64) -> usize {
    path.iter().rposition(|(_, t)| *t <= u).unwrap_or(0)
}

fn scenario(seed: u64) -> (Vec<(OrderStatus, u64)>, Vec<Delivery>) {
    let mut rng = Rng(seed);
    let path = history(&mut rng);
    let skew = DEFAULT_CLOCK_SKEW_MS;
    // Our clock = platform clock + offset, within the allowance.
    let offset = rng.below(2 * skew + 1) as i64 - skew as i64;
    let local = |platform: u64| (platform as i64 + offset) as u64;
    let order_time = rng.chance(40);
    let seconds = rng.chance(30);
    let mut out = Vec::new();
    for (i, (status, t)) in path.iter().enumerate() {
        // Dropped, once, or several times; late by up to 30 s.
        let copies = match rng.below(10) {
            0 | 1 => 0,
            2 => 2 + rng.below(2),
            _ => 1,
        };
        for _ in 0..copies {
            let delay = if rng.chance(30) {
                rng.below(30_000)
            } else {
                rng.below(300)
            };
            out.push(Delivery {
                arrives: local(*t) + delay,
                // Some senders sign `Math.floor(Date.now() / 1000)`.
                event: if seconds {
                    StatusEvent::ipn_timestamp(status.clone(), *t / 1000)
                } else {
                    StatusEvent::ipn(status.clone(), ms(*t))
                },
                index: i,
                what: format!("ipn {status}@{t}"),
            });
        }
    }
    let start = path[0].1;
    let end = path[path.len() - 1].1;
    let polls = rng.below(8);
    for _ in 0..polls {
        let u = start + rng.below(end - start + 20_000);
        let (d1, d2) = (rng.below(200), rng.below(200));
        let idx = index_at(&path, u);
        let (status, set_at) = path[idx].clone();
        let event = if order_time {
            StatusEvent::polled_at(status.clone(), ms(set_at))
        } else {
            StatusEvent::polled_between(status.clone(), ms(local(u - d1)), ms(local(u + d2)), skew)
        };
        out.push(Delivery {
            arrives: local(u + d2) + rng.below(50),
            what: format!("poll {status} at platform {u} ({event:?})"),
            event,
            index: idx,
        });
    }
    // Deliveries race: sort by arrival, ties in generated order.
    out.sort_by_key(|d| d.arrives);
    // The reconciler polls until final: one last poll after everything.
    let u = end + 1 + rng.below(60_000);
    let last = path.len() - 1;
    let event = if order_time {
        StatusEvent::polled_at(path[last].0.clone(), ms(end))
    } else {
        StatusEvent::polled_between(
            path[last].0.clone(),
            ms(local(u - 10)),
            ms(local(u + 10)),
            skew,
        )
    };
    out.push(Delivery {
        arrives: local(u + 10),
        what: format!("final poll at platform {u}"),
        event,
        index: last,
    });
    (path, out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30_000))]

    #[test]
    fn never_regresses_and_ends_final(seed in any::<u64>()) {
        let (path, deliveries) = scenario(seed);
        let mut tracker = Tracker::default();
        // The history index of what the tracker knows: the newest sighting of
        // its status among the deliveries it applied or found duplicate.
        let mut known_index: Option<usize> = None;
        let mut log = Vec::new();
        let mut applied = std::collections::HashSet::new();
        // What reached the business step: (history index, event).
        let mut delivered: Vec<(usize, StatusEvent)> = Vec::new();

        for d in &deliveries {
            let decision = tracker.apply(&d.event);
            log.push(format!("{} -> {decision:?}", d.what));
            if matches!(decision, Decision::Apply | Decision::Superseded) {
                delivered.push((d.index, d.event.clone()));
            } else if d.event.source.is_signed() {
                // A genuine change withheld: only if one already delivered is
                // as new or newer, or is the same change (the same status
                // over an overlapping time: a sender timing in seconds makes
                // two changes of a status within one second one notification).
                let shown = delivered.iter().any(|(i, e)| {
                    *i >= d.index
                        || (e.status == d.event.status && overlaps(e, &d.event))
                });
                prop_assert!(
                    shown,
                    "withheld: {} ({decision:?}) with nothing as new delivered\npath {path:?}\n{}",
                    d.what, log.join("\n")
                );
            }
            match decision {
                Decision::Apply => {
                    prop_assert!(
                        // The same entry again is a revisit seen twice (by a
                        // poll, then its IPN), never an older status.
                        // Never an older status than one learned (a poll
                        // may have confirmed this very entry first).
                        known_index.is_none_or(|k| d.index >= k),
                        "regression or applied twice: applied history[{}] after learning history[{:?}]\npath {path:?}\n{}",
                        d.index, known_index, log.join("\n")
                    );
                    // Never the same change twice: a revisit is a later entry.
                    prop_assert!(
                        applied.insert(d.index),
                        "applied twice: history[{}]\npath {path:?}\n{}",
                        d.index, log.join("\n")
                    );
                    known_index = Some(d.index);
                }
                Decision::Duplicate => {
                    known_index = known_index.max(Some(d.index));
                }
                _ => {}
            }
        }
        let final_status = &path[path.len() - 1].0;
        prop_assert_eq!(
            tracker.known().map(|k| &k.status),
            Some(final_status),
            "did not end final\npath {:?}\n{}", path, log.join("\n")
        );
    }
}

/// A late IPN never moves a poll-learned status back; it reaches the
/// business step as history (superseded), once, unless a newer signed change
/// was already delivered.
#[test]
fn a_late_ipn_is_history_not_a_regression() {
    use OrderStatus::*;
    let mut t = Tracker::default();
    assert_eq!(
        t.apply(&StatusEvent::ipn(InProgress, ms(1_000))),
        Decision::Apply
    );
    let poll =
        StatusEvent::polled_between(ErrorPayout, ms(10_000), ms(10_050), DEFAULT_CLOCK_SKEW_MS);
    assert_eq!(t.apply(&poll), Decision::Apply);
    assert_eq!(
        t.apply(&StatusEvent::ipn(InProgressPayout, ms(2_000))),
        Decision::Superseded
    );
    assert_eq!(t.known().map(|k| &k.status), Some(&ErrorPayout));
    // Older than the signed change just recorded: stale.
    assert_eq!(
        t.apply(&StatusEvent::ipn(InProgress, ms(1_500))),
        Decision::Stale
    );
    let mut t = Tracker::default();
    assert_eq!(
        t.apply(&StatusEvent::ipn(WaitPayment, ms(1_000))),
        Decision::Apply
    );
    let hold = StatusEvent::polled_between(Hold, ms(10_000), ms(10_050), DEFAULT_CLOCK_SKEW_MS);
    assert_eq!(t.apply(&hold), Decision::Apply);
    assert_eq!(
        t.apply(&StatusEvent::ipn(InProgress, ms(2_000))),
        Decision::Superseded
    );
    assert_eq!(t.known().map(|k| &k.status), Some(&Hold));
}

/// Issue 17's reproduction: `inProgressPayout` at `T` ms, then `done` at
/// `floor(T/1000)` s. Read as the first millisecond of its second, `done`
/// looked older and was lost; as the interval of its second it is applied.
#[test]
fn a_timestamp_in_seconds_is_the_interval_of_its_second() {
    use OrderStatus::*;
    let t_ms = 1_700_000_000_456;
    let mut t = Tracker::default();
    t.apply(&StatusEvent::ipn(InProgressPayout, ms(t_ms)));
    assert_eq!(
        t.apply(&StatusEvent::ipn_timestamp(Done, t_ms / 1000)),
        Decision::Apply
    );
    assert_eq!(t.known().map(|k| &k.status), Some(&Done));
    // And a seconds-timed errorPayout does not let an older inProgressPayout
    // of the same second be made current after it.
    let mut t = Tracker::default();
    t.apply(&StatusEvent::ipn(InProgress, ms(t_ms - 5_000)));
    t.apply(&StatusEvent::ipn_timestamp(ErrorPayout, t_ms / 1000));
    let late = t.apply(&StatusEvent::ipn(InProgressPayout, ms(t_ms)));
    assert_ne!(late, Decision::Apply, "the current status moved back");
    assert_eq!(t.known().map(|k| &k.status), Some(&ErrorPayout));
}

/// Whether two events' intervals overlap.
fn overlaps(a: &StatusEvent, b: &StatusEvent) -> bool {
    match (a.at.zip(a.latest()), b.at.zip(b.latest())) {
        (Some((a0, a1)), Some((b0, b1))) => a0 <= b1 && b0 <= a1,
        _ => false,
    }
}

/// An instant, from milliseconds.
fn ms(t: u64) -> smartex_core::time::UnixMillis {
    smartex_core::time::UnixMillis::from_millis(t)
}

/// Found by the soak: an order leaves its status and comes back within one
/// second; the sender signs the first IPNs in seconds and the return in
/// milliseconds. Time cannot order the return against the first sighting
/// (it lies inside that second), but two signed IPNs of one status are two
/// changes: the return reaches the business step as history, the current
/// status stays, nothing is applied twice.
#[test]
fn a_return_to_the_status_within_its_second_is_history_not_a_duplicate() {
    use OrderStatus::*;
    let s = 1_700_000_475;
    let mut t = Tracker::default();
    assert_eq!(
        t.apply(&StatusEvent::ipn_timestamp(WaitPayment, s)),
        Decision::Apply
    );
    assert_eq!(
        t.apply(&StatusEvent::ipn_timestamp(ErrorPayment, s)),
        Decision::Superseded
    );
    let poll = StatusEvent::polled_at(ErrorPayment, ms(s * 1000 + 296));
    let _ = t.apply(&poll);
    let back = StatusEvent::ipn(WaitPayment, ms(s * 1000 + 509));
    assert_ne!(
        t.apply(&back),
        Decision::Duplicate,
        "the return was withheld"
    );
    // The same notification again is a duplicate.
    let mut u = Tracker::default();
    u.apply(&StatusEvent::ipn_timestamp(InProgressPayout, s));
    assert_eq!(
        u.apply(&StatusEvent::ipn_timestamp(InProgressPayout, s)),
        Decision::Duplicate
    );
    assert_eq!(
        u.apply(&StatusEvent::ipn(InProgressPayout, ms(s * 1000 + 805))),
        Decision::Superseded
    );
    assert_eq!(u.known().map(|k| &k.status), Some(&InProgressPayout));
}
