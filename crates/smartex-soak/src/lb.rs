//! The soak's load balancer: the `ipnUrl` of every order points here, and
//! each IPN is forwarded to a live merchant instance, as a load balancer in
//! front of several instances would.
//!
//! A delivery that fails in transport (the instance was just killed) is
//! tried on another live instance until a deadline. That is safe because
//! `handle_ipn` is idempotent (the store recognises a repeat); it is what a
//! load balancer configured to retry on another upstream does. The platform
//! itself never retries: an IPN is lost only when the sandbox drops it, and
//! then only the reconciler can recover the change.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header, request::Parts};
use tokio::net::TcpListener;

/// Counters of what went through the balancer.
#[derive(Debug, Default)]
pub(crate) struct LbStats {
    /// IPN requests received from the sandbox.
    pub(crate) received: AtomicU64,
    /// Forwarding attempts that failed in transport and were tried again.
    pub(crate) retried: AtomicU64,
    /// Requests no instance answered before the deadline.
    pub(crate) unanswered: AtomicU64,
    /// Answers saying the IPN bound an order's `orderId` to its reference.
    pub(crate) bound: AtomicU64,
}

/// The live instances' ports, by slot (`None`: down).
#[derive(Debug, Default)]
pub(crate) struct Backends {
    ports: Mutex<Vec<Option<u16>>>,
    next: AtomicU64,
}

impl Backends {
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            ports: Mutex::new(vec![None; slots]),
            next: AtomicU64::new(0),
        }
    }

    pub(crate) fn set(&self, slot: usize, port: Option<u16>) {
        let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = ports.get_mut(slot) {
            *p = port;
        }
    }

    /// The live ports, starting from a rotating position.
    pub(crate) fn live(&self) -> Vec<u16> {
        let ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        let live: Vec<u16> = ports.iter().flatten().copied().collect();
        if live.is_empty() {
            return live;
        }
        let start =
            usize::try_from(self.next.fetch_add(1, Ordering::Relaxed)).unwrap_or(0) % live.len();
        live[start..]
            .iter()
            .chain(&live[..start])
            .copied()
            .collect()
    }
}

struct Lb {
    backends: Arc<Backends>,
    stats: Arc<LbStats>,
    client: reqwest::Client,
    deadline: Duration,
}

/// Starts the balancer on an ephemeral loopback port; returns its port.
pub(crate) async fn start(
    backends: Arc<Backends>,
    stats: Arc<LbStats>,
    client: reqwest::Client,
) -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let lb = Arc::new(Lb {
        backends,
        stats,
        client,
        deadline: Duration::from_secs(5),
    });
    let app = Router::new().fallback(forward).with_state(lb);
    tokio::spawn(async move {
        // It serves until the orchestrator exits.
        let _ = axum::serve(listener, app).await;
    });
    Ok(port)
}

/// Forwards one request to a live instance, and its answer back.
async fn forward(State(lb): State<Arc<Lb>>, parts: Parts, body: Bytes) -> (StatusCode, Bytes) {
    lb.stats.received.fetch_add(1, Ordering::Relaxed);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let started = Instant::now();
    while started.elapsed() < lb.deadline {
        for port in lb.backends.live() {
            let sent = lb
                .client
                .post(format!("http://127.0.0.1:{port}{path}"))
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone())
                .send()
                .await;
            let answered = match sent {
                Ok(response) => {
                    let code = response.status().as_u16();
                    response.bytes().await.ok().map(|b| (code, b))
                }
                Err(_) => None,
            };
            match answered {
                Some((code, text)) => {
                    if text.ends_with(b"[bound]") {
                        lb.stats.bound.fetch_add(1, Ordering::Relaxed);
                    }
                    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
                    return (code, text);
                }
                None => {
                    lb.stats.retried.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lb.stats.unanswered.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Bytes::from_static(b"no instance answered"),
    )
}
