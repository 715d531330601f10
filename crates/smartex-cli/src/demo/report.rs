//! The demo's report: the timeline, then the checks, then the verdict line.

use super::{DemoReport, EventKind};
use crate::term::Printer;

/// Prints the report.
pub(super) fn print(p: &Printer<'_>, report: &DemoReport) {
    let s = p.style();
    p.line("");
    p.line(format!(
        "{}   {}",
        s.bold("timeline"),
        s.dim("(ms since start; IPN: what the merchant's endpoint received; poll: order/get)")
    ));
    p.line(s.dim(&format!(
        "  {:>6}  {:<6}  {:<17} {}",
        "ms", "source", "status", ""
    )));
    for e in &report.timeline {
        let (source, detail) = match &e.kind {
            EventKind::Call { method } => ("API", s.dim(method)),
            EventKind::Ipn {
                outcome,
                verified,
                answer_status,
                answer_body,
                refusal,
            } => {
                let mark = if *verified {
                    s.ok("✓ verified")
                } else {
                    s.bad("✗ refused")
                };
                let what = match *outcome {
                    "applied" => "applied".to_owned(),
                    "duplicate" => "duplicate, already known".to_owned(),
                    "stale" => s.warn("stale (older than what is known), ignored"),
                    "replay" => s.warn("replay (received before), not processed again"),
                    other => s.warn(refusal.as_deref().unwrap_or(other)),
                };
                (
                    "IPN",
                    format!("{mark}  {what}  → {answer_status} {answer_body}"),
                )
            }
            EventKind::LostIpn => (
                "IPN",
                s.warn("✗ lost by the exchange (injected): the merchant never saw it"),
            ),
            EventKind::HeldIpn => (
                "IPN",
                s.warn("… held back by the exchange (injected): it will arrive late"),
            ),
            EventKind::Poll { outcome } => {
                let what = match *outcome {
                    "applied" => s.ok("✓ recovered by reconciliation: no verified IPN had told it"),
                    "duplicate" => s.ok("✓ agrees with the IPNs"),
                    other => s.warn(other),
                };
                ("poll", what)
            }
        };
        p.line(format!(
            "  {:>6}  {source:<6}  {:<17} {detail}",
            e.at_ms,
            e.status.as_str()
        ));
    }
    p.line("");
    p.line(s.bold("checks"));
    for c in &report.checks {
        let mark = if c.passed { s.ok("✓") } else { s.bad("✗") };
        p.line(format!("  {mark} {}", c.what));
    }
    p.line("");
    if report.passed() {
        p.line(s.ok(&s.bold("demo passed: every check checked out")));
    } else {
        p.line(s.bad(&s.bold("demo FAILED: see the checks above")));
    }
}
