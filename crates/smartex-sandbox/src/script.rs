//! Scripted histories: status changes made one after another within
//! milliseconds, each with its own IPN — the back-and-forth a real order
//! can go through (`waitPayment` → `errorPayment` → `waitPayment`, a payout
//! failing and retried, `hold` and back, an operator moving an order back).

use std::time::Duration;

use smartex_core::OrderStatus;
use smartex_core::status::Actor;

use crate::error::{Error, Result};

/// A scripted history for one order, run by
/// [`Sandbox::run_script`](crate::Sandbox::run_script): each step sets its
/// status as its actor would and sends its IPN; the gap between two steps is
/// drawn from `gap_min..=gap_max` (the sandbox's
/// [seeded](crate::SandboxConfig::seed) random source), the first step is
/// taken at once. While it runs the [schedule](crate::Schedule) waits; it
/// goes on from the last status.
///
/// ```
/// use std::time::Duration;
/// use smartex_core::OrderStatus::*;
/// use smartex_core::status::Actor;
/// use smartex_sandbox::Script;
///
/// // The payout fails and is retried within a few hundred milliseconds.
/// let retry = Script::new()
///     .then(ErrorPayout, Actor::Server)
///     .then(InProgressPayout, Actor::Operator)
///     .then(Done, Actor::Server)
///     .gap_between(Duration::ZERO, Duration::from_millis(300));
/// assert_eq!(retry.steps().len(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    steps: Vec<(OrderStatus, Actor)>,
    gap_min: Duration,
    gap_max: Duration,
}

impl Script {
    /// A script without steps and with no gap.
    pub fn new() -> Script {
        Script::default()
    }

    /// Adds a step: `status`, set by `by`.
    pub fn then(mut self, status: OrderStatus, by: Actor) -> Script {
        self.steps.push((status, by));
        self
    }

    /// The same gap between every two steps.
    pub fn gap(self, gap: Duration) -> Script {
        self.gap_between(gap, gap)
    }

    /// A gap drawn anew between every two steps, from `min` to `max`.
    pub fn gap_between(mut self, min: Duration, max: Duration) -> Script {
        self.gap_min = min;
        self.gap_max = max;
        self
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[(OrderStatus, Actor)] {
        &self.steps
    }

    /// The gaps' range.
    pub fn gaps(&self) -> (Duration, Duration) {
        (self.gap_min, self.gap_max)
    }

    /// Refuses a script that cannot run.
    pub(crate) fn check(&self) -> Result<()> {
        if self.steps.is_empty() {
            return Err(Error::Invalid {
                field: "steps",
                reason: "a script needs at least one step".to_owned(),
            });
        }
        if self.gap_min > self.gap_max {
            return Err(Error::Invalid {
                field: "gap",
                reason: format!(
                    "the shortest gap {:?} is longer than the longest {:?}",
                    self.gap_min, self.gap_max
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_scripts_and_reversed_gaps_are_refused() {
        assert!(matches!(
            Script::new().check(),
            Err(Error::Invalid { field: "steps", .. })
        ));
        let reversed = Script::new()
            .then(OrderStatus::Hold, Actor::Operator)
            .gap_between(Duration::from_millis(5), Duration::from_millis(1));
        assert!(matches!(
            reversed.check(),
            Err(Error::Invalid { field: "gap", .. })
        ));
        let fine = Script::new()
            .then(OrderStatus::Hold, Actor::Operator)
            .gap(Duration::from_millis(3));
        assert!(fine.check().is_ok());
        assert_eq!(
            fine.gaps(),
            (Duration::from_millis(3), Duration::from_millis(3))
        );
    }
}
