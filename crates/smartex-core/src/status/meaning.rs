//! What a status means for the merchant's money, and who can set it.
//!
//! The merchant docs give each status a one-line meaning; the platform's
//! vendor manual (written for exchanger operators) says who changes a status
//! — "the operator, the server, or the user" — and from where. Both are
//! written down here as data, each row with its source, so the lifecycle the
//! tracker uses and the payment view a business step reads come from one
//! table.
//!
//! The fact a merchant must not miss: **`inProgress` is not proof of
//! payment.** On routes with manual payment the customer moves
//! `waitPayment → inProgress` themselves ("I have paid"), on the payment page
//! or through `order/update-status`, which needs only the order's `uid` and
//! secret — both in the payment-page URL the customer holds. The platform then
//! signs an `inProgress` IPN like any other. Payment is received from
//! `inProgressPayout` on ("in queue for payout (payment successfully
//! received)", the vendor manual).

use super::OrderStatus;

/// Who changes an order's status, as the vendor manual names them: "the
/// request status can be changed by the operator, the server, or the user".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The platform's server: creation, expiry, payment detection, payouts.
    Server,
    /// The customer (the manual's "user"), on the payment page or through
    /// `order/update-status` with the order secret from the page's URL.
    Customer,
    /// An exchanger operator, by hand in the admin panel: any move.
    Operator,
}

/// What a status says about the customer's payment — the question a business
/// step must answer before it ships. Read it with [`OrderStatus::payment`].
///
/// Only [`PaymentView::Received`] is proof that the money arrived; check the
/// signed amounts too before fulfilling (the amounts may have been
/// recalculated on a floating-rate route, or be less than expected).
///
/// ```
/// use smartex_core::OrderStatus;
/// use smartex_core::status::PaymentView;
/// assert_eq!(OrderStatus::InProgress.payment(), PaymentView::ClaimedByCustomer);
/// assert!(!OrderStatus::InProgress.payment().is_received()); // the customer can set it
/// assert!(OrderStatus::InProgressPayout.payment().is_received());
/// assert!(OrderStatus::Done.payment().is_received());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentView {
    /// `new`, `waitPayment`, `errorPayment`: no payment yet (or it failed).
    NotPaid,
    /// `inProgress`: "awaiting admin processing **or** payment". The customer
    /// can set it themselves on manual-payment routes: not proof. Wait for
    /// `inProgressPayout`.
    ClaimedByCustomer,
    /// `inProgressPayout`, `errorPayout`, `done`: the payment was received
    /// (a payout error is the exchanger's to fix, not the customer's).
    Received,
    /// `hold`: frozen because of a problem with the order; says nothing
    /// either way until it is lifted.
    OnHold,
    /// `returned`: paid, but the exchange conditions were not met and the
    /// funds went back to the sender. Final: do not ship.
    Returned,
    /// `deleted`: cancelled, or expired unpaid. Final.
    Cancelled,
    /// A status this version does not know: nothing can be concluded.
    Unknown,
}

impl PaymentView {
    /// Whether the payment was received: [`PaymentView::Received`] only.
    pub fn is_received(self) -> bool {
        self == PaymentView::Received
    }

    /// A stable lower-case name (`not_paid`, `claimed_by_customer`,
    /// `received`, `on_hold`, `returned`, `cancelled`, `unknown`), for logs,
    /// JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentView::NotPaid => "not_paid",
            PaymentView::ClaimedByCustomer => "claimed_by_customer",
            PaymentView::Received => "received",
            PaymentView::OnHold => "on_hold",
            PaymentView::Returned => "returned",
            PaymentView::Cancelled => "cancelled",
            PaymentView::Unknown => "unknown",
        }
    }
}

impl core::fmt::Display for PaymentView {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a row of [`STEPS`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// The platform's vendor manual says so.
    VendorManual,
    /// The merchant docs' meanings imply it.
    MerchantDocs,
    /// Inferred: an operator may set any status by hand, and the platform's
    /// own flow needs the move (a payout retried after an error, say).
    Inferred,
}

/// One move of the lifecycle: from one status to another, by whom, and how
/// we know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The status before.
    pub from: OrderStatus,
    /// The status after.
    pub to: OrderStatus,
    /// Who may make the move.
    pub by: &'static [Actor],
    /// Where the row comes from.
    pub source: Provenance,
}

use Actor::{Customer, Operator, Server};
use OrderStatus::{
    Deleted, Done, ErrorPayment, ErrorPayout, InProgress, InProgressPayout, New, Returned,
    WaitPayment,
};
use Provenance::{Inferred, MerchantDocs, VendorManual};

const fn step(
    from: OrderStatus,
    to: OrderStatus,
    by: &'static [Actor],
    source: Provenance,
) -> Step {
    Step {
        from,
        to,
        by,
        source,
    }
}

/// **The lifecycle, as data.** Every move a genuine notification is expected
/// to report, without `hold` (which may interrupt any non-final status and be
/// lifted back to any: [`OrderStatus::successors`]). The tracker's
/// [`OrderStatus::can_follow`] is the reachability over these rows.
///
/// An operator can set any status by hand; a move outside the table (an
/// operator moving a paid order back, say) is not applied blindly but held
/// for a person to accept or dismiss. Moves back are deliberately left out:
/// each one would make a pair of statuses a cycle that time alone must
/// order, and polls whose time windows overlap could no longer tell them
/// apart.
pub const STEPS: &[Step] = &[
    // new: set by the server at creation; expires to deleted. The customer
    // confirms (waitPayment) or cancels; an operator may move it on.
    step(New, WaitPayment, &[Customer, Operator], VendorManual),
    step(New, Deleted, &[Server, Customer, Operator], VendorManual),
    step(New, InProgress, &[Operator], VendorManual),
    step(New, ErrorPayment, &[Operator], VendorManual),
    // waitPayment: set by the customer ("Pay") or an operator; expires too.
    step(
        WaitPayment,
        InProgress,
        &[Server, Customer, Operator],
        VendorManual,
    ),
    step(WaitPayment, Deleted, &[Server, Operator], VendorManual),
    step(WaitPayment, ErrorPayment, &[Server, Operator], MerchantDocs),
    step(ErrorPayment, WaitPayment, &[Operator], Inferred),
    step(ErrorPayment, InProgress, &[Operator], Inferred),
    step(ErrorPayment, Returned, &[Operator], Inferred),
    step(ErrorPayment, Deleted, &[Server, Operator], Inferred),
    // inProgress: awaiting processing or payment; paid from inProgressPayout on.
    step(
        InProgress,
        InProgressPayout,
        &[Server, Operator],
        VendorManual,
    ),
    step(InProgress, Done, &[Operator], Inferred),
    step(InProgress, Returned, &[Operator], MerchantDocs),
    step(InProgress, Deleted, &[Operator], Inferred),
    step(InProgressPayout, Done, &[Server, Operator], MerchantDocs),
    step(InProgressPayout, ErrorPayout, &[Server], MerchantDocs),
    step(InProgressPayout, Returned, &[Operator], MerchantDocs),
    step(ErrorPayout, InProgressPayout, &[Server, Operator], Inferred),
    step(ErrorPayout, Done, &[Operator], Inferred),
    step(ErrorPayout, Returned, &[Operator], Inferred),
];

/// Statuses that expire: an order left in `new` or `waitPayment` past its
/// expiration time is set to `deleted` by the server (the vendor manual).
pub fn expires(status: &OrderStatus) -> bool {
    matches!(status, New | WaitPayment)
}

impl OrderStatus {
    /// What this status says about the customer's payment (see
    /// [`PaymentView`]; only `Received` is proof of payment).
    pub fn payment(&self) -> PaymentView {
        match self {
            New | WaitPayment | ErrorPayment => PaymentView::NotPaid,
            InProgress => PaymentView::ClaimedByCustomer,
            InProgressPayout | ErrorPayout | Done => PaymentView::Received,
            OrderStatus::Hold => PaymentView::OnHold,
            Returned => PaymentView::Returned,
            Deleted => PaymentView::Cancelled,
            OrderStatus::Unknown(_) => PaymentView::Unknown,
        }
    }

    /// Who may move an order from `from` to `self` directly, per [`STEPS`]
    /// (an empty slice: no one, by the table; `hold` and unknown statuses
    /// are not in it).
    pub fn set_by(&self, from: &OrderStatus) -> &'static [Actor] {
        STEPS
            .iter()
            .find(|s| s.from == *from && s.to == *self)
            .map_or(&[], |s| s.by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_payout_side_is_received() {
        let received: alloc::vec::Vec<_> = OrderStatus::KNOWN
            .iter()
            .filter(|s| s.payment().is_received())
            .collect();
        assert_eq!(received, [&InProgressPayout, &ErrorPayout, &Done]);
        assert_eq!(InProgress.payment(), PaymentView::ClaimedByCustomer);
    }

    #[test]
    fn the_customer_can_claim_but_never_receive() {
        assert!(InProgress.set_by(&WaitPayment).contains(&Customer));
        for s in STEPS {
            if s.to.payment().is_received() {
                assert!(!s.by.contains(&Customer), "{:?}", s);
            }
        }
    }

    #[test]
    fn no_step_leaves_a_final_status_or_stays_put() {
        for s in STEPS {
            assert!(!s.from.is_final() && s.from != s.to, "{:?}", s);
        }
    }
}
