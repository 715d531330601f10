//! The reference shop: axum and SQLite through the [`smartex`] facade.
//!
//! `POST /checkout` (a form: `order`, your order number, and `amount`) records
//! the order, creates it on the platform and redirects the customer to its
//! payment page. `POST /ipn` takes the platform's notifications. The
//! reconciler scans at start (whatever changed while the shop was down) and
//! then in the background; every applied change is "fulfilled" from the
//! outbox by a line in a log file, the stand-in for shipping. On shutdown the
//! shop stops accepting, finishes the requests in flight, then stops its
//! background work.
//!
//! The binary reads [`serve`]'s settings from the environment; against a
//! local sandbox (`smartex sandbox` prints its site and routes):
//!
//! ```sh
//! SMARTEX_SITE=http://127.0.0.1:8580 SMARTEX_MASTER_KEY=$(openssl rand -hex 32) \
//! SHOP_LISTEN=127.0.0.1:8080 SHOP_IPN_URL=http://127.0.0.1:8080/ipn \
//! SHOP_ROUTE_ID=<a route id> SHOP_PAYOUT=wallet=Z123456789012 \
//! SHOP_DATABASE=shop.db SHOP_FULFILMENT_LOG=fulfilment.log cargo run -p smartex-shop
//! curl -i -d order=A-1 -d amount=2 http://127.0.0.1:8080/checkout
//! ```
//!
//! The tests (`tests/shop.rs`) drive it over HTTP against the sandbox.

use std::{collections::HashMap, future::Future, time::Duration};

use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Redirect};
use axum::{Router, body::Bytes, extract::Form, extract::State, routing::post};
use smartex::core::{ApiKey, ApiSecret, request::CreateOrder, request::CreateOrderBuilder};
use smartex::store::{SqliteStore, StoreOptions};
use smartex::{MasterKey, Merchant, OutboxItem, ReconcileOptions, Reference, http::ApiKeyAuth};
use tokio::io::AsyncWriteExt;

/// Any error, for a person to read.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The merchant and the order every checkout starts from (route, payout).
type Shop = State<(Merchant<SqliteStore>, CreateOrderBuilder)>;
/// A checkout's answer: the payment page, or why not.
type Answer = Result<Redirect, (StatusCode, String)>;

/// Serves the shop on `listener` until `shutdown` completes, then lets the
/// requests in flight and the background work finish.
///
/// The settings, by name (the binary passes the environment):
/// `SMARTEX_SITE` (the platform's site), `SMARTEX_MASTER_KEY` (64 hex
/// digits), `SHOP_IPN_URL` (this shop's `/ipn` as the platform reaches it),
/// `SHOP_ROUTE_ID`, `SHOP_PAYOUT` (`field=value`: where the exchange pays
/// out), `SHOP_DATABASE` (the SQLite file), `SHOP_FULFILMENT_LOG`, and
/// optionally `SMARTEX_API_KEY` with `SMARTEX_API_SECRET`, and `SHOP_POLL_MS`
/// (how soon an open order is first polled, default 5000).
///
/// # Errors
/// A setting is missing or malformed (the message names it), the store
/// cannot be opened, or serving fails.
pub async fn serve(
    vars: HashMap<String, String>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BoxError> {
    let var = |name: &str| vars.get(name).cloned().ok_or(format!("{name} is not set"));
    let poll = Duration::from_millis(var("SHOP_POLL_MS").unwrap_or("5000".into()).parse()?);
    let payout = var("SHOP_PAYOUT")?;
    let (field, value) = payout
        .split_once('=')
        .ok_or("SHOP_PAYOUT is not field=value")?;
    let template = CreateOrder::builder()
        .route_id(var("SHOP_ROUTE_ID")?)
        .agreement(true)
        .to_value(field, value);
    let store = SqliteStore::open(var("SHOP_DATABASE")?, StoreOptions::default()).await?;
    let key = MasterKey::from_hex("k1", &var("SMARTEX_MASTER_KEY")?)?;
    let mut merchant = Merchant::builder(&var("SMARTEX_SITE")?, store, key)
        .ipn_url(var("SHOP_IPN_URL")?)
        .reconcile(
            ReconcileOptions::default()
                .scan_every(poll)
                .backoff(poll, poll * 120),
        );
    if let (Ok(key), Ok(secret)) = (var("SMARTEX_API_KEY"), var("SMARTEX_API_SECRET")) {
        merchant = merchant.api_key(ApiKeyAuth::new(ApiKey::new(key)?, ApiSecret::new(secret)?));
    }
    let merchant = merchant.build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let log = var("SHOP_FULFILMENT_LOG")?;
    let app = Router::new()
        .route("/checkout", post(checkout))
        .route("/ipn", post(ipn))
        .with_state((merchant.clone(), template));
    let serving = async {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        _ = stop.send(()); // then the background work stops
        served
    };
    let fulfilment = |change| fulfil(log.clone(), change);
    let ((), served) = tokio::join!(
        merchant.run_background(fulfilment, async { _ = stopped.await }),
        serving
    );
    Ok(served?)
}

/// The business step, at least once per applied change (idempotent in a
/// real shop: ship by order number).
async fn fulfil(log: String, change: OutboxItem) -> std::io::Result<()> {
    let line = format!("{} {}\n", change.reference, change.status);
    let mut file = tokio::fs::OpenOptions::new();
    file.create(true)
        .append(true)
        .open(log)
        .await?
        .write_all(line.as_bytes())
        .await
}

/// The customer's cart, as the checkout form posts it.
#[derive(serde::Deserialize)]
struct Cart {
    order: String,
    amount: String,
}

async fn checkout(State((merchant, template)): Shop, Form(cart): Form<Cart>) -> Answer {
    let reference =
        Reference::new(cart.order).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    match merchant
        .checkout(&reference, template.amount(cart.amount))
        .await
    {
        Ok(created) => Ok(Redirect::to(&created.payment_page())),
        // The order may exist: its first notification settles it.
        Err(e @ smartex::Error::Ambiguous { .. }) => Err((StatusCode::ACCEPTED, e.to_string())),
        Err(e) => Err((StatusCode::BAD_GATEWAY, e.to_string())),
    }
}

async fn ipn(State((merchant, _)): Shop, parts: Parts, body: Bytes) -> impl IntoResponse {
    merchant.handle_http(&parts, &body).await
}
