//! Client overhead per `get_order` against a local hyper server, compared in
//! the same run with a bare reqwest call doing the same request.
//!
//! Run: `cargo bench -p smartex-http --bench overhead`
//!
//! - `smartex_get_order`: `Client::get_order` (JSON, no authorization): encode
//!   the parameters, build the headers, send through `ReqwestTransport` under
//!   the client's timeout and retry loop, read the body under the size cap,
//!   decode the envelope into `OrderView`.
//! - `bare_reqwest_same_work`: the same request by hand with reqwest (same
//!   headers, the same JSON serialized by the same core type, same body bytes),
//!   `bytes()`, and the same `decode::<OrderView>` — what a merchant would
//!   write without this crate.
//! - `bare_reqwest_no_decode`: send and read the body only, for reference.
//!
//! Both use identically configured reqwest clients (each from its own
//! `ReqwestTransport`, so each has its own connection pool), the same
//! current-thread runtime, and one server on its own thread.
// A benchmark may unwrap: a failure aborts the measurement, which is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use smartex_core::request::{ApiCall, GetOrder, OrderViewKind};
use smartex_core::response::{OrderView, decode};
use smartex_core::{OrderSecret, OrderUid};
use smartex_http::ClientBuilder;

mod support;

use support::{Canned, RESPONSE, start_server, transport};

/// The baseline: the same `order/get` call written by hand with reqwest — same
/// headers, the same JSON body from the same core type — reading the body and,
/// if `decode_it`, decoding it as the client does. Returns the body's length.
async fn bare_get_order(
    bare: &reqwest::Client,
    url: &str,
    uid: OrderUid,
    secret: &OrderSecret,
    decode_it: bool,
) -> usize {
    let body = GetOrder::new(uid, secret.clone()).to_json();
    let response = bare
        .post(url)
        .header("user-agent", smartex_http::config::USER_AGENT)
        .header("accept", "application/json")
        .header("lang", "en")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    if decode_it {
        let view: OrderView = decode::<OrderView>(&bytes).unwrap().result.unwrap();
        assert_eq!(view.order.uid, uid);
    }
    bytes.len()
}

fn overhead(c: &mut Criterion) {
    let addr = start_server();
    let site = format!("http://{addr}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = ClientBuilder::new(&site).build_with(transport()).unwrap();
    let bare = transport().reqwest_client().clone();
    let url = format!("{site}/service/api/v1/{}/", GetOrder::PATH);
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();

    // Both paths work and get the same answer.
    let a = rt
        .block_on(client.get_order(uid, &secret, OrderViewKind::Order))
        .unwrap();
    assert_eq!(a.order.uid, uid);

    let bare_call = |decode_it: bool| bare_get_order(&bare, &url, uid, &secret, decode_it);
    rt.block_on(bare_call(true));

    let mut group = c.benchmark_group("get_order");
    group
        .sample_size(100)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("smartex_get_order", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(client.get_order(uid, &secret, OrderViewKind::Order))
                    .unwrap(),
            )
        });
    });
    group.bench_function("bare_reqwest_same_work", |b| {
        b.iter(|| black_box(rt.block_on(bare_call(true))));
    });
    group.bench_function("bare_reqwest_no_decode", |b| {
        b.iter(|| black_box(rt.block_on(bare_call(false))));
    });
    group.finish();
}

/// The client's own CPU cost per call, without a network: the client over an
/// in-memory transport vs encoding + decoding by hand.
fn in_memory(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = ClientBuilder::new("https://www.smartexpay.com")
        .build_with(Canned)
        .unwrap();
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    let mut group = c.benchmark_group("in_memory");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("smartex_get_order", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(client.get_order(uid, &secret, OrderViewKind::Order))
                    .unwrap(),
            )
        });
    });
    group.bench_function("encode_and_decode_only", |b| {
        b.iter(|| {
            let body = GetOrder::new(uid, secret.clone()).to_json();
            black_box(body);
            let bytes = RESPONSE.as_bytes().to_vec();
            black_box(decode::<OrderView>(&bytes).unwrap().result.unwrap())
        });
    });
    group.finish();
}

/// The same comparison, interleaved: rounds of `PAIR_CALLS` client calls then
/// `PAIR_CALLS` bare calls, so that the load of a shared machine hits both
/// alike; prints the median per-call time of each and the median of the
/// per-round ratios. Bounded: `PAIR_ROUNDS` rounds (a few seconds).
fn paired() {
    const PAIR_ROUNDS: usize = 60;
    const PAIR_CALLS: u32 = 200;
    let addr = start_server();
    let site = format!("http://{addr}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = ClientBuilder::new(&site).build_with(transport()).unwrap();
    let bare = transport().reqwest_client().clone();
    let url = format!("{site}/service/api/v1/{}/", GetOrder::PATH);
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    let bare_call = || bare_get_order(&bare, &url, uid, &secret, true);
    let mut paired = support::Paired::default();
    for round in 0..PAIR_ROUNDS + 5 {
        let started = std::time::Instant::now();
        for _ in 0..PAIR_CALLS {
            black_box(
                rt.block_on(client.get_order(uid, &secret, OrderViewKind::Order))
                    .unwrap(),
            );
        }
        let client_time = started.elapsed() / PAIR_CALLS;
        let started = std::time::Instant::now();
        for _ in 0..PAIR_CALLS {
            black_box(rt.block_on(bare_call()));
        }
        let bare_time = started.elapsed() / PAIR_CALLS;
        if round >= 5 {
            // The first rounds warm the pools and caches.
            paired.push(client_time, bare_time);
        }
    }
    let (a, b, ratio) = paired.medians();
    println!(
        "paired get_order ({PAIR_ROUNDS} rounds x {PAIR_CALLS} calls each): smartex median {:?}, bare reqwest (same work) median {:?}, median ratio {:.3}",
        a, b, ratio
    );
}

criterion_group!(benches, overhead, in_memory);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if support::run_paired() {
        paired();
    }
}
