//! The final comparison: every order the platform created, its stored
//! status and its event log against the platform's history, and the
//! business step's acknowledgements.

use std::collections::HashSet;
use std::path::Path;
use std::sync::PoisonError;

use smartex::core::OrderStatus;
use smartex::store::{AnyStore, DecisionKind, OrderKey, OrderStore, Source};
use smartex_sandbox::OrderSnapshot;

use crate::Failure;
use crate::drive::{CheckoutEnd, Soak};

/// What the final comparison of the store with the platform found.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// This run's orders the platform created.
    pub(crate) orders: usize,
    /// Orders whose stored status is not the platform's, or that applied a
    /// status the platform never had.
    pub(crate) mismatched: Vec<String>,
    /// Changes applied from IPNs.
    pub(crate) applied_ipn: usize,
    /// Changes applied from polls (recovered by the reconciler).
    pub(crate) applied_poll: usize,
    /// Observations decided duplicate, stale or unexpected.
    pub(crate) not_applied: usize,
    /// One change of the platform applied twice.
    pub(crate) double_applied: usize,
    /// A change applied after a later one.
    pub(crate) regressions: usize,
    /// Orders whose checkout did not answer "created", bound by their IPN.
    pub(crate) recovered_ambiguous: usize,
    /// Applied changes the business step acknowledged.
    pub(crate) acked: usize,
    /// Applied changes it has not (yet).
    pub(crate) unacked: usize,
    /// Acknowledgement lines written, redeliveries included.
    pub(crate) ack_lines: usize,
}

impl Audit {
    /// Every order settled as the platform has it, every change acknowledged.
    pub(crate) fn converged(&self) -> bool {
        self.mismatched.is_empty() && self.unacked == 0
    }
}

/// Compares the store with the sandbox.
pub(crate) async fn audit(
    soak: &Soak,
    store: &AnyStore,
    dir: &Path,
    instances: usize,
) -> Result<Audit, Failure> {
    let acks = Acks::read(dir, instances);
    let prefix = format!("ref=soak-{}-", soak.run_id);
    let ends = soak
        .ends
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut audit = Audit {
        ack_lines: acks.lines,
        ..Audit::default()
    };
    for order in soak.sb.orders() {
        // Only this run's orders (a reused database holds older ones).
        let Some(reference) = order
            .ipn_url
            .as_deref()
            .and_then(|url| url.find(&prefix).map(|at| &url[at + 4..]))
        else {
            continue;
        };
        audit.orders += 1;
        let created = matches!(ends.get(reference), Some(CheckoutEnd::Created(_)));
        audit
            .order(store, reference, &order, created, &acks)
            .await?;
    }
    Ok(audit)
}

/// The event ids the instances' business steps acknowledged (each
/// instance's file), and how many lines they wrote (redeliveries included).
struct Acks {
    ids: HashSet<i64>,
    lines: usize,
}

impl Acks {
    fn read(dir: &Path, instances: usize) -> Acks {
        let mut acks = Acks {
            ids: HashSet::new(),
            lines: 0,
        };
        for slot in 0..instances {
            // No file: that instance acknowledged nothing yet.
            let Ok(text) = std::fs::read_to_string(dir.join(format!("acks-{slot}.log"))) else {
                continue;
            };
            for id in text.lines().filter_map(|l| l.trim().parse::<i64>().ok()) {
                acks.ids.insert(id);
                acks.lines += 1;
            }
        }
        acks
    }
}

impl Audit {
    /// Checks one order of the platform against the store: its status, how
    /// it was bound (`created`: its checkout answered with its uid), and its
    /// applied changes against the platform's history.
    async fn order(
        &mut self,
        store: &AnyStore,
        reference: &str,
        order: &OrderSnapshot,
        created: bool,
        acks: &Acks,
    ) -> Result<(), Failure> {
        let store_error = |e: smartex::store::Error| Failure::unavailable(format!("store: {e}"));
        let reference = &smartex::Reference::new(reference)
            .map_err(|e| Failure::unavailable(format!("the order's ipnUrl: {e}")))?;
        let events = store
            .events(OrderKey::Reference(reference))
            .await
            .map_err(store_error)?;
        let record = store
            .order(OrderKey::Reference(reference))
            .await
            .map_err(store_error)?;
        let stored = record
            .as_ref()
            .and_then(|r| r.known.as_ref())
            .map(|k| k.status.clone());
        if stored.as_ref() != Some(&order.status) {
            self.mismatched.push(format!(
                "{reference}: stored {}, platform {}",
                stored.map_or("nothing".to_owned(), |s| s.to_string()),
                order.status
            ));
        }
        if !created && record.as_ref().is_some_and(|r| r.order_id.is_some()) {
            self.recovered_ambiguous += 1;
        }
        // The applied statuses must follow the platform's history in order,
        // each history entry used at most once.
        let history: Vec<OrderStatus> = order.history.iter().map(|c| c.status.clone()).collect();
        let mut cursor = 0usize;
        for e in events.iter().filter(|e| e.decision == DecisionKind::Apply) {
            match e.event.source {
                Source::Ipn | Source::IpnSeconds => self.applied_ipn += 1,
                Source::Poll { .. } => self.applied_poll += 1,
            }
            if acks.ids.contains(&e.id) {
                self.acked += 1;
            } else {
                self.unacked += 1;
            }
            match history[cursor..].iter().position(|s| *s == e.event.status) {
                Some(offset) => cursor += offset + 1,
                // Seen before in the history and already used: a second
                // apply of one change, or a step backwards.
                None if history[..cursor].last() == Some(&e.event.status) => {
                    self.double_applied += 1;
                }
                None if history[..cursor].contains(&e.event.status) => self.regressions += 1,
                None => self.mismatched.push(format!(
                    "{reference}: applied {} which the platform never had",
                    e.event.status
                )),
            }
        }
        self.not_applied += events
            .iter()
            .filter(|e| e.decision != DecisionKind::Apply)
            .count();
        Ok(())
    }
}
