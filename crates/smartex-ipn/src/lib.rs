//! # smartex-ipn
//!
//! Receives the exchange platform's IPNs (instant payment notifications) in
//! any web framework, or none: an incoming request, as plain data, becomes a
//! verified, typed status change — or a precise reason to refuse it, with the
//! HTTP answer to send.
//!
//! ```
//! use smartex_ipn::{Answer, IpnRequest, IpnSecret, Receiver};
//!
//! let receiver = Receiver::new(); // build once, share between requests
//! let secret = IpnSecret::new("SECRET123")?;
//!
//! // In your handler: the method, content type and raw body as received.
//! let body = std::fs::read("../smartex-core/tests/data/sample-ipn-body.txt")?;
//! let request = IpnRequest::new("POST", &body).content_type("application/x-www-form-urlencoded");
//! # let now = smartex_ipn::UnixMillis::from_millis(1_571_328_406_072 + 1_000);
//! # let _ = smartex_ipn::now;
//! match receiver.receive(&request, &secret, now /* smartex_ipn::now() */) {
//!     Ok(ipn) => {
//!         // Only a verified notification exposes the status and amounts.
//!         // inProgress is not proof of payment: the customer can set it.
//!         assert!(!ipn.status().payment().is_received());
//!         assert_eq!(ipn.out_amount()?.as_str(), "317.42");
//!         // The one transition rule, against your stored status for ipn.order_id_raw():
//!         let change = smartex_ipn::transition(None, &ipn.event());
//!         assert_eq!(Answer::for_decision(&change.decision), Answer::OK);
//!     }
//!     Err(refusal) => {
//!         let answer = refusal.answer(); // e.g. 401 "Unauthorized: …"
//!         # unreachable!("{answer:?}");
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Verified before trusted
//!
//! [`Receiver::parse`] checks the method, size and content type, decodes the
//! body (any `qs` spelling; refusing repeated signed fields) and finds the
//! checksum. The core's [`UnverifiedIpn`] it returns shows only the order's
//! id and uid — enough to look up the order's secret, nothing to act on.
//! [`Receiver::verify`] checks the checksum in constant time, the timestamp
//! window and the replay guard, and only then yields the core's
//! [`VerifiedIpn`] with the status, amounts, currencies and `toValues`.
//! There is no other way to reach them: the two types are the core's, the
//! one vocabulary of the whole SDK.
//!
//! The checksum covers `orderId`, `newStatus`, `inAmount`, `outAmount`,
//! `xml_from`, `xml_to` and `timestamp` only. `orderUID`, `toValues` and any
//! other field are not signed — anyone holding one genuine notification can
//! change them and it still verifies — so look the secret up, and update the
//! order, by `orderId`.
//!
//! ## Secrets: one, several, or per order
//!
//! The platform signs each notification with the `ipnSecret` given when the
//! order was created. [`Receiver::verify`] takes anything that is
//! [`Secrets`]: one [`IpnSecret`], a slice or `Vec` of them during a
//! rotation (each is tried, in constant time), or an
//! `Option` of these straight from your lookup, where `None` means the order
//! is unknown ([`Error::UnknownOrder`], answered 404). Because parsing and
//! verifying are separate steps, the lookup in between may be async; this
//! crate needs no runtime:
//!
//! ```
//! # use smartex_ipn::{IpnRequest, IpnSecret, Receiver, VerifiedIpn, Error};
//! # async fn secret_of(order_id: &str) -> Option<IpnSecret> { IpnSecret::new("SECRET123").ok() }
//! async fn handle<'a>(receiver: &Receiver, request: &IpnRequest<'a>) -> Result<VerifiedIpn<'a>, Error> {
//!     let parsed = receiver.parse(request)?;
//!     let secret = secret_of(parsed.order_id_raw()).await; // your database
//!     receiver.verify(parsed, &secret, smartex_ipn::now())
//! }
//! ```
//!
//! ## Where the checksum is
//!
//! The platform's docs do not say. By default it is the body field `hash`;
//! [`Config::checksum_in`] adds or replaces places ([`ChecksumLocation`]: a
//! body field, a query parameter of the `ipnUrl`, a header), and
//! [`IpnRequest::checksum`] passes one the caller found itself. Found in more
//! than one place (or repeated) with different values: each is a candidate,
//! and the notification verifies if one of them matches.
//!
//! ## Bounds, time and replays
//!
//! - Method `POST`, `Content-Type: application/x-www-form-urlencoded`, body
//!   up to 64 KiB, the core decoder's limits — all in [`Config`]; JSON bodies
//!   only with [`Config::allow_json`].
//! - The signed `timestamp` (milliseconds, or seconds: below 10^11 it is read
//!   as seconds) must lie between 24 hours before and 5 minutes after the
//!   `now` you pass ([`now`], a [`UnixMillis`]; [`TimestampWindow`]). The
//!   window is generous because the platform never resends: a notification
//!   delayed by network trouble must still be accepted.
//!   [`Config::danger_accept_any_timestamp`] turns the check off.
//! - A bounded in-memory [`ReplayGuard`] ([`MemoryReplayGuard`], 10,000
//!   entries) refuses a notification already seen (same order, status,
//!   timestamp and checksum) with [`Error::Replayed`] — answered 200, since
//!   it was received before: "stale" if the order has moved past it
//!   ([`Error::answer_knowing`] with its stored status), else "duplicate".
//!   Servers sharing a store implement the trait. If
//!   your processing fails after verification, [`Receiver::forget`] lets a
//!   retry of the same notification through.
//! - [`transition`] (the core's one rule) decides the verified change against
//!   the status you stored and says what you know afterwards: only
//!   [`Decision::Apply`] should change your records; a late `waitPayment`
//!   never overwrites `done`.
//!
//! ## What to answer
//!
//! [`Answer`] maps every outcome to an HTTP status and a short body, as plain
//! data: genuine notifications get 2xx (applied, duplicate, stale: 200; held
//! for review: 202), malformed 400, missing or bad checksum 401, unknown
//! order 404, wrong method 405, too large 413, wrong content type 415,
//! outside the time window 422. The table is on [`Answer`].
//!
//! ## hyper, axum, actix-web
//!
//! Three complete receivers are compiled as examples of this crate:
//! `examples/hyper_receiver.rs` (plain data, no feature needed),
//! `examples/axum_receiver.rs` (feature `http`) and
//! `examples/actix_receiver.rs` (actix-web 4, plain data: actix has header
//! types of its own); all three are started and exercised over HTTP by the
//! crate's tests. The axum one, in short:
//!
//! ```
//! # #[cfg(feature = "http")]
//! # mod demo {
//! use std::sync::Arc;
//! use axum::{Router, body::{Body, Bytes}, extract::{DefaultBodyLimit, State}};
//! use axum::{http::request::Parts, response::Response, routing::any};
//! use smartex_ipn::{Answer, Config, IpnRequest, Receiver};
//!
//! async fn ipn(State(receiver): State<Arc<Receiver>>, parts: Parts, body: Bytes) -> Response {
//!     let request = IpnRequest::from_http_parts(&parts, &body);
//!     let answer = match receiver.parse(&request) {
//!         Err(refusal) => Answer::for_error(&refusal),
//!         Ok(parsed) => {
//!             let secret = my_db::ipn_secret(parsed.order_id_raw()).await; // Option<IpnSecret>
//!             match receiver.verify(parsed, &secret, smartex_ipn::now()) {
//!                 // Seen before: stale if the order has moved past it, else duplicate.
//!                 Err(refusal) => match refusal.replayed_order_id() {
//!                     Some(id) => refusal.answer_knowing(my_db::status(id).await.as_ref()),
//!                     None => refusal.answer(),
//!                 },
//!                 // Your tracker step: transition(stored status, &ipn.event()), store it if Apply.
//!                 Ok(ipn) => Answer::for_decision(&my_db::apply(&ipn).await),
//!             }
//!         }
//!     };
//!     answer.to_http_response().map(Body::from)
//! }
//!
//! pub fn app() -> Router {
//!     Router::new()
//!         .route("/ipn", any(ipn)) // the receiver answers 405 itself
//!         .layer(DefaultBodyLimit::max(Config::DEFAULT_MAX_BODY))
//!         .with_state(Arc::new(Receiver::new()))
//! }
//! # mod my_db {
//! #     pub async fn ipn_secret(_: &str) -> Option<smartex_ipn::IpnSecret> { None }
//! #     pub async fn status(_: &str) -> Option<smartex_ipn::KnownStatus> { None }
//! #     pub async fn apply(ipn: &smartex_ipn::VerifiedIpn<'_>) -> smartex_ipn::Decision { smartex_ipn::transition(None, &ipn.event()).decision }
//! # }
//! # }
//! ```
//!
//! With **actix-web**, read the body as `web::Bytes` under a
//! `web::PayloadConfig` limit (actix answers 413 beyond it), give the
//! receiver actix's headers through a three-line [`Headers`] adapter, and
//! build the response from the [`Answer`]'s status, body and `Allow` header:
//! see `examples/actix_receiver.rs`.
//!
//! ## Features
//!
//! | feature | what it does | default |
//! |---|---|---|
//! | `http` | `IpnRequest::from_http` / `from_http_parts`, `Headers` for `http::HeaderMap`, `Answer::to_http_response` | no |
//! | `tracing` | a `tracing` event for every refusal (`info`; `warn` for a bad checksum or unknown order; `debug` for a replay) and every verified notification (`info`, with order id, status, timestamp — never a secret, checksum or requisite) | no |
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod answer;
mod config;
mod error;
#[cfg(feature = "http")]
mod http;
mod receiver;
mod replay;
mod request;

pub use answer::Answer;
pub use config::{ChecksumLocation, Config, ContentTypes, TimestampWindow};
pub use error::{Error, Result};
pub use receiver::{Receiver, Secrets, now};
pub use replay::{MemoryReplayGuard, ReplayGuard, ReplayKey};
pub use request::{Headers, IpnRequest};
pub use smartex_core::time::UnixMillis;

/// The core types a receiver works with, re-exported for convenience.
pub use smartex_core::{
    IpnSecret, OrderStatus,
    form::Limits,
    ipn::{UnverifiedIpn, VerifiedIpn},
    status::{Decision, KnownStatus, StatusEvent, Transition, transition},
};
