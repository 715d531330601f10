//! Integration tests of smartex-core: known-answer vectors read from
//! `tests/data/*.json`, table tests, snapshots and properties.
// Tests fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod derived;
mod form;
mod hygiene;
mod ipn;
mod pages;
mod props;
mod request;
mod response;
mod status;
mod vectors;

/// Reads a file of `tests/data`.
pub fn data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sample IPN body (440 bytes, secret `SECRET123`).
pub fn sample_body() -> Vec<u8> {
    data("sample-ipn-body.txt").into_bytes()
}
