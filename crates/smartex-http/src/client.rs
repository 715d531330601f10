//! [`Client`]: the API methods, retries, timeouts and response decoding.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use smartex_core::pages::Site;
use smartex_core::request::{
    ApiCall, CreateOrder, GetOrder, GetRoute, GetRouteByXml, GetRoutes, OrderViewKind, UpdateStatus,
};
use smartex_core::response::{self, OrderView, RouteView, Routes, StatusUpdate};
use smartex_core::time::{Clock, UnixMillis};
use smartex_core::{CurrencyCode, Lang, ObjectId, OrderSecret, OrderStatus, OrderUid};

use crate::auth::{Authorizer, CallToSign};
use crate::config::{Encoding, NonceRefusal, RetryPolicy};
use crate::error::{Error, ErrorKind};
use crate::order::CreateReply;
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportErrorKind, Verb};

pub(crate) struct Shared<T> {
    pub(crate) transport: T,
    pub(crate) site: Site,
    pub(crate) api_root: String,
    pub(crate) lang: Lang,
    pub(crate) encoding: Encoding,
    pub(crate) default_verb: Verb,
    pub(crate) verbs: Vec<(Cow<'static, str>, Verb)>,
    pub(crate) authorizer: Option<Arc<dyn Authorizer>>,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) nonce_refusal: NonceRefusal,
    pub(crate) user_agent: String,
    pub(crate) trailing_slash: bool,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The platform's API client. Cheap to clone (the configuration and the
/// transport are shared); use one per site and key.
///
/// Made with [`Client::builder`] (reqwest transport) or
/// [`ClientBuilder::new`](crate::ClientBuilder::new) + [`build_with`](crate::ClientBuilder::build_with) (any
/// [`Transport`]). Its timers (per-attempt timeout, retry backoff,
/// [`watch_order`](Client::watch_order)) are tokio's: call it inside a tokio
/// runtime with the time driver enabled.
pub struct Client<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Client<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.shared;
        f.debug_struct("Client")
            .field("api_root", &s.api_root)
            .field("lang", &s.lang)
            .field("encoding", &s.encoding)
            .field("authorizer", &s.authorizer.as_ref().map(|a| a.name()))
            .field("timeout", &s.timeout)
            .field("retry", &s.retry)
            .finish_non_exhaustive()
    }
}

/// A successful call's `data`, with what identifies the call.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Reply<T> {
    /// `data` of the envelope.
    pub data: T,
    /// The platform's `requestId`.
    pub request_id: Option<String>,
    /// The platform's own processing time (`latency_ms`).
    pub latency_ms: Option<u64>,
    /// The HTTP status.
    pub http_status: u16,
    /// How many attempts the call took (1 unless retried).
    pub attempts: u32,
}

#[cfg(feature = "reqwest")]
impl Client<crate::ReqwestTransport> {
    /// Starts configuring a client of `site` (`https://www.smartexpay.com`);
    /// [`ClientBuilder::build`](crate::ClientBuilder::build) gives it the default reqwest transport.
    pub fn builder(site: &str) -> crate::ClientBuilder {
        crate::ClientBuilder::new(site)
    }
}

impl<T: Transport> Client<T> {
    pub(crate) fn from_shared(shared: Shared<T>) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The site.
    pub fn site(&self) -> &Site {
        &self.shared.site
    }

    /// The API root (`https://www.smartexpay.com/service/api/v1/`).
    pub fn api_root(&self) -> &str {
        &self.shared.api_root
    }

    /// The language of the `Lang` header and of page URLs.
    pub fn lang(&self) -> Lang {
        self.shared.lang
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.shared.transport
    }

    /// The client's clock ([`ClientBuilder::clock`](crate::ClientBuilder::clock)):
    /// a layer above (the facade) reads "now" from it too, so that one clock
    /// serves a whole merchant.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The payment page of an order, in the client's language. It carries the
    /// order secret: send it to the customer, not to logs.
    pub fn payment_page(&self, uid: OrderUid, secret: &OrderSecret) -> String {
        self.shared.site.payment_page(self.shared.lang, uid, secret)
    }

    /// The order page of an order, in the client's language.
    pub fn order_page(&self, uid: OrderUid, secret: &OrderSecret) -> String {
        self.shared.site.order_page(self.shared.lang, uid, secret)
    }

    /// `order/create`: creates an exchange order. **Never retried**: if it fails
    /// with [`ErrorKind::Ambiguous`] the order may exist; do not create another
    /// blindly.
    ///
    /// # Errors
    /// See [`Error`]; the platform's validation errors name the field
    /// ([`Error::field`]).
    ///
    /// An answer whose `uid` or `secret` breaks a limit this crate assumed is
    /// still a success: the order is returned with its
    /// [`warnings`](smartex_core::response::CreatedOrder::warnings) (logged
    /// with the `tracing` feature), never dropped as ambiguous.
    pub async fn create_order(&self, order: &CreateOrder) -> Result<CreateReply, Error> {
        let reply = self.call(order).await?;
        #[cfg(feature = "tracing")]
        for warning in &reply.data.warnings {
            tracing::warn!(
                path = <CreateOrder as ApiCall>::PATH,
                request_id = reply.request_id.as_deref(),
                %warning,
                "order created with an unexpected value"
            );
        }
        Ok(CreateReply::new(
            reply.data,
            reply.request_id,
            self.shared.site.clone(),
            self.shared.lang,
        ))
    }

    /// `order/get`: the order `uid`, opened with its secret, in the `order` or
    /// `payment` view.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_order(
        &self,
        uid: OrderUid,
        secret: &OrderSecret,
        view: OrderViewKind,
    ) -> Result<OrderView, Error> {
        let get = GetOrder::new(uid, secret.clone()).view(view);
        Ok(self.call(&get).await?.data)
    }

    /// `order/update-status`: moves the order to `status`; the answer says
    /// from which status (`oldStatus`) to which (`newStatus`). The platform's rule
    /// (only from `new`/`waitPayment`; never to `inProgressPayout`, `done` or
    /// `hold`) is checked first with `current`, the status the merchant knows,
    /// if any: an illegal change fails with [`ErrorKind::Invalid`] and nothing is
    /// sent.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn update_status(
        &self,
        uid: OrderUid,
        secret: &OrderSecret,
        status: OrderStatus,
        current: Option<&OrderStatus>,
    ) -> Result<StatusUpdate, Error> {
        let update = UpdateStatus::new(uid, secret.clone(), status, current)
            .map_err(|e| Error::invalid(<UpdateStatus as ApiCall>::PATH, e))?;
        self.update(&update).await
    }

    /// The docs' manual-payment step: `waitPayment` → `inProgress` (the
    /// customer paid outside the platform's automatic processing).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn mark_paid(
        &self,
        uid: OrderUid,
        secret: &OrderSecret,
    ) -> Result<StatusUpdate, Error> {
        let update = UpdateStatus::mark_paid(uid, secret.clone())
            .map_err(|e| Error::invalid(<UpdateStatus as ApiCall>::PATH, e))?;
        self.update(&update).await
    }

    /// Sends an update and reads its answer as a [`StatusUpdate`].
    async fn update(&self, update: &UpdateStatus) -> Result<StatusUpdate, Error> {
        let reply = self.call(update).await?;
        let status = reply.http_status;
        // `UpdateStatus::Output` is a `Value` (no amounts in it, so nothing is
        // lost on the way); the typed view is read from it here.
        serde_json::from_value::<StatusUpdate>(reply.data).map_err(|e| {
            Error::decode(
                <UpdateStatus as ApiCall>::PATH,
                status,
                smartex_core::Error::UnexpectedData {
                    field: Cow::Borrowed("data"),
                    reason: e.to_string(),
                },
            )
            .with_request_id(reply.request_id)
            .with_attempts(reply.attempts)
        })
    }

    /// `route/get`: the routes, optionally filtered by currency.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn routes(&self, filter: &GetRoutes) -> Result<Routes, Error> {
        Ok(self.call(filter).await?.data)
    }

    /// `route/get/one`: one route with its fields, named in the client's
    /// language.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn route(&self, id: ObjectId) -> Result<RouteView, Error> {
        let get = GetRoute {
            id,
            lang: Some(self.shared.lang),
        };
        Ok(self.call(&get).await?.data)
    }

    /// `route/get/one/by-xml`: the route from `xml_in` to `xml_out` (currency
    /// codes such as `BTC`, `WMZ`), fields named in the client's language.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn route_by_xml(
        &self,
        xml_in: CurrencyCode,
        xml_out: CurrencyCode,
    ) -> Result<RouteView, Error> {
        let get = GetRouteByXml {
            xml_in,
            xml_out,
            lang: Some(self.shared.lang),
        };
        Ok(self.call(&get).await?.data)
    }

    /// Sends any API call: the typed escape hatch for calls this crate does not
    /// wrap. Implement [`ApiCall`] for a serde type (its `PATH`, whether it is
    /// `IDEMPOTENT`, its `Output`, its form encoding) and call it.
    ///
    /// ```
    /// use serde::Serialize;
    /// use smartex_core::form::FormWriter;
    /// use smartex_core::request::ApiCall;
    ///
    /// /// `public/exchanger/currency/get` (an example; not a documented method).
    /// #[derive(Serialize)]
    /// struct Currencies {
    ///     #[serde(rename = "onlyActive")]
    ///     only_active: bool,
    /// }
    ///
    /// impl ApiCall for Currencies {
    ///     const PATH: &'static str = "public/exchanger/currency/get";
    ///     const IDEMPOTENT: bool = true;
    ///     type Output = serde_json::Value;
    ///     fn write_form(&self, form: &mut FormWriter) {
    ///         form.field("onlyActive", if self.only_active { "true" } else { "false" });
    ///     }
    /// }
    ///
    /// # async fn demo<T: smartex_http::Transport>(client: smartex_http::Client<T>) -> Result<(), smartex_http::Error> {
    /// let reply = client.call(&Currencies { only_active: true }).await?;
    /// println!("{} (request {:?})", reply.data, reply.request_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn call<M: ApiCall>(&self, method: &M) -> Result<Reply<M::Output>, Error> {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument as _;
            let span = tracing::info_span!(
                "smartex.call",
                path = M::PATH,
                request_id = tracing::field::Empty,
                http_status = tracing::field::Empty,
                attempts = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
                server_latency_ms = tracing::field::Empty,
                error = tracing::field::Empty,
            );
            let started = std::time::Instant::now();
            let result = self.call_inner(method).instrument(span.clone()).await;
            let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            span.record("latency_ms", latency);
            match &result {
                Ok(reply) => {
                    if let Some(id) = &reply.request_id {
                        span.record("request_id", id.as_str());
                    }
                    span.record("http_status", reply.http_status);
                    span.record("attempts", reply.attempts);
                    if let Some(ms) = reply.latency_ms {
                        span.record("server_latency_ms", ms);
                    }
                    span.in_scope(|| tracing::debug!("call succeeded"));
                }
                Err(e) => {
                    if let Some(id) = e.request_id() {
                        span.record("request_id", id);
                    }
                    if let Some(status) = e.http_status() {
                        span.record("http_status", status);
                    }
                    span.record("attempts", e.attempts());
                    span.record("error", tracing::field::debug(e.kind()));
                    span.in_scope(|| tracing::warn!(error = %e, "call failed"));
                }
            }
            result
        }
        #[cfg(not(feature = "tracing"))]
        {
            self.call_inner(method).await
        }
    }

    fn verb_for(&self, path: &str) -> Verb {
        self.shared
            .verbs
            .iter()
            .find(|(p, _)| p == path)
            .map_or(self.shared.default_verb, |(_, v)| *v)
    }

    async fn call_inner<M: ApiCall>(&self, method: &M) -> Result<Reply<M::Output>, Error> {
        let s = &*self.shared;
        let verb = self.verb_for(M::PATH);
        let encoding = if verb.has_body() {
            s.encoding
        } else {
            Encoding::Form
        };
        // Serialized once; each attempt's authorizer signs (a copy of) these
        // parameters, putting its fresh nonce in.
        let params = match encoding {
            Encoding::Json => method.to_json(),
            Encoding::Form => method.to_form(),
        };
        let mut url = String::with_capacity(s.api_root.len() + M::PATH.len() + 1);
        url.push_str(&s.api_root);
        url.push_str(M::PATH);
        if s.trailing_slash {
            url.push('/');
        }

        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            // `None`: a timeout too large for the clock, which is no limit.
            let deadline = tokio::time::Instant::now().checked_add(s.timeout);
            let sent = match self
                .attempt::<M>(verb, encoding, &params, &url, deadline)
                .await
            {
                Err(refused_before_sending) => {
                    return Err(refused_before_sending.with_attempts(attempt));
                }
                Ok(sent) => sent,
            };
            let may_retry = M::IDEMPOTENT && attempt <= s.retry.max_retries;
            let response = match sent {
                None => {
                    return Err(
                        Error::timeout(M::PATH, s.timeout, M::IDEMPOTENT).with_attempts(attempt)
                    );
                }
                Some(Err(e)) => {
                    let retryable = matches!(
                        e.kind(),
                        TransportErrorKind::Connect
                            | TransportErrorKind::Connection
                            | TransportErrorKind::Other
                    );
                    if may_retry && retryable {
                        tokio::time::sleep(backoff(&s.retry, attempt, None)).await;
                        continue;
                    }
                    return Err(Error::transport(M::PATH, e, M::IDEMPOTENT).with_attempts(attempt));
                }
                Some(Ok(response)) => response,
            };
            if response.body.len() > s.max_response_bytes {
                return Err(Error::transport(
                    M::PATH,
                    crate::transport::TransportError::body_too_large(s.max_response_bytes),
                    M::IDEMPOTENT,
                )
                .with_attempts(attempt));
            }
            if may_retry && matches!(response.status, 429 | 502 | 503 | 504) {
                // The anti-flood envelope's own wait wins over the header; a
                // wait past the policy is the caller's (see below).
                let asked = anti_flood_wait(&response.body);
                if asked.is_some_and(|wait| wait > s.retry.max_delay) {
                    return finish::<M>(response, attempt);
                }
                let retry_after = asked.or_else(|| {
                    response
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                });
                tokio::time::sleep(backoff(&s.retry, attempt, retry_after)).await;
                continue;
            }
            let outcome = finish::<M>(response, attempt);
            // A stale nonce: nothing was done (see `NonceRefusal`); a fresh
            // nonce may pass.
            if let Err(e) = &outcome
                && attempt <= s.retry.max_retries
                && (M::IDEMPOTENT || s.nonce_refusal.retries_create())
                && e.kind() == ErrorKind::Api
                && e.api().is_some_and(|api| s.nonce_refusal.matches(api))
            {
                tokio::time::sleep(backoff(&s.retry, attempt, None)).await;
                continue;
            }
            // The anti-flood guard: a read waits as long as the platform asked
            // and tries again, if that wait fits the policy; a wait it cannot
            // afford, or a call that is not idempotent, is the caller's.
            if let Err(e) = &outcome
                && may_retry
                && e.kind() == ErrorKind::RateLimited
            {
                let wait = e
                    .retry_after()
                    .unwrap_or_else(|| backoff(&s.retry, attempt, None));
                if wait <= s.retry.max_delay {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return outcome;
        }
    }

    /// One attempt, sent by `deadline`: for a keyed scheme with a send lane,
    /// waits for the key's turn, issues the nonce, signs and sends, and ends
    /// the turn when the answer is in; otherwise signs and sends.
    ///
    /// `Err` is a refusal before anything was sent (a lane wait that ran out
    /// of time included); `Ok(None)`, a request sent and not answered by the
    /// deadline; `Ok(Some(_))`, what the transport made of it. Ending the turn
    /// is not under the deadline: an answer already in is never thrown away
    /// for a slow unlock or commit.
    async fn attempt<M: ApiCall>(
        &self,
        verb: Verb,
        encoding: Encoding,
        params: &str,
        url: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Option<Result<HttpResponse, crate::transport::TransportError>>, Error> {
        let s = &*self.shared;
        let lane = s
            .authorizer
            .as_deref()
            .and_then(|a| Some((a, a.nonce_lane()?)));
        let Some((authorizer, lane)) = lane else {
            let request = self.prepare::<M>(verb, encoding, params, url, s.clock.now(), None)?;
            return Ok(within(deadline, s.transport.send(request)).await.ok());
        };
        let waited_too_long = || Error::lane_timeout(M::PATH, s.timeout);
        let mut lease = within(deadline, lane.source.acquire(lane.key, lane.unit))
            .await
            .map_err(|_elapsed| waited_too_long())?
            .map_err(|e| Error::nonce(M::PATH, e))?;
        // A turn that comes with less than half the attempt's time left is
        // given back unused: sending with a sliver of time would turn a wait
        // in the queue into a timeout after sending — for `create_order`, an
        // ambiguous order — where not sending is a clean, retryable failure.
        let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        if left.is_some_and(|left| left < s.timeout / 2) {
            let _ = tokio::time::timeout(s.timeout, lease.release()).await;
            return Err(waited_too_long());
        }
        let now = s.clock.now();
        let issued = within(deadline, lease.issue(authorizer.nonce_candidate(now), now))
            .await
            .map_err(|_elapsed| waited_too_long())?;
        let nonce = match issued {
            Ok(nonce) => nonce,
            Err(e) => {
                let _ = tokio::time::timeout(s.timeout, lease.release()).await;
                return Err(Error::nonce(M::PATH, e));
            }
        };
        let request = match self.prepare::<M>(verb, encoding, params, url, now, Some(nonce)) {
            Ok(request) => request,
            Err(e) => {
                let _ = tokio::time::timeout(s.timeout, lease.release()).await;
                return Err(e);
            }
        };
        let response = within(deadline, s.transport.send(request)).await.ok();
        // The request is written and answered (or given up on): the next
        // call may take its turn. Ending it has a bound of its own (a hung
        // database must not hang the call; a lease dropped unfinished gives
        // the turn up with its connection), and a source that fails to end
        // the turn cleanly has already given it up the same way.
        let _ = tokio::time::timeout(s.timeout, lease.release()).await;
        Ok(response)
    }

    /// One attempt's request at `now`: headers, authorization (with the
    /// lane's `nonce`, if any), URL and body.
    fn prepare<M: ApiCall>(
        &self,
        verb: Verb,
        encoding: Encoding,
        params: &str,
        url: &str,
        now: UnixMillis,
        nonce: Option<u64>,
    ) -> Result<HttpRequest, Error> {
        let s = &*self.shared;
        let mut headers: Vec<(Cow<'static, str>, String)> = Vec::with_capacity(7);
        headers.push((Cow::Borrowed("user-agent"), s.user_agent.clone()));
        headers.push((Cow::Borrowed("accept"), String::from("application/json")));
        headers.push((Cow::Borrowed("lang"), String::from(s.lang.as_str())));
        if verb.has_body() {
            headers.push((
                Cow::Borrowed("content-type"),
                String::from(encoding.content_type()),
            ));
        }
        let params = match &s.authorizer {
            Some(authorizer) => {
                let mut unsigned = CallToSign {
                    path: M::PATH,
                    verb,
                    encoding,
                    params: params.to_owned(),
                    headers: &mut headers,
                    now,
                };
                match nonce {
                    Some(nonce) => authorizer.authorize_with_nonce(&mut unsigned, nonce),
                    None => authorizer.authorize(&mut unsigned),
                }
                .map_err(|e| Error::auth(M::PATH, e))?;
                unsigned.params
            }
            None => params.to_owned(),
        };
        let (url, body) = if verb.has_body() {
            (url.to_owned(), params.into_bytes())
        } else if params.is_empty() {
            (url.to_owned(), Vec::new())
        } else {
            (format!("{url}?{params}"), Vec::new())
        };
        Ok(HttpRequest {
            verb,
            url,
            headers,
            body,
            max_response_bytes: s.max_response_bytes,
            path: M::PATH,
            idempotent: M::IDEMPOTENT,
        })
    }
}

/// The wait an anti-flood error envelope asks for, if `body` is one.
fn anti_flood_wait(body: &[u8]) -> Option<Duration> {
    let decoded = response::decode::<serde::de::IgnoredAny>(body).ok()?;
    decoded.result.err().and_then(|e| e.retry_after)
}

/// Decodes a final response into the reply or the right error.
/// `future`, unless `deadline` passes first (`Err`); no deadline, no limit.
async fn within<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    future: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await,
        None => Ok(future.await),
    }
}

fn finish<M: ApiCall>(response: HttpResponse, attempts: u32) -> Result<Reply<M::Output>, Error> {
    let status = response.status;
    match response::decode::<M::Output>(&response.body) {
        Ok(decoded) => match decoded.result {
            Ok(data) => Ok(Reply {
                data,
                request_id: decoded.request_id,
                latency_ms: decoded.latency_ms,
                http_status: status,
                attempts,
            }),
            Err(api) => {
                let err = Error::from_api(M::PATH, status, api)
                    .with_request_id(decoded.request_id)
                    .with_attempts(attempts);
                // A refusal that came with a server error on a call that is
                // not idempotent (an error handler answering after the work
                // was done) proves nothing: as ambiguous as a bare 5xx. A
                // 503 is the service refusing the call; maintenance is a
                // refusal in any status.
                if !M::IDEMPOTENT
                    && (500..600).contains(&status)
                    && status != 503
                    && err.kind() == ErrorKind::Api
                {
                    Err(err.into_ambiguous())
                } else {
                    Err(err)
                }
            }
        },
        Err(_) if !response.is_success() => {
            // A server or gateway error on a call that is not idempotent: the
            // platform may have done the work before failing (the sandbox's
            // "500 after creating" fault is exactly that). Only 503 — the
            // service refusing to take the call at all — is a plain error.
            let kind = if !M::IDEMPOTENT && (500..600).contains(&status) && status != 503 {
                ErrorKind::Ambiguous
            } else {
                ErrorKind::HttpStatus
            };
            let excerpt = response::excerpt(&response.body);
            Err(Error::http(kind, M::PATH, status, Some(excerpt)).with_attempts(attempts))
        }
        // A success status with a body that is not the envelope: for a call that
        // is not idempotent, the work was probably done and its answer lost.
        // If the envelope says success and names the order, its uid and
        // secret go with the error: the order exists and must not be lost.
        Err(e) if !M::IDEMPOTENT => Err(Error::decode(M::PATH, status, e)
            .with_kind(ErrorKind::Ambiguous)
            .with_order(response::salvage_order_identity(&response.body))
            .with_attempts(attempts)),
        Err(e) => Err(Error::decode(M::PATH, status, e).with_attempts(attempts)),
    }
}

/// The delay before retry number `attempt` (1-based): equal jitter over an
/// exponential backoff, or the server's `Retry-After`, capped.
pub(crate) fn backoff(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(after) = retry_after {
        return after.min(policy.max_delay);
    }
    let exp = policy.base_delay.saturating_mul(
        1u32.checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX),
    );
    let cap = exp.min(policy.max_delay);
    let half = cap / 2;
    let span = u64::try_from((cap - half).as_nanos()).unwrap_or(u64::MAX);
    // Without randomness, the whole cap: never sooner than the policy allows.
    let jitter = random_u64().map_or(span, |r| r % span.saturating_add(1));
    half + Duration::from_nanos(jitter)
}

/// A random number to spread retries and polls apart, from the operating
/// system (`getrandom`: the workspace's one source of randomness, no
/// generator of our own to seed). `None` if it is unavailable: the caller
/// then does without jitter.
pub(crate) fn random_u64() -> Option<u64> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes))
}

#[cfg(test)]
// Tests may panic on failure: that is how they fail.
#[allow(clippy::panic)]
mod tests {
    use std::time::Duration;

    use super::{backoff, random_u64};
    use crate::config::RetryPolicy;

    #[test]
    fn backoff_doubles_with_equal_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let full = Duration::from_millis(full);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let d = backoff(&policy, attempt, None);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} not in [{:?}, {full:?}]",
                    full / 2
                );
                seen.insert(d);
            }
            assert!(seen.len() > 100, "jittered: {} distinct delays", seen.len());
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(3600))),
            policy.max_delay
        );
    }

    #[test]
    fn random_numbers_differ() {
        let a: std::collections::HashSet<Option<u64>> = (0..1000).map(|_| random_u64()).collect();
        assert!(!a.contains(&None));
        assert_eq!(a.len(), 1000);
    }
}

/// The `tracing` spans. A unit test (its own test binary) rather than an
/// integration test: tracing caches each call site's interest process-wide,
/// and concurrent tests without a subscriber could race with this one's.
#[cfg(all(test, feature = "tracing"))]
#[allow(clippy::unwrap_used, clippy::panic)]
mod span_tests {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use smartex_core::request::OrderViewKind;
    use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderUid};

    use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};
    use crate::{ApiKeyAuth, ClientBuilder};

    const ORDER_SECRET: &str = "dGqwF2M2eBPaSN1G5ljMS1cb";
    const API_SECRET: &str = "97aab8410868ba7c1824f490999607c0ce46a3de";

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Answers an order, then `{}`, then the maintenance error.
    #[derive(Default)]
    struct Platform(AtomicUsize);

    impl Transport for Platform {
        async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            let body = match self.0.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    r#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"status":"new"}},"latency_ms":4,"requestId":"span-ok"}"#
                }
                1 => r#"{"success":true,"data":{},"requestId":"span-ok-2"}"#,
                _ => {
                    r#"{"success":false,"error":{"message":"Technical works","errorCode":5555555555555555},"requestId":"span-maintenance"}"#
                }
            };
            Ok(HttpResponse::new(200, vec![], body.as_bytes().to_vec()))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn spans_name_the_call_and_hold_no_secret() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let auth = ApiKeyAuth::new(
            ApiKey::new("EF04794F718A3FC8C6DFA0B").unwrap(),
            ApiSecret::new(API_SECRET).unwrap(),
        );
        let client = ClientBuilder::new("https://www.smartexpay.com")
            .api_key(auth)
            .reads_with_get()
            .build_with(Platform::default())
            .unwrap();
        let secret = OrderSecret::new(ORDER_SECRET).unwrap();
        let uid = OrderUid::new(1409).unwrap();
        client
            .get_order(uid, &secret, OrderViewKind::Order)
            .await
            .unwrap();
        client.mark_paid(uid, &secret).await.unwrap();
        client
            .get_order(uid, &secret, OrderViewKind::Order)
            .await
            .unwrap_err();

        let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 3, "one event per call: {log}");
        let ok = lines[0];
        for part in [
            "smartex.call{",
            "path=\"public/exchanger/order/get\"",
            "request_id=\"span-ok\"",
            "http_status=200",
            "attempts=1",
            "latency_ms=",
            "server_latency_ms=4",
            "call succeeded",
        ] {
            assert!(ok.contains(part), "{part} in {ok}");
        }
        assert!(
            lines[1].contains("path=\"public/exchanger/order/update-status\""),
            "{log}"
        );
        let failed = lines[2];
        for part in [
            "WARN",
            "request_id=\"span-maintenance\"",
            "error=Maintenance",
            "under maintenance",
        ] {
            assert!(failed.contains(part), "{part} in {failed}");
        }
        for secret in [ORDER_SECRET, API_SECRET, "orderSecret", "hash", "https://"] {
            assert!(!log.contains(secret), "{secret} leaked into the log: {log}");
        }
    }
}
