//! Fault injection: what the sandbox does wrong on purpose, so that a merchant's
//! code can be seen to cope.

use std::time::Duration;

use smartex_core::OrderUid;

/// Something wrong with an IPN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpnFault {
    /// The IPN is lost: recorded as [`Dropped`](crate::DeliveryResult::Dropped), never sent.
    Drop,
    /// The IPN is held back this long before it is sent (later IPNs of the same
    /// order may overtake it: an out-of-order delivery).
    Delay(Duration),
    /// The IPN is delivered twice, byte for byte.
    Duplicate,
}

/// Something wrong with an API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiFault {
    /// The call is processed, then the answer waits this long (a slow network:
    /// a client that times out does not know whether the call took effect).
    Stall(Duration),
    /// The call is not processed; the answer is an HTML error page with this
    /// HTTP status (a proxy in front of a down backend; `502` is typical).
    ErrorPage {
        /// The HTTP status.
        status: u16,
    },
    /// The call **is** processed (an order is created), then the answer is an
    /// HTML error page with this HTTP status: the ambiguous failure.
    ErrorPageAfterProcessing {
        /// The HTTP status.
        status: u16,
    },
    /// The call is not processed; the answer is the platform's anti-flood
    /// error (code `5030000`) asking to retry after this many seconds.
    AntiFlood {
        /// The seconds the message names.
        retry_after_secs: u32,
    },
    /// The call is not processed; the answer is the platform's error
    /// envelope with this code and message (e.g. route unavailable,
    /// [`codes::ROUTE_UNAVAILABLE`](crate::codes::ROUTE_UNAVAILABLE)).
    Refuse {
        /// `errorCode`.
        code: u64,
        /// `message`.
        message: &'static str,
    },
}

/// How many times a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Times {
    /// Once.
    Once,
    /// This many times.
    N(u32),
    /// Until [`Sandbox::clear_faults`](crate::Sandbox::clear_faults).
    Always,
}

impl Times {
    fn remaining(self) -> Option<u32> {
        match self {
            Times::Once => Some(1),
            Times::N(n) => Some(n),
            Times::Always => None,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Rule<S, F> {
    scope: Option<S>,
    fault: F,
    remaining: Option<u32>,
}

/// Pending fault rules; the first rule whose scope matches strikes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    ipn: Vec<Rule<u64, IpnFault>>,
    api: Vec<Rule<String, ApiFault>>,
}

impl Faults {
    pub(crate) fn add_ipn(&mut self, order: Option<OrderUid>, fault: IpnFault, times: Times) {
        self.ipn.push(Rule {
            scope: order.map(OrderUid::get),
            fault,
            remaining: times.remaining(),
        });
    }

    pub(crate) fn add_api(&mut self, path: Option<&str>, fault: ApiFault, times: Times) {
        self.api.push(Rule {
            scope: path.map(|m| m.trim_matches('/').to_owned()),
            fault,
            remaining: times.remaining(),
        });
    }

    pub(crate) fn clear(&mut self) {
        self.ipn.clear();
        self.api.clear();
    }

    pub(crate) fn take_ipn(&mut self, uid: u64) -> Option<IpnFault> {
        take(&mut self.ipn, |s| *s == uid)
    }

    pub(crate) fn take_api(&mut self, path: &str) -> Option<ApiFault> {
        take(&mut self.api, |s| s == path)
    }
}

fn take<S, F: Copy>(rules: &mut Vec<Rule<S, F>>, matches: impl Fn(&S) -> bool) -> Option<F> {
    let i = rules
        .iter()
        .position(|r| r.scope.as_ref().is_none_or(&matches) && r.remaining != Some(0))?;
    let fault = rules[i].fault;
    if let Some(n) = &mut rules[i].remaining {
        *n -= 1;
        if *n == 0 {
            rules.remove(i);
        }
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Fixed test values.
    use super::*;

    #[test]
    fn rules_strike_in_order_and_run_out() {
        let mut f = Faults::default();
        let uid = OrderUid::new(7).unwrap();
        f.add_ipn(Some(uid), IpnFault::Drop, Times::Once);
        f.add_ipn(None, IpnFault::Duplicate, Times::N(2));
        assert_eq!(f.take_ipn(8), Some(IpnFault::Duplicate));
        assert_eq!(f.take_ipn(7), Some(IpnFault::Drop));
        assert_eq!(f.take_ipn(7), Some(IpnFault::Duplicate));
        assert_eq!(f.take_ipn(7), None);
        f.add_api(
            Some("/public/exchanger/order/create/"),
            ApiFault::ErrorPage { status: 502 },
            Times::Always,
        );
        assert_eq!(f.take_api("public/exchanger/order/get"), None);
        for _ in 0..3 {
            assert_eq!(
                f.take_api("public/exchanger/order/create"),
                Some(ApiFault::ErrorPage { status: 502 })
            );
        }
        f.clear();
        assert_eq!(f.take_api("public/exchanger/order/create"), None);
    }
}
