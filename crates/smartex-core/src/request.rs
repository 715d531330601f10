//! Requests: each method's parameters, validated before anything is sent, in
//! both encodings the platform accepts — JSON (what its own web app sends) and
//! the docs' bracket form encoding.
//!
//! ```
//! use smartex_core::request::CreateOrder;
//! let order = CreateOrder::builder()
//!     .route_id("5d8e6002b80b7b4cd75a6424")
//!     .amount("0.05")
//!     .agreement(true)
//!     .to_value("wallet", "Z123456789012")
//!     .ipn_url("https://shop.example/ipn")
//!     .ipn_secret("per-order-secret")
//!     .build()?;
//! assert_eq!(
//!     order.to_json(),
//!     r#"{"routeId":"5d8e6002b80b7b4cd75a6424","amount":0.05,"toValues":[{"key":"wallet","value":"Z123456789012"}],"agreement":true,"ipnUrl":"https://shop.example/ipn","ipnSecret":"per-order-secret"}"#
//! );
//! assert!(order.to_form().starts_with("routeId=5d8e6002b80b7b4cd75a6424&amount=0.05&toValues[0][key]=wallet"));
//! # Ok::<(), smartex_core::Error>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{Error, Problem, Result};
use crate::form::FormWriter;
use crate::response::{CreatedOrder, OrderView, RouteView, Routes};
use crate::secret::{IpnSecret, OrderSecret};
use crate::status::{OrderStatus, check_update_status};
use crate::types::{Amount, FieldValue, Lang, ObjectId, OrderUid};

/// One call of the platform's API: its path, its parameters, and the type of
/// its `data`. Implement it for a call this SDK does not cover and send it
/// through the client's generic `call`. ("Method" is kept for the HTTP verb;
/// the API names its calls by their [`PATH`](ApiCall::PATH).)
pub trait ApiCall: Serialize {
    /// The path under the API root, without slashes around it
    /// (`public/exchanger/order/create`).
    const PATH: &'static str;
    /// Whether sending the call twice is harmless (reads are; creating is not).
    /// Only such calls are retried automatically.
    const IDEMPOTENT: bool;
    /// The type of `data` in a successful response.
    type Output: serde::de::DeserializeOwned;

    /// Writes the parameters in the bracket form encoding.
    fn write_form(&self, form: &mut FormWriter);

    /// The parameters as JSON text (the default encoding).
    fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and booleans into a
        // String cannot fail; an empty object is the harmless fallback.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// The parameters as a form body (also a query string, for GET).
    fn to_form(&self) -> String {
        let mut w = FormWriter::default();
        self.write_form(&mut w);
        w.finish()
    }
}

/// Longest URL the platform accepts in `clientCallbackUrl` and `ipnUrl`.
pub const MAX_URL_LEN: usize = 200;
/// Longest `partner` code.
pub const MAX_PARTNER_LEN: usize = 100;
/// Longest `email`.
pub const MAX_EMAIL_LEN: usize = 200;

/// Checks an absolute `http(s)://host…` URL of at most [`MAX_URL_LEN`] characters.
pub(crate) fn check_url(field: &'static str, url: &str) -> Result<()> {
    if url.is_empty() {
        return Err(Error::invalid(field, Problem::Empty));
    }
    // Compared as bytes: `http://` may be followed by a non-ASCII host, and
    // slicing the text at 8 would then cut a character.
    let starts = |scheme: &str| {
        url.as_bytes()
            .get(..scheme.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(scheme.as_bytes()))
    };
    let rest = if starts("https://") {
        &url[8..]
    } else if starts("http://") {
        &url[7..]
    } else {
        return Err(Error::invalid(field, Problem::NotHttpUrl));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(Error::invalid(field, Problem::NotHttpUrl));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(field, Problem::ForbiddenCharacter));
    }
    // Last, so that `TooLong` means "a valid URL, only too long": `Site::new`
    // relaxes this one rule and must still get every other check.
    if url.chars().count() > MAX_URL_LEN {
        return Err(Error::invalid(field, Problem::TooLong { max: MAX_URL_LEN }));
    }
    Ok(())
}

/// Writes a request's JSON object one member at a time. (The requests'
/// `Serialize` impls are written out rather than derived: it keeps
/// `smartex-core` free of proc macros, which dominate its build time.)
struct JsonObject<M>(M);

impl<M: SerializeMap> JsonObject<M> {
    fn begin<S: Serializer<SerializeMap = M>>(s: S) -> core::result::Result<Self, S::Error> {
        s.serialize_map(None).map(JsonObject)
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> core::result::Result<(), M::Error> {
        self.0.serialize_entry(name, value)
    }

    /// A member written only if it is set.
    fn optional<T: Serialize>(
        &mut self,
        name: &'static str,
        value: Option<&T>,
    ) -> core::result::Result<(), M::Error> {
        match value {
            Some(value) => self.member(name, value),
            None => Ok(()),
        }
    }

    /// A list written only if it is not empty.
    fn list<T: Serialize>(
        &mut self,
        name: &'static str,
        values: &[T],
    ) -> core::result::Result<(), M::Error> {
        if values.is_empty() {
            return Ok(());
        }
        self.member(name, values)
    }

    fn end(self) -> core::result::Result<M::Ok, M::Error> {
        self.0.end()
    }
}

/// An amount as the platform's server reads it back: a JSON number in
/// JavaScript's spelling (`2.10` → `2.1`). [`CreateOrderBuilder::build`] has
/// checked that this is the same decimal value.
struct JsAmount<'a>(&'a Amount);

impl Serialize for JsAmount<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> core::result::Result<S::Ok, S::Error> {
        let text = js_amount_text(self.0);
        let raw =
            serde_json::value::RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(ser)
    }
}

/// The JavaScript spelling of a checked amount (its own text if, against
/// the builder's check, it has none).
fn js_amount_text(a: &Amount) -> String {
    crate::js::exact_js_number(a.as_str()).unwrap_or_else(|| String::from(a.as_str()))
}

/// `public/exchanger/order/create`: a new exchange order.
///
/// Made with [`CreateOrder::builder`], which checks every rule the platform is
/// known to enforce, so a refused request fails here with the field named.
/// Never retried automatically: a repeat could create a second order.
#[derive(Clone, Debug)]
pub struct CreateOrder {
    route_id: ObjectId,
    partner: Option<String>,
    amount: Amount,
    from_values: Vec<FieldValue>,
    to_values: Vec<FieldValue>,
    route_values: Vec<FieldValue>,
    lang: Option<Lang>,
    agreement: bool,
    hide_out_data: Option<bool>,
    client_callback_url: Option<String>,
    ipn_url: Option<String>,
    ipn_secret: Option<IpnSecret>,
    disable_email_notify: Option<bool>,
    skip_preview: Option<bool>,
    email: Option<String>,
}

impl Serialize for CreateOrder {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut o = JsonObject::begin(s)?;
        o.member("routeId", &self.route_id)?;
        o.optional("partner", self.partner.as_ref())?;
        o.member("amount", &JsAmount(&self.amount))?;
        o.list("fromValues", &self.from_values)?;
        o.list("toValues", &self.to_values)?;
        o.list("routeValues", &self.route_values)?;
        o.optional("lang", self.lang.as_ref())?;
        o.member("agreement", &self.agreement)?;
        o.optional("hideOutData", self.hide_out_data.as_ref())?;
        o.optional("clientCallbackUrl", self.client_callback_url.as_ref())?;
        o.optional("ipnUrl", self.ipn_url.as_ref())?;
        o.optional(
            "ipnSecret",
            self.ipn_secret.as_ref().map(IpnSecret::expose).as_ref(),
        )?;
        o.optional("disableEmailNotify", self.disable_email_notify.as_ref())?;
        o.optional("skipPreview", self.skip_preview.as_ref())?;
        o.optional("email", self.email.as_ref())?;
        o.end()
    }
}

impl CreateOrder {
    /// Starts a request. `routeId`, `amount` and an explicit `agreement(true)` are
    /// required.
    pub fn builder() -> CreateOrderBuilder {
        CreateOrderBuilder::default()
    }

    /// `routeId`.
    pub fn route_id(&self) -> &ObjectId {
        &self.route_id
    }
    /// `amount` (negative: the amount the client receives).
    pub fn amount(&self) -> &Amount {
        &self.amount
    }
    /// `lang`, if set.
    pub fn lang(&self) -> Option<Lang> {
        self.lang
    }
    /// `ipnUrl`, if set.
    pub fn ipn_url(&self) -> Option<&str> {
        self.ipn_url.as_deref()
    }
    /// `ipnSecret`, if set.
    pub fn ipn_secret(&self) -> Option<&IpnSecret> {
        self.ipn_secret.as_ref()
    }
    /// `toValues`.
    pub fn to_values(&self) -> &[FieldValue] {
        &self.to_values
    }

    /// The JSON body (see [`ApiCall::to_json`]).
    pub fn to_json(&self) -> String {
        ApiCall::to_json(self)
    }

    /// The form body (see [`ApiCall::to_form`]).
    pub fn to_form(&self) -> String {
        ApiCall::to_form(self)
    }
}

impl ApiCall for CreateOrder {
    const PATH: &'static str = "public/exchanger/order/create";
    const IDEMPOTENT: bool = false;
    type Output = CreatedOrder;

    fn write_form(&self, w: &mut FormWriter) {
        w.field("routeId", self.route_id.as_str());
        if let Some(p) = &self.partner {
            w.field("partner", p);
        }
        w.field("amount", &js_amount_text(&self.amount));
        for (list, values) in [
            ("fromValues", &self.from_values),
            ("toValues", &self.to_values),
            ("routeValues", &self.route_values),
        ] {
            for (i, v) in values.iter().enumerate() {
                w.list_entry(list, i, "key", v.key());
                w.list_entry(list, i, "value", v.value());
            }
        }
        if let Some(lang) = self.lang {
            w.field("lang", lang.as_str());
        }
        w.field("agreement", bool_text(self.agreement));
        let flags = [("hideOutData", self.hide_out_data)];
        for (name, flag) in flags {
            if let Some(flag) = flag {
                w.field(name, bool_text(flag));
            }
        }
        for (name, value) in [
            ("clientCallbackUrl", self.client_callback_url.as_deref()),
            ("ipnUrl", self.ipn_url.as_deref()),
            ("ipnSecret", self.ipn_secret.as_ref().map(IpnSecret::expose)),
        ] {
            if let Some(value) = value {
                w.field(name, value);
            }
        }
        for (name, flag) in [
            ("disableEmailNotify", self.disable_email_notify),
            ("skipPreview", self.skip_preview),
        ] {
            if let Some(flag) = flag {
                w.field(name, bool_text(flag));
            }
        }
        if let Some(email) = &self.email {
            w.field("email", email);
        }
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Builds a [`CreateOrder`]; [`build`](Self::build) checks everything and names
/// the first offending field. Its `Debug` leaves out the IPN secret.
#[derive(Clone, Default)]
pub struct CreateOrderBuilder {
    route_id: Option<String>,
    partner: Option<String>,
    amount: Option<String>,
    from_values: Vec<(String, String)>,
    to_values: Vec<(String, String)>,
    route_values: Vec<(String, String)>,
    lang: Option<String>,
    agreement: Option<bool>,
    hide_out_data: Option<bool>,
    client_callback_url: Option<String>,
    ipn_url: Option<String>,
    ipn_secret: Option<String>,
    disable_email_notify: Option<bool>,
    skip_preview: Option<bool>,
    email: Option<String>,
}

impl core::fmt::Debug for CreateOrderBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CreateOrderBuilder")
            .field("route_id", &self.route_id)
            .field("amount", &self.amount)
            .field("agreement", &self.agreement)
            .field("ipn_url", &self.ipn_url)
            .field(
                "ipn_secret",
                &self.ipn_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $field:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$field = Some(value.into());
            self
        }
    };
}

macro_rules! flag {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name(mut self, value: bool) -> Self {
            self.$name = Some(value);
            self
        }
    };
}

impl CreateOrderBuilder {
    setter!(
        /// `routeId` (required): the route's ObjectId.
        route_id, route_id
    );
    setter!(
        /// `amount` (required): a decimal number as text (`"0.05"`). Positive: what
        /// the client sends; negative: what the client receives. Sent as
        /// JavaScript writes the number (`2.10` as `2.1`, `1E-7` as `1e-7`);
        /// [`build`](Self::build) refuses an amount a JavaScript number cannot
        /// hold exactly (`0.123456789012345678`), which the platform would round.
        amount, amount
    );
    setter!(
        /// `partner`: a partner (referral) code, at most 100 characters.
        partner, partner
    );
    setter!(
        /// `lang`: the client's language (`ru`, `en`, …).
        lang, lang
    );
    setter!(
        /// `clientCallbackUrl`: where the client returns (`?status=success|error` is
        /// appended). Absolute http(s), at most 200 characters.
        client_callback_url, client_callback_url
    );
    setter!(
        /// `ipnUrl`: where the platform POSTs status changes. Absolute http(s), at
        /// most 200 characters. Requires an `ipnSecret`.
        ipn_url, ipn_url
    );
    setter!(
        /// `ipnSecret`: the secret that signs this order's IPNs (at most 200 characters).
        ipn_secret, ipn_secret
    );
    setter!(
        /// `email`: the client's e-mail.
        email, email
    );
    flag!(
        /// `agreement` (required, must be `true`): the client accepted the rules.
        agreement
    );
    flag!(
        /// `hideOutData`: hide the recipient's details on the order page.
        hide_out_data
    );
    flag!(
        /// `disableEmailNotify`: no e-mails to the client.
        disable_email_notify
    );
    flag!(
        /// `skipPreview`: go straight to payment.
        skip_preview
    );

    /// Adds a `fromValues` entry (a field of the currency sent).
    pub fn from_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.from_values.push((key.into(), value.into()));
        self
    }

    /// Adds a `toValues` entry (a field of the currency received, e.g. `wallet`).
    pub fn to_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.to_values.push((key.into(), value.into()));
        self
    }

    /// Adds a `routeValues` entry (a field of the route itself).
    pub fn route_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.route_values.push((key.into(), value.into()));
        self
    }

    /// Checks every rule and makes the request.
    ///
    /// # Errors
    /// The first broken rule, naming its field (`toValues[1][value]`, `ipnUrl`, …).
    pub fn build(self) -> Result<CreateOrder> {
        let route_id = self.route_id.ok_or_else(|| Error::missing("routeId"))?;
        let route_id = ObjectId::parse("routeId", &route_id)?;
        let amount = self.amount.ok_or_else(|| Error::missing("amount"))?;
        let amount = Amount::parse("amount", &amount)?;
        if amount.is_zero() {
            return Err(Error::invalid("amount", Problem::Zero));
        }
        if crate::js::exact_js_number(amount.as_str()).is_none() {
            // The platform's server reads the amount into a JavaScript number
            // (a double): it would quietly use another amount than this one.
            return Err(Error::invalid(
                "amount",
                Problem::Rule(
                    "has more significant digits than the platform keeps \
                     (a JavaScript number, about 15-17 digits): it would round it",
                ),
            ));
        }
        match self.agreement {
            None => return Err(Error::missing("agreement")),
            Some(false) => return Err(Error::invalid("agreement", Problem::MustBeTrue)),
            Some(true) => {}
        }
        if let Some(p) = &self.partner {
            if p.is_empty() {
                return Err(Error::invalid("partner", Problem::Empty));
            }
            if p.chars().count() > MAX_PARTNER_LEN {
                return Err(Error::invalid(
                    "partner",
                    Problem::TooLong {
                        max: MAX_PARTNER_LEN,
                    },
                ));
            }
        }
        let lang = self
            .lang
            .as_deref()
            .map(|l| Lang::parse("lang", l))
            .transpose()?;
        if let Some(url) = &self.client_callback_url {
            check_url("clientCallbackUrl", url)?;
        }
        if let Some(url) = &self.ipn_url {
            check_url("ipnUrl", url)?;
        }
        let ipn_secret = match self.ipn_secret {
            Some(s) => Some(IpnSecret::new(s).map_err(|e| match e {
                Error::InvalidField { problem, .. } => Error::invalid("ipnSecret", problem),
                other => other,
            })?),
            None => None,
        };
        if self.ipn_url.is_some() && ipn_secret.is_none() {
            return Err(Error::InvalidField {
                field: Cow::Borrowed("ipnSecret"),
                problem: Problem::Rule(
                    "is required when ipnUrl is set (unsigned notifications cannot be trusted)",
                ),
            });
        }
        if let Some(email) = &self.email {
            if email.chars().count() > MAX_EMAIL_LEN {
                return Err(Error::invalid(
                    "email",
                    Problem::TooLong { max: MAX_EMAIL_LEN },
                ));
            }
            let (user, host) = email.split_once('@').unwrap_or_default();
            if user.is_empty() || host.is_empty() || email.chars().any(char::is_whitespace) {
                return Err(Error::invalid(
                    "email",
                    Problem::Rule("is not an e-mail address"),
                ));
            }
        }
        Ok(CreateOrder {
            route_id,
            partner: self.partner,
            amount,
            from_values: field_values("fromValues", self.from_values)?,
            to_values: field_values("toValues", self.to_values)?,
            route_values: field_values("routeValues", self.route_values)?,
            lang,
            agreement: true,
            hide_out_data: self.hide_out_data,
            client_callback_url: self.client_callback_url,
            ipn_url: self.ipn_url,
            ipn_secret,
            disable_email_notify: self.disable_email_notify,
            skip_preview: self.skip_preview,
            email: self.email,
        })
    }
}

/// Checks a value list, naming the entry (`toValues[1][value]`) in errors.
fn field_values(list: &'static str, values: Vec<(String, String)>) -> Result<Vec<FieldValue>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, (k, v))| {
            FieldValue::new(k, v).map_err(|e| match e {
                Error::InvalidField { field, problem } => Error::InvalidField {
                    field: Cow::Owned(alloc::format!("{list}[{i}][{field}]")),
                    problem,
                },
                other => other,
            })
        })
        .collect()
}

/// Which view of an order `order/get` returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderViewKind {
    /// `order`: the order page's view.
    #[default]
    Order,
    /// `payment`: the payment page's view.
    Payment,
}

impl Serialize for OrderViewKind {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl OrderViewKind {
    fn as_str(self) -> &'static str {
        match self {
            OrderViewKind::Order => "order",
            OrderViewKind::Payment => "payment",
        }
    }
}

/// `public/exchanger/order/get`: an order by uid and secret.
///
/// ```
/// use smartex_core::request::{GetOrder, ApiCall};
/// use smartex_core::{OrderSecret, OrderUid};
/// let get = GetOrder::new(OrderUid::new(1409)?, OrderSecret::new("dGqwF2M2")?);
/// assert_eq!(get.to_json(), r#"{"orderUID":1409,"orderSecret":"dGqwF2M2","type":"order"}"#);
/// assert_eq!(get.to_form(), "orderUID=1409&orderSecret=dGqwF2M2&type=order");
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GetOrder {
    order_uid: OrderUid,
    order_secret: OrderSecret,
    view: OrderViewKind,
}

impl Serialize for GetOrder {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut o = JsonObject::begin(s)?;
        o.member("orderUID", &self.order_uid)?;
        o.member("orderSecret", self.order_secret.expose())?;
        o.member("type", &self.view)?;
        o.end()
    }
}

impl GetOrder {
    /// The order view of order `uid`.
    pub fn new(order_uid: OrderUid, order_secret: OrderSecret) -> Self {
        Self {
            order_uid,
            order_secret,
            view: OrderViewKind::Order,
        }
    }

    /// Asks for another view.
    pub fn view(mut self, view: OrderViewKind) -> Self {
        self.view = view;
        self
    }
}

impl ApiCall for GetOrder {
    const PATH: &'static str = "public/exchanger/order/get";
    const IDEMPOTENT: bool = true;
    type Output = OrderView;

    fn write_form(&self, w: &mut FormWriter) {
        w.field("orderUID", &alloc::format!("{}", self.order_uid));
        w.field("orderSecret", self.order_secret.expose());
        w.field("type", self.view.as_str());
    }
}

/// `public/exchanger/order/update-status`: moves an order, within the
/// platform's rule (from `new`/`waitPayment` only; never to `inProgressPayout`,
/// `done` or `hold`). The usual use is marking a manual payment as paid:
/// [`UpdateStatus::mark_paid`].
///
/// ```
/// use smartex_core::request::UpdateStatus;
/// use smartex_core::{OrderSecret, OrderStatus, OrderUid};
/// let uid = OrderUid::new(1409)?;
/// let secret = OrderSecret::new("dGqwF2M2")?;
/// assert!(UpdateStatus::new(uid, secret.clone(), OrderStatus::Done, None).is_err());
/// let paid = UpdateStatus::mark_paid(uid, secret)?;
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct UpdateStatus {
    order_uid: OrderUid,
    order_secret: OrderSecret,
    status: OrderStatus,
}

impl Serialize for UpdateStatus {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut o = JsonObject::begin(s)?;
        o.member("orderUID", &self.order_uid)?;
        o.member("orderSecret", self.order_secret.expose())?;
        o.member("status", &self.status)?;
        o.end()
    }
}

impl UpdateStatus {
    /// A status change, refused here if the platform's rule forbids it.
    /// `current` is the order's status if known.
    ///
    /// # Errors
    /// [`Error::TransitionNotAllowed`].
    pub fn new(
        order_uid: OrderUid,
        order_secret: OrderSecret,
        status: OrderStatus,
        current: Option<&OrderStatus>,
    ) -> Result<Self> {
        check_update_status(current, &status)?;
        Ok(Self {
            order_uid,
            order_secret,
            status,
        })
    }

    /// The docs' manual-payment step: `waitPayment` → `inProgress`.
    ///
    /// # Errors
    /// Never in practice; the signature matches [`UpdateStatus::new`].
    pub fn mark_paid(order_uid: OrderUid, order_secret: OrderSecret) -> Result<Self> {
        Self::new(
            order_uid,
            order_secret,
            OrderStatus::InProgress,
            Some(&OrderStatus::WaitPayment),
        )
    }
}

impl ApiCall for UpdateStatus {
    const PATH: &'static str = "public/exchanger/order/update-status";
    // Setting the same status twice leaves the order as the first call left it.
    const IDEMPOTENT: bool = true;
    type Output = serde_json::Value;

    fn write_form(&self, w: &mut FormWriter) {
        w.field("orderUID", &alloc::format!("{}", self.order_uid));
        w.field("orderSecret", self.order_secret.expose());
        w.field("status", self.status.as_str());
    }
}

/// `public/exchanger/route/get`: the routes, optionally filtered by currency.
#[derive(Clone, Debug, Default)]
pub struct GetRoutes {
    /// `fromCurrencyId`.
    pub from_currency_id: Option<ObjectId>,
    /// `toCurrencyId`.
    pub to_currency_id: Option<ObjectId>,
}

impl Serialize for GetRoutes {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut o = JsonObject::begin(s)?;
        o.optional("fromCurrencyId", self.from_currency_id.as_ref())?;
        o.optional("toCurrencyId", self.to_currency_id.as_ref())?;
        o.end()
    }
}

impl ApiCall for GetRoutes {
    const PATH: &'static str = "public/exchanger/route/get";
    const IDEMPOTENT: bool = true;
    type Output = Routes;

    fn write_form(&self, w: &mut FormWriter) {
        if let Some(id) = &self.from_currency_id {
            w.field("fromCurrencyId", id.as_str());
        }
        if let Some(id) = &self.to_currency_id {
            w.field("toCurrencyId", id.as_str());
        }
    }
}

/// `public/exchanger/route/get/one`: one route with its fields.
#[derive(Clone, Debug)]
pub struct GetRoute {
    /// `id`: the route.
    pub id: ObjectId,
    /// `lang` of the field names.
    pub lang: Option<Lang>,
}

impl Serialize for GetRoute {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut o = JsonObject::begin(s)?;
        o.member("id", &self.id)?;
        o.optional("lang", self.lang.as_ref())?;
        o.end()
    }
}

impl ApiCall for GetRoute {
    const PATH: &'static str = "public/exchanger/route/get/one";
    const IDEMPOTENT: bool = true;
    type Output = RouteView;

    fn write_form(&self, w: &mut FormWriter) {
        w.field("id", self.id.as_str());
        if let Some(lang) = self.lang {
            w.field("lang", lang.as_str());
        }
    }
}

/// `public/exchanger/route/get/one/by-xml`: one route by its currency codes.
#[derive(Clone, Debug)]
pub struct GetRouteByXml {
    /// `xmlIn`: the code of the currency sent.
    pub xml_in: crate::types::CurrencyCode,
    /// `xmlOut`: the code of the currency received.
    pub xml_out: crate::types::CurrencyCode,
    /// `lang` of the field names.
    pub lang: Option<Lang>,
}

impl Serialize for GetRouteByXml {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut o = JsonObject::begin(s)?;
        o.member("xmlIn", &self.xml_in)?;
        o.member("xmlOut", &self.xml_out)?;
        o.optional("lang", self.lang.as_ref())?;
        o.end()
    }
}

impl ApiCall for GetRouteByXml {
    const PATH: &'static str = "public/exchanger/route/get/one/by-xml";
    const IDEMPOTENT: bool = true;
    type Output = RouteView;

    fn write_form(&self, w: &mut FormWriter) {
        w.field("xmlIn", self.xml_in.as_str());
        w.field("xmlOut", self.xml_out.as_str());
        if let Some(lang) = self.lang {
            w.field("lang", lang.as_str());
        }
    }
}
