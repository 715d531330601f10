//! What the send lane costs: keyed `get_order` calls through the key's lane
//! (one call of the key on the wire at a time) against the same calls sent
//! unordered (`ApiKeyAuth::unordered`), in the same run, over the in-memory
//! transport and over loopback to a local hyper server, for 1 caller and for
//! 16 concurrent callers sharing the key.
//!
//! Run: `cargo bench -p smartex-http --bench lane`
//!
//! Each iteration is one batch: 1 call, or 16 concurrent calls (16 tasks on a
//! 2-worker runtime, all through clones of one client); the time per batch
//! gives the key's throughput (`16 / median`).
// A benchmark may unwrap: a failure aborts the measurement, which is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group};
use smartex_core::request::OrderViewKind;
use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderUid};
use smartex_http::{ApiKeyAuth, Client, ClientBuilder, Transport};

mod support;

use support::{Canned, start_server, transport};

fn auth() -> ApiKeyAuth {
    ApiKeyAuth::new(
        ApiKey::new("EF04794F718A3FC8C6DFA0B").unwrap(),
        ApiSecret::new("97aab8410868ba7c1824f490999607c0ce46a3de").unwrap(),
    )
}

/// `callers` concurrent `get_order` calls through clones of `client`.
async fn batch<T: Transport + 'static>(client: &Client<T>, callers: usize) {
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    if callers == 1 {
        black_box(
            client
                .get_order(uid, &secret, OrderViewKind::Order)
                .await
                .unwrap(),
        );
        return;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let client = client.clone();
        let secret = secret.clone();
        tasks.spawn(async move { client.get_order(uid, &secret, OrderViewKind::Order).await });
    }
    while let Some(done) = tasks.join_next().await {
        black_box(done.unwrap().unwrap());
    }
}

fn compare<T: Transport + 'static>(
    c: &mut Criterion,
    group_name: &str,
    make: impl Fn(ApiKeyAuth) -> Client<T>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lane = make(auth());
    let unordered = make(auth().unordered());
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(60)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for callers in [1, 16] {
        group.bench_function(BenchmarkId::new("lane", callers), |b| {
            b.iter(|| rt.block_on(batch(&lane, callers)));
        });
        group.bench_function(BenchmarkId::new("unordered", callers), |b| {
            b.iter(|| rt.block_on(batch(&unordered, callers)));
        });
    }
    group.finish();
}

fn in_memory(c: &mut Criterion) {
    compare(c, "lane_in_memory", |auth| {
        ClientBuilder::new("https://www.smartexpay.com")
            .api_key(auth)
            .build_with(Canned)
            .unwrap()
    });
}

fn loopback(c: &mut Criterion) {
    let site = format!("http://{}", start_server());
    compare(c, "lane_loopback", |auth| {
        ClientBuilder::new(&site)
            .api_key(auth)
            .build_with(transport())
            .unwrap()
    });
}

/// The single-caller loopback comparison again, interleaved: rounds of
/// `CALLS` calls through the lane then `CALLS` unordered, so that the load of
/// a shared machine hits both alike; prints the medians per call and the
/// median of the per-round ratios.
fn paired() {
    const ROUNDS: usize = 40;
    const CALLS: u32 = 200;
    let site = format!("http://{}", start_server());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let make = |auth: ApiKeyAuth| {
        ClientBuilder::new(&site)
            .api_key(auth)
            .build_with(transport())
            .unwrap()
    };
    let (lane, unordered) = (make(auth()), make(auth().unordered()));
    let per_call = |client: &Client<_>| {
        let started = std::time::Instant::now();
        for _ in 0..CALLS {
            rt.block_on(batch(client, 1));
        }
        started.elapsed() / CALLS
    };
    let mut paired = support::Paired::default();
    for round in 0..ROUNDS + 3 {
        let (lane_time, unordered_time) = if round % 2 == 0 {
            let l = per_call(&lane);
            (l, per_call(&unordered))
        } else {
            let u = per_call(&unordered);
            (per_call(&lane), u)
        };
        if round >= 3 {
            paired.push(lane_time, unordered_time);
        }
    }
    let (a, b, ratio) = paired.medians();
    println!(
        "paired keyed get_order over loopback, 1 caller ({ROUNDS} rounds x {CALLS} calls): lane median {:?}, unordered median {:?}, median ratio {:.3}",
        a, b, ratio
    );
}

criterion_group!(benches, in_memory, loopback);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if support::run_paired() {
        paired();
    }
}
