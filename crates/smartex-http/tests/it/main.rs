//! Integration tests of smartex-http against a real HTTP server on 127.0.0.1.
// Tests may unwrap/expect/panic: a failure is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod catalogue;
mod express_peer;
mod failures;
mod lane;
#[path = "../../../../tools/node/ready.rs"]
mod node;
mod props;
mod sandbox_key;
mod server;
mod watch;
mod wire;

use smartex_http::{Client, ClientBuilder, ReqwestTransport};

use server::TestServer;

/// This machine's clock in milliseconds since the epoch.
pub(crate) fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A clock standing still at `ms` milliseconds after the epoch.
pub(crate) fn clock_at(ms: u64) -> std::sync::Arc<dyn smartex_core::time::Clock> {
    std::sync::Arc::new(smartex_core::time::ManualClock::new(
        smartex_core::time::UnixMillis::from_millis(ms),
    ))
}

/// The default transport, ignoring proxy variables (the tests talk to 127.0.0.1 only).
pub(crate) fn transport() -> ReqwestTransport {
    ReqwestTransport::builder().no_proxy().build().unwrap()
}

/// A client of `server`, configured by `configure`.
pub(crate) fn make_client(
    server: &TestServer,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Client<ReqwestTransport> {
    configure(ClientBuilder::new(&server.site()))
        .build_with(transport())
        .unwrap()
}

/// Secrets used by the tests: none may appear in an error or a log.
pub(crate) const ORDER_SECRET: &str = "dGqwF2M2eBPaSN1G5ljMS1cb";
pub(crate) const IPN_SECRET: &str = "per-order-ipn-secret";
pub(crate) const API_SECRET: &str = "97aab8410868ba7c1824f490999607c0ce46a3de";

/// Fails if `text` contains any of the test secrets.
#[track_caller]
pub(crate) fn assert_no_secret(text: &str) {
    for secret in [ORDER_SECRET, IPN_SECRET, API_SECRET] {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
}
