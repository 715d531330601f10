//! An IPN endpoint with axum 0.8, through smartex-ipn's `http` feature.
//!
//! ```sh
//! cargo run --example axum_receiver --features http -- --port 3000
//! ```
//!
//! It knows one demo order (`5d8e6002b80b7b4cd75a6424`, secret `SECRET123`
//! or `$SMARTEX_IPN_SECRET`) and prints `{"listening":"http://127.0.0.1:PORT"}`
//! when ready.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example program reports on the console
#![allow(unreachable_pub)] // items are `pub` so the integration tests can drive this file

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::any;
use smartex_ipn::{Answer, Decision, IpnRequest, IpnSecret, KnownStatus, Receiver};

/// The merchant's side: the receiver and the orders (a database in real life).
pub struct Shop {
    /// The IPN receiver, shared by all requests.
    pub receiver: Receiver,
    orders: Mutex<HashMap<String, (IpnSecret, Option<KnownStatus>)>>,
}

impl Shop {
    /// A shop without orders.
    pub fn new(receiver: Receiver) -> Self {
        Self {
            receiver,
            orders: Mutex::default(),
        }
    }

    /// Remembers an order created with this `ipnSecret`.
    pub fn add_order(&self, order_id: &str, secret: IpnSecret) {
        self.lock().insert(order_id.to_owned(), (secret, None));
    }

    /// The status stored for an order.
    pub fn known(&self, order_id: &str) -> Option<KnownStatus> {
        self.lock()
            .get(order_id)
            .and_then(|(_, known)| known.clone())
    }

    async fn secret_of(&self, order_id: &str) -> Option<IpnSecret> {
        self.lock().get(order_id).map(|(secret, _)| secret.clone())
    }

    /// The business logic: only a verified notification gets here, and only
    /// `Decision::Apply` changes the books.
    async fn apply(&self, ipn: &smartex_ipn::VerifiedIpn<'_>) -> Decision {
        let mut orders = self.lock();
        let Some((_, known)) = orders.get_mut(ipn.order_id_raw()) else {
            return Decision::Stale; // deleted meanwhile
        };
        // The core's one transition rule: the decision, and what is known after.
        let change = smartex_ipn::transition(known.as_ref(), &ipn.event());
        if let Some(after) = change.known {
            *known = Some(after);
        }
        // … on Decision::Apply, ship the goods when ipn.status() is Done, etc.
        change.decision
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (IpnSecret, Option<KnownStatus>)>> {
        self.orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn ipn(State(shop): State<Arc<Shop>>, parts: Parts, body: Bytes) -> Response {
    let request = IpnRequest::from_http_parts(&parts, &body);
    let answer = match shop.receiver.parse(&request) {
        Err(refusal) => Answer::for_error(&refusal),
        Ok(parsed) => {
            let secret = shop.secret_of(parsed.order_id_raw()).await;
            match shop.receiver.verify(parsed, &secret, smartex_ipn::now()) {
                // A notification seen before: "stale" if the order has moved
                // past it since, else "duplicate".
                Err(refusal) => {
                    let known = refusal.replayed_order_id().and_then(|id| shop.known(id));
                    refusal.answer_knowing(known.as_ref())
                }
                Ok(ipn) => Answer::for_decision(&shop.apply(&ipn).await),
            }
        }
    };
    answer.to_http_response().map(Body::from)
}

/// The app: `/ipn` for any method (the receiver answers 405 itself), the body
/// limited to the receiver's (axum answers 413 beyond it).
pub fn app(shop: Arc<Shop>) -> Router {
    let max = shop.receiver.config().max_body_bytes();
    Router::new()
        .route("/ipn", any(ipn))
        .layer(DefaultBodyLimit::max(max))
        .with_state(shop)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000u16;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse()?,
            _ => return Err("usage: axum_receiver [--port N]".into()),
        }
    }
    let secret = std::env::var("SMARTEX_IPN_SECRET").unwrap_or_else(|_| "SECRET123".into());
    let shop = Arc::new(Shop::new(Receiver::new()));
    shop.add_order("5d8e6002b80b7b4cd75a6424", IpnSecret::new(secret)?);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{{\"listening\":\"http://{}\"}}", listener.local_addr()?);
    axum::serve(listener, app(shop)).await?;
    Ok(())
}
