//! Parse + verify of the sample IPN through smartex-ipn's public API: the
//! HTTP checks, decoding, locating the checksum, the constant-time check and
//! the timestamp window — everything a request goes through but the replay
//! guard (the same body every iteration would be a replay).
//!
//! `cargo bench -p smartex-ipn --bench ipn`. Target: median ≤ 0.6 µs for
//! `smartex_ipn/receive_sample`. `cargo xtask bench` reads this benchmark's
//! median from `target/criterion/smartex_ipn/receive_sample/new/estimates.json`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // a benchmark binary

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use smartex_ipn::{IpnRequest, IpnSecret, MemoryReplayGuard, Receiver};

const BODY: &[u8] = include_bytes!("../../smartex-core/tests/data/sample-ipn-body.txt");
/// A minute after the sample was sent.
const NOW: smartex_ipn::UnixMillis =
    smartex_ipn::UnixMillis::from_millis(1_571_328_406_072 + 60_000);

fn body() -> &'static [u8] {
    BODY.strip_suffix(b"\n").unwrap_or(BODY)
}

fn ipn(c: &mut Criterion) {
    let secret = IpnSecret::new("SECRET123").unwrap();
    let receiver = Receiver::new().without_replay_guard();
    let mut group = c.benchmark_group("smartex_ipn");
    group.bench_function("receive_sample", |b| {
        b.iter(|| {
            let request = IpnRequest::new("POST", black_box(body()))
                .content_type("application/x-www-form-urlencoded");
            let ipn = receiver.receive(&request, &secret, NOW).unwrap();
            black_box(ipn.status_raw().len())
        })
    });
    // The core's parse + verify alone, for the receiver's overhead over it.
    let format = smartex_core::ipn::IpnFormat::default();
    group.bench_function("core_parse_and_verify_sample", |b| {
        b.iter(|| {
            let ipn = smartex_core::ipn::UnverifiedIpn::parse_form(black_box(body()), &format)
                .unwrap()
                .verify(&secret)
                .unwrap();
            black_box(ipn.status_raw().len())
        })
    });
    group.bench_function("parse_sample", |b| {
        b.iter(|| {
            let request = IpnRequest::new("POST", black_box(body()))
                .content_type("application/x-www-form-urlencoded");
            receiver.parse(&request).unwrap()
        })
    });
    // With the in-memory replay guard: every iteration after the first is a
    // replay, refused after verification (the guard's lookup cost included).
    let guarded = Receiver::new().with_replay_guard(MemoryReplayGuard::default());
    group.bench_function("receive_sample_replayed", |b| {
        b.iter(|| {
            let request = IpnRequest::new("POST", black_box(body()))
                .content_type("application/x-www-form-urlencoded");
            guarded.receive(&request, &secret, NOW).is_err()
        })
    });
    group.finish();
}

criterion_group!(benches, ipn);
criterion_main!(benches);
