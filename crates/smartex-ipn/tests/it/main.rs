//! Integration tests of smartex-ipn: the receiver's API, the hyper and axum
//! example receivers over real HTTP on 127.0.0.1, compatibility with Node's
//! `qs` + `crypto`, and property tests.
// Tests report failures by panicking, and print what they compare.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]
// Helpers are `pub` within this test binary only.
#![allow(unreachable_pub)]

mod api;
mod common;
mod hygiene;
#[path = "../../../../tools/node/ready.rs"]
mod node;
mod node_clients;
mod node_compat;
mod props;
mod servers;
#[cfg(feature = "tracing")]
mod tracing_events;

// The examples themselves, so that the servers under test are exactly the
// code merchants copy.
#[allow(dead_code)]
#[path = "../../examples/hyper_receiver.rs"]
mod hyper_receiver;

#[cfg(feature = "http")]
#[allow(dead_code)]
#[path = "../../examples/axum_receiver.rs"]
mod axum_receiver;

#[allow(dead_code)]
#[path = "../../examples/actix_receiver.rs"]
mod actix_receiver;
