//! `smartex-shop`: the reference shop, configured from the environment.

use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> Result<(), smartex_shop::BoxError> {
    let vars = std::env::vars().collect();
    let listener = tokio::net::TcpListener::bind(std::env::var("SHOP_LISTEN")?).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = terminate.recv() => {} }
    };
    smartex_shop::serve(vars, listener, shutdown).await
}
