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

use std::path::{Path, PathBuf};
use std::time::Duration;

use smartex::core::request::CreateOrder;
use smartex::ipn::Answer;
use smartex::store::{DecisionKind, OrderKey, OrderStore, Source, SqliteStore, StoreOptions};
use smartex::{MasterKey, Merchant, ReconcileOptions, Reference};
use smartex_core::OrderStatus;
use smartex_core::OrderUid;
use smartex_sandbox::{DeliveryResult, Sandbox};

use super::{Check, step_line};
use crate::exit::Error;
use crate::now_ms;
use crate::serve::{Listening, Server};
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

/// A running merchant: the facade and its IPN endpoint.
struct Running {
    merchant: Shop,
    endpoint: Server,
}

impl Running {
    /// Opens the store at `db` and starts the merchant, its `/ipn` served by
    /// the facade ([`Merchant::handle_http`]).
    async fn start(sb: &Sandbox, db: &Path, key: MasterKey) -> Result<Running, Error> {
        let listening = Listening::bind(([127, 0, 0, 1], 0).into()).await?;
        let store = SqliteStore::open(db, StoreOptions::default())
            .await
            .map_err(|e| Error::unavailable(format!("the store: {e}")))?;
        let ms = Duration::from_millis;
        let merchant = Merchant::builder(sb.site_url(), store, key)
            .ipn_url(format!("http://{}/ipn", listening.addr()))
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
        let served = merchant.clone();
        let max_body = smartex::ipn::Config::default().max_body_bytes();
        let endpoint = listening.serve(max_body, move |parts, body| {
            let merchant = served.clone();
            async move {
                match body {
                    Ok(body) => merchant.handle_http(&parts, &body).await,
                    Err(too_large) => Answer::for_error(&too_large.refusal())
                        .to_http_response()
                        .map(str::to_owned),
                }
            }
        });
        Ok(Running { merchant, endpoint })
    }

    /// The merchant goes down: its endpoint stops, its store closes.
    async fn stop(self) {
        self.endpoint.shutdown().await;
        self.merchant.store().close().await;
    }
}

/// A master key for this run, and the store's file in a temporary
/// directory removed at the end.
struct Setup {
    /// Removes the file when the demo is done with it.
    _dir: TempDir,
    db: PathBuf,
    /// 64 random hex digits, as `smartex secret` prints.
    key_hex: smartex_core::IpnSecret,
}

impl Setup {
    fn new() -> Result<Setup, Error> {
        let dir = TempDir(std::env::temp_dir().join(format!(
            "smartex-demo-{}-{}",
            std::process::id(),
            now_ms()
        )));
        std::fs::create_dir_all(&dir.0)
            .map_err(|e| Error::unavailable(format!("a temporary directory: {e}")))?;
        let db = dir.0.join("shop.db");
        let key_hex = super::random_secret()?;
        Ok(Setup {
            _dir: dir,
            db,
            key_hex,
        })
    }

    /// The master key (the same one at every start).
    fn key(&self) -> Result<MasterKey, Error> {
        Ok(MasterKey::from_hex("demo", self.key_hex.expose())?)
    }
}

/// The order the durable part checks out.
struct CheckedOut {
    reference: Reference,
    uid: OrderUid,
}

/// What the store holds after the restart and the reconciler's runs.
struct Recovered {
    status: Option<OrderStatus>,
    /// Changes applied from IPNs.
    by_ipn: usize,
    /// Statuses applied from polls, in order.
    by_poll: Vec<OrderStatus>,
}

/// Runs the durable part on `sb` and returns its checks.
pub(super) async fn run(sb: &Sandbox, p: &Printer<'_>) -> Result<Vec<Check>, Error> {
    p.line("");
    p.line(p.style().bold(
        "durable: the smartex facade over a SQLite file — an IPN lost while the merchant is down",
    ));
    let setup = Setup::new()?;
    let running = Running::start(sb, &setup.db, setup.key()?).await?;
    step_line(p, " ", "store", format!("SQLite {}", setup.db.display()));
    let order = checkout(sb, &running, p).await?;
    let first_answer = wait_payment(sb, order.uid, p).await?;
    running.stop().await;
    step_line(p, "↓", "merchant down", "endpoint closed, store closed");
    let lost = move_on_while_down(sb, order.uid, p).await?;
    let running = Running::start(sb, &setup.db, setup.key()?).await?;
    step_line(p, "↻", "merchant restarted", "same SQLite file");
    let recovered = recover(&running, &order.reference).await;
    running.stop().await;
    let recovered = recovered?;
    let recovered_text = recovered
        .status
        .as_ref()
        .map_or("(none)", OrderStatus::as_str);
    step_line(
        p,
        "→",
        "order/get",
        format!("reconciler: the store's open order polled, {recovered_text} applied"),
    );
    drop(setup);
    Ok(vec![
        Check {
            passed: first_answer == "200 OK" && recovered.by_ipn == 1,
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
            passed: recovered.status == Some(OrderStatus::Done)
                && recovered.by_poll == [OrderStatus::Done],
            what: format!(
                "durable: after the restart, recovered from the store: {recovered_text} (applied once, by poll)"
            ),
        },
    ])
}

/// Step 1: checkout: recorded before `order/create`.
async fn checkout(sb: &Sandbox, running: &Running, p: &Printer<'_>) -> Result<CheckedOut, Error> {
    let route = sb
        .route_by_xml("ETH", "WMZ")
        .ok_or_else(|| Error::unavailable("the sandbox has no ETH → WMZ route"))?;
    let reference = Reference::new(format!("demo-{}", now_ms()))?;
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
        p,
        "→",
        "checkout",
        format!(
            "order {uid} recorded as `{}`, then created",
            reference.as_str()
        ),
    );
    Ok(CheckedOut { reference, uid })
}

/// Step 2: `waitPayment`, delivered and applied through the store; returns the
/// endpoint's answer (`200 OK`).
async fn wait_payment(sb: &Sandbox, uid: OrderUid, p: &Printer<'_>) -> Result<String, Error> {
    let first = sb.advance(uid).await?;
    let answer = first
        .ipns
        .first()
        .and_then(|r| match &r.outcome {
            DeliveryResult::Delivered { status, body } => Some(format!("{status} {body}")),
            _ => None,
        })
        .unwrap_or_else(|| "(not delivered)".to_owned());
    step_line(p, "←", "IPN waitPayment", format!("→ {answer}"));
    Ok(answer)
}

/// Step 3: down: the exchange moves on to a final status; every IPN finds no one.
/// Returns the statuses whose IPNs were lost.
async fn move_on_while_down(
    sb: &Sandbox,
    uid: OrderUid,
    p: &Printer<'_>,
) -> Result<Vec<OrderStatus>, Error> {
    let mut lost = Vec::new();
    for _ in 0..6 {
        let transition = sb.advance(uid).await?;
        for record in &transition.ipns {
            if !matches!(record.outcome, DeliveryResult::Delivered { .. }) {
                lost.push(transition.to.clone());
            }
        }
        step_line(
            p,
            "←",
            &format!("IPN {}", transition.to.as_str()),
            p.style()
                .warn("not delivered: the merchant is down (the platform never resends)"),
        );
        if transition.to.is_final() {
            break;
        }
    }
    Ok(lost)
}

/// Step 4: after the restart over the same file, the reconciler recovers the
/// order from the store: run until it is final (or the time is up).
async fn recover(running: &Running, reference: &Reference) -> Result<Recovered, Error> {
    let key = || OrderKey::Reference(reference);
    let store_error = |e: smartex::store::Error| Error::unavailable(format!("the store: {e}"));
    let stored = || async {
        Ok::<_, Error>(
            running
                .merchant
                .store()
                .order(key())
                .await
                .map_err(store_error)?
                .and_then(|r| r.known.map(|k| k.status)),
        )
    };
    let deadline = tokio::time::Instant::now() + RECOVER_WITHIN;
    let mut status = stored().await?;
    while status.as_ref().is_none_or(|st| !st.is_final()) && tokio::time::Instant::now() < deadline
    {
        running
            .merchant
            .reconciler()
            .run_once()
            .await
            .map_err(|e| Error::unavailable(format!("the reconciler: {e}")))?;
        status = stored().await?;
        if status.as_ref().is_none_or(|st| !st.is_final()) {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let events = running
        .merchant
        .store()
        .events(key())
        .await
        .map_err(store_error)?;
    let applied = events.iter().filter(|e| e.decision == DecisionKind::Apply);
    Ok(Recovered {
        status,
        by_ipn: applied
            .clone()
            .filter(|e| e.event.source == Source::Ipn)
            .count(),
        by_poll: applied
            .filter(|e| matches!(e.event.source, Source::Poll { .. }))
            .map(|e| e.event.status.clone())
            .collect(),
    })
}
