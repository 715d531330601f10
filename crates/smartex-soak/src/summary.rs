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
    pub(crate) fn print(&self) {
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
            "  applied           {applied} changes: {} from IPNs, {} recovered by the reconciler",
            v.applied_ipn, v.applied_poll
        ));
        say(format!(
            "  duplicates        {} answered as duplicates, {} decided duplicate or stale in the store",
            s.answered_duplicate, v.not_applied
        ));
        say(format!(
            "  recovered         {} ambiguous or lost checkouts bound by their IPN ({} bindings seen)",
            v.recovered_ambiguous,
            get(&lb.bound)
        ));
        say(format!(
            "  business step     {} of {applied} applied changes acknowledged ({} deliveries incl. redeliveries)",
            v.acked, v.ack_lines
        ));
        say(format!(
            "  checks            {} mismatched, {} applied twice, {} regressions, {} not acknowledged",
            v.mismatched.len(),
            v.double_applied,
            v.regressions,
            v.unacked
        ));
        if self.args.api_key {
            say(format!(
                "  API key           every call keyed (lane shared through the store); {} refused for their nonce by the sandbox",
                self.nonce_refusals
            ));
        }
        for line in v.mismatched.iter().take(10) {
            say(format!("    mismatch: {line}"));
        }
    }
}
