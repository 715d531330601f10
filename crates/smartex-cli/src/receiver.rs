//! [`IpnServer`]: the IPN endpoint of `smartex ipn listen` and of the demo's
//! first part — smartex-ipn's [`Receiver`] behind the command's one server
//! ([`crate::serve`]), with books in memory: each order's secret, and what
//! is known of its status as the core's transition rule keeps it
//! ([`Tracker`]).
//!
//! Every request is read as the facade reads it
//! ([`IpnRequest::from_http_parts`]), parsed, verified (checksum, timestamp
//! window), checked against a replay guard, decided by the core tracker, and
//! answered as [`Answer`] says ([`Answer::to_http_response`]); every one is
//! recorded as a [`Delivery`]. Nothing here decides: the receiver refuses or
//! verifies, the tracker decides, the answer table answers.
//!
//! It is not a [`smartex::Merchant`]: `ipn listen --secret` verifies any
//! order with one given secret and prints every delivery with what became
//! of it, replays included, which a store-backed merchant (secrets derived
//! per reference, unknown orders refused) does not do.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyper::body::Bytes;
use hyper::http::request::Parts;
use hyper::http::{Response, header};
use smartex::ipn::{
    Answer, Config, IpnRequest, MemoryReplayGuard, Receiver, ReplayGuard, ReplayKey,
};
use smartex_core::ipn::VerifiedIpn;
use smartex_core::status::{Decision, KnownStatus, StatusEvent, Tracker, decide};
use smartex_core::{IpnSecret, OrderStatus};
use tokio::sync::watch;

use crate::exit::Error;
use crate::post::{Answered, Poster};
use crate::serve::{Listening, Server, TooLarge};

/// How an [`IpnServer`] receives.
#[derive(Clone, Debug)]
pub(crate) struct IpnServerOptions {
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
    const DEFAULT_KEEP: usize = 1_000;

    /// Keeps the last `count` deliveries (at least one), forgetting the
    /// oldest first, so that a long-running `smartex ipn listen` holds
    /// bounded memory. Numbering ([`Delivery::seq`]) goes on regardless.
    #[cfg(test)]
    pub(crate) fn keep(mut self, count: usize) -> Self {
        self.keep = count.max(1);
        self
    }

    /// The receiver's configuration (checksum location, timestamp window,
    /// body limit). Default: [`Config::default`].
    pub(crate) fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// One secret for every order (what `smartex ipn listen --secret` does).
    /// Without it, only orders registered with
    /// [`IpnServer::expect_order`] are known; others are answered 404.
    pub(crate) fn secret(mut self, secret: IpnSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Also POSTs every request's raw body, with its content type, to `url`
    /// (the `stripe listen --forward-to` idea), and records the answer.
    pub(crate) fn forward_to(mut self, url: impl Into<String>) -> Self {
        self.forward_to = Some(url.into());
        self
    }
}

/// How the endpoint received one request: verified and decided, a replay,
/// or refused.
#[derive(Clone, Debug)]
pub(crate) enum Reception {
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
    /// the time window, wrong method or content type, too large.
    Refused {
        /// Why.
        error: smartex::ipn::Error,
        /// `orderId` as received, if the body parsed that far (unverified).
        order_id: Option<String>,
    },
}

impl Reception {
    /// Whether the notification's checksum matched (verified or replayed).
    pub(crate) fn is_verified(&self) -> bool {
        !matches!(self, Reception::Refused { .. })
    }

    /// The verified notification, if any.
    pub(crate) fn ipn(&self) -> Option<&VerifiedIpn<'static>> {
        match self {
            Reception::Verified { ipn, .. } | Reception::Replayed { ipn, .. } => Some(ipn),
            Reception::Refused { .. } => None,
        }
    }

    /// A word for what was done: `applied`, `duplicate`, `stale`,
    /// `unexpected`, `replay` or `refused`. A replay the order has moved past
    /// is `stale`.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Reception::Verified { decision, .. } => decision_word(decision),
            Reception::Replayed {
                decision_now: Decision::Stale,
                ..
            } => "stale",
            Reception::Replayed { .. } => "replay",
            Reception::Refused { .. } => "refused",
        }
    }

    /// The answer to send, by the receiver's answer table.
    fn answer(&self) -> Answer {
        match self {
            Reception::Verified { decision, .. } => Answer::for_decision(decision),
            Reception::Replayed { decision_now, .. } => Answer::for_replay(decision_now),
            Reception::Refused { error, .. } => Answer::for_error(error),
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
pub(crate) struct Forwarded {
    /// Where it went.
    pub(crate) url: String,
    /// The HTTP status and the first bytes of the answer, or why none came.
    pub(crate) result: Result<(u16, String), String>,
}

/// One request the server handled.
#[derive(Clone)]
pub(crate) struct Delivery {
    /// Its number, from 0.
    pub(crate) seq: usize,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub(crate) received_at_ms: u64,
    /// The raw body (holds the checksum and the order's requisites: do not log).
    pub(crate) body: Bytes,
    /// How it was received.
    pub(crate) reception: Reception,
    /// What the server answered.
    pub(crate) answer: Answer,
    /// The forwarding target's answer, if forwarding is on.
    pub(crate) forwarded: Option<Forwarded>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("seq", &self.seq)
            .field("received_at_ms", &self.received_at_ms)
            .field("body_len", &self.body.len())
            .field("reception", &self.reception)
            .field("answer", &self.answer)
            .field("forwarded", &self.forwarded)
            .finish()
    }
}

/// One order in the merchant's books.
#[derive(Default)]
struct Book {
    secret: Option<IpnSecret>,
    /// What is known of its status, kept by the core's transition rule.
    tracker: Tracker,
    applied: Vec<OrderStatus>,
}

impl Book {
    /// Decides `event` by the core tracker and notes the status if applied.
    fn apply(&mut self, event: &StatusEvent) -> Decision {
        let decision = self.tracker.apply(event);
        if decision == Decision::Apply {
            self.applied.push(event.status.clone());
        }
        decision
    }
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

/// A merchant's IPN endpoint. See the [module](self).
///
/// Dropping it (or [`shutdown`](Self::shutdown)) stops the listener and every
/// connection.
pub(crate) struct IpnServer {
    server: Server,
    state: Arc<State>,
}

impl std::fmt::Debug for IpnServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpnServer")
            .field("server", &self.server)
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
    pub(crate) async fn start(
        listen: SocketAddr,
        options: IpnServerOptions,
    ) -> Result<IpnServer, Error> {
        let forward = match &options.forward_to {
            Some(url) => {
                crate::post::check_http_url("--forward-to", url)?;
                Some(Poster::new(url, Duration::from_secs(10))?)
            }
            None => None,
        };
        let listening = Listening::bind(listen).await?;
        let (changed, _) = watch::channel(0);
        let max_body = options.config.max_body_bytes();
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
        let served = Arc::clone(&state);
        let server = listening.serve(max_body, move |parts, body| {
            handle(Arc::clone(&served), parts, body)
        });
        Ok(IpnServer { server, state })
    }

    /// The endpoint to give as `ipnUrl`: `http://{addr}/ipn` (any path is
    /// served the same way).
    pub(crate) fn url(&self) -> String {
        format!("http://{}/ipn", self.server.addr())
    }

    /// Registers an order the merchant created with this `ipnSecret`.
    pub(crate) fn expect_order(&self, order_id: &str, secret: IpnSecret) {
        lock(&self.state.books)
            .entry(order_id.to_owned())
            .or_default()
            .secret = Some(secret);
    }

    /// What the books know of an order's status.
    pub(crate) fn known(&self, order_id: &str) -> Option<KnownStatus> {
        lock(&self.state.books)
            .get(order_id)
            .and_then(|b| b.tracker.known().cloned())
    }

    /// The statuses applied to an order's books, in order: each at most once
    /// unless the lifecycle really went back to it.
    pub(crate) fn applied(&self, order_id: &str) -> Vec<OrderStatus> {
        lock(&self.state.books)
            .get(order_id)
            .map(|b| b.applied.clone())
            .unwrap_or_default()
    }

    /// Applies a status learnt by polling to the books, through the same
    /// tracker; returns the decision. `event` is the poll's timed
    /// observation (`watch_order`'s `StatusChange::event`), so an IPN
    /// received around the poll is ordered against it by time.
    pub(crate) fn reconcile(&self, order_id: &str, event: &StatusEvent) -> Decision {
        lock(&self.state.books)
            .entry(order_id.to_owned())
            .or_default()
            .apply(event)
    }

    /// The requests handled so far, as far as they are kept, oldest first.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries_since(0)
    }

    /// The kept requests numbered `seq` or later ([`Delivery::seq`]): what a
    /// follower that has seen the first `seq` needs, without copying the
    /// rest. A follower that fell behind the ring sees a gap in the numbers.
    pub(crate) fn deliveries_since(&self, seq: usize) -> Vec<Delivery> {
        lock(&self.state.deliveries).since(seq)
    }

    /// How many requests have been handled (kept or not).
    #[cfg(test)]
    pub(crate) fn delivery_count(&self) -> usize {
        lock(&self.state.deliveries).total
    }

    /// A receiver that changes whenever a request has been handled (its
    /// value: how many so far).
    pub(crate) fn changes(&self) -> watch::Receiver<usize> {
        self.state.changed.subscribe()
    }

    /// Waits until at least `count` requests have been handled.
    ///
    /// # Errors
    /// Exit 3 after `timeout`.
    #[cfg(test)]
    pub(crate) async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Delivery>, Error> {
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
    pub(crate) async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Receives one request, forwards it if asked, records it and answers.
async fn handle(
    state: Arc<State>,
    parts: Parts,
    body: Result<Bytes, TooLarge>,
) -> Response<String> {
    let received_at_ms = crate::now_ms();
    let (reception, forwarded, body) = match body {
        Ok(body) => {
            let reception = judge(&state, &IpnRequest::from_http_parts(&parts, &body));
            let forwarded = match &state.forward {
                Some(poster) => Some(forward(poster, &parts, &body).await),
                None => None,
            };
            (reception, forwarded, body)
        }
        // Not read, so not forwarded either.
        Err(too_large) => {
            let reception = Reception::Refused {
                error: too_large.refusal(),
                order_id: None,
            };
            (reception, None, Bytes::new())
        }
    };
    let answer = reception.answer();
    let count = lock(&state.deliveries).push(|seq| Delivery {
        seq,
        received_at_ms,
        body,
        reception,
        answer,
        forwarded,
    });
    state.changed.send_replace(count);
    answer.to_http_response().map(str::to_owned)
}

/// POSTs the raw body, with its content type, to the forwarding target.
async fn forward(poster: &Poster, parts: &Parts, body: &Bytes) -> Forwarded {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded")
        .to_owned();
    let result = poster
        .post(&content_type, body.to_vec())
        .await
        .map(|Answered { status, body }| (status, body));
    Forwarded {
        url: poster.url().to_owned(),
        result,
    }
}

/// Parses, verifies, guards against replays and decides.
fn judge(state: &State, request: &IpnRequest<'_>) -> Reception {
    let parsed = match state.receiver.parse(request) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Reception::Refused {
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
    let notification = match state.receiver.verify(parsed, &secret, crate::now()) {
        Ok(n) => n,
        Err(error) => {
            return Reception::Refused {
                error,
                order_id: Some(order_id),
            };
        }
    };
    let event = notification.event();
    if !state.guard.first_sight(&ReplayKey::of(&notification)) {
        // Not applied again; but a resend the order has moved past is
        // reported as stale, not as a duplicate.
        let decision_now = decide(
            lock(&state.books)
                .get(&order_id)
                .and_then(|b| b.tracker.known()),
            &event,
        );
        return Reception::Replayed {
            ipn: notification.into_owned(),
            decision_now,
        };
    }
    let decision = lock(&state.books)
        .entry(order_id)
        .or_default()
        .apply(&event);
    Reception::Verified {
        ipn: notification.into_owned(),
        decision,
    }
}

#[cfg(test)]
mod tests;
