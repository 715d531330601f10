//! One merchant instance of the soak: a separate process (the hidden
//! `instance` subcommand) running the facade over the shared store — an
//! axum app whose `/ipn` is the facade's receive path and whose `/checkout`
//! is the facade's checkout, the reconciler and the outbox consumer — until
//! it is killed.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Response, StatusCode, request::Parts};
use axum::routing::{any, post};
use smartex::StoreNonces;
use smartex::ipn::IpnRequest;
use smartex::store::{AnyStore, StoreOptions};
use smartex::{
    Error as FacadeError, MasterKey, Merchant, OutboxItem, OutboxOptions, ReconcileOptions,
    Reference,
};
use tokio::net::TcpListener;

use crate::Failure;
use crate::acks::AckLine;
use crate::args::InstanceArgs;
use crate::route::RouteKind;

/// The environment variable that carries the master key (hex) to instances.
pub(crate) const MASTER_KEY_ENV: &str = "SMARTEX_SOAK_MASTER_KEY";

type Shop = Merchant<AnyStore>;

/// What the handlers share.
#[derive(Clone)]
struct App {
    merchant: Shop,
}

/// Runs one instance until killed.
pub(crate) fn run(args: &InstanceArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::unavailable(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: &InstanceArgs) -> Result<(), Failure> {
    let merchant = merchant(args).await?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::unavailable(format!("cannot listen: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::unavailable(format!("cannot listen: {e}")))?
        .port();
    // The orchestrator reads this line to route requests here.
    crate::say(format!("port {port}"));

    let acks = args.acks.clone();
    let fail_every = args.business_fail_every;
    let alter_amounts = args.alter_amounts;
    let mut calls = 0u64;
    let business_step = move |item: OutboxItem| {
        calls += 1;
        // Now and then the business step fails: the item must come back.
        let fail = fail_every > 0 && calls.is_multiple_of(fail_every);
        let acks = acks.clone();
        async move {
            if fail {
                return Err(std::io::Error::other("business step failed"));
            }
            let mut seen = AckLine::of(&item);
            if alter_amounts {
                seen.amounts.in_amount = seen.amounts.in_amount.map(|a| format!("{a}0"));
            }
            seen.append(&acks)
        }
    };
    let background = merchant.clone();
    tokio::spawn(async move {
        background
            .run_background(business_step, std::future::pending())
            .await;
    });

    let app = Router::new()
        // Every method: the facade answers a GET with its own 405.
        .route("/ipn", any(ipn))
        .route("/checkout", post(checkout))
        .with_state(App { merchant });
    axum::serve(listener, app)
        .await
        .map_err(|e| Failure::unavailable(format!("serving: {e}")))
}

/// The facade over the shared store, with the soak's timings.
async fn merchant(args: &InstanceArgs) -> Result<Shop, Failure> {
    let key_hex = std::env::var(MASTER_KEY_ENV)
        .map_err(|_| Failure::usage(format!("{MASTER_KEY_ENV} is not set")))?;
    let key = MasterKey::from_hex("soak", &key_hex)
        .map_err(|e| Failure::usage(format!("master key: {e}")))?;
    let store = AnyStore::open(&args.store, StoreOptions::default())
        .await
        .map_err(|e| Failure::unavailable(format!("store: {e}")))?;
    let ms = Duration::from_millis;
    // The key's lane and last nonce in the store the instances share. On
    // SQLite the lane gets a file of its own next to the store, so that the
    // store's writers do not wait for a call's round trip.
    let nonces = if args.api_key {
        let nonces = StoreNonces::new(&store)
            .await
            .map_err(|e| Failure::unavailable(format!("nonce store: {e}")))?;
        Some(Arc::new(nonces))
    } else {
        None
    };
    let mut builder = Merchant::builder(&args.site, store, key);
    if let Some(nonces) = nonces {
        let auth = smartex::http::ApiKeyAuth::new(
            smartex::core::ApiKey::new(smartex_sandbox::TEST_API_KEY)
                .map_err(|e| Failure::usage(format!("API key: {e}")))?,
            smartex::core::ApiSecret::new(smartex_sandbox::TEST_API_SECRET)
                .map_err(|e| Failure::usage(format!("API secret: {e}")))?,
        );
        builder = builder.api_key_shared(auth, nonces);
    }
    builder
        .ipn_url(args.ipn_url.clone())
        .instance(args.name.clone())
        // One machine, one clock: the allowance for skew can be small.
        .reconcile(
            ReconcileOptions::default()
                .scan_every(ms(150))
                .backoff(ms(150), ms(800))
                .pending_horizon(ms(args.pending_horizon_ms))
                .lease(ms(3_000))
                .clock_skew(ms(20)),
        )
        .outbox(
            OutboxOptions::default()
                .lease(ms(3_000))
                .idle_wait(ms(100))
                .retry_after(ms(100)),
        )
        .client(|c| c.timeout(ms(args.timeout_ms)))
        .build()
        .map_err(|e| Failure::unavailable(format!("merchant: {e}")))
}

/// `/ipn`: the facade's receive path. `handle_http` would be the one line,
/// but the orchestrator also counts the orders recovered by their IPN, which
/// only the outcome says: the answer's text gets ` [bound]` for those.
async fn ipn(State(app): State<App>, parts: Parts, body: Bytes) -> Response<String> {
    let outcome = app
        .merchant
        .handle_ipn(&IpnRequest::from_http_parts(&parts, &body))
        .await;
    let mut response = outcome.answer.to_http_response().map(str::to_owned);
    if outcome.bound_order_id {
        response.body_mut().push_str(" [bound]");
    }
    response
}

/// `/checkout?ref=R&kind=K&route=ID`: the facade's checkout of one order on
/// the route `ID` (of the [`RouteKind`] `K`); the answer says how it ended,
/// for the orchestrator (`created UID`, `ambiguous`, …).
async fn checkout(State(app): State<App>, RawQuery(query): RawQuery) -> (StatusCode, String) {
    let query = query.unwrap_or_default();
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let reference = param("ref").and_then(|r| Reference::new(r).ok());
    let kind = param("kind").and_then(RouteKind::parse);
    let (Some(reference), Some(kind), Some(route_id)) = (reference, kind, param("route")) else {
        return (
            StatusCode::BAD_REQUEST,
            "needs ref, kind and route".to_owned(),
        );
    };
    let order = kind.order(route_id);
    match app.merchant.checkout(&reference, order).await {
        Ok(c) => (StatusCode::OK, format!("created {}", c.uid())),
        Err(FacadeError::Ambiguous { .. }) => (StatusCode::BAD_GATEWAY, "ambiguous".to_owned()),
        Err(FacadeError::NotCreated(_)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "not created".to_owned())
        }
        Err(FacadeError::ReferenceTaken(_)) => (StatusCode::CONFLICT, "taken".to_owned()),
        Err(FacadeError::CreatedNotRecorded { order, .. }) => (
            StatusCode::ACCEPTED,
            format!("created-not-recorded {}", order.uid()),
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}")),
    }
}
