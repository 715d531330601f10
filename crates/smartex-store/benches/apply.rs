//! Applies per second on SQLite and PostgreSQL, against a bare sqlx insert of
//! the same event row in the same run and database.
//!
//! Run: `cargo bench -p smartex-store --bench apply` (PostgreSQL from
//! `SMARTEX_TEST_DATABASE_URL`; `cargo xtask bench` starts a temporary server;
//! without one the PostgreSQL half is skipped with a message).
//!
//! - `apply`: `OrderStore::apply` of a fresh IPN to an order that has no
//!   status yet — one transaction that reads the order, checks the
//!   notification key, asks the core tracker, writes the order with
//!   compare-and-set, the event row and the outbox row (an Apply, the
//!   costliest outcome).
//! - `bare_insert`: one `INSERT` of the same event row (same columns, same
//!   values, a unique key on the notification) into a plain table, in
//!   autocommit: the least a merchant could do to record the IPN at all.
//!
//! Both run one after another on one connection's worth of work (sequential
//! awaits), with the store's settings (SQLite: WAL, `synchronous = FULL`).
//! After criterion, a paired run interleaves rounds of each and prints median
//! per-operation times, applies per second and the ratio.
// A benchmark may unwrap: a failure aborts the measurement, which is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use smartex_core::ObjectId;
use smartex_core::OrderStatus;
use smartex_core::status::StatusEvent;
use smartex_store::{
    AnyStore, IpnSecretSource, NotificationKey, Observation, OrderKey, OrderStore, PendingOrder,
    PostgresStore, SqliteStore, StoreOptions,
};

/// The reference of order number `i`.
fn reference(i: u64) -> smartex_core::derived::Reference {
    smartex_core::derived::Reference::new(format!("ref-{i}")).unwrap()
}

/// The bare table: the event log's columns, without its triggers.
const BARE_TABLE: &str = "CREATE TABLE bare_events (
    id INTEGER PRIMARY KEY, reference TEXT NOT NULL, status TEXT NOT NULL, at_ms BIGINT,
    window_ms BIGINT NOT NULL, source TEXT NOT NULL, received_at_ms BIGINT NOT NULL,
    dedupe_key TEXT UNIQUE, decision TEXT NOT NULL, reason TEXT, version BIGINT NOT NULL)";
const BARE_TABLE_PG: &str = "CREATE TABLE bare_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, reference TEXT NOT NULL,
    status TEXT NOT NULL, at_ms BIGINT, window_ms BIGINT NOT NULL, source TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL, dedupe_key TEXT UNIQUE, decision TEXT NOT NULL,
    reason TEXT, version BIGINT NOT NULL)";
const BARE_INSERT: &str = "INSERT INTO bare_events (reference, status, at_ms, window_ms, source, \
     received_at_ms, dedupe_key, decision, reason, version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// A backend under test.
struct Bench {
    name: &'static str,
    store: AnyStore,
    /// Distinct numbers for references and keys across every run.
    next: AtomicU64,
    _dir: Option<tempfile::TempDir>,
}

impl Bench {
    /// Records `n` fresh orders (untimed) and returns their numbers.
    async fn orders(&self, n: u64) -> Vec<u64> {
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            self.store
                .insert_order(PendingOrder {
                    reference: reference(i),
                    ipn_secret: IpnSecretSource::Derived {
                        key_id: "k1".into(),
                    },
                    created_at: ms(1_700_000_000_000),
                    first_poll_at: None,
                    asked_amount: None,
                })
                .await
                .unwrap();
            out.push(i);
        }
        out
    }

    fn observation(i: u64) -> Observation {
        let order_id = ObjectId::parse("orderId", &format!("{i:024x}")).unwrap();
        let key = NotificationKey::ipn(&order_id, &format!("{i:064x}"));
        Observation::ipn(
            StatusEvent::ipn(OrderStatus::WaitPayment, ms(1_700_000_000_000 + i)),
            key,
            ms(1_700_000_000_100 + i),
        )
    }

    /// Times `apply` for each of `orders`.
    async fn apply(&self, orders: &[u64]) -> Duration {
        let references: Vec<_> = orders.iter().map(|&i| reference(i)).collect();
        let start = Instant::now();
        for (&i, reference) in orders.iter().zip(&references) {
            let out = self
                .store
                .apply(OrderKey::Reference(reference), Self::observation(i))
                .await
                .unwrap();
            assert!(out.is_applied());
        }
        start.elapsed()
    }

    /// Times `n` bare inserts of the same row.
    async fn bare(&self, n: u64) -> Duration {
        let rows: Vec<u64> = (0..n)
            .map(|_| self.next.fetch_add(1, Ordering::Relaxed))
            .collect();
        let start = Instant::now();
        for i in rows {
            let obs = Self::observation(i);
            let reference = format!("ref-{i}");
            macro_rules! insert {
                ($pool:expr) => {
                    sqlx::query(BARE_INSERT)
                        .bind(reference)
                        .bind(obs.event.status.as_str())
                        .bind(
                            obs.event
                                .at
                                .map(smartex_core::time::UnixMillis::as_millis)
                                .map(|t| t as i64),
                        )
                        .bind(0_i64)
                        .bind("ipn")
                        .bind(obs.received_at.as_millis() as i64)
                        .bind(obs.key.as_ref().map(NotificationKey::as_str))
                        .bind("apply")
                        .bind(None::<&str>)
                        .bind(1_i64)
                        .execute($pool)
                        .await
                        .unwrap()
                        .rows_affected()
                };
            }
            let inserted = match &self.store {
                AnyStore::Sqlite(s) => insert!(s.pool()),
                AnyStore::Postgres(s) => insert!(s.pool()),
                _ => unreachable!("two backends"),
            };
            assert_eq!(inserted, 1);
        }
        start.elapsed()
    }
}

async fn sqlite() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("bench.db"), StoreOptions::default())
        .await
        .unwrap();
    sqlx::query(BARE_TABLE).execute(store.pool()).await.unwrap();
    Bench {
        name: "sqlite",
        store: AnyStore::Sqlite(store),
        next: AtomicU64::new(0),
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<Bench> {
    let Ok(url) = std::env::var("SMARTEX_TEST_DATABASE_URL") else {
        eprintln!(
            "\nSKIPPED the PostgreSQL half: SMARTEX_TEST_DATABASE_URL is not set \
             (`cargo xtask bench` starts a temporary server)\n"
        );
        return None;
    };
    let schema = format!("smartex_bench_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = PostgresStore::connect_with(options, StoreOptions::default())
        .await
        .unwrap();
    sqlx::query(BARE_TABLE_PG)
        .execute(store.pool())
        .await
        .unwrap();
    Some(Bench {
        name: "postgres",
        store: AnyStore::Postgres(store),
        next: AtomicU64::new(0),
        _dir: None,
    })
}

fn criterion_runs(c: &mut Criterion, rt: &tokio::runtime::Runtime, bench: &Bench) {
    let mut group = c.benchmark_group(bench.name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("apply", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let orders = bench.orders(iters).await;
            bench.apply(&orders).await
        });
    });
    group.bench_function("bare_insert", |b| {
        b.to_async(rt).iter_custom(|iters| bench.bare(iters));
    });
    group.finish();
}

/// Interleaved rounds of `apply` and `bare_insert`; prints medians and the ratio.
fn paired(rt: &tokio::runtime::Runtime, bench: &Bench) {
    const ROUNDS: usize = 15;
    const PER_ROUND: u64 = 40;
    let (mut apply, mut bare, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for _ in 0..ROUNDS {
            let orders = bench.orders(PER_ROUND).await;
            let a = bench.apply(&orders).await / PER_ROUND as u32;
            let b = bench.bare(PER_ROUND).await / PER_ROUND as u32;
            apply.push(a);
            bare.push(b);
            ratio.push(a.as_secs_f64() / b.as_secs_f64());
        }
    });
    apply.sort();
    bare.sort();
    ratio.sort_by(f64::total_cmp);
    let mid = ROUNDS / 2;
    println!(
        "{}: paired ({ROUNDS} rounds x {PER_ROUND}): apply median {:?} ({:.0} applies/s), \
         bare insert median {:?} ({:.0} inserts/s), median ratio apply/bare {:.2}",
        bench.name,
        apply[mid],
        1.0 / apply[mid].as_secs_f64(),
        bare[mid],
        1.0 / bare[mid].as_secs_f64(),
        ratio[mid]
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut c = Criterion::default().configure_from_args();
    let mut benches = vec![rt.block_on(sqlite())];
    benches.extend(rt.block_on(postgres()));
    for bench in &benches {
        criterion_runs(&mut c, &rt, bench);
    }
    c.final_summary();
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if bench_mode {
        for bench in &benches {
            paired(&rt, bench);
        }
    }
}

/// An instant, from milliseconds.
fn ms(t: u64) -> smartex_core::time::UnixMillis {
    smartex_core::time::UnixMillis::from_millis(t)
}
