//! The second part of `smartex demo`: the durable flow of the `smartex`
//! facade over a real SQLite file, and an IPN lost while the merchant was
//! down recovered from the store after its restart.
//!
//! 1. A `Merchant` over a new SQLite file (in a temporary directory) checks
//!    an order out: recorded before `order/create`, its IPN secret derived
//!    from a random master key and the reference in the `ipnUrl`.
//! 2. The exchange moves it to `waitPayment`; the IPN is verified and applied
//!    through the store.
//! 3. The merchant goes down (its endpoint closed, its store dropped). The
//!    exchange moves the order on to `done`; each IPN finds no one and is
//!    never sent again — as on the platform.
//! 4. The merchant restarts over the same file; its reconciler finds the open
//!    order in the store, polls `order/get` and applies `done` exactly once.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use smartex::core::request::CreateOrder;
use smartex::store::{DecisionKind, OrderKey, OrderStore, Source, SqliteStore, StoreOptions};
use smartex::{MasterKey, Merchant, ReconcileOptions, Reference};
use smartex_core::{IpnSecret, OrderStatus};
use smartex_sandbox::{IpnOutcome, Sandbox};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::demo::Check;
use crate::exit::Error;
use crate::soak::instance::{HyperHeaders, reply};
use crate::term::Printer;

type Shop = Merchant<SqliteStore>;

/// How long the restarted merchant's reconciler may take to recover.
const RECOVER_WITHIN: Duration = Duration::from_secs(10);

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running merchant: the facade and its IPN endpoint's accept loop.
struct Running {
    merchant: Shop,
    endpoint: JoinHandle<()>,
}

impl Running {
    /// The merchant goes down: its endpoint stops accepting, its store closes.
    async fn stop(self) {
        self.endpoint.abort();
        let _ = self.endpoint.await;
        self.merchant.store().close().await;
    }
}

async fn start(sb: &Sandbox, db: &Path, key: MasterKey) -> Result<Running, Error> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| Error::unavailable(format!("cannot listen: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::unavailable(format!("cannot listen: {e}")))?
        .port();
    let store = SqliteStore::open(db, StoreOptions::default())
        .await
        .map_err(|e| Error::unavailable(format!("the store: {e}")))?;
    let ms = Duration::from_millis;
    let merchant = Merchant::builder(sb.site_url(), store, key)
        .ipn_url(format!("http://127.0.0.1:{port}/ipn"))
        // One machine, one clock: a small allowance for skew and quick polls.
        .reconcile(
            ReconcileOptions::default()
                .backoff(ms(20), ms(200))
                .lease(ms(2_000))
                .clock_skew(ms(20)),
        )
        .client(|c| c.timeout(ms(5_000)))
        .build()
        .map_err(|e| Error::unavailable(format!("the merchant: {e}")))?;
    let served = Arc::new(merchant.clone());
    let endpoint = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(ms(20)).await;
                continue;
            };
            let merchant = Arc::clone(&served);
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(Arc::clone(&merchant), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Running { merchant, endpoint })
}

/// The IPN endpoint: the request as the facade reads it, and its answer.
async fn handle(
    merchant: Arc<Shop>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, 64 * 1024).collect().await else {
        return Ok(reply(400, "unreadable body".to_owned()));
    };
    let body = body.to_bytes();
    let headers = HyperHeaders(&parts.headers);
    let mut request = smartex::IpnRequest::new(parts.method.as_str(), &body).headers(&headers);
    if let Some(query) = parts.uri.query() {
        request = request.query(query);
    }
    let answer = merchant.handle_ipn(&request).await.answer;
    Ok(reply(answer.status, answer.body.to_owned()))
}

async fn stored_status(
    merchant: &Shop,
    reference: &Reference,
) -> Result<Option<OrderStatus>, Error> {
    Ok(merchant
        .store()
        .order(OrderKey::Reference(reference))
        .await
        .map_err(|e| Error::unavailable(format!("the store: {e}")))?
        .and_then(|r| r.known.map(|k| k.status)))
}

/// Runs the durable part on `sb` and returns its checks.
pub(crate) async fn run(sb: &Sandbox, p: &Printer<'_>) -> Result<Vec<Check>, Error> {
    let s = p.style();
    let step_line = |arrow: &str, what: &str, text: String| {
        p.line(format!("  {arrow} {what:<22} {text}"));
    };
    p.line("");
    p.line(s.bold(
        "durable: the smartex facade over a SQLite file — an IPN lost while the merchant is down",
    ));
    let dir = TempDir(std::env::temp_dir().join(format!(
        "smartex-demo-{}-{}",
        std::process::id(),
        crate::demo::now_ms()
    )));
    std::fs::create_dir_all(&dir.0)
        .map_err(|e| Error::unavailable(format!("a temporary directory: {e}")))?;
    let db = dir.0.join("shop.db");
    // A random master key for this run: 64 hex digits, as `smartex secret` prints.
    let key_hex =
        IpnSecret::generate().map_err(|e| Error::unavailable(format!("a master key: {e}")))?;
    let key = || MasterKey::from_hex("demo", key_hex.expose());

    // 1. Checkout: recorded before order/create.
    let running = start(sb, &db, key()?).await?;
    step_line(" ", "store", format!("SQLite {}", db.display()));
    let route = sb
        .route_by_xml("ETH", "WMZ")
        .ok_or_else(|| Error::unavailable("the sandbox has no ETH → WMZ route"))?;
    let reference = Reference::new(format!("demo-{}", crate::demo::now_ms()))?;
    let order = CreateOrder::builder()
        .route_id(route.id)
        .amount("2")
        .agreement(true)
        .to_value("wallet", "Z123456789012");
    let checkout = running
        .merchant
        .checkout(&reference, order)
        .await
        .map_err(|e| Error::unavailable(format!("checkout: {e}")))?;
    let uid = checkout.uid();
    step_line(
        "→",
        "checkout",
        format!(
            "order {uid} recorded as `{}`, then created",
            reference.as_str()
        ),
    );

    // 2. waitPayment, delivered and applied through the store.
    let first = sb.advance(uid).await?;
    let first_answer = first
        .ipns
        .first()
        .and_then(|r| match &r.outcome {
            IpnOutcome::Delivered { status, body } => Some(format!("{status} {body}")),
            _ => None,
        })
        .unwrap_or_else(|| "(not delivered)".to_owned());
    step_line("←", "IPN waitPayment", format!("→ {first_answer}"));

    // 3. Down: the exchange moves on; every IPN finds no one.
    running.stop().await;
    step_line(
        "↓",
        "merchant down",
        "endpoint closed, store closed".to_owned(),
    );
    let mut lost = Vec::new();
    for _ in 0..6 {
        let transition = sb.advance(uid).await?;
        for record in &transition.ipns {
            if !matches!(record.outcome, IpnOutcome::Delivered { .. }) {
                lost.push(transition.to.clone());
            }
        }
        step_line(
            "←",
            &format!("IPN {}", transition.to.as_str()),
            s.warn("not delivered: the merchant is down (the platform never resends)"),
        );
        if transition.to.is_final() {
            break;
        }
    }

    // 4. Restart over the same file: the reconciler recovers from the store.
    let running = start(sb, &db, key()?).await?;
    step_line("↻", "merchant restarted", "same SQLite file".to_owned());
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    let mut recovered = stored_status(&running.merchant, &reference).await?;
    while recovered.as_ref().is_none_or(|st| !st.is_final())
        && tokio::time::Instant::now() < deadline
    {
        running
            .merchant
            .reconciler()
            .run_once()
            .await
            .map_err(|e| Error::unavailable(format!("the reconciler: {e}")))?;
        recovered = stored_status(&running.merchant, &reference).await?;
        if recovered.as_ref().is_none_or(|st| !st.is_final()) {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let events = running
        .merchant
        .store()
        .events(OrderKey::Reference(&reference))
        .await
        .map_err(|e| Error::unavailable(format!("the store: {e}")))?;
    let by_ipn = events
        .iter()
        .filter(|e| e.decision == DecisionKind::Apply && e.event.source == Source::Ipn)
        .count();
    let by_poll: Vec<&OrderStatus> = events
        .iter()
        .filter(|e| {
            e.decision == DecisionKind::Apply && matches!(e.event.source, Source::Poll { .. })
        })
        .map(|e| &e.event.status)
        .collect();
    let recovered_text = recovered.as_ref().map_or("(none)", OrderStatus::as_str);
    step_line(
        "→",
        "order/get",
        format!("reconciler: the store's open order polled, {recovered_text} applied"),
    );
    running.stop().await;

    Ok(vec![
        Check {
            passed: first_answer == "200 OK" && by_ipn == 1,
            what: format!(
                "durable: waitPayment verified and applied through the store ({first_answer})"
            ),
        },
        Check {
            passed: !lost.is_empty() && lost.last() == Some(&OrderStatus::Done),
            what: format!(
                "durable: {} IPN(s) lost while the merchant was down (last: done)",
                lost.len()
            ),
        },
        Check {
            passed: recovered == Some(OrderStatus::Done) && by_poll == [&OrderStatus::Done],
            what: format!(
                "durable: after the restart, recovered from the store: {recovered_text} (applied once, by poll)"
            ),
        },
    ])
}
