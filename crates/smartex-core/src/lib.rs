//! # smartex-core
//!
//! The no-I/O heart of the smartex SDK for the exchange platform behind
//! smartexpay.com, develop.exchange, utbs.ws, payexchanger.com and their
//! white-label siblings: value types, order statuses and their lifecycle, the IPN
//! checksum, the API-key signature, the `qs` form encoding, requests and
//! responses.
//!
//! It reads no clock, opens no socket, spawns nothing and needs no async runtime:
//! every time-dependent decision takes `now` as an argument. With
//! `default-features = false` it is `no_std` + `alloc` and builds for
//! `wasm32-unknown-unknown`, so an edge worker can verify notifications too.
//!
//! ```
//! use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
//! use smartex_core::IpnSecret;
//!
//! // An IPN body exactly as the platform POSTs it.
//! let body = b"orderUID=104857&orderId=5d8e6002b80b7b4cd75a6424&newStatus=inProgress&inAmount=2\
//!     &outAmount=317.42&xml_from=ETH&xml_to=WMZ&timestamp=1571328406072\
//!     &hash=af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48";
//! let unverified = UnverifiedIpn::parse_form(body, &IpnFormat::default())?;
//! // Look the order's secret up by its id (`orderId` is signed, `orderUID` is
//! // not), then verify.
//! let secret = IpnSecret::new("SECRET123")?;
//! let ipn = unverified.verify(&secret)?;
//! // inProgress: "awaiting processing or payment" — the customer can set it.
//! assert!(!ipn.status().payment().is_received());
//! # Ok::<(), smartex_core::Error>(())
//! ```
//!
//! ## Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`types`] | `ObjectId`, `OrderUid`, `Lang`, `Amount`, `CurrencyCode`, `FieldValue` |
//! | [`secret`] | `IpnSecret`, `OrderSecret`, `ApiSecret` (redacted), `ApiKey` |
//! | [`status`] | `OrderStatus`, the inferred lifecycle, the tracker, the update-status rule |
//! | [`checksum`] | the IPN checksum: sign and constant-time verify |
//! | [`derived`] | stateless per-order IPN secrets from a master key; the reference in the `ipnUrl` |
//! | [`auth`] | the API-key request signature and the `time` nonce |
//! | [`form`] | the `qs` form codec |
//! | [`js`] | what the Node.js server makes of request parameters (the API-key hash input) |
//! | [`ipn`] | notifications: `UnverifiedIpn` → `VerifiedIpn` |
//! | [`request`], [`response`] | the API methods' parameters and results |
//! | [`pages`] | site, API root, payment/order pages, callback status |
//! | [`time`] | UTC dates for the platform's millisecond timestamps |
//!
//! ## Features
//!
//! | feature | what it does | default |
//! |---|---|---|
//! | `std` | implements `std::error::Error` and uses `std` in dependencies; off: `no_std` + `alloc` | yes |
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;

pub mod amounts;
pub mod auth;
pub mod checksum;
pub mod derived;
mod error;
pub mod form;
pub mod ipn;
pub mod js;
pub mod pages;
mod percent;
pub mod request;
pub mod response;
mod scan;
pub mod secret;
pub mod status;
pub mod time;
pub mod types;

pub use error::{Error, Escaped, Limit, Problem, Result};
pub use secret::{ApiKey, ApiSecret, IpnSecret, OrderSecret};
pub use status::OrderStatus;
pub use types::{Amount, CurrencyCode, FieldValue, Lang, ObjectId, OrderUid};
