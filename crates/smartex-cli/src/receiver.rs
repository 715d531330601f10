//! [`IpnServer`]: a merchant's IPN endpoint in a few lines — smartex-ipn's
//! [`Receiver`] behind a tiny hyper server on loopback, with the merchant's
//! books (each order's secret and known status) in memory.
//!
//! It is what `smartex demo` and `smartex ipn listen` receive with, and what
//! this crate's end-to-end tests use as "the merchant". Every request is
//! parsed, verified (checksum, timestamp window), checked against a replay
//! guard, decided by the core tracker against the order's known status, and
//! answered as [`Answer`] says; every one is recorded as a [`Delivery`].
//!
//! ```
//! use smartex_cli::receiver::{IpnServer, IpnServerOptions, Verdict};
//! use smartex_core::ipn::IpnBody;
//! use smartex_core::IpnSecret;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = IpnSecret::new("per-order-secret")?;
//! let server = IpnServer::start("127.0.0.1:0".parse()?, IpnServerOptions::default()).await?;
//! server.expect_order("5d8e6002b80b7b4cd75a6424", secret.clone());
//!
//! // Anything that POSTs a signed form body to server.url() is verified; here, by hand:
//! let now = smartex_ipn::now().as_millis().to_string();
//! let body = IpnBody {
//!     order_uid: "1001",
//!     signed: smartex_core::checksum::SignedFields {
//!         order_id: "5d8e6002b80b7b4cd75a6424", new_status: "done", in_amount: "2",
//!         out_amount: "317.42", xml_from: "ETH", xml_to: "WMZ", timestamp: &now,
//!     },
//!     to_values: &[],
//! }.to_form(&secret, "hash");
//! let http = smartex_http::ReqwestTransport::builder().no_proxy().build()?;
//! let answer = http.reqwest_client().post(server.url())
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(body).send().await?;
//! assert_eq!(answer.status(), 200);
//!
//! let deliveries = server.wait_for(1, std::time::Duration::from_secs(5)).await?;
//! assert!(matches!(deliveries[0].verdict, Verdict::Verified { .. }));
//! assert_eq!(server.applied("5d8e6002b80b7b4cd75a6424").len(), 1);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use smartex_core::ipn::VerifiedIpn;
use smartex_core::status::{Decision, KnownStatus, StatusEvent, decide};
use smartex_core::{IpnSecret, OrderStatus};
use smartex_ipn::{Answer, Config, IpnRequest, MemoryReplayGuard, Receiver, ReplayGuard};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::exit::Error;
use crate::post::{Answered, Poster};

/// How an [`IpnServer`] receives.
#[derive(Clone, Debug)]
pub struct IpnServerOptions {
    config: Config,
    secret: Option<IpnSecret>,
    forward_to: Option<String>,
    keep: usize,
}

impl Default for IpnServerOptions {
    fn default() -> Self {
        Self {
            config: Config::default(),
            secret: None,
            forward_to: None,
            keep: Self::DEFAULT_KEEP,
        }
    }
}

impl IpnServerOptions {
    /// How many recent deliveries are kept by default: 1,000.
    pub const DEFAULT_KEEP: usize = 1_000;

    /// Keeps the last `count` deliveries (at least one), forgetting the
    /// oldest first, so that a long-running `smartex ipn listen` holds
    /// bounded memory. Numbering ([`Delivery::seq`]) goes on regardless.
    pub fn keep(mut self, count: usize) -> Self {
        self.keep = count.max(1);
        self
    }

    /// The receiver's configuration (checksum location, timestamp window,
    /// body limit). Default: [`Config::default`].
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// One secret for every order (what `smartex ipn listen --secret` does).
    /// Without it, only orders registered with
    /// [`IpnServer::expect_order`] are known; others are answered 404.
    pub fn secret(mut self, secret: IpnSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Also POSTs every request's raw body, with its content type, to `url`
    /// (the `stripe listen --forward-to` idea), and records the answer.
    pub fn forward_to(mut self, url: impl Into<String>) -> Self {
        self.forward_to = Some(url.into());
        self
    }
}

/// What became of one request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Verified, and decided by the core tracker against the order's known
    /// status; the books changed only if the decision is [`Decision::Apply`].
    Verified {
        /// The notification.
        ipn: VerifiedIpn<'static>,
        /// The tracker's decision.
        decision: Decision,
    },
    /// Verified, but already received (the replay guard knew it): answered
    /// success, not processed again.
    Replayed {
        /// The notification.
        ipn: VerifiedIpn<'static>,
        /// What the tracker decides for it now, against the order's known
        /// status (not applied): [`Decision::Stale`] for a resend the order
        /// has moved past — answered and reported as stale, not duplicate.
        decision_now: Decision,
    },
    /// Refused: malformed, unsigned, wrongly signed, unknown order, outside
    /// the time window, wrong method or content type.
    Refused {
        /// Why.
        error: smartex_ipn::Error,
        /// `orderId` as received, if the body parsed that far (unverified).
        order_id: Option<String>,
    },
}

impl Verdict {
    /// Whether the notification's checksum matched (verified or replayed).
    pub fn is_verified(&self) -> bool {
        !matches!(self, Verdict::Refused { .. })
    }

    /// The verified notification, if any.
    pub fn ipn(&self) -> Option<&VerifiedIpn<'static>> {
        match self {
            Verdict::Verified { ipn, .. } | Verdict::Replayed { ipn, .. } => Some(ipn),
            Verdict::Refused { .. } => None,
        }
    }

    /// A word for what was done: `applied`, `duplicate`, `stale`,
    /// `unexpected`, `replay` or `refused`. A replay the order has moved past
    /// is `stale`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Verdict::Verified { decision, .. } => decision_word(decision),
            Verdict::Replayed {
                decision_now: Decision::Stale,
                ..
            } => "stale",
            Verdict::Replayed { .. } => "replay",
            Verdict::Refused { .. } => "refused",
        }
    }
}

/// `applied`, `duplicate`, `stale` or `unexpected`.
pub(crate) fn decision_word(decision: &Decision) -> &'static str {
    match decision {
        Decision::Apply => "applied",
        Decision::Duplicate => "duplicate",
        Decision::Stale => "stale",
        _ => "unexpected",
    }
}

/// The answer of the forwarding target, or why none came.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Forwarded {
    /// Where it went.
    pub url: String,
    /// The HTTP status and the first bytes of the answer, or why none came.
    pub result: Result<(u16, String), String>,
}

/// One request the server handled.
#[derive(Clone)]
#[non_exhaustive]
pub struct Delivery {
    /// Its number, from 0.
    pub seq: usize,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// The HTTP method.
    pub method: String,
    /// The path and query it was sent to.
    pub path: String,
    /// The raw body (holds the checksum and the order's requisites: do not log).
    pub body: Vec<u8>,
    /// What became of it.
    pub verdict: Verdict,
    /// What the server answered.
    pub answer: Answer,
    /// The forwarding target's answer, if forwarding is on.
    pub forwarded: Option<Forwarded>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("seq", &self.seq)
            .field("received_at_ms", &self.received_at_ms)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.len())
            .field("verdict", &self.verdict)
            .field("answer", &self.answer)
            .field("forwarded", &self.forwarded)
            .finish()
    }
}

/// One order in the merchant's books.
#[derive(Default)]
struct Book {
    secret: Option<IpnSecret>,
    known: Option<KnownStatus>,
    applied: Vec<OrderStatus>,
}

struct State {
    receiver: Receiver,
    guard: MemoryReplayGuard,
    default_secret: Option<IpnSecret>,
    books: Mutex<HashMap<String, Book>>,
    /// The last `keep` deliveries, oldest first.
    deliveries: Mutex<Ring>,
    changed: watch::Sender<usize>,
    forward: Option<Poster>,
}

/// The recent deliveries: a ring of at most `keep`, and how many ever.
struct Ring {
    kept: VecDeque<Delivery>,
    keep: usize,
    total: usize,
}

impl Ring {
    fn new(keep: usize) -> Self {
        Self {
            kept: VecDeque::new(),
            keep,
            total: 0,
        }
    }

    /// Adds one and returns how many ever.
    fn push(&mut self, make: impl FnOnce(usize) -> Delivery) -> usize {
        if self.kept.len() >= self.keep {
            self.kept.pop_front();
        }
        self.kept.push_back(make(self.total));
        self.total += 1;
        self.total
    }

    /// The kept deliveries numbered `from` or later.
    fn since(&self, from: usize) -> Vec<Delivery> {
        let first = self.total - self.kept.len();
        self.kept
            .iter()
            .skip(from.saturating_sub(first))
            .cloned()
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data behind the lock: keep serving after a panic elsewhere.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A merchant's IPN endpoint on loopback. See the [module](self).
///
/// Dropping it (or [`shutdown`](Self::shutdown)) stops the listener and every
/// connection.
pub struct IpnServer {
    addr: SocketAddr,
    state: Arc<State>,
    tasks: Arc<Mutex<Option<JoinSet<()>>>>,
}

impl std::fmt::Debug for IpnServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpnServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl IpnServer {
    /// Binds `listen` (port 0: an ephemeral port) and starts serving. Must be
    /// called inside a Tokio runtime.
    ///
    /// # Errors
    /// Exit 3 if the address cannot be bound; exit 2 if the forwarding URL is
    /// not an absolute http(s) URL.
    pub async fn start(listen: SocketAddr, options: IpnServerOptions) -> Result<IpnServer, Error> {
        let forward = match &options.forward_to {
            Some(url) => {
                crate::post::check_http_url("--forward-to", url)?;
                Some(Poster::new(url, Duration::from_secs(10))?)
            }
            None => None,
        };
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| Error::unavailable(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::unavailable(format!("cannot listen on {listen}: {e}")))?;
        let (changed, _) = watch::channel(0);
        let state = Arc::new(State {
            // The server keeps its own replay guard, so that a replay can
            // still be shown with its (verified) status.
            receiver: Receiver::with_config(options.config).without_replay_guard(),
            guard: MemoryReplayGuard::default(),
            default_secret: options.secret,
            books: Mutex::default(),
            deliveries: Mutex::new(Ring::new(options.keep)),
            changed,
            forward,
        });
        let tasks = Arc::new(Mutex::new(Some(JoinSet::new())));
        let accept = serve(listener, Arc::clone(&state), Arc::clone(&tasks));
        if let Some(set) = lock(&tasks).as_mut() {
            set.spawn(accept);
        }
        Ok(IpnServer { addr, state, tasks })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint to give as `ipnUrl`: `http://{addr}/ipn` (any path is
    /// served the same way).
    pub fn url(&self) -> String {
        format!("http://{}/ipn", self.addr)
    }

    /// Registers an order the merchant created with this `ipnSecret`.
    pub fn expect_order(&self, order_id: &str, secret: IpnSecret) {
        lock(&self.state.books)
            .entry(order_id.to_owned())
            .or_default()
            .secret = Some(secret);
    }

    /// What the books know of an order's status.
    pub fn known(&self, order_id: &str) -> Option<KnownStatus> {
        lock(&self.state.books)
            .get(order_id)
            .and_then(|b| b.known.clone())
    }

    /// The statuses applied to an order's books, in order: each at most once
    /// unless the lifecycle really went back to it.
    pub fn applied(&self, order_id: &str) -> Vec<OrderStatus> {
        lock(&self.state.books)
            .get(order_id)
            .map(|b| b.applied.clone())
            .unwrap_or_default()
    }

    /// Applies a status learnt by polling to the books, through the same
    /// tracker; returns the decision. `event` is the poll's timed
    /// observation: `watch_order`'s [`StatusChange::event`], or
    /// [`StatusEvent::polled_between`] around an `order/get` — so an IPN
    /// received around the poll is ordered against it by time.
    ///
    /// [`StatusChange::event`]: smartex_http::watch::StatusChange::event
    pub fn reconcile(&self, order_id: &str, event: &StatusEvent) -> Decision {
        let mut books = lock(&self.state.books);
        let book = books.entry(order_id.to_owned()).or_default();
        apply(book, event)
    }

    /// The requests handled so far, as far as they are kept (the last
    /// [`IpnServerOptions::keep`]), oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries_since(0)
    }

    /// The kept requests numbered `seq` or later ([`Delivery::seq`]): what a
    /// follower that has seen the first `seq` needs, without copying the
    /// rest. A follower that fell behind the ring sees a gap in the numbers.
    pub fn deliveries_since(&self, seq: usize) -> Vec<Delivery> {
        lock(&self.state.deliveries).since(seq)
    }

    /// How many requests have been handled (kept or not).
    pub fn delivery_count(&self) -> usize {
        lock(&self.state.deliveries).total
    }

    /// A receiver that changes whenever a request has been handled (its
    /// value: how many so far).
    pub fn changes(&self) -> watch::Receiver<usize> {
        self.state.changed.subscribe()
    }

    /// Waits until at least `count` requests have been handled.
    ///
    /// # Errors
    /// Exit 3 after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Result<Vec<Delivery>, Error> {
        let mut rx = self.changes();
        let wait = rx.wait_for(|n| *n >= count);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(_)) => Ok(self.deliveries()),
            _ => Err(Error::unavailable(format!(
                "the IPN receiver got {} of {count} notifications within {timeout:?}",
                self.delivery_count()
            ))),
        }
    }

    /// Stops the listener and every connection, and waits until they stopped.
    pub async fn shutdown(self) {
        let set = lock(&self.tasks).take();
        if let Some(mut set) = set {
            set.shutdown().await;
        }
    }
}

impl Drop for IpnServer {
    fn drop(&mut self) {
        if let Some(mut set) = lock(&self.tasks).take() {
            set.abort_all();
        }
    }
}

/// Decides `event` for `book` and records it when applied.
fn apply(book: &mut Book, event: &StatusEvent) -> Decision {
    let decision = decide(book.known.as_ref(), event);
    if decision == Decision::Apply {
        book.known = Some(KnownStatus::after(book.known.as_ref(), event));
        book.applied.push(event.status.clone());
    }
    decision
}

async fn serve(listener: TcpListener, state: Arc<State>, tasks: Arc<Mutex<Option<JoinSet<()>>>>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, say: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = Arc::clone(&state);
        let connection = async move {
            let service = service_fn(move |request| handle(Arc::clone(&state), request));
            // A sender that goes away mid-request is its own business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        };
        match lock(&tasks).as_mut() {
            Some(set) => {
                while set.try_join_next().is_some() {}
                set.spawn(connection);
            }
            None => return,
        }
    }
}

/// hyper's headers, as smartex-ipn reads them.
struct HyperHeaders<'a>(&'a hyper::HeaderMap);

impl smartex_ipn::Headers for HyperHeaders<'_> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for value in self.0.get_all(name) {
            f(value.as_bytes());
        }
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let received_at_ms = smartex_ipn::now().as_millis();
    let (parts, body) = request.into_parts();
    let max = state.receiver.config().max_body_bytes();
    let body = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            let error = smartex_ipn::Error::TooLarge { max };
            let answer = Answer::for_error(&error);
            let verdict = Verdict::Refused {
                error,
                order_id: None,
            };
            record(
                &state,
                received_at_ms,
                &parts,
                Vec::new(),
                verdict,
                answer,
                None,
            );
            return Ok(reply(&answer));
        }
        Err(_) => {
            // The sender went away or sent broken chunks: nothing to record.
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
    let verdict = judge(&state, &ipn_request);
    let answer = match &verdict {
        Verdict::Verified { decision, .. } => Answer::for_decision(decision),
        Verdict::Replayed { decision_now, .. } => Answer::for_replay(decision_now),
        Verdict::Refused { error, .. } => Answer::for_error(error),
    };
    let forwarded = match &state.forward {
        Some(poster) => {
            let content_type = parts
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/x-www-form-urlencoded")
                .to_owned();
            let result = poster
                .post(&content_type, body.to_vec())
                .await
                .map(|Answered { status, body }| (status, body));
            Some(Forwarded {
                url: poster.url().to_owned(),
                result,
            })
        }
        None => None,
    };
    record(
        &state,
        received_at_ms,
        &parts,
        body.to_vec(),
        verdict,
        answer,
        forwarded,
    );
    Ok(reply(&answer))
}

fn record(
    state: &State,
    received_at_ms: u64,
    parts: &hyper::http::request::Parts,
    body: Vec<u8>,
    verdict: Verdict,
    answer: Answer,
    forwarded: Option<Forwarded>,
) {
    let count = lock(&state.deliveries).push(|seq| Delivery {
        seq,
        received_at_ms,
        method: parts.method.as_str().to_owned(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        body,
        verdict,
        answer,
        forwarded,
    });
    state.changed.send_replace(count);
}

/// Parses, verifies, guards against replays and decides.
fn judge(state: &State, request: &IpnRequest<'_>) -> Verdict {
    let parsed = match state.receiver.parse(request) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Verdict::Refused {
                error,
                order_id: None,
            };
        }
    };
    let order_id = parsed.order_id_raw().to_owned();
    let secret = lock(&state.books)
        .get(&order_id)
        .and_then(|b| b.secret.clone())
        .or_else(|| state.default_secret.clone());
    let notification = match state.receiver.verify(parsed, &secret, smartex_ipn::now()) {
        Ok(n) => n,
        Err(error) => {
            return Verdict::Refused {
                error,
                order_id: Some(order_id),
            };
        }
    };
    if !state
        .guard
        .first_sight(&smartex_ipn::ReplayKey::of(&notification))
    {
        // Not applied again; but a resend the order has moved past is
        // reported as stale, not as a duplicate.
        let decision_now = {
            let books = lock(&state.books);
            decide(
                books.get(&order_id).and_then(|b| b.known.as_ref()),
                &notification.event(),
            )
        };
        return Verdict::Replayed {
            ipn: notification.into_owned(),
            decision_now,
        };
    }
    let event = notification.event();
    let decision = {
        let mut books = lock(&state.books);
        apply(books.entry(order_id).or_default(), &event)
    };
    Verdict::Verified {
        ipn: notification.into_owned(),
        decision,
    }
}

fn reply(answer: &Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::from(answer.body));
    *response.status_mut() = hyper::StatusCode::from_u16(answer.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(allow) = answer.allow_header()
        && let Ok(value) = hyper::header::HeaderValue::from_str(&allow)
    {
        headers.insert(hyper::header::ALLOW, value);
    }
    response
}
