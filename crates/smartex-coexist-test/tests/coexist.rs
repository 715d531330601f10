//! An application's own reqwest, rustls and axum next to smartex's client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{Json, Router, routing::get};
use smartex_sandbox::{Sandbox, SandboxConfig};

/// An axum server of the application's own on 127.0.0.1; its address.
async fn app_server() -> String {
    let app = Router::new().route("/", get(|| async { Json(serde_json::json!({"ok": true})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/")
}

#[tokio::test]
async fn the_apps_own_reqwest_client_builds_and_calls() {
    let url = app_server().await;
    // Panicked with "No rustls crypto provider is configured" when smartex
    // enabled reqwest's `rustls-no-provider`.
    let client = reqwest::Client::new();
    let answer: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer, serde_json::json!({"ok": true}));
}

#[test]
fn the_apps_own_rustls_configuration_builds() {
    // `builder()` takes the process-wide provider, or the one the crate
    // features name; with two providers compiled in (ring next to the
    // default aws-lc-rs) and none installed, it panics.
    let roots = rustls::RootCertStore::empty();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    assert!(!client.crypto_provider().cipher_suites.is_empty());
}

#[tokio::test]
async fn a_smartex_client_calls_the_sandbox_next_to_the_apps_reqwest() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let apps_own = reqwest::Client::new();
    let smartex = smartex::http::Client::builder(sb.site_url())
        .build()
        .unwrap();
    let id = sb.route_by_xml("ETH", "WMZ").unwrap().id;
    let view = smartex.route(id.parse().unwrap()).await.unwrap();
    assert!(format!("{view:?}").contains(&id.to_string()), "{view:?}");
    // The app's client still works after smartex's has been used.
    let url = app_server().await;
    assert!(
        apps_own
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
}
