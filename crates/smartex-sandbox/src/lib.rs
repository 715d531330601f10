//! # smartex-sandbox
//!
//! A faithful local stand-in for the exchange platform's merchant API, for
//! tests and demos: orders, routes, the API-key scheme, maintenance mode, a
//! status lifecycle that moves on a schedule or on command, and IPNs signed and
//! posted exactly as the platform posts them — once, no retry — plus faults
//! on demand (lost, late, doubled and stale IPNs; 5xx and HTML error pages;
//! stalled answers).
//!
//! ```
//! use smartex_core::request::{CreateOrder, GetOrder};
//! use smartex_core::OrderStatus;
//! use smartex_sandbox::{Sandbox, SandboxConfig, Schedule};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // 127.0.0.1 on an ephemeral port; here orders move only on command.
//!     let sb = Sandbox::start(SandboxConfig::default().schedule(Schedule::manual())).await?;
//!     assert!(sb.api_root().starts_with("http://127.0.0.1:"));
//!
//!     // Any client can now call `sb.api_root()` over HTTP; in-process calls go
//!     // through the very same validation.
//!     let route = sb.route_by_xml("ETH", "WMZ").ok_or("no ETH→WMZ route")?;
//!     let order = CreateOrder::builder()
//!         .route_id(route.id)
//!         .amount("2")
//!         .agreement(true)
//!         .to_value("wallet", "Z123456789012")
//!         .build()?;
//!     let created = sb.call(&order).await??;
//!     assert_eq!(created.out_amount.as_ref().map(|a| a.as_str()), Some("317.42"));
//!
//!     sb.advance(created.uid).await?; // new → waitPayment
//!     let change = sb.set_status(created.uid, OrderStatus::InProgress).await?;
//!     assert_eq!(change.from, OrderStatus::WaitPayment);
//!
//!     let view = sb.call(&GetOrder::new(created.uid, created.secret.clone())).await??;
//!     assert_eq!(view.order.status, OrderStatus::InProgress);
//!     sb.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! ## The wire
//!
//! Every method is `POST {site}/service/api/v1/{method}/` (the trailing slash
//! is optional) with a JSON body or the docs' bracket form encoding
//! (`toValues[0][key]=wallet`); the read methods also answer `GET` with query
//! parameters, and `order/update-status` also `PUT`. Answers are the platform's
//! envelope, HTTP 200 even for API errors:
//!
//! ```text
//! {"success":true,"data":{…},"latency_ms":0,"requestId":"1742774343407-ATmqdjI"}
//! {"success":false,"error":{"apiError":true,"message":"Param toValues isn't valid: wallet","errorType":"api",
//!  "object":{"fieldId":"wallet","nameField":"WMZ purse","err":"regexp","type":"toValues"},"level":0,
//!  "errorCode":6231546409213868},"latency_ms":0,"requestId":"…"}
//! ```
//!
//! | method | parameters | answers |
//! |---|---|---|
//! | `public/exchanger/order/create` | `routeId`, `amount`, `agreement`, `fromValues`, `toValues`, `routeValues`, `partner`, `lang`, `clientCallbackUrl`, `ipnUrl`, `ipnSecret`, `email` | `_id`, `uid`, `secret`, `route`, `inAmount`, `outAmount`, `status`, `createdAt`, `expiresAt` |
//! | `public/exchanger/order/get` | `orderUID`, `orderSecret`, `type` (`order`/`payment`) | `order{…}`, `verifications` |
//! | `public/exchanger/order/update-status` | `orderUID`, `orderSecret`, `status` | `_id`, `uid`, `status` |
//! | `public/exchanger/route/get` | `fromCurrencyId`, `toCurrencyId` (optional) | `routes[]` |
//! | `public/exchanger/route/get/one` | `id` | `route{…}` |
//! | `public/exchanger/route/get/one/by-xml` | `xmlIn`, `xmlOut` | `route{…}` |
//!
//! `order/create` checks what the platform is known to check: `agreement` must
//! be true; the route must exist; `amount` must be a non-zero number whose
//! amount sent lies within the route's limits (negative: the amount received);
//! each route field must be present if required, within its length limits and
//! match its regex; `partner` ≤ 100, `lang` ≤ 3, `clientCallbackUrl`, `ipnUrl`,
//! `ipnSecret` ≤ 200 characters, URLs absolute http(s). `order/update-status`
//! follows the platform's rule: only from `new` or `waitPayment`, never to
//! `inProgressPayout`, `done` or `hold`. It needs no API key, only the
//! order's uid and secret — both in the payment page's URL the customer
//! holds — so the change is recorded as set by the
//! [customer](Actor::Customer). Error codes are in [`codes`].
//!
//! ## API keys
//!
//! With key pairs configured ([`SandboxConfig::api_key`],
//! [`SandboxConfig::test_api_key`]), a call carrying an `apikey` header must
//! carry `hash` = `sha256_hex(sha256_hex(bytes) + secret)` over the body exactly
//! as sent (for `GET`, over the query string after `?`), and a numeric `time`
//! parameter greater than the last one seen for that key; otherwise it is
//! refused with [`codes::AUTH`]. Calls without a key are accepted unless
//! [`SandboxConfig::require_api_key`] is set, as the platform accepts anonymous
//! orders.
//! Nonces are checked strictly in the order calls reach the check;
//! [`SandboxConfig::reorder_keyed_calls`] delays some concurrent keyed calls so
//! that arrival order differs from issue order, and
//! [`Sandbox::nonce_refusals`] counts the refusals.
//!
//! ## The lifecycle
//!
//! A new order is `new`; the [`Schedule`] moves it to `waitPayment`, then — on
//! routes with [automatic payment detection](PaymentDetection::Automatic) — to
//! `inProgress`, `inProgressPayout` and `done`. A manual-payment route waits in
//! `waitPayment` for `order/update-status` to `inProgress` — the customer's
//! "I have paid" button on its payment page, or the merchant — then
//! proceeds. Any status can also be set on command ([`Sandbox::set_status`],
//! [`Sandbox::advance`], or the admin endpoint: `POST
//! /_sandbox/orders/{uid}/status` with `{"status": "…"}`). The lifecycle is the
//! one inferred in `smartex_core::status`; the platform documents statuses, not
//! transitions.
//!
//! The vendor's manual says a status "can be changed by the operator, the
//! server, or the user", and every change records which ([`Actor`],
//! [`StatusChange::by`], `"by"` in the admin view):
//!
//! | actor | in the sandbox |
//! |---|---|
//! | [`Actor::Server`] | the schedule, [`Sandbox::advance`], expiry, a [`Script`] step by default |
//! | [`Actor::Customer`] | `order/update-status` (uid + secret), [`Sandbox::customer_update_status`], [`Sandbox::customer_claims_paid`] |
//! | [`Actor::Operator`] | [`Sandbox::set_status`] (any status: moving back, settling from `hold`) |
//!
//! `inProgress` set by the customer is a claim (the manual: "awaiting admin
//! processing or payment"); `inProgressPayout` is the platform's "payment
//! successfully received".
//!
//! On [floating-rate](RouteSpec::floating_rate) routes an order's amounts
//! may be recalculated while it is `new` or `waitPayment`
//! ([`Sandbox::recalculate`], or on a schedule with a [`RateDrift`]); the
//! amount the customer actually paid can be marked
//! ([`Sandbox::set_paid_amount`]). Later IPNs and `order/get` carry the new
//! amounts, as exact decimal text. With [`OrderExpiry`] on, an order still
//! `new` or `waitPayment` at its `expiresAt` is set to `deleted` by the
//! server, with its IPN.
//!
//! On every change, an order with an `ipnUrl` gets one IPN: a `POST` with
//! `Content-Type: application/x-www-form-urlencoded` and the fields `orderUID`,
//! `orderId`, `newStatus`, `inAmount`, `outAmount`, `xml_from`, `xml_to`,
//! `timestamp` (ms by default; seconds, or either at random, with
//! [`IpnTimestampUnit`] — hashed as sent) and `toValues[i][key|name|value]` (brackets
//! percent-encoded, as `qs` writes them), checksummed with the order's
//! `ipnSecret` into the field `hash` (configurable). It is sent once; whatever
//! happens is recorded ([`Sandbox::sent_ipns`]). The sandbox posts only to
//! plain `http://` URLs on loopback addresses unless told otherwise
//! ([`SandboxConfig::danger_allow_any_ipn_host`]).
//!
//! ## Faults
//!
//! | fault | how |
//! |---|---|
//! | lose the next IPN / every IPN of an order | [`Sandbox::drop_next_ipn`], [`Sandbox::drop_all_ipns`] |
//! | deliver an IPN late (out of order) | [`Sandbox::delay_next_ipn`] |
//! | deliver an IPN twice | [`Sandbox::duplicate_next_ipn`] |
//! | deliver a stale IPN again after newer ones | [`Sandbox::resend_stale_ipn`] |
//! | create the order, then answer 5xx | [`Sandbox::fail_next_create`] |
//! | answer with an HTML 502 page | [`Sandbox::error_page_next`] |
//! | stall answers | [`Sandbox::stall_responses`] |
//! | IPN timestamps in seconds, or mixed with milliseconds | [`SandboxConfig::ipn_timestamp_unit`], [`Sandbox::set_ipn_timestamp_unit`] |
//! | the customer's own `inProgress` ("I have paid") | [`Sandbox::customer_claims_paid`], [`Sandbox::customer_update_status`] |
//! | amounts recalculated on a floating-rate route | [`Sandbox::recalculate`], [`SandboxConfig::rate_drift`], [`Sandbox::set_rate_drift`] |
//! | an underpaid or overpaid order | [`Sandbox::set_paid_amount`] |
//! | back-and-forth statuses within milliseconds | [`Sandbox::run_script`] with a [`Script`] |
//! | an operator's move (back, out of `hold`, anything) | [`Sandbox::set_status`], [`Sandbox::set_status_by`] |
//! | unpaid orders expiring to `deleted` | [`SandboxConfig::order_expiry`], [`Sandbox::set_order_expiry`], [`Sandbox::expire_now`] |
//! | repeatable random choices | [`SandboxConfig::seed`], [`Sandbox::reseed`] |
//! | anything else | [`Sandbox::inject_ipn_fault`], [`Sandbox::inject_api_fault`] |
//!
//! The same faults, and more, over HTTP: `POST /_sandbox/faults` (below).
//!
//! ## The admin endpoint
//!
//! Under `{site}/_sandbox/` (on by default, [`SandboxConfig::admin_endpoint`];
//! [`Sandbox::admin_url`]), what the methods above do, for a test written in
//! another language or a person with `curl`. Bodies are JSON objects (an
//! empty body counts as `{}`); answers are JSON, errors
//! `{"error": "…"}` with 400 (bad body), 404 (unknown order or IPN), 409 (a
//! transition the lifecycle refuses) or 504 (an IPN that did not settle).
//!
//! | method | path | body | does |
//! |---|---|---|---|
//! | GET | `/_sandbox` | | the site, the API root, the routes, how many orders and IPNs, maintenance |
//! | GET | `/_sandbox/orders` | | every order (secrets left out) |
//! | GET | `/_sandbox/orders/{uid}` | | one order (history with `by`, amounts) and its IPNs |
//! | POST | `/_sandbox/orders/{uid}/status` | `{"status": "inProgress", "by": "operator"}` | sets any status as `by` (default `operator`), sends its IPN, answers when the IPN settled |
//! | POST | `/_sandbox/orders/{uid}/advance` | | the next happy-path status (new → waitPayment → …) by the server, likewise |
//! | POST | `/_sandbox/orders/{uid}/customer-status` | `{"status": "deleted"}` | `order/update-status` as the customer calls it (its rule; 409 if refused), likewise |
//! | POST | `/_sandbox/orders/{uid}/customer-claims-paid` | | the customer clicks "I have paid": `waitPayment` → `inProgress`, likewise |
//! | POST | `/_sandbox/orders/{uid}/script` | see below | a scripted history, each change with its IPN; answers `{"transitions": […]}` once all settled |
//! | POST | `/_sandbox/orders/{uid}/recalculate` | `{"factor": "1.02"}` | a floating rate × factor while `new`/`waitPayment` (409 otherwise); answers `{"order": …}` |
//! | POST | `/_sandbox/orders/{uid}/paid-amount` | `{"inAmount": "1.9"}` | what the customer actually paid, carried as `inAmount` from now on; answers `{"order": …}` |
//! | POST | `/_sandbox/orders/{uid}/expire` | | expires a `new`/`waitPayment` order now (`deleted` by the server; 409 otherwise), likewise |
//! | POST | `/_sandbox/orders/{uid}/resend` | `{"status": "waitPayment"}` | sends that status's earlier IPN again, byte for byte (stale) |
//! | GET | `/_sandbox/ipns` | | every IPN record (body, signed `timestamp`, `inAmount`, `outAmount`, target, outcome) |
//! | GET, POST | `/_sandbox/maintenance` | `{"enabled": true}` | reads or sets maintenance mode |
//! | GET, POST | `/_sandbox/ipn-timestamps` | `{"unit": "seconds"}` | reads or sets the IPN timestamp unit: `milliseconds`, `seconds`, `mixed` |
//! | GET, POST | `/_sandbox/expiry` | `{"mode": "after", "ms": 300}` | reads or sets expiry for orders created afterwards: `off`, `route` (the route's `orderTTL`), `after` |
//! | GET, POST, DELETE | `/_sandbox/rate-drift` | `{"everyMs": 200, "maxChangeBp": 300}` | reads, starts or stops floating rates on a schedule; answers `{"rateDrift": null}` or `{"rateDrift": {…}}` |
//! | POST | `/_sandbox/seed` | `{"seed": 42}` | seeds the random source of faults anew |
//! | POST | `/_sandbox/faults` | see below | adds a fault rule |
//! | DELETE | `/_sandbox/faults` | | removes every fault rule |
//!
//! `"by"` is `server`, `customer` or `operator`; a transition answers
//! `{"uid", "from", "status", "by", "ipns": […]}`. Amounts are decimal text;
//! send them as strings to keep every digit (a JSON number is accepted). A
//! script is a list of steps, each a status or `{"status", "by"}` (a step's
//! `by`, else the script's, else `server`), the first taken at once and the
//! others one gap apart — `gapMs` a number, or `[min, max]` drawn per gap
//! (default 0):
//!
//! ```text
//! {"steps": ["errorPayment", {"status": "waitPayment", "by": "customer"}, "inProgress"], "gapMs": [0, 300]}
//! {"steps": ["errorPayout", "inProgressPayout", "done"], "gapMs": 50}
//! {"steps": [{"status": "hold", "by": "operator"}, {"status": "inProgressPayout", "by": "operator"}]}
//! ```
//!
//! Fault rules (`times`: a number or `"always"`, default 1; `uid` or
//! `path` left out means any order or any API call; `path` was once named
//! `method`, which is still read):
//!
//! ```text
//! {"fault": "dropIpn",      "uid": 1001, "times": 1}        lose the IPN
//! {"fault": "delayIpn",     "uid": 1001, "ms": 500}          deliver it late
//! {"fault": "duplicateIpn", "uid": 1001}                     deliver it twice
//! {"fault": "stall",        "path": "public/exchanger/order/get", "ms": 2000}
//! {"fault": "errorPage",    "path":   "…", "status": 502}    an HTML error page instead
//! {"fault": "errorPageAfterProcessing", "path": "public/exchanger/order/create", "status": 500}
//!                                                            do the call, then the error page
//! {"fault": "antiFlood",    "seconds": 3, "path":   "…"}     the platform's anti-flood answer
//! {"fault": "refuse",       "code": 6801545277215051, "path":   "…"}
//!                                                            a catalogued refusal (see `codes`)
//! ```
//!
//! ```sh
//! curl -X POST $SITE/_sandbox/orders/1001/advance
//! curl -X POST $SITE/_sandbox/faults -d '{"fault":"dropIpn","uid":1001}'
//! ```
//!
//! With an admin token ([`SandboxConfig::admin_token`]; `smartex sandbox`
//! sets one when it listens on a non-loopback address), every `/_sandbox`
//! request must carry `Authorization: Bearer TOKEN`, else it is answered
//! 401. The API and the payment pages need no token.
//!
//! ## Features
//!
//! | feature | what it does | default |
//! |---|---|---|
//! | (none) | this crate has no optional features | — |

mod admin;
mod api;
pub mod catalogue;
mod config;
mod decimal;
mod deliver;
mod engine;
mod error;
mod faults;
mod model;
mod moves;
mod rng;
mod script;
mod server;
mod spelling;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smartex_core::request::ApiCall;
use smartex_core::response::ApiError;
use smartex_core::status::Actor;
use smartex_core::{ApiKey, OrderStatus, OrderUid};
use tokio::net::TcpListener;

pub use api::codes;
pub use catalogue::{CurrencySpec, FieldSpec, PaymentDetection, RouteSpec};
pub use config::{
    IpnTimestampUnit, OrderExpiry, RateDrift, SandboxConfig, Schedule, TEST_API_KEY,
    TEST_API_SECRET,
};
pub use error::{Error, Result};
pub use faults::{ApiFault, IpnFault, Times};
pub use model::{
    DeliveryResult, IpnKind, IpnRecord, OrderSnapshot, StatusChange, Transition, ValueEntry,
};
pub use script::Script;
pub use spelling::IpnSpelling;

use engine::Inner;

/// A running sandbox. Dropping it (or [`shutdown`](Self::shutdown)) stops the
/// listener, the schedule and every delivery in flight.
///
/// Its methods take `&self`; share it between tasks with an `Arc`.
pub struct Sandbox {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds the listener and starts serving. Must run inside a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::Listen`] if the address cannot be bound; [`Error::Config`] if a
    /// route is malformed (bad id, regex or amount).
    pub async fn start(config: SandboxConfig) -> Result<Sandbox> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: listen,
            source,
        })?;
        let site = site_url_for(addr);
        let inner = Arc::new(Inner::new(config, site)?);
        inner.spawn(server::serve(Arc::clone(&inner), listener));
        inner.spawn(Arc::clone(&inner).drift_rates());
        Ok(Sandbox { inner, addr })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The site URL, `http://127.0.0.1:{port}`: what a client takes as the
    /// platform's site (payment pages are `{site}/{lang}/payment/{uid}/{secret}`).
    /// When listening on every interface, the URL names the loopback address.
    pub fn site_url(&self) -> &str {
        &self.inner.site
    }

    /// The API root, `{site}/service/api/v1/`.
    pub fn api_root(&self) -> String {
        format!("{}{}/", self.inner.site, server::API_PREFIX)
    }

    /// The admin endpoint's root, `{site}/_sandbox/` (if enabled).
    pub fn admin_url(&self) -> String {
        format!("{}/_sandbox/", self.inner.site)
    }

    /// The routes it serves.
    pub fn routes(&self) -> Vec<RouteSpec> {
        self.inner
            .settings
            .routes
            .iter()
            .map(|r| r.spec.clone())
            .collect()
    }

    /// The route from currency code `xml_from` to `xml_to`, if served.
    pub fn route_by_xml(&self, xml_from: &str, xml_to: &str) -> Option<RouteSpec> {
        self.inner
            .settings
            .routes
            .iter()
            .find(|r| r.spec.from.xml == xml_from && r.spec.to.xml == xml_to)
            .map(|r| r.spec.clone())
    }

    /// The public halves of the API keys it accepts.
    pub fn api_keys(&self) -> Vec<ApiKey> {
        self.inner
            .settings
            .api_keys
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Calls a method in process, through the same validation and envelope as
    /// over HTTP, and decodes the answer with `smartex_core::response::decode`.
    /// No API key is needed and no fault applies; maintenance mode does.
    ///
    /// # Errors
    /// The outer error if the answer does not decode as `M::Output`; the inner
    /// one is the platform's answer ([`ApiError`]).
    pub async fn call<M: ApiCall>(&self, request: &M) -> Result<Result<M::Output, ApiError>> {
        let body = request.to_json();
        let answer = api::call_in_process(&self.inner, M::PATH, body.as_bytes());
        let response = smartex_core::response::decode::<M::Output>(answer.as_bytes())
            .map_err(Error::Decode)?;
        Ok(response.result)
    }

    /// The order `uid` as it is now.
    pub fn order(&self, uid: OrderUid) -> Option<OrderSnapshot> {
        self.inner.snapshot(uid.get())
    }

    /// Every order, by uid.
    pub fn orders(&self) -> Vec<OrderSnapshot> {
        let st = self.inner.lock();
        st.orders
            .values()
            .map(|o| self.inner.snapshot_of(o))
            .collect()
    }

    /// Sets an order's status, as an operator would (any status, even the same
    /// one again, moving back, settling from `hold`), sends its IPN, restarts
    /// the schedule from there, and returns once the IPN's delivery has
    /// settled (including any injected delay). The history records it as
    /// set by [`Actor::Operator`].
    ///
    /// # Errors
    /// [`Error::UnknownOrder`]; [`Error::Timeout`] if the delivery never settles.
    pub async fn set_status(&self, uid: OrderUid, status: OrderStatus) -> Result<Transition> {
        self.set_status_by(uid, status, Actor::Operator).await
    }

    /// [`set_status`](Self::set_status), recorded as set by `by`: e.g. a
    /// change the server makes that the lifecycle does not foresee.
    ///
    /// # Errors
    /// As [`set_status`](Self::set_status).
    pub async fn set_status_by(
        &self,
        uid: OrderUid,
        status: OrderStatus,
        by: Actor,
    ) -> Result<Transition> {
        self.inner.set_status_settled(uid.get(), status, by).await
    }

    /// What the holder of the order's uid and secret — the customer, from
    /// the payment page's URL — can do with `order/update-status`, no API key
    /// needed: by the platform's rule (only from `new` or `waitPayment`;
    /// never to `inProgressPayout`, `done` or `hold`), signed and notified
    /// like any change, recorded as set by [`Actor::Customer`]. Returns once
    /// the IPN settled.
    ///
    /// The rule is what the platform is known to refuse (public clients
    /// enforce it), wider than the customer's moves in the vendor manual
    /// (`smartex_core::status::STEPS`: `new` → `waitPayment` or `deleted`,
    /// `waitPayment` → `inProgress`): a receiver must expect, say, an
    /// `errorPayment` set this way.
    ///
    /// # Errors
    /// [`Error::UnknownOrder`]; [`Error::NotAllowed`] when the rule refuses;
    /// [`Error::Invalid`] for an [`OrderStatus::Unknown`]; [`Error::Timeout`].
    pub async fn customer_update_status(
        &self,
        uid: OrderUid,
        status: OrderStatus,
    ) -> Result<Transition> {
        self.inner.customer_update_settled(uid.get(), status).await
    }

    /// The customer clicks "I have paid" on a manual-payment route's page:
    /// `waitPayment` → `inProgress` by [`customer_update_status`](Self::customer_update_status).
    /// Nothing was received: `inProgress` set so is a claim, not a payment.
    /// (The sandbox allows it on any route, as `order/update-status` does.)
    ///
    /// # Errors
    /// As [`customer_update_status`](Self::customer_update_status).
    pub async fn customer_claims_paid(&self, uid: OrderUid) -> Result<Transition> {
        self.customer_update_status(uid, OrderStatus::InProgress)
            .await
    }

    /// Runs a scripted history on order `uid` (each step with its own IPN,
    /// gaps of milliseconds) and returns its changes once every IPN settled.
    /// The script runs to its end even if the caller stops waiting.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a script without steps or with reversed gaps;
    /// [`Error::UnknownOrder`]; [`Error::Timeout`].
    pub async fn run_script(&self, uid: OrderUid, script: &Script) -> Result<Vec<Transition>> {
        self.inner.run_script(uid.get(), script.clone()).await
    }

    /// Recalculates the amounts of an order on a floating-rate route while it
    /// is `new` or `waitPayment`: its rate is multiplied by `factor` (decimal
    /// text, e.g. `"1.02"`), the side the client fixed at create (the amount
    /// sent, or with a negative `amount` the amount received) is kept, and the
    /// other is recomputed with the route's precision. No IPN (the status did
    /// not change); later IPNs and `order/get` carry the new amounts.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`factor` not a positive decimal, or a rate out of
    /// range); [`Error::UnknownOrder`]; [`Error::NotAllowed`] on a fixed-rate
    /// route or in another status.
    pub fn recalculate(&self, uid: OrderUid, factor: &str) -> Result<OrderSnapshot> {
        let factor = moves::decimal("factor", factor, true)?;
        self.inner.recalculate(uid.get(), factor)
    }

    /// Marks what the customer actually paid (decimal text), below or above
    /// the quote: from now on IPNs (typically the coming `inProgressPayout`
    /// and `done`) and `order/get` carry it as `inAmount`; `outAmount` stays
    /// the quote's.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `in_amount` is not a non-negative decimal;
    /// [`Error::UnknownOrder`].
    pub fn set_paid_amount(&self, uid: OrderUid, in_amount: &str) -> Result<OrderSnapshot> {
        let amount = moves::decimal("inAmount", in_amount, false)?;
        self.inner.set_paid_amount(uid.get(), amount)
    }

    /// Expires order `uid` now, as the server does at `expiresAt`: a `new` or
    /// `waitPayment` order is set to `deleted` (by [`Actor::Server`]) with its
    /// IPN, and its `expiresAt` becomes now. Returns once the IPN settled.
    ///
    /// # Errors
    /// [`Error::UnknownOrder`]; [`Error::NotAllowed`] in any other status;
    /// [`Error::Timeout`].
    pub async fn expire_now(&self, uid: OrderUid) -> Result<Transition> {
        self.inner.expire_settled(uid.get()).await
    }

    /// Changes the unit IPN timestamps are signed in, from the next IPN on.
    pub fn set_ipn_timestamp_unit(&self, unit: IpnTimestampUnit) {
        self.inner.lock().ipn_timestamp_unit = unit;
    }

    /// The unit IPN timestamps are signed in.
    pub fn ipn_timestamp_unit(&self) -> IpnTimestampUnit {
        self.inner.lock().ipn_timestamp_unit
    }

    /// Changes whether and when orders created from now on expire.
    pub fn set_order_expiry(&self, expiry: OrderExpiry) {
        self.inner.lock().order_expiry = expiry;
    }

    /// Whether and when orders created now expire.
    pub fn order_expiry(&self) -> OrderExpiry {
        self.inner.lock().order_expiry
    }

    /// Starts, changes or (`None`) stops the floating rates' schedule.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a zero interval or a change of 10000 basis
    /// points or more.
    pub fn set_rate_drift(&self, drift: Option<RateDrift>) -> Result<()> {
        moves::check_drift(drift)?;
        self.inner.rate_drift.send_replace(drift);
        Ok(())
    }

    /// The floating rates' schedule, if any.
    pub fn rate_drift(&self) -> Option<RateDrift> {
        *self.inner.rate_drift.borrow()
    }

    /// Seeds the random source of faults anew (see [`SandboxConfig::seed`]).
    pub fn reseed(&self, seed: u64) {
        self.inner.lock().chance = rng::Rng::from_seed(seed);
    }

    /// Moves an order to the next status of the happy path (`new` →
    /// `waitPayment` → `inProgress` → `inProgressPayout` → `done`; from
    /// `errorPayment`, `inProgress`; from `errorPayout`, `inProgressPayout`),
    /// whatever the schedule and the route's payment detection, like
    /// [`set_status`](Self::set_status).
    ///
    /// # Errors
    /// [`Error::UnknownOrder`]; [`Error::NotAllowed`] from a final status or `hold`.
    pub async fn advance(&self, uid: OrderUid) -> Result<Transition> {
        self.inner.advance_settled(uid.get()).await
    }

    /// Every IPN record, in the order they were queued.
    pub fn sent_ipns(&self) -> Vec<IpnRecord> {
        self.inner.lock().ipns.clone()
    }

    /// The IPN records of order `uid`.
    pub fn ipns_for(&self, uid: OrderUid) -> Vec<IpnRecord> {
        self.inner
            .lock()
            .ipns
            .iter()
            .filter(|r| r.order_uid == uid)
            .cloned()
            .collect()
    }

    /// Waits until order `uid` has reached `status` (now or at any time before).
    ///
    /// # Errors
    /// [`Error::Timeout`].
    pub async fn wait_for_status(
        &self,
        uid: OrderUid,
        status: OrderStatus,
        timeout: Duration,
    ) -> Result<OrderSnapshot> {
        let inner = &self.inner;
        inner
            .wait_for(
                timeout,
                || format!("order {uid} to reach `{status}`"),
                |st| {
                    st.orders
                        .get(&uid.get())
                        .filter(|o| o.history.iter().any(|c| c.status == status))
                        .map(|o| inner.snapshot_of(o))
                },
            )
            .await
    }

    /// Waits until at least `count` IPN records (of order `uid`, or of any order)
    /// have settled, and returns every settled one.
    ///
    /// # Errors
    /// [`Error::Timeout`].
    pub async fn wait_for_ipns(
        &self,
        uid: Option<OrderUid>,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<IpnRecord>> {
        self.inner
            .wait_for(
                timeout,
                || format!("{count} settled IPNs"),
                |st| {
                    let settled: Vec<IpnRecord> = st
                        .ipns
                        .iter()
                        .filter(|r| uid.is_none_or(|u| r.order_uid == u))
                        .filter(|r| r.outcome.is_settled())
                        .cloned()
                        .collect();
                    (settled.len() >= count).then_some(settled)
                },
            )
            .await
    }

    /// Waits until no IPN is pending (queued, delayed or on its way).
    ///
    /// # Errors
    /// [`Error::Timeout`].
    pub async fn wait_ipns_settled(&self, timeout: Duration) -> Result<Vec<IpnRecord>> {
        self.inner
            .wait_for(
                timeout,
                || "every IPN to settle".to_owned(),
                |st| {
                    st.ipns
                        .iter()
                        .all(|r| r.outcome.is_settled())
                        .then(|| st.ipns.clone())
                },
            )
            .await
    }

    /// Turns maintenance mode on or off: while on, every API call answers error
    /// code [`codes::MAINTENANCE`].
    pub fn set_maintenance(&self, on: bool) {
        self.inner.lock().maintenance = on;
        self.inner.notify();
    }

    /// How many calls were refused for their `time` nonce (not greater than
    /// the key's last) since the sandbox started.
    pub fn nonce_refusals(&self) -> u64 {
        self.inner
            .nonce_refusals
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether maintenance mode is on.
    pub fn maintenance(&self) -> bool {
        self.inner.lock().maintenance
    }

    /// Adds an IPN fault rule for order `order` (or any order), striking
    /// `times` times. Rules strike in the order they were added.
    pub fn inject_ipn_fault(&self, order: Option<OrderUid>, fault: IpnFault, times: Times) {
        self.inner.lock().faults.add_ipn(order, fault, times);
    }

    /// Adds an API fault rule for the call at `path` (such as
    /// `public/exchanger/order/create`; `None`: any call), striking `times`
    /// times.
    pub fn inject_api_fault(&self, path: Option<&str>, fault: ApiFault, times: Times) {
        self.inner.lock().faults.add_api(path, fault, times);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.inner.lock().faults.clear();
    }

    /// Loses the next IPN of order `uid`.
    pub fn drop_next_ipn(&self, uid: OrderUid) {
        self.inject_ipn_fault(Some(uid), IpnFault::Drop, Times::Once);
    }

    /// Loses every IPN of order `uid` from now on.
    pub fn drop_all_ipns(&self, uid: OrderUid) {
        self.inject_ipn_fault(Some(uid), IpnFault::Drop, Times::Always);
    }

    /// Holds the next IPN of order `uid` back for `delay`; later ones may
    /// overtake it.
    pub fn delay_next_ipn(&self, uid: OrderUid, delay: Duration) {
        self.inject_ipn_fault(Some(uid), IpnFault::Delay(delay), Times::Once);
    }

    /// Delivers the next IPN of order `uid` twice.
    pub fn duplicate_next_ipn(&self, uid: OrderUid) {
        self.inject_ipn_fault(Some(uid), IpnFault::Duplicate, Times::Once);
    }

    /// Sends the last IPN body recorded for `status` of order `uid` again, byte
    /// for byte (its old timestamp and checksum), as a late, stale delivery —
    /// e.g. `waitPayment` after `done`. Returns once it settled.
    ///
    /// # Errors
    /// [`Error::UnknownOrder`]; [`Error::NoSuchIpn`] if that order never had an
    /// IPN body with that status.
    pub async fn resend_stale_ipn(&self, uid: OrderUid, status: OrderStatus) -> Result<IpnRecord> {
        let seq = self.inner.resend(uid.get(), &status)?;
        let mut records = self.inner.wait_settled(&[seq]).await?;
        records.pop().ok_or(Error::NoSuchIpn {
            uid: uid.get(),
            status: status.to_string(),
        })
    }

    /// Makes the next `order/create` create the order and then answer with an
    /// HTML error page with HTTP `status` (e.g. 500 or 502): the ambiguous
    /// failure a client must not blindly retry.
    pub fn fail_next_create(&self, status: u16) {
        self.inject_api_fault(
            Some("public/exchanger/order/create"),
            ApiFault::ErrorPageAfterProcessing { status },
            Times::Once,
        );
    }

    /// Answers the next API calls (of any method) with an HTML error page with
    /// HTTP `status` (typically 502), without processing them.
    pub fn error_page_next(&self, status: u16, times: Times) {
        self.inject_api_fault(None, ApiFault::ErrorPage { status }, times);
    }

    /// Holds the answers of the next API calls (of any method) back for
    /// `delay`, after processing them.
    pub fn stall_responses(&self, delay: Duration, times: Times) {
        self.inject_api_fault(None, ApiFault::Stall(delay), times);
    }

    /// Stops the listener, the schedule and every delivery in flight, and waits
    /// until they have stopped.
    pub async fn shutdown(self) {
        if let Some(mut tasks) = self.inner.close() {
            tasks.shutdown().await;
        }
        self.inner.notify();
    }
}

/// `http://{ip}:{port}` for a listening address; listening on every interface
/// (`0.0.0.0` or `::`), clients on this machine reach it through loopback.
fn site_url_for(addr: SocketAddr) -> String {
    let host = match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => "127.0.0.1".to_owned(),
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => "[::1]".to_owned(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    };
    format!("http://{host}:{}", addr.port())
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Aborting is synchronous; the tasks end at their next poll.
        let _ = self.inner.close();
        self.inner.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls_name_a_reachable_address() {
        for (addr, site) in [
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("0.0.0.0:8080", "http://127.0.0.1:8080"),
            ("[::1]:9", "http://[::1]:9"),
            ("[::]:9", "http://[::1]:9"),
            ("10.1.2.3:80", "http://10.1.2.3:80"),
        ] {
            let addr: SocketAddr = addr
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([0; 4], 0)));
            assert_eq!(site_url_for(addr), site);
        }
    }
}
