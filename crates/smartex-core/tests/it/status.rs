//! Statuses, the inferred lifecycle, the tracker and the update-status rule.

use smartex_core::OrderStatus::{self, *};
use smartex_core::status::{
    Decision, KnownStatus, StatusEvent, Tracker, check_update_status, decide,
};

#[test]
fn wire_strings_are_exact() {
    let wire = [
        "new",
        "waitPayment",
        "errorPayment",
        "inProgress",
        "inProgressPayout",
        "errorPayout",
        "hold",
        "done",
        "returned",
        "deleted",
    ];
    for (status, text) in OrderStatus::KNOWN.iter().zip(wire) {
        assert_eq!(status.as_str(), text);
        assert_eq!(&OrderStatus::parse(text), status);
        assert_eq!(
            serde_json::to_string(status).unwrap(),
            format!("\"{text}\"")
        );
    }
    assert_eq!(OrderStatus::parse("Done"), Unknown("Done".into()));
    assert_eq!(OrderStatus::parse(""), Unknown(String::new()));
}

#[test]
fn queries() {
    let finals: Vec<_> = OrderStatus::KNOWN.iter().filter(|s| s.is_final()).collect();
    assert_eq!(finals, [&Done, &Returned, &Deleted]);
    let errors: Vec<_> = OrderStatus::KNOWN.iter().filter(|s| s.is_error()).collect();
    assert_eq!(errors, [&ErrorPayment, &ErrorPayout]);
    // Proof of payment starts at inProgressPayout: the customer can set
    // inProgress themselves (the vendor manual).
    let paid: Vec<_> = OrderStatus::KNOWN
        .iter()
        .filter(|s| s.payment().is_received())
        .collect();
    assert_eq!(paid, [&InProgressPayout, &ErrorPayout, &Done]);
}

#[test]
fn lifecycle_reachability() {
    assert!(WaitPayment.can_follow(&New));
    assert!(Done.can_follow(&New)); // lost notifications in between
    assert!(ErrorPayout.can_follow(&WaitPayment));
    assert!(Hold.can_follow(&InProgress));
    assert!(InProgress.can_follow(&Hold));
    assert!(!New.can_follow(&WaitPayment));
    // An operator moving an order back is held for review, not expected.
    assert!(!WaitPayment.can_follow(&InProgress));
    assert!(ErrorPayment.can_follow(&New)); // an operator's move, the vendor manual
    // Nothing leads back from the payout side to before the payment.
    for paid in [InProgressPayout, ErrorPayout] {
        for before in [New, WaitPayment, ErrorPayment, InProgress] {
            assert!(!before.can_follow(&paid), "{before} after {paid}");
        }
    }
    for f in [Done, Returned, Deleted] {
        for s in OrderStatus::KNOWN {
            assert!(!s.can_follow(&f), "{s} after final {f}");
        }
    }
    // Unknown statuses: reachable from any non-final status; anything follows them.
    let odd = Unknown("refunded".into());
    for s in OrderStatus::KNOWN {
        assert_eq!(odd.can_follow(&s), !s.is_final(), "{odd} after {s}");
        assert!(s.can_follow(&odd), "{s} after {odd}");
    }
    assert!(!odd.can_follow(&odd));
}

fn ev(status: OrderStatus, at: u64) -> StatusEvent {
    StatusEvent::ipn(status, ms(at))
}

fn known(status: OrderStatus, at: u64) -> KnownStatus {
    KnownStatus {
        status,
        at: Some(smartex_core::time::UnixMillis::from_millis(at)),
        source: smartex_core::status::Source::Ipn,
        last_signed: None,
    }
}

#[test]
fn decisions() {
    #[track_caller]
    fn check(k: Option<KnownStatus>, e: StatusEvent, expect: Decision) {
        assert_eq!(decide(k.as_ref(), &e), expect);
    }
    check(None, ev(Done, 5), Decision::Apply);
    check(
        Some(known(WaitPayment, 1)),
        ev(InProgress, 2),
        Decision::Apply,
    );
    check(
        Some(known(WaitPayment, 1)),
        ev(WaitPayment, 1),
        Decision::Duplicate,
    );
    // A later IPN of the status already known: the order left it and came
    // back (the change in between was lost) — a genuine change, applied.
    check(
        Some(known(WaitPayment, 1)),
        ev(WaitPayment, 9),
        Decision::Apply,
    );
    // A final status is never left: a later IPN of it is the change known.
    check(Some(known(Done, 1)), ev(Done, 9), Decision::Duplicate);
    check(Some(known(Done, 10)), ev(WaitPayment, 5), Decision::Stale);
    // Two IPNs of one instant: the lifecycle orders them when only one way
    // round is possible. The earlier change, arriving second, is a genuine
    // change never delivered: history, not current. waitPayment and
    // errorPayment are a cycle: the current status stays, the other is
    // history too.
    check(
        Some(known(InProgress, 10)),
        ev(WaitPayment, 10),
        Decision::Superseded,
    );
    check(
        Some(known(WaitPayment, 10)),
        ev(InProgress, 10),
        Decision::Apply,
    );
    check(
        Some(known(WaitPayment, 10)),
        ev(ErrorPayment, 10),
        Decision::Superseded,
    );
    check(
        Some(known(InProgress, 10)),
        ev(InProgressPayout, 10),
        Decision::Apply,
    );
    assert!(matches!(
        decide(Some(&known(Done, 10)), &ev(InProgress, 11)),
        Decision::Unexpected { .. }
    ));
    assert!(matches!(
        decide(Some(&known(InProgressPayout, 1)), &ev(WaitPayment, 2)),
        Decision::Unexpected { .. }
    ));
    // Without times, only the lifecycle decides.
    let no_time = KnownStatus {
        status: Done,
        at: None,
        source: smartex_core::status::Source::Ipn,
        last_signed: None,
    };
    assert!(matches!(
        decide(
            Some(&no_time),
            &StatusEvent {
                status: WaitPayment,
                at: None,
                source: smartex_core::status::Source::Ipn,
            }
        ),
        Decision::Unexpected { .. }
    ));
}

#[test]
fn late_wait_payment_never_overwrites_done() {
    let mut t = Tracker::default();
    for (s, at) in [(New, 1), (WaitPayment, 2), (InProgress, 3), (Done, 5)] {
        assert_eq!(t.apply(&ev(s, at)), Decision::Apply);
    }
    assert_eq!(t.apply(&ev(WaitPayment, 2)), Decision::Stale);
    assert_eq!(t.apply(&ev(InProgressPayout, 4)), Decision::Stale);
    assert!(matches!(t.apply(&ev(Hold, 6)), Decision::Unexpected { .. }));
    let k = t.known().unwrap();
    assert_eq!((&k.status, k.at), (&Done, Some(ms(5))));
}

#[test]
fn update_status_rule() {
    assert!(check_update_status(Some(&WaitPayment), &InProgress).is_ok());
    assert!(check_update_status(Some(&New), &Deleted).is_ok());
    assert!(check_update_status(None, &InProgress).is_ok());
    for target in [InProgressPayout, Done, Hold] {
        for current in [None, Some(&New), Some(&WaitPayment)] {
            let err = check_update_status(current, &target).unwrap_err();
            assert!(err.to_string().contains("may not set"), "{err}");
        }
    }
    for current in [
        InProgress,
        InProgressPayout,
        ErrorPayment,
        Done,
        Returned,
        Deleted,
        Hold,
    ] {
        let err = check_update_status(Some(&current), &InProgress);
        assert!(err.is_err(), "from {current}");
    }
}

/// An instant, from milliseconds.
fn ms(t: u64) -> smartex_core::time::UnixMillis {
    smartex_core::time::UnixMillis::from_millis(t)
}

#[path = "../data/one_history.rs"]
mod one_history;

/// The scripted history every receive path must decide alike (the store's
/// and the `ipn listen` receiver's suites replay the same file), through the
/// verified IPN's own event, as a receiver builds it.
#[test]
fn one_history_decided_by_the_tracker() {
    use smartex_core::status::Source;
    let base = 1_700_000_000_000;
    let mut tracker = Tracker::default();
    for (i, step) in one_history::history().iter().enumerate() {
        let n: u64 = one_history::timestamp(step, base).parse().unwrap();
        let event = StatusEvent::ipn_timestamp(step.status.clone(), n);
        assert_eq!(event.source == Source::IpnSeconds, step.in_seconds);
        assert_eq!(tracker.apply(&event), step.decision, "step {i}");
    }
}

/// A held change is accepted over the lifecycle's objection, never over
/// time: not when the order learned a later status since, nor when a newer
/// signed change was recorded.
#[test]
fn accepting_a_held_change_never_moves_the_status_back() {
    use smartex_core::status::{Source, StaleHeld, accept_held, transition};
    use smartex_core::time::UnixMillis;
    let ms = UnixMillis::from_millis;
    let done = transition(None, &StatusEvent::ipn(Done, ms(1_000)))
        .known
        .unwrap();
    // An operator's move back from a final status: held, then accepted.
    let back = StatusEvent::ipn(InProgressPayout, ms(2_000));
    assert!(matches!(
        transition(Some(&done), &back).decision,
        Decision::Unexpected { .. }
    ));
    let accepted = accept_held(Some(&done), &back).unwrap();
    assert_eq!(accepted.status, InProgressPayout);
    assert_eq!(
        (accepted.at, accepted.source),
        (Some(ms(2_000)), Source::Ipn)
    );
    assert_eq!(accepted.last_signed.as_ref().map(|m| m.at), Some(ms(2_000)));
    // The lifecycle goes on from the accepted status.
    assert_eq!(
        decide(Some(&accepted), &StatusEvent::ipn(Done, ms(3_000))),
        Decision::Apply
    );
    // A poll confirmed `done` after the held change: refused.
    let confirmed = done
        .merge_duplicate(&StatusEvent::polled_between(
            Done,
            ms(10_000),
            ms(10_100),
            1_000,
        ))
        .unwrap();
    assert_eq!(
        accept_held(Some(&confirmed), &back),
        Err(StaleHeld::CurrentIsNewer)
    );
    // Within the current observation's window: of unknown order, refused.
    let wide = KnownStatus {
        status: Done,
        at: Some(ms(1_000)),
        source: Source::Poll { window_ms: 5_000 },
        last_signed: None,
    };
    assert_eq!(
        accept_held(Some(&wide), &back),
        Err(StaleHeld::CurrentIsNewer)
    );
    // A newer signed change recorded as history (the current status from an
    // earlier poll): refused.
    let polled = KnownStatus {
        status: Done,
        at: Some(ms(500)),
        source: Source::Poll { window_ms: 100 },
        last_signed: Some(smartex_core::status::SignedMark {
            status: Hold,
            at: ms(2_500),
            window_ms: 0,
        }),
    };
    assert_eq!(
        accept_held(Some(&polled), &back),
        Err(StaleHeld::SignedIsNewer)
    );
    // Nothing known, or an event without a time: the person decides.
    assert_eq!(accept_held(None, &back).unwrap().status, InProgressPayout);
    let untimed = StatusEvent::polled_untimed(Hold);
    let after = accept_held(Some(&done), &untimed).unwrap();
    assert_eq!((after.status, after.at), (Hold, Some(ms(1_000))));
}
