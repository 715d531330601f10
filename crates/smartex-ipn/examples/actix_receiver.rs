//! An IPN endpoint with actix-web 4, through smartex-ipn's plain-data
//! request (actix has its own header types: a three-line `Headers` adapter).
//!
//! ```sh
//! cargo run --example actix_receiver -- --port 3000
//! ```
//!
//! It knows one demo order (`5d8e6002b80b7b4cd75a6424`, secret `SECRET123`
//! or `$SMARTEX_IPN_SECRET`) and prints `{"listening":"http://127.0.0.1:PORT"}`
//! when ready.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example program reports on the console
#![allow(unreachable_pub)] // items are `pub` so the integration tests can drive this file

use std::sync::Mutex;

use actix_web::http::header::HeaderMap;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::Server, web};
use smartex_ipn::{Answer, Headers, IpnRequest, IpnSecret, KnownStatus, Receiver};

/// The merchant's side: the receiver and its one order (a database in real
/// life).
pub struct Shop {
    /// The IPN receiver, shared by all requests.
    pub receiver: Receiver,
    order_id: String,
    secret: IpnSecret,
    known: Mutex<Option<KnownStatus>>,
}

impl Shop {
    /// A shop with one order, created with this `ipnSecret`.
    pub fn new(receiver: Receiver, order_id: &str, secret: IpnSecret) -> Self {
        let known = Mutex::new(None);
        let order_id = order_id.to_owned();
        Self {
            receiver,
            order_id,
            secret,
            known,
        }
    }

    /// The status stored for an order.
    pub fn known(&self, order_id: &str) -> Option<KnownStatus> {
        let known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.clone().filter(|_| order_id == self.order_id)
    }
}

/// actix's header map as the receiver reads headers.
struct ActixHeaders<'a>(&'a HeaderMap);

impl Headers for ActixHeaders<'_> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        self.0.get_all(name).for_each(|value| f(value.as_bytes()));
    }
}

async fn ipn(shop: web::Data<Shop>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers = ActixHeaders(request.headers());
    let ipn_request = IpnRequest::new(request.method().as_str(), &body)
        .headers(&headers)
        .query(request.query_string());
    let answer = match shop.receiver.parse(&ipn_request) {
        Err(refusal) => Answer::for_error(&refusal),
        Ok(parsed) => {
            let secret = (parsed.order_id_raw() == shop.order_id).then(|| shop.secret.clone());
            match shop.receiver.verify(parsed, &secret, smartex_ipn::now()) {
                // A notification seen before: "stale" if the order has moved
                // past it since, else "duplicate".
                Err(refusal) => {
                    let known = refusal.replayed_order_id().and_then(|id| shop.known(id));
                    refusal.answer_knowing(known.as_ref())
                }
                Ok(ipn) => {
                    // Only a verified notification gets here, and only
                    // `Decision::Apply` changes the books.
                    let mut known = shop
                        .known
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    // The core's one transition rule: the decision, and what is known after.
                    let change = smartex_ipn::transition(known.as_ref(), &ipn.event());
                    if let Some(after) = change.known {
                        *known = Some(after);
                    }
                    Answer::for_decision(&change.decision)
                }
            }
        }
    };
    let status = actix_web::http::StatusCode::from_u16(answer.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.content_type("text/plain; charset=utf-8");
    if let Some(allow) = answer.allow_header() {
        response.insert_header(("Allow", allow));
    }
    response.body(answer.body)
}

/// The server on `listener`: `/ipn` for any method (the receiver answers 405
/// itself), the body limited to the receiver's (actix answers 413 beyond it).
///
/// # Errors
/// The listener cannot be used.
pub fn server(listener: std::net::TcpListener, shop: web::Data<Shop>) -> std::io::Result<Server> {
    let max = shop.receiver.config().max_body_bytes();
    let app = move || {
        App::new()
            .app_data(shop.clone())
            .app_data(web::PayloadConfig::new(max))
            .route("/ipn", web::route().to(ipn))
    };
    Ok(HttpServer::new(app).workers(1).listen(listener)?.run())
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000u16;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse()?,
            _ => return Err("usage: actix_receiver [--port N]".into()),
        }
    }
    let secret = std::env::var("SMARTEX_IPN_SECRET").unwrap_or_else(|_| "SECRET123".into());
    let shop = Shop::new(
        Receiver::new(),
        "5d8e6002b80b7b4cd75a6424",
        IpnSecret::new(secret)?,
    );
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    println!("{{\"listening\":\"http://{}\"}}", listener.local_addr()?);
    server(listener, web::Data::new(shop))?.await?;
    Ok(())
}
