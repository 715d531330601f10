//! The routes the soak's orders take: the sandbox's built-in catalogue, one
//! of each kind — what the orchestrator picks per order and what an
//! instance's checkout asks for.

use smartex::core::request::CreateOrderBuilder;

/// A kind of route, and the order the soak creates on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RouteKind {
    /// ETH → WMZ: a fixed rate, payment detected automatically.
    Fixed,
    /// BTC → USDTTRC20: a floating rate (the amounts may be recalculated
    /// while `new` or `waitPayment`), payment detected automatically.
    Floating,
    /// CARDRUB → BTC: a floating rate, paid by hand — the customer says "I
    /// have paid" (`inProgress`) themselves.
    Manual,
}

impl RouteKind {
    /// Every kind.
    pub(crate) const ALL: [RouteKind; 3] =
        [RouteKind::Fixed, RouteKind::Floating, RouteKind::Manual];

    /// How a checkout request names it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RouteKind::Fixed => "fixed",
            RouteKind::Floating => "floating",
            RouteKind::Manual => "manual",
        }
    }

    /// The kind [`as_str`](Self::as_str) names `name`.
    pub(crate) fn parse(name: &str) -> Option<RouteKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The currency codes, sent and received.
    pub(crate) fn xml(self) -> (&'static str, &'static str) {
        match self {
            RouteKind::Fixed => ("ETH", "WMZ"),
            RouteKind::Floating => ("BTC", "USDTTRC20"),
            RouteKind::Manual => ("CARDRUB", "BTC"),
        }
    }

    /// Whether its rate floats.
    pub(crate) fn floats(self) -> bool {
        self != RouteKind::Fixed
    }

    /// The `amount` asked at checkout (what the customer sends).
    pub(crate) fn amount(self) -> &'static str {
        match self {
            RouteKind::Fixed => "2",
            RouteKind::Floating => "0.01",
            RouteKind::Manual => "5000",
        }
    }

    /// What an underpaying customer sends: 5 to 10 % below
    /// [`amount`](Self::amount).
    pub(crate) fn underpaid(self) -> &'static str {
        match self {
            RouteKind::Fixed => "1.9",
            RouteKind::Floating => "0.0095",
            RouteKind::Manual => "4500",
        }
    }

    /// The order to create on the route `route_id` (of this kind), with the
    /// fields the route requires.
    pub(crate) fn order(self, route_id: &str) -> CreateOrderBuilder {
        let order = smartex::core::request::CreateOrder::builder()
            .route_id(route_id)
            .amount(self.amount())
            .agreement(true);
        match self {
            RouteKind::Fixed => order.to_value("wallet", "Z123456789012"),
            RouteKind::Floating => order.to_value("wallet", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"),
            RouteKind::Manual => order
                // The card number field of the sandbox's CARDRUB route.
                .from_value("5f1a0c9e8b3d4a0012a1d001", "4111111111111111")
                .to_value("wallet", "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"),
        }
    }
}
