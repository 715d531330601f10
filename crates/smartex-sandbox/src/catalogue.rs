//! The routes the sandbox exchanges on: a small built-in catalogue, or your own.
//!
//! A route turns one currency into another at a fixed rate, within limits, and
//! asks for fields: `fromValues` (about the currency sent), `toValues` (about
//! the currency received, e.g. the wallet) and `routeValues` (about the route).
//! Each field has an id (the `key` to send), a name, whether it is required, a
//! regular expression its value must match, and length limits.

use serde_json::{Value, json};

/// How the platform learns that a client paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentDetection {
    /// The platform sees the payment itself (a blockchain deposit): the order
    /// moves from `waitPayment` to `inProgress` on the schedule.
    Automatic,
    /// The merchant confirms the payment with `order/update-status` (status
    /// `inProgress`), as the docs' "IMPORTANT" note describes; until then the
    /// order waits in `waitPayment`.
    Manual,
}

impl PaymentDetection {
    /// `"automatic"` or `"manual"`, as the sandbox spells it in route JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentDetection::Automatic => "automatic",
            PaymentDetection::Manual => "manual",
        }
    }
}

/// A field a route asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// `_id`: the key a request sends the value under (`wallet`, or an ObjectId).
    pub id: String,
    /// `name`: for people (`BTC address`); error envelopes quote it as `nameField`.
    pub name: String,
    /// `type` (`text`, `email`, `card`).
    pub kind: String,
    /// `required`.
    pub required: bool,
    /// `regex` the value must match (searched, as JavaScript's `RegExp.test`
    /// does; anchor it with `^…$` to match the whole value).
    pub regex: Option<String>,
    /// `min`: the shortest value, in characters.
    pub min: Option<u32>,
    /// `max`: the longest value, in characters.
    pub max: Option<u32>,
}

impl FieldSpec {
    /// A required text field matching `regex`.
    pub fn required(id: &str, name: &str, regex: &str) -> FieldSpec {
        FieldSpec {
            id: id.to_owned(),
            name: name.to_owned(),
            kind: "text".to_owned(),
            required: true,
            regex: Some(regex.to_owned()),
            min: None,
            max: None,
        }
    }

    /// An optional text field matching `regex` when given.
    pub fn optional(id: &str, name: &str, regex: &str) -> FieldSpec {
        FieldSpec {
            required: false,
            ..FieldSpec::required(id, name, regex)
        }
    }

    /// The field as route JSON shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "_id": self.id,
            "name": self.name,
            "type": self.kind,
            "required": self.required,
            "regex": self.regex,
            "min": self.min,
            "max": self.max,
        })
    }
}

/// One side of a route: a currency and the fields it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencySpec {
    /// The currency's ObjectId (`fromCurrencyId` / `toCurrencyId` filter on it).
    pub id: String,
    /// `name` (`Bitcoin`).
    pub name: String,
    /// `symbol` (`BTC`).
    pub symbol: String,
    /// `xml`: the code used in IPNs (`xml_from`, `xml_to`) and `by-xml` lookups.
    pub xml: String,
    /// Digits after the point that amounts in this currency keep.
    pub precision: u32,
    /// The fields this side needs (`fromValues` on the sending side, `toValues`
    /// on the receiving side).
    pub fields: Vec<FieldSpec>,
}

impl CurrencySpec {
    /// The side as route JSON shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "_id": self.id,
            "name": self.name,
            "symbol": self.symbol,
            "xml": self.xml,
            "precision": self.precision,
            "fields": self.fields.iter().map(FieldSpec::to_json).collect::<Vec<_>>(),
        })
    }
}

/// An exchange route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// `routeId`: 24 lowercase hex digits.
    pub id: String,
    /// The currency the client sends.
    pub from: CurrencySpec,
    /// The currency the client receives.
    pub to: CurrencySpec,
    /// The route's own fields (`routeValues`).
    pub fields: Vec<FieldSpec>,
    /// The rate as `rate_in` of `from` for `rate_out` of `to` (decimal text).
    pub rate_in: String,
    /// See [`rate_in`](Self::rate_in).
    pub rate_out: String,
    /// The smallest amount of `from` an order may send (decimal text).
    pub min_amount: String,
    /// The largest amount of `from` an order may send (decimal text).
    pub max_amount: String,
    /// The exchanger's reserve of `to` (decimal text): an order that would
    /// pay out more is refused with "not enough reserve". `None`: unlimited.
    pub reserve: Option<String>,
    /// How payments are detected. On a [manual](PaymentDetection::Manual)
    /// route the customer says "I have paid" (`waitPayment` → `inProgress`).
    pub payment: PaymentDetection,
    /// Whether the rate floats: while an order is `new` or `waitPayment` its
    /// amounts may be recalculated ([`Sandbox::recalculate`](crate::Sandbox::recalculate),
    /// [`RateDrift`](crate::RateDrift)); later IPNs and `order/get` carry the
    /// new amounts. A fixed-rate route keeps the amounts `order/create` answered.
    pub floating_rate: bool,
    /// `orderTTL`: minutes an unpaid order stays payable (shown, and used for
    /// `expiresAt`; orders expire only with [`OrderExpiry`](crate::OrderExpiry)).
    pub order_ttl_minutes: u32,
}

impl RouteSpec {
    /// The route as `route/get` and `route/get/one` return it.
    pub fn to_json(&self) -> Value {
        json!({
            "routeId": self.id,
            "from": self.from.to_json(),
            "to": self.to.to_json(),
            "fields": self.fields.iter().map(FieldSpec::to_json).collect::<Vec<_>>(),
            "rate": {"in": self.rate_in, "out": self.rate_out},
            "min": self.min_amount,
            "max": self.max_amount,
            "reserve": self.reserve,
            "orderTTL": self.order_ttl_minutes,
            "paymentDetection": self.payment.as_str(),
            "floatingRate": self.floating_rate,
            "isShowWeb": true,
        })
    }

    /// The short form an order carries: `{from{name,symbol,xml}, to{…}}`.
    pub fn summary_json(&self) -> Value {
        json!({
            "routeId": self.id,
            "from": {"name": self.from.name, "symbol": self.from.symbol, "xml": self.from.xml},
            "to": {"name": self.to.name, "symbol": self.to.symbol, "xml": self.to.xml},
        })
    }

    /// The built-in catalogue:
    ///
    /// | route | id | rate | limits (sent) | payment | fields |
    /// |---|---|---|---|---|---|
    /// | BTC → USDTTRC20 | `5f1a0c9e8b3d4a0012a1b001` | 1 BTC = 65000 USDT, floating | 0.0005–5 | automatic | `toValues`: `wallet` (TRON address, required) |
    /// | ETH → WMZ | `5f1a0c9e8b3d4a0012a1b002` | 1 ETH = 158.71 WMZ, fixed | 0.01–100 | automatic | `toValues`: `wallet` (`Z` + 12 digits, required) |
    /// | CARDRUB → BTC | `5f1a0c9e8b3d4a0012a1b003` | 1 RUB = 0.00000016 BTC, floating | 1000–500000 | manual | `fromValues`: card number (16 digits, required); `toValues`: `wallet` (BTC address, required); `routeValues`: e-mail (optional) |
    ///
    /// Floating rates move only on command unless a [`RateDrift`](crate::RateDrift)
    /// is configured.
    pub fn default_catalogue() -> Vec<RouteSpec> {
        let btc = |fields| CurrencySpec {
            id: "5f1a0c9e8b3d4a0012a1c001".to_owned(),
            name: "Bitcoin".to_owned(),
            symbol: "BTC".to_owned(),
            xml: "BTC".to_owned(),
            precision: 8,
            fields,
        };
        let btc_wallet = FieldSpec::required(
            "wallet",
            "BTC address",
            "^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$",
        );
        vec![
            RouteSpec {
                id: "5f1a0c9e8b3d4a0012a1b001".to_owned(),
                from: btc(Vec::new()),
                to: CurrencySpec {
                    id: "5f1a0c9e8b3d4a0012a1c002".to_owned(),
                    name: "Tether TRC20".to_owned(),
                    symbol: "USDT".to_owned(),
                    xml: "USDTTRC20".to_owned(),
                    precision: 6,
                    fields: vec![FieldSpec::required(
                        "wallet",
                        "USDT TRC20 address",
                        "^T[1-9A-HJ-NP-Za-km-z]{33}$",
                    )],
                },
                fields: Vec::new(),
                rate_in: "1".to_owned(),
                rate_out: "65000".to_owned(),
                min_amount: "0.0005".to_owned(),
                max_amount: "5".to_owned(),
                reserve: None,
                payment: PaymentDetection::Automatic,
                floating_rate: true,
                order_ttl_minutes: 30,
            },
            RouteSpec {
                id: "5f1a0c9e8b3d4a0012a1b002".to_owned(),
                from: CurrencySpec {
                    id: "5f1a0c9e8b3d4a0012a1c003".to_owned(),
                    name: "Ethereum".to_owned(),
                    symbol: "ETH".to_owned(),
                    xml: "ETH".to_owned(),
                    precision: 8,
                    fields: Vec::new(),
                },
                to: CurrencySpec {
                    id: "5f1a0c9e8b3d4a0012a1c004".to_owned(),
                    name: "WebMoney WMZ".to_owned(),
                    symbol: "WMZ".to_owned(),
                    xml: "WMZ".to_owned(),
                    precision: 2,
                    fields: vec![FieldSpec::required("wallet", "WMZ purse", "^Z[0-9]{12}$")],
                },
                fields: Vec::new(),
                rate_in: "1".to_owned(),
                rate_out: "158.71".to_owned(),
                min_amount: "0.01".to_owned(),
                max_amount: "100".to_owned(),
                reserve: None,
                payment: PaymentDetection::Automatic,
                floating_rate: false,
                order_ttl_minutes: 30,
            },
            RouteSpec {
                id: "5f1a0c9e8b3d4a0012a1b003".to_owned(),
                from: CurrencySpec {
                    id: "5f1a0c9e8b3d4a0012a1c005".to_owned(),
                    name: "Visa/MasterCard RUB".to_owned(),
                    symbol: "RUB".to_owned(),
                    xml: "CARDRUB".to_owned(),
                    precision: 2,
                    fields: vec![FieldSpec {
                        kind: "card".to_owned(),
                        min: Some(16),
                        max: Some(16),
                        ..FieldSpec::required(
                            "5f1a0c9e8b3d4a0012a1d001",
                            "Card number",
                            "^[0-9]{16}$",
                        )
                    }],
                },
                to: btc(vec![btc_wallet]),
                fields: vec![FieldSpec {
                    kind: "email".to_owned(),
                    max: Some(200),
                    ..FieldSpec::optional(
                        "5f1a0c9e8b3d4a0012a1d002",
                        "E-mail",
                        "^[^@\\s]+@[^@\\s]+$",
                    )
                }],
                rate_in: "1".to_owned(),
                rate_out: "0.00000016".to_owned(),
                min_amount: "1000".to_owned(),
                max_amount: "500000".to_owned(),
                reserve: None,
                payment: PaymentDetection::Manual,
                floating_rate: true,
                order_ttl_minutes: 60,
            },
        ]
    }
}
