//! # smartex
//!
//! Take payments through the exchange platform behind smartexpay.com,
//! develop.exchange, utbs.ws, payexchanger.com and their white-label siblings
//! — without losing an order across restarts, applying a status twice, or
//! trusting a forged notification.
//!
//! **Start with [`Merchant`]**: this crate is the one dependency a shop adds
//! (`cargo add smartex`). The facade ties together the durable store
//! ([`store`]), the API client ([`http`]) and the IPN receiver ([`ipn`]),
//! over the pure core ([`core`]):
//!
//! - [`Merchant::checkout`] records the order **before** `order/create`
//!   and completes the record after; an ambiguous failure leaves a pending
//!   record that the order's first IPN resolves.
//! - [`Merchant::handle_ipn`] (or `handle_http`, with the `http` feature)
//!   derives the order's IPN secret from the
//!   merchant's reference carried in the `ipnUrl` and verifies **before any
//!   lookup** — so an IPN that outruns the create response, or follows an
//!   ambiguous create, is verified and binds the platform's `orderId` to the
//!   reference — then applies the status exactly once through the store and
//!   returns the HTTP answer.
//! - [`Merchant::reconciler`] polls every open order in the store until it is
//!   final, one instance per order at a time, resuming after restarts.
//! - [`Merchant::outbox`] hands every applied change to the merchant's
//!   business step at least once, acknowledged after it succeeds.
//! - [`Merchant::held`] lists the genuine changes the lifecycle did not
//!   expect (an operator's hand, most often: answered 202, held for review);
//!   [`Merchant::accept_held`] makes one current — to the outbox like any
//!   other — and [`Merchant::dismiss_held`] sets it aside, each recorded in
//!   the event log with who decided.
//!
//! ## Features
//!
//! | feature | what it does | default |
//! |---|---|---|
//! | `client` | the API client ([`http`]): reqwest + rustls with the aws-lc-rs provider (it unifies cleanly with an application's own reqwest or rustls) | yes |
//! | `receiver` | the IPN receiver ([`ipn`]), framework-agnostic | yes |
//! | `sqlite` | the durable store ([`store`]) with its SQLite backend | yes |
//! | `postgres` | the PostgreSQL store backend, for several instances on one database | no |
//! | `http` | `http` crate conversions: `Merchant::handle_http`, `IpnRequest::from_http_parts`, `Answer::to_http_response` (axum, hyper) | no |
//! | `tracing` | `tracing` spans and events from the client and the receiver, never secrets | no |
//!
//! [`Merchant`] and its companions need `client`, `receiver` and `sqlite`
//! (the defaults). Without them the crate still re-exports the layers that
//! are enabled; the layer crates (`smartex-core`, `smartex-http`,
//! `smartex-ipn`, `smartex-store`) remain the way to embed only one of them.
//!
//! ## A shop in 30 lines
//!
//! With `smartex = { version = "0.1", features = ["http"] }`, axum and tokio:
//! checkout, the IPN endpoint and background reconciliation. The workspace's
//! reference shop (`crates/smartex-shop`) is this plus configuration from the
//! environment, the outbox and a graceful shutdown, tested against the
//! sandbox.
//!
//! ```no_run
//! # #[cfg(feature = "http")] // the example needs it; without it, nothing to build
//! # mod shop {
//! use axum::{Router, body::Bytes, extract::{Path, State}, http::{StatusCode, request::Parts}};
//! use axum::{response::{IntoResponse, Redirect, Response}, routing::post};
//! use smartex::{Merchant, MasterKey, Reference, core::request::CreateOrder};
//! use smartex::store::{SqliteStore, StoreOptions};
//!
//! type Shop = Merchant<SqliteStore>;
//!
//! async fn checkout(State(shop): State<Shop>, Path(order_no): Path<String>) -> Response {
//!     // Your order number: the secret of the order's IPNs derives from it.
//!     let Ok(reference) = Reference::new(order_no) else {
//!         return StatusCode::BAD_REQUEST.into_response();
//!     };
//!     let order = CreateOrder::builder()
//!         .route_id("5d8e6002b80b7b4cd75a6424")
//!         .amount("0.05")
//!         .agreement(true)
//!         .to_value("wallet", "Z123456789012");
//!     match shop.checkout(&reference, order).await {
//!         Ok(created) => Redirect::to(&created.payment_page()).into_response(),
//!         // Ambiguous or refused: the error says which (never a secret).
//!         Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
//!     }
//! }
//!
//! async fn ipn(State(shop): State<Shop>, parts: Parts, body: Bytes) -> impl IntoResponse {
//!     shop.handle_http(&parts, &body).await
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = SqliteStore::open("shop.db", StoreOptions::default()).await?;
//!     let key = MasterKey::from_hex("k1", &std::env::var("SMARTEX_MASTER_KEY")?)?;
//!     let shop = Merchant::builder("https://www.smartexpay.com", store, key)
//!         .ipn_url("https://shop.example/ipn")
//!         .build()?;
//!     // Polls open orders now (what was missed while down) and from then on.
//!     tokio::spawn(shop.reconciler().run(std::future::pending()));
//!     let app = Router::new()
//!         .route("/checkout/{order_no}", post(checkout))
//!         .route("/ipn", post(ipn))
//!         .with_state(shop);
//!     axum::serve(tokio::net::TcpListener::bind("0.0.0.0:8080").await?, app).await?;
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! The business step (ship, e-mail) runs from the outbox, at least once per
//! applied change:
//!
//! ```no_run
//! # async fn f(shop: smartex::Merchant<smartex::store::SqliteStore>) {
//! let outbox = shop.outbox();
//! tokio::spawn(async move {
//!     outbox.run(|change| async move {
//!         // Idempotently: a change can be delivered again after a crash.
//!         println!("order {} is now {}", change.reference, change.status);
//!         Ok::<(), std::io::Error>(())
//!     }, std::future::pending()).await
//! });
//! # }
//! ```
//!
//! A checkout that tells the ambiguous case apart:
//!
//! ```no_run
//! # async fn f(merchant: smartex::Merchant<smartex::store::SqliteStore>) -> Result<(), smartex::Error> {
//! use smartex::{Reference, core::request::CreateOrder};
//! let reference = Reference::new("order-2026-0001")?; // your order number, never reused
//! let order = CreateOrder::builder()
//!     .route_id("5d8e6002b80b7b4cd75a6424")
//!     .amount("0.05")
//!     .agreement(true)
//!     .to_value("wallet", "Z123456789012");
//! match merchant.checkout(&reference, order).await {
//!     Ok(checkout) => { /* redirect the customer to checkout.payment_page() */ }
//!     Err(smartex::Error::Ambiguous { .. }) => {
//!         // The order may exist: its first IPN will bind it. Do not create
//!         // another for the same purchase yet.
//!     }
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Why a forged notification cannot verify
//!
//! Each order's `ipnSecret` is `HMAC-SHA256(master key, reference)`; the
//! reference travels in the `ipnUrl`'s query, unsigned. Without the master
//! key nobody can compute the secret for any reference, and changing the
//! reference of a genuine notification changes the secret, so its checksum
//! no longer matches: the platform signs with the secret we gave it at
//! create. Details in [`core::derived`].
//!
//! Give each environment (production, staging) its own master key: a genuine
//! notification signed for a reference under the key is trusted, and one for
//! a reference the store does not know is recorded rather than lost.
//!
//! ## What to answer when our own processing fails
//!
//! The platform sends each IPN once and never retries, whatever the answer.
//! When the store fails, [`handle_ipn`](Merchant::handle_ipn) answers
//! [`INTERNAL_ERROR`] (500): truthful in the platform's logs and in the
//! merchant's monitoring. What recovers the change is the reconciler: the
//! order was recorded before it was created, so it is polled until final
//! once the store is back.
//!
//! ## Limits (platform facts, not choices)
//!
//! - An order created ambiguously is known only by its reference until an IPN
//!   binds its `orderId`. The platform's IPN carries neither a signed `uid` nor
//!   the order secret, and `order/get` needs both, so such an order is
//!   tracked by its IPNs only; the reconciler cannot poll it and gives the
//!   record up at its pending horizon ([`ReconcileOptions::pending_horizon`]).
//! - The store has no "failed" or "abandoned" mark: a record whose create was
//!   refused, or given up, stays without `uid` and is simply no longer polled.
//!
//! ## Layers
//!
//! | crate | re-exported as | feature | what it holds |
//! |---|---|---|---|
//! | `smartex-core` | [`core`] | always | types, statuses and the tracker, checksums, derived secrets, the `qs` codec (no I/O) |
//! | `smartex-store` | [`store`] | `sqlite` | durable orders, the event log, exactly-once apply, leases, the outbox (SQLite; PostgreSQL with `postgres`) |
//! | `smartex-http` | [`http`] | `client` | the API client |
//! | `smartex-ipn` | [`ipn`] | `receiver` | the framework-agnostic IPN receiver |
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

/// Puts each item behind the facade's features: the client, the receiver and
/// the store, all three.
macro_rules! facade {
    ($($item:item)*) => {
        $(
            #[cfg(all(feature = "client", feature = "receiver", feature = "sqlite"))]
            $item
        )*
    };
}

facade! {
    mod error;
    mod failures;
    mod held;
    mod merchant;
    mod options;
    mod outbox;
    mod receive;
    mod reconcile;

    pub use error::Error;
    pub use failures::FailureCounts;
    pub use merchant::{Checkout, DEFAULT_IPN_STORE_DEADLINE, Merchant, MerchantBuilder};
    pub use options::{OutboxOptions, ReconcileOptions};
    pub use outbox::Outbox;
    pub use receive::{CONFLICT, Handled, INTERNAL_ERROR, IpnOutcome};
    pub use reconcile::{ReconcileReport, Reconciler};
    pub use smartex_store::{HeldChange, OutboxItem, Resolved};
}

#[cfg(all(feature = "client", feature = "sqlite"))]
mod nonces;
#[cfg(all(feature = "client", feature = "sqlite"))]
pub use nonces::StoreNonces;

pub use smartex_core::derived::{MasterKey, MasterKeys, Reference};
#[cfg(feature = "receiver")]
pub use smartex_ipn::{Answer, IpnRequest};

/// The core: types, statuses, the tracker, checksums, derived secrets.
pub use smartex_core as core;
/// The API client (feature `client`).
#[cfg(feature = "client")]
pub use smartex_http as http;
/// The IPN receiver (feature `receiver`).
#[cfg(feature = "receiver")]
pub use smartex_ipn as ipn;
/// The durable store (feature `sqlite`; PostgreSQL with `postgres`).
#[cfg(feature = "sqlite")]
pub use smartex_store as store;

/// The guides and the README, compiled as doctests (`cargo test --doc`) so
/// that their code cannot drift from the crate's.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../../docs/guide/en.md")]
    pub struct English;
    #[doc = include_str!("../../../docs/guide/ru.md")]
    pub struct Russian;
    #[doc = include_str!("../../../README.md")]
    pub struct Readme;
}
