//! Parse + verify of the sample IPN, the path every notification takes.
//!
//! `cargo bench -p smartex-core --bench ipn`. The floor is the bare SHA-256 of
//! the 76-byte signing string; the target for the full path is a median of at
//! most 0.5 µs on a 2-core x86-64 machine with SHA-NI.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use sha2::Digest;
use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
use std::hint::black_box;

const BODY: &[u8] = include_bytes!("../tests/data/sample-ipn-body.txt");
const SIGNING_STRING: &[u8] =
    b"5d8e6002b80b7b4cd75a6424:inProgress:2:317.42:ETH:WMZ:1571328406072:SECRET123";

fn ipn(c: &mut Criterion) {
    let secret = IpnSecret::new("SECRET123").unwrap();
    let format = IpnFormat::default();
    let mut group = c.benchmark_group("ipn");
    group.bench_function("sha256_signing_string_floor", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(SIGNING_STRING)))
    });
    group.bench_function("parse_and_verify_sample", |b| {
        b.iter(|| {
            let ipn = UnverifiedIpn::parse_form(black_box(BODY), &format).unwrap();
            ipn.verify(&secret).unwrap()
        })
    });
    group.bench_function("parse_only_sample", |b| {
        b.iter(|| UnverifiedIpn::parse_form(black_box(BODY), &format).unwrap())
    });
    group.finish();
}

criterion_group!(benches, ipn);
criterion_main!(benches);
