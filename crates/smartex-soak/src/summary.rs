//! The soak's summary: what was injected, what the platform sent, what the
//! store applied, and the checks.

use std::time::Duration;

use smartex_sandbox::{DeliveryResult, IpnKind, Sandbox};

use crate::args::SoakArgs;
use crate::audit::Audit;
use crate::drive::{Tally, get};
use crate::lb::LbStats;
use crate::say;

/// What the sandbox sent, by its own records.
pub(crate) struct SentIpns {
    /// Originals sent to the balancer.
    sent: usize,
    duplicates: usize,
    stale: usize,
    /// Lost on purpose.
    dropped: usize,
    /// No answer (no instance, or the balancer gave up).
    failed: usize,
    /// Answered `OK: duplicate`.
    answered_duplicate: usize,
    /// Originals whose timestamp was signed in seconds (the others: ms).
    in_seconds: usize,
}

impl SentIpns {
    pub(crate) fn count(sb: &Sandbox) -> SentIpns {
        let records = sb.sent_ipns();
        let count = |keep: &dyn Fn(&smartex_sandbox::IpnRecord) -> bool| {
            records.iter().filter(|r| keep(r)).count()
        };
        SentIpns {
            sent: count(&|r| r.target.contains("/ipn") && r.kind == IpnKind::Original),
            duplicates: count(&|r| r.kind == IpnKind::Duplicate),
            stale: count(&|r| r.kind == IpnKind::Stale),
            dropped: count(&|r| matches!(r.outcome, DeliveryResult::Dropped)),
            failed: count(&|r| matches!(r.outcome, DeliveryResult::Failed(_))),
            answered_duplicate: count(
                &|r| matches!(&r.outcome, DeliveryResult::Delivered { body, .. } if body.starts_with("OK: duplicate")),
            ),
            in_seconds: count(&|r| {
                r.kind == IpnKind::Original
                    && r.timestamp
                        .parse::<u64>()
                        .is_ok_and(|t| t < smartex::core::time::UnixMillis::SECONDS_BELOW)
            }),
        }
    }
}

/// Everything the summary reports.
pub(crate) struct Summary<'a> {
    pub(crate) seed: u64,
    pub(crate) elapsed: Duration,
    pub(crate) args: &'a SoakArgs,
    pub(crate) audit: &'a Audit,
    pub(crate) tally: &'a Tally,
    pub(crate) sent: SentIpns,
    pub(crate) lb: &'a LbStats,
    pub(crate) nonce_refusals: u64,
}

impl Summary<'_> {
    /// Prints the summary; the orders that failed a check in detail unless
    /// the run `passed`.
    pub(crate) fn print(&self, passed: bool) {
        let (v, t, s, lb) = (self.audit, self.tally, &self.sent, self.lb);
        let applied = v.applied_ipn + v.applied_poll;
        say(format!(
            "soak summary (seed {}, {:.1} s)",
            self.seed,
            self.elapsed.as_secs_f64()
        ));
        say(format!(
            "  orders            {} requested, {} created on the platform, {} not created",
            self.args.orders,
            v.orders,
            get(&t.not_created)
        ));
        say(format!(
            "  checkouts         {} ok, {} ambiguous, {} not created, {} lost with a killed instance",
            get(&t.checkouts_ok),
            get(&t.checkouts_ambiguous),
            get(&t.checkouts_not_created),
            get(&t.checkouts_lost)
        ));
        say(format!(
            "  faults            {} IPNs dropped, {} duplicated, {} delayed, {} stale resends, {} 5xx after create, {} stalls, {} SIGKILLs",
            get(&t.faults_drop),
            get(&t.faults_duplicate),
            get(&t.faults_delay),
            get(&t.faults_stale),
            get(&t.faults_create_5xx),
            get(&t.faults_stall),
            get(&t.kills)
        ));
        say(format!(
            "  lifecycle         {} waitPayment↔errorPayment, {} inProgressPayout↔errorPayout, {} through hold (within 300 ms), {} operator moves, {} customer claims, {} recalculations, {} underpaid, {} expired; {} of {} IPNs timed in seconds",
            get(&t.bounce_payment),
            get(&t.bounce_payout),
            get(&t.holds),
            get(&t.operator_moves),
            get(&t.customer_claims),
            get(&t.recalculations),
            get(&t.underpaid),
            get(&t.expired),
            s.in_seconds,
            s.sent
        ));
        say(format!(
            "  IPNs              {} sent (+{} duplicate, +{} stale deliveries), {} lost by the sandbox, {} failed to deliver, {} received by the balancer ({} re-routed after a kill, {} unanswered)",
            s.sent,
            s.duplicates,
            s.stale,
            s.dropped,
            s.failed,
            get(&lb.received),
            get(&lb.retried),
            get(&lb.unanswered)
        ));
        say(format!(
            "  applied           {applied} changes: {} from IPNs, {} recovered by the reconciler; {} recorded as history",
            v.applied_ipn, v.applied_poll, v.superseded
        ));
        say(format!(
            "  duplicates        {} answered as duplicates, {} decided duplicate or stale in the store, {} held for review",
            s.answered_duplicate, v.not_applied, v.held
        ));
        let i = &v.ipns;
        say(format!(
            "  IPNs answered 2xx {}: {} reached the business step as current, {} as history; not delivered: {} older than a change delivered before, {} the same change delivered by a poll, {} of a status delivered or confirmed within their time ({} of them a later change on the platform), {} withheld",
            i.answered,
            i.current,
            i.history,
            i.older,
            i.same,
            i.within_window,
            i.within_window_later,
            i.withheld.len()
        ));
        say(format!(
            "  recovered         {} ambiguous or lost checkouts bound by their IPN ({} bindings seen)",
            v.recovered_ambiguous,
            get(&lb.bound)
        ));
        say(format!(
            "  business step     {} of {} delivered changes acknowledged ({} deliveries incl. redeliveries)",
            v.acked,
            applied + v.superseded,
            v.ack_lines
        ));
        let mut seen: Vec<(&String, &usize)> = v.seen.iter().collect();
        seen.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let seen: Vec<String> = seen.iter().map(|(view, n)| format!("{view} {n}")).collect();
        say(format!(
            "  payment seen      orders by payment/amount check on a change: {}",
            seen.join(", ")
        ));
        let f = &v.fulfilment;
        say(format!(
            "  fulfilment        {} shipped (current, received, paid in full); {} underpaid ({} seen as less), {} customer claims (seen as claimed_by_customer)",
            f.shipped, f.underpaid, f.underpaid_seen_less, f.claimed
        ));
        say(format!(
            "  checks            {} mismatched, {} applied twice, {} regressions, {} not acknowledged, {} genuine changes withheld, {} amounts altered, {} shipped unpaid, {} paid not shipped, {} underpaid seen paid, {} claims seen received",
            v.mismatched.len(),
            v.double_applied,
            v.regressions,
            v.unacked,
            i.withheld.len(),
            v.altered.len(),
            f.shipped_unpaid.len(),
            f.paid_not_shipped.len(),
            f.underpaid_seen_paid.len(),
            f.claims_seen_received.len()
        ));
        if self.args.api_key {
            say(format!(
                "  API key           every call keyed (lane shared through the store); {} refused for their nonce by the sandbox",
                self.nonce_refusals
            ));
        }
        let failures = [
            ("mismatch", &v.mismatched),
            ("withheld", &i.withheld),
            ("altered", &v.altered),
            ("shipped unpaid", &f.shipped_unpaid),
            ("paid not shipped", &f.paid_not_shipped),
            ("underpaid seen paid", &f.underpaid_seen_paid),
            ("claim seen received", &f.claims_seen_received),
        ];
        for (what, lines) in failures {
            for line in lines.iter().take(10) {
                say(format!("    {what}: {line}"));
            }
        }
        if !passed {
            for dump in v.dumps.iter().take(10) {
                for line in dump {
                    say(format!("    {line}"));
                }
            }
        }
    }
}
