//! An IPN endpoint with hyper 1 and tokio, through smartex-ipn's plain-data
//! API (no crate feature needed).
//!
//! ```sh
//! cargo run --example hyper_receiver -- --port 3000
//! curl -s -w ' %{http_code}\n' -H 'content-type: application/x-www-form-urlencoded' \
//!     --data-binary @crates/smartex-core/tests/data/sample-ipn-body.txt http://127.0.0.1:3000/ipn
//! # → Unprocessable: timestamp outside the accepted window 422 (the sample is from 2019)
//! ```
//!
//! It knows one demo order (`5d8e6002b80b7b4cd75a6424`, secret `SECRET123`
//! or `$SMARTEX_IPN_SECRET`) and prints `{"listening":"http://127.0.0.1:PORT"}`
//! when ready.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example program reports on the console
#![allow(unreachable_pub)] // items are `pub` so the integration tests can drive this file

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use smartex_ipn::{Answer, Decision, Error, IpnRequest, IpnSecret, KnownStatus, Receiver};
use tokio::net::TcpListener;

/// The merchant's side: the receiver and the orders (a database in real life).
pub struct Shop {
    /// The IPN receiver, shared by all requests.
    pub receiver: Receiver,
    orders: Mutex<HashMap<String, Order>>,
}

struct Order {
    secret: IpnSecret,
    known: Option<KnownStatus>,
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
        let order = Order {
            secret,
            known: None,
        };
        self.lock().insert(order_id.to_owned(), order);
    }

    /// The status stored for an order.
    pub fn known(&self, order_id: &str) -> Option<KnownStatus> {
        self.lock().get(order_id).and_then(|o| o.known.clone())
    }

    fn secret_of(&self, order_id: &str) -> Option<IpnSecret> {
        self.lock().get(order_id).map(|o| o.secret.clone())
    }

    /// The business logic: only a verified notification gets here, and only
    /// `Decision::Apply` changes the books.
    fn apply(&self, ipn: &smartex_ipn::VerifiedIpn<'_>) -> Decision {
        let mut orders = self.lock();
        let Some(order) = orders.get_mut(ipn.order_id_raw()) else {
            return Decision::Stale; // deleted meanwhile
        };
        // The core's one transition rule: the decision, and what is known after.
        let change = smartex_ipn::transition(order.known.as_ref(), &ipn.event());
        if let Some(after) = change.known {
            order.known = Some(after);
        }
        // … on Decision::Apply, ship the goods when ipn.status() is Done, etc.
        change.decision
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// hyper's header map, seen through smartex-ipn's `Headers` trait (the
/// `http` feature provides this impl; it is spelled out here to show that
/// no feature is needed).
struct HyperHeaders<'a>(&'a hyper::HeaderMap);

impl smartex_ipn::Headers for HyperHeaders<'_> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for value in self.0.get_all(name) {
            f(value.as_bytes());
        }
    }
}

/// Answers one request.
pub async fn handle(
    shop: Arc<Shop>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let max = shop.receiver.config().max_body_bytes();
    // Never buffer more than the limit.
    let body = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return Ok(reply(Answer::for_error(&Error::TooLarge { max })));
        }
        Err(_) => {
            // The client went away or sent broken chunked encoding.
            let mut response = Response::new(Full::from("Bad Request: unreadable body"));
            *response.status_mut() = hyper::StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let headers = HyperHeaders(&parts.headers);
    let mut ipn_request = IpnRequest::new(parts.method.as_str(), &body).headers(&headers);
    if let Some(query) = parts.uri.query() {
        ipn_request = ipn_request.query(query);
    }
    let answer = match shop.receiver.parse(&ipn_request) {
        Err(refusal) => Answer::for_error(&refusal),
        Ok(parsed) => {
            let secret = shop.secret_of(parsed.order_id_raw()); // async is fine here too
            match shop.receiver.verify(parsed, &secret, smartex_ipn::now()) {
                // A notification seen before: "stale" if the order has moved
                // past it since, else "duplicate".
                Err(refusal) => {
                    let known = refusal.replayed_order_id().and_then(|id| shop.known(id));
                    refusal.answer_knowing(known.as_ref())
                }
                Ok(ipn) => Answer::for_decision(&shop.apply(&ipn)),
            }
        }
    };
    Ok(reply(answer))
}

fn reply(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", "text/plain; charset=utf-8");
    if let Some(allow) = answer.allow_header() {
        response = response.header("allow", allow);
    }
    response
        .body(Full::from(answer.body))
        .unwrap_or_else(|_| Response::new(Full::from("internal error")))
}

/// Serves HTTP/1.1 on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, shop: Arc<Shop>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, say: pause instead of spinning on
                // an error that will not clear by itself at once.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let shop = Arc::clone(&shop);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shop), request));
            // A client that goes away mid-request is not an error worth reporting.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000u16;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse()?,
            _ => return Err("usage: hyper_receiver [--port N]".into()),
        }
    }
    let secret = std::env::var("SMARTEX_IPN_SECRET").unwrap_or_else(|_| "SECRET123".into());
    let shop = Arc::new(Shop::new(Receiver::new()));
    shop.add_order("5d8e6002b80b7b4cd75a6424", IpnSecret::new(secret)?);

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{{\"listening\":\"http://{}\"}}", listener.local_addr()?);
    serve(listener, shop).await;
    Ok(())
}
