//! # smartex-http
//!
//! The API client of the smartex SDK: everything a merchant's backend calls on
//! the exchange platform (smartexpay.com, develop.exchange, …), correct on the
//! wire and safe under failure. Built on the no-I/O
//! [`smartex-core`](smartex_core), over a pluggable [`Transport`] (reqwest +
//! rustls by default).
//!
//! A merchant creates an order, sends the customer to the payment page, marks
//! a manual payment as paid, and reconciles an order whose IPN never came:
//!
//! ```
//! use std::time::Duration;
//! use smartex_core::request::CreateOrder;
//! use smartex_core::status::Decision;
//! use smartex_core::{ApiKey, ApiSecret, Lang, OrderStatus};
//! use smartex_http::{ApiKeyAuth, Client, WatchOptions};
//! # use smartex_http::transport::{HttpRequest, HttpResponse, Transport, TransportError};
//! # use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
//! # /// A stand-in for the platform, so that this example runs without a network.
//! # struct FakePlatform { status: AtomicU8 }
//! # impl Transport for FakePlatform {
//! #     async fn send(&self, r: HttpRequest) -> Result<HttpResponse, TransportError> {
//! #         let statuses = ["waitPayment", "inProgress", "inProgressPayout", "done"];
//! #         let data = match r.path {
//! #             "public/exchanger/order/create" => r#"{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,
//! #                 "secret":"dGqwF2M2eBPaSN1G5ljMS1cb","inAmount":0.05,"outAmount":"317.42"}"#.to_owned(),
//! #             "public/exchanger/order/update-status" => { self.status.store(1, SeqCst); "{}".to_owned() }
//! #             _ => {
//! #                 let i = self.status.load(SeqCst);
//! #                 if i >= 1 { self.status.store((i + 1).min(3), SeqCst); }
//! #                 format!(r#"{{"order":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"status":"{}"}}}}"#, statuses[i as usize])
//! #             }
//! #         };
//! #         let body = format!(r#"{{"success":true,"data":{data},"requestId":"1742774343407-ATmqdjI"}}"#);
//! #         Ok(HttpResponse::new(200, vec![], body.into_bytes()))
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!
//! // One client per site (and key); clone it freely.
//! let auth = ApiKeyAuth::new(ApiKey::new("EF04794F718A3FC8C6DFA0B")?, ApiSecret::new("…secret…")?);
//! let client = Client::builder("https://www.smartexpay.com")
//!     .lang(Lang::EN)
//!     .api_key(auth) // optional: without a key, orders just do not show in the cabinet
//! #   .build_with(FakePlatform { status: AtomicU8::new(0) })?;
//! #   /*
//!     .build()?;
//! #   */
//!
//! // 1. Create the order (retried only after a refusal of its nonce, which proves
//! //    nothing was created: any other repeat could create a second one).
//! let order = CreateOrder::builder()
//!     .route_id("5d8e6002b80b7b4cd75a6424")
//!     .amount("0.05")
//!     .agreement(true)
//!     .to_value("wallet", "Z123456789012")
//!     .ipn_url("https://shop.example/ipn")
//!     .ipn_secret("per-order-secret")
//!     .build()?;
//! let created = client.create_order(&order).await?;
//! // Store created.uid() and created.secret() with the merchant's order.
//!
//! // 2. Send the customer to the payment page.
//! let url = created.payment_page();
//! assert_eq!(url, "https://www.smartexpay.com/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb");
//!
//! // 3. Manual payment: the customer paid, so mark the order paid
//! //    (waitPayment → inProgress; the core rule refuses illegal targets before any request).
//! client.mark_paid(created.uid(), created.secret()).await?;
//!
//! // 4. The IPN for the next status never came? Reconcile: poll until a final status.
//! let options = WatchOptions::default()
//!     .known(OrderStatus::WaitPayment)
//!     .deadline(Duration::from_secs(3600));
//! # let options = options.intervals(Duration::from_millis(1), Duration::from_millis(2));
//! let mut watch = client.watch_order(created.uid(), created.secret(), options);
//! while let Some(change) = watch.next().await {
//!     let change = change?;
//!     match change.decision {
//!         Decision::Apply => println!("order {} is now {}", created.uid(), change.status),
//!         _ => println!("order {} moved unexpectedly to {}: look at it", created.uid(), change.status),
//!     }
//! }
//! assert_eq!(watch.known().map(|k| &k.status), Some(&OrderStatus::Done));
//! # Ok(()) }
//! ```
//!
//! ## On the wire
//!
//! Each call is `POST {api_root}{method}/` (note the trailing slash) where the
//! API root is `{site}/service/api/v1/` unless
//! [overridden](ClientBuilder::api_root), with headers `user-agent:
//! smartex/<version>`, `accept: application/json`, `lang: <lang>`,
//! `content-type`, and the body in JSON (default, as the platform's web app) or
//! the docs' bracket [form encoding](Encoding::Form). Any method can be sent
//! with `GET` (parameters in the query string) or `PUT` instead
//! ([`ClientBuilder::verb`], [`ClientBuilder::reads_with_get`]).
//!
//! ## Failure behaviour
//!
//! - **Retries** ([`RetryPolicy`]): at most 2 by default, exponential backoff
//!   with jitter, only for idempotent methods (reads, `update-status`), only
//!   after a connection error or HTTP `429`/`502`/`503`/`504`.
//! - **`create_order` is retried on one answer only**: the platform's refusal
//!   of its `time` nonce ([`NonceRefusal`]; the nonce is checked before the
//!   method runs, so nothing was created), re-signed with a fresh nonce. A
//!   failure after the request may have
//!   reached the platform (a timeout, a broken connection, any `5xx` but `503`,
//!   a success status with a body that is not the envelope) is
//!   [`ErrorKind::Ambiguous`]: "the order may have been created". Look for the
//!   order (by its IPN, or in the cabinet) before creating another.
//! - **Timeouts**: connect (10 s, in the transport) and whole attempt (30 s,
//!   [`ClientBuilder::timeout`]). A read that times out is not retried.
//! - **Size cap**: a response body over 8 MiB
//!   ([`ClientBuilder::max_response_bytes`]) is cut off while it streams in.
//! - **Errors** ([`Error`]) carry the kind, HTTP status, the platform's request
//!   id, error code and offending field, and a bounded excerpt of an unexpected
//!   body — never a secret, a URL or a request body; text the platform wrote
//!   is escaped, so it cannot forge a log line. Maintenance
//!   (`5555555555555555`) is [`ErrorKind::Maintenance`]; the anti-flood answer
//!   (`5030000`) is [`ErrorKind::RateLimited`] with [`Error::retry_after`], and
//!   reads wait that long and retry when it fits the [`RetryPolicy`]; the
//!   other codes of the platform's catalogue (amount above maximum or below
//!   minimum, not enough reserve, route unavailable, unauthorized) are
//!   [`Error::api_kind`].
//! - **Answers keep everything**: amounts keep their exact digits, and a
//!   created order whose `uid` or `secret` breaks a limit this crate assumed
//!   is returned with a warning, never dropped as ambiguous.
//!
//! ## Authorization
//!
//! None (valid: orders just do not appear in the merchant's cabinet), the
//! platform's API-key scheme ([`ApiKeyAuth`]: `apikey` and `hash` headers and a
//! `time` nonce, in milliseconds by default, [configurable](NonceUnit)), or the
//! merchant's own [`Authorizer`]. The `hash` covers what the platform's
//! Express server recomputes from the parameters it parsed, so a key works
//! with every [`Encoding`] and [`Verb`] (a test runs every combination against
//! real Express).
//!
//! A key's calls go through its send lane ([`nonce`]): one call of the key on
//! the wire at a time, so the platform sees the nonces in the order they were
//! issued — within the process by default, across processes with a shared
//! [`NonceSource`] (`smartex::StoreNonces`, over the store's database). A refusal of a stale nonce
//! ([`NonceRefusal`]) is re-signed and retried.
//!
//! ## Not included
//!
//! A blocking facade: it would need a runtime of its own per client; call the
//! async client from `tokio::runtime::Runtime::block_on` instead.
//!
//! ## Features
//!
//! | feature | what it does | default |
//! |---|---|---|
//! | `reqwest` | [`ReqwestTransport`] and [`ClientBuilder::build`]: reqwest over HTTP/1.1 with rustls (aws-lc-rs provider, the OS certificate verifier; no OpenSSL; unifies cleanly with an app's own reqwest/rustls) | yes |
//! | `tracing` | a `smartex.call` span per call with `path`, `request_id`, `http_status`, `attempts`, `latency_ms`, `server_latency_ms` — never secrets, URLs or bodies | no |
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod auth;
mod client;
pub mod config;
mod error;
pub mod nonce;
mod order;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
pub mod transport;
pub mod watch;

pub use auth::{ApiKeyAuth, AuthError, Authorizer, NonceLane, NonceUnit};
pub use client::{Client, Reply};
pub use config::{ClientBuilder, Encoding, NonceRefusal, RetryPolicy};
pub use error::{Error, ErrorKind};
pub use nonce::{InProcessNonces, NonceError, NonceLease, NonceSource};
pub use order::CreateReply;
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TRANSPORT_TIMEOUT, ReqwestTransport, ReqwestTransportBuilder,
};
pub use transport::{
    HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind, Verb,
};
pub use watch::{OrderWatch, StatusChange, WatchEnd, WatchOptions};

/// The core crate, re-exported: requests, responses, statuses, secrets.
pub use smartex_core;
