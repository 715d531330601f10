//! The API-key hash of a typical `order/create`: over the bytes (the floor,
//! what the SDK did before) and over what the platform's Express server
//! recomputes (`smartex_core::js`), for a JSON body and a form body.
//!
//! `cargo bench -p smartex-core --bench api_sign`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use smartex_core::ApiSecret;
use smartex_core::auth::{express_signature, json_with_time, request_signature};
use smartex_core::js::{Body, restringify_json};
use smartex_core::request::{ApiCall, CreateOrder};
use std::hint::black_box;

fn api_sign(c: &mut Criterion) {
    let secret = ApiSecret::new("97aab8410868ba7c1824f490999607c0ce46a3de").unwrap();
    let order = CreateOrder::builder()
        .route_id("5d8e6002b80b7b4cd75a6424")
        .amount("317.42")
        .agreement(true)
        .to_value("wallet", "Z123456789012")
        .to_value("email", "client@example.com")
        .ipn_url("https://shop.example/ipn")
        .ipn_secret("per-order-secret")
        .build()
        .unwrap();
    let json = json_with_time(&order.to_json(), 1_742_774_343_407);
    let form = format!("time=1742774343407&{}", ApiCall::to_form(&order));
    let mut group = c.benchmark_group("api_sign");
    group.bench_function("create_json_bytes_floor", |b| {
        b.iter(|| request_signature(black_box(json.as_bytes()), &secret))
    });
    group.bench_function("create_json_restringify_and_sign", |b| {
        b.iter(|| {
            let body = restringify_json(black_box(&json)).unwrap();
            request_signature(body.as_bytes(), &secret)
        })
    });
    group.bench_function("create_form_express_signature", |b| {
        b.iter(|| express_signature(None, Body::Form(black_box(form.as_bytes())), &secret).unwrap())
    });
    group.finish();
}

criterion_group!(benches, api_sign);
criterion_main!(benches);
