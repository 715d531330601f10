//! No code: the tests in `tests/` build an application's dependency set —
//! smartex with its default features next to reqwest
//! (`default-features = false, features = ["json"]`, or its defaults with the
//! `reqwest-default` feature), rustls, tokio and axum as applications commonly
//! configure them — and check that each works in the same process.
//!
//! The failure this guards against: smartex's client enabled reqwest's
//! `rustls-no-provider`, Cargo unified it into the application's reqwest, and
//! the application's `reqwest::Client::new()` panicked at run time ("No
//! rustls crypto provider is configured").
