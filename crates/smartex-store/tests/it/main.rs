//! The store's test suite. Every test in `both_backends!` runs against a real
//! SQLite file and a real PostgreSQL server (each in a database of its own).

// Tests panic on failure by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::print_stdout
)]

mod common;
mod concurrency;
mod held;
mod ledger;
mod mirror;
mod outbox;
mod store;
