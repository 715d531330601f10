//! One merchant instance of the soak: a separate process (the hidden
//! `smartex soak-instance` subcommand) running the facade over the shared
//! store — an HTTP endpoint for IPNs and checkouts, the reconciler and the
//! outbox consumer — until it is killed.

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use smartex::core::request::CreateOrder;
use smartex::store::AnyStore;
use smartex::{
    Error as FacadeError, MasterKey, Merchant, OutboxOptions, ReconcileOptions, Reference,
};
use tokio::net::TcpListener;

use crate::cli::SoakInstanceArgs;
use crate::exit::{Error, Exit};

/// The environment variable that carries the master key (hex) to instances.
pub(crate) const MASTER_KEY_ENV: &str = "SMARTEX_SOAK_MASTER_KEY";

type Shop = Merchant<AnyStore>;

/// Runs one instance until killed.
pub(crate) fn run(args: &SoakInstanceArgs) -> Result<Exit, Error> {
    crate::block_on(serve(args))?
}

async fn serve(args: &SoakInstanceArgs) -> Result<Exit, Error> {
    let key_hex = std::env::var(MASTER_KEY_ENV)
        .map_err(|_| Error::usage(format!("{MASTER_KEY_ENV} is not set")))?;
    let key = MasterKey::from_hex("soak", &key_hex)
        .map_err(|e| Error::usage(format!("master key: {e}")))?;
    let store = AnyStore::open(&args.store, smartex::store::StoreOptions::default())
        .await
        .map_err(|e| Error::unavailable(format!("store: {e}")))?;
    let ms = Duration::from_millis;
    // On SQLite the lane gets a file of its own next to the store, so that
    // the store's writers do not wait for a call's round trip.
    let nonces = smartex::StoreNonces::new(&store)
        .await
        .map_err(|e| Error::unavailable(format!("nonce store: {e}")))?;
    let nonces = std::sync::Arc::new(nonces);
    let mut builder = Merchant::builder(&args.site, store, key);
    if args.api_key {
        // The key's lane and last nonce in the store the instances share.
        let auth = smartex::http::ApiKeyAuth::new(
            smartex::core::ApiKey::new(smartex_sandbox::TEST_API_KEY)
                .map_err(|e| Error::usage(format!("API key: {e}")))?,
            smartex::core::ApiSecret::new(smartex_sandbox::TEST_API_SECRET)
                .map_err(|e| Error::usage(format!("API secret: {e}")))?,
        );
        builder = builder.api_key_shared(auth, nonces);
    }
    let merchant = builder
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
        .map_err(|e| Error::unavailable(format!("merchant: {e}")))?;

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::unavailable(format!("cannot listen: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::unavailable(format!("cannot listen: {e}")))?
        .port();
    // The orchestrator reads this line to route requests here.
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "port {port}");
        let _ = out.flush();
    }

    tokio::spawn(merchant.reconciler().run(std::future::pending()));
    let outbox = merchant.outbox();
    let acks = args.acks.clone();
    let fail_every = args.business_fail_every;
    tokio::spawn(async move {
        let mut calls = 0u64;
        outbox
            .run(
                move |item| {
                    calls += 1;
                    let acks = acks.clone();
                    // Now and then the business step fails: the item must
                    // come back.
                    let fail = fail_every > 0 && calls.is_multiple_of(fail_every);
                    async move {
                        if fail {
                            return Err(std::io::Error::other("business step failed"));
                        }
                        record_ack(&acks, item.event_id)
                    }
                },
                std::future::pending(),
            )
            .await;
    });

    let route = args.route_id.clone();
    let merchant = Arc::new(merchant);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(ms(20)).await;
            continue;
        };
        let merchant = Arc::clone(&merchant);
        let route = route.clone();
        tokio::spawn(async move {
            let service =
                service_fn(move |request| handle(Arc::clone(&merchant), route.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The business step: appends the event id to the acks file and syncs it,
/// so the orchestrator can check that every applied change got here.
fn record_ack(path: &std::path::Path, event_id: i64) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{event_id}\n").as_bytes())?;
    file.sync_data()
}

pub(crate) struct HyperHeaders<'a>(pub(crate) &'a hyper::HeaderMap);

impl smartex::ipn::Headers for HyperHeaders<'_> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for value in self.0.get_all(name) {
            f(value.as_bytes());
        }
    }
}

pub(crate) fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::from(body));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

async fn handle(
    merchant: Arc<Shop>,
    route: String,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, 64 * 1024).collect().await else {
        return Ok(reply(400, "unreadable body".to_owned()));
    };
    let body = body.to_bytes();
    match parts.uri.path() {
        "/ipn" => {
            let headers = HyperHeaders(&parts.headers);
            let mut request =
                smartex::IpnRequest::new(parts.method.as_str(), &body).headers(&headers);
            if let Some(query) = parts.uri.query() {
                request = request.query(query);
            }
            let outcome = merchant.handle_ipn(&request).await;
            let mut body = outcome.answer.body.to_owned();
            if outcome.bound_order_id {
                // Tells the orchestrator an order was recovered by its IPN.
                body.push_str(" [bound]");
            }
            Ok(reply(outcome.answer.status, body))
        }
        "/checkout" => {
            let reference = parts
                .uri
                .query()
                .and_then(|q| q.strip_prefix("ref="))
                .and_then(|r| Reference::new(r).ok());
            let Some(reference) = reference else {
                return Ok(reply(400, "no ref".to_owned()));
            };
            let order = CreateOrder::builder()
                .route_id(route)
                .amount("2")
                .agreement(true)
                .to_value("wallet", "Z123456789012");
            Ok(match merchant.checkout(&reference, order).await {
                Ok(c) => reply(200, format!("created {}", c.uid())),
                Err(FacadeError::Ambiguous { .. }) => reply(502, "ambiguous".to_owned()),
                Err(FacadeError::NotCreated(_)) => reply(422, "not created".to_owned()),
                Err(FacadeError::ReferenceTaken(_)) => reply(409, "taken".to_owned()),
                Err(FacadeError::CreatedNotRecorded { order, .. }) => {
                    reply(202, format!("created-not-recorded {}", order.uid()))
                }
                Err(e) => reply(500, format!("{e}")),
            })
        }
        _ => Ok(reply(404, "not found".to_owned())),
    }
}
