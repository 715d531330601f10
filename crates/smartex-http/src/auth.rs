//! Authorization: none, the platform's API-key scheme ([`ApiKeyAuth`]), or the
//! merchant's own [`Authorizer`].
//!
//! An authorizer sees each attempt's parameters as text before they are sent,
//! may rewrite them (the API-key scheme puts its `time` nonce first) and adds
//! headers (`apikey`, `hash`). What it leaves in [`CallToSign::params`] is sent
//! byte for byte — as the body of a `POST`/`PUT`, or as the query string of a
//! `GET`. The API-key scheme signs what the platform's server hashes from
//! those bytes once parsed (see [`ApiKeyAuth`]).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use smartex_core::auth::{
    express_signature, form_with_time, json_with_time, next_nonce, request_signature,
};
use smartex_core::js::{Body, restringify_json};
use smartex_core::time::UnixMillis;
use smartex_core::{ApiKey, ApiSecret};

use crate::config::Encoding;
use crate::nonce::{InProcessNonces, NonceSource};
use crate::transport::Verb;

/// One attempt's parameters and headers, before they are sent.
///
/// Its `Debug` shows the path, verb, encoding, the parameters' length and
/// the header names: the parameters hold the order secret (and, for
/// `order/create`, the IPN secret), and header values may hold credentials.
pub struct CallToSign<'a> {
    pub(crate) path: &'static str,
    pub(crate) verb: Verb,
    pub(crate) encoding: Encoding,
    pub(crate) params: String,
    pub(crate) headers: &'a mut Vec<(Cow<'static, str>, String)>,
    pub(crate) now: UnixMillis,
}

impl std::fmt::Debug for CallToSign<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_ref()).collect();
        f.debug_struct("CallToSign")
            .field("path", &self.path)
            .field("verb", &self.verb)
            .field("encoding", &self.encoding)
            .field("params_len", &self.params.len())
            .field("headers", &header_names)
            .finish_non_exhaustive()
    }
}

impl CallToSign<'_> {
    /// The API call's path (`public/exchanger/order/create`).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The verb; with [`Verb::Get`] the parameters become the query string.
    pub fn verb(&self) -> Verb {
        self.verb
    }

    /// How [`params`](Self::params) are encoded: [`Encoding::Json`] (a JSON
    /// object's text) or [`Encoding::Form`] (`a=1&b[0][c]=2`). A `GET` is always
    /// `Form`.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The instant of this attempt on the client's clock
    /// ([`ClientBuilder::clock`](crate::ClientBuilder::clock)): what a
    /// scheme with a time in its signature reads instead of a clock of its own.
    pub fn now(&self) -> UnixMillis {
        self.now
    }

    /// The parameters exactly as they will be sent.
    pub fn params(&self) -> &str {
        &self.params
    }

    /// Replaces the parameters (they must stay in [`encoding`](Self::encoding)).
    pub fn set_params(&mut self, params: String) {
        self.params = params;
    }

    /// Adds a header. Its name must be a valid lowercase header name and its value
    /// printable ASCII, or the transport refuses the request.
    pub fn add_header(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }
}

/// An authorization scheme: called once per attempt (each retry is signed
/// anew), just before the request is sent.
///
/// ```
/// use smartex_http::auth::{AuthError, Authorizer, CallToSign};
///
/// /// A bearer token in front of the platform (a gateway of the merchant's own).
/// struct Bearer(String);
///
/// impl Authorizer for Bearer {
///     fn authorize(&self, request: &mut CallToSign<'_>) -> Result<(), AuthError> {
///         request.add_header("authorization", format!("Bearer {}", self.0));
///         Ok(())
///     }
/// }
/// ```
///
/// The call is synchronous: a scheme that must fetch a token asynchronously
/// belongs in a [`Transport`](crate::Transport) wrapper instead.
pub trait Authorizer: Send + Sync {
    /// Signs one attempt: rewrites its parameters and/or adds headers.
    ///
    /// # Errors
    /// An [`AuthError`]; the call then fails with
    /// [`ErrorKind::Auth`](crate::ErrorKind::Auth) and nothing is sent.
    fn authorize(&self, request: &mut CallToSign<'_>) -> Result<(), AuthError>;

    /// A name for `Debug` output (never the credentials).
    fn name(&self) -> &'static str {
        "custom"
    }

    /// For a scheme with a per-key nonce: the key's send lane. When it is
    /// `Some`, the client takes the key's turn from the lane's source before
    /// each attempt, issues the nonce (at least
    /// [`nonce_candidate`](Self::nonce_candidate)), signs with
    /// [`authorize_with_nonce`](Self::authorize_with_nonce), sends, and ends
    /// the turn once the answer is in. `None` (the default): the client calls
    /// [`authorize`](Self::authorize) and sends at once.
    fn nonce_lane(&self) -> Option<NonceLane<'_>> {
        None
    }

    /// The smallest nonce this scheme would issue at `now` (the client's
    /// clock); the lane's source makes it greater than the key's last nonce.
    fn nonce_candidate(&self, now: UnixMillis) -> u64 {
        let _ = now;
        0
    }

    /// Signs one attempt with `nonce`, issued from the [lane](Self::nonce_lane).
    ///
    /// # Errors
    /// As [`authorize`](Self::authorize).
    fn authorize_with_nonce(
        &self,
        request: &mut CallToSign<'_>,
        nonce: u64,
    ) -> Result<(), AuthError> {
        let _ = nonce;
        self.authorize(request)
    }
}

/// A key's send lane: where its turns and nonces come from
/// ([`Authorizer::nonce_lane`]).
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct NonceLane<'a> {
    /// The source handing out the key's turns.
    pub source: &'a dyn NonceSource,
    /// The key.
    pub key: &'a ApiKey,
    /// The key's configured nonce unit.
    pub unit: NonceUnit,
}

impl<'a> NonceLane<'a> {
    /// The lane of `key` in `source`, with nonces in `unit`.
    pub fn new(source: &'a dyn NonceSource, key: &'a ApiKey, unit: NonceUnit) -> Self {
        Self { source, key, unit }
    }
}

impl std::fmt::Debug for NonceLane<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceLane")
            .field("source", &self.source.name())
            .field("key", &self.key)
            .field("unit", &self.unit)
            .finish()
    }
}

/// An authorizer's failure. Its message must not contain a credential.
#[derive(Debug, thiserror::Error)]
#[error("authorization failed: {message}")]
pub struct AuthError {
    message: Cow<'static, str>,
}

impl AuthError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The unit of the `time` nonce of [`ApiKeyAuth`] (milliseconds by default):
/// the core's, shared with the stores that remember a key's last nonce.
pub use smartex_core::auth::NonceUnit;

/// `Number.MAX_SAFE_INTEGER`: the largest `time` nonce [`ApiKeyAuth`] sends
/// (the platform's server holds it in a JavaScript number).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The platform's API-key scheme.
///
/// Every attempt gets a fresh `time` nonce, put first among the parameters;
/// then `hash = sha256_hex(sha256_hex(params) + secret)`, where `params` is
/// `JSON.stringify({...req.query, ...req.body})` as the platform's Express
/// server computes it from what it parsed
/// ([`smartex_core::auth::express_signature`]), and the
/// headers `apikey: <key>` and `hash: <hash>`:
///
/// ```text
/// POST /service/api/v1/public/exchanger/order/get/
/// apikey: EF04794F718A3FC8C6DFA0B
/// hash: 0b6c…
///
/// {"time":1742774343407,"orderUID":1409,"orderSecret":"…","type":"order"}
/// ```
///
/// The nonce is `max(clock, last + 1)`: strictly increasing and never repeated
/// for the key, and never decreasing if the system clock steps back.
///
/// **The send lane.** The platform checks nonces in the order requests
/// *arrive*. A client with this scheme takes the key's turn from its
/// [`NonceSource`] before each attempt and holds it until the attempt's answer
/// is in, so one call of the key is on the wire at a time and issue order is
/// arrival order (see [`crate::nonce`]). Share one `ApiKeyAuth` (clone it)
/// between all clients that use the same key: the clones share the lane.
/// Separate processes with the same key share a store-backed source
/// ([`nonce_source`](Self::nonce_source)), or use one key each.
/// [`unordered`](Self::unordered) turns the lane off.
///
/// - A JSON body is sent as JavaScript writes it back
///   (`JSON.stringify(JSON.parse(body))`: `2.10` → `2.1`, `1E-7` → `1e-7`), so
///   the bytes sent are the bytes hashed.
/// - A form body (`POST`/`PUT` with [`Encoding::Form`]) or a `GET` query string
///   is sent as written; the hash is over the JSON of what `qs` makes of it,
///   every value a string: `{"time":"1742774343407","orderUID":"1409",…}`.
#[derive(Clone)]
pub struct ApiKeyAuth {
    key: ApiKey,
    secret: ApiSecret,
    unit: NonceUnit,
    last: Arc<AtomicU64>,
    source: Option<Arc<dyn NonceSource>>,
}

impl std::fmt::Debug for ApiKeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyAuth")
            .field("key", &self.key)
            .field("secret", &self.secret)
            .field("unit", &self.unit)
            .field("lane", &self.source.as_ref().map(|s| s.name()))
            .finish_non_exhaustive()
    }
}

impl ApiKeyAuth {
    /// The key and secret from the merchant's profile; nonces in milliseconds.
    pub fn new(key: ApiKey, secret: ApiSecret) -> Self {
        Self {
            key,
            secret,
            unit: NonceUnit::Millis,
            last: Arc::new(AtomicU64::new(0)),
            source: Some(Arc::new(InProcessNonces::new())),
        }
    }

    /// Takes the key's turns and last nonce from `source` instead of this
    /// process's own lane: a store-backed source shared by every process
    /// using the key. Clones made afterwards share it.
    pub fn nonce_source(mut self, source: Arc<dyn NonceSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// No send lane: concurrent calls of the key are signed and sent at
    /// once, their nonces still strictly increasing in issue order. Only for
    /// a server that does not refuse a nonce arriving after a greater one (or
    /// to measure what the lane costs): the platform refuses it.
    pub fn unordered(mut self) -> Self {
        self.source = None;
        self
    }

    /// The unit of the `time` nonce (default [`NonceUnit::Millis`]).
    pub fn unit(mut self, unit: NonceUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Starts the nonce above `last`: for a key whose nonces were issued
    /// elsewhere (a previous process) with a clock that may be behind.
    pub fn resume_after(self, last: u64) -> Self {
        self.last.fetch_max(last, Ordering::AcqRel);
        self
    }

    /// The API key.
    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    /// The last nonce issued, if any.
    pub fn last_nonce(&self) -> Option<u64> {
        match self.last.load(Ordering::Acquire) {
            0 => None,
            n => Some(n),
        }
    }

    /// The next nonce of this `ApiKeyAuth` and its clones at `now`, outside
    /// any lane: `max(now in the key's unit, last + 1)`, recorded atomically.
    /// (A client with a lane issues its nonces from the lane's source; either
    /// way the time comes from the client's clock, `ClientBuilder::clock`.)
    pub fn next_nonce(&self, now: UnixMillis) -> u64 {
        let now = self.unit.count(now);
        let mut last = self.last.load(Ordering::Acquire);
        loop {
            let next = next_nonce(now, (last != 0).then_some(last));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }
}

impl ApiKeyAuth {
    /// Signs `request` with the nonce `time`.
    fn sign(&self, request: &mut CallToSign<'_>, time: u64) -> Result<(), AuthError> {
        if time > MAX_SAFE_INTEGER {
            // The server reads `time` into a JavaScript number: above 2^53 − 1
            // neighbouring nonces become the same number, a repeated nonce.
            return Err(AuthError::new(
                "the time nonce is above 2^53 - 1, which the platform's server cannot hold exactly",
            ));
        }
        let refused = |e: smartex_core::Error| {
            AuthError::new(format!(
                "the parameters are not what the platform's server can parse: {e}"
            ))
        };
        let (params, hash) = match (request.verb.has_body(), request.encoding) {
            (true, Encoding::Json) => {
                // Sent as the server writes it back: then what is hashed is
                // what is sent, and no number's spelling can differ.
                let body =
                    restringify_json(&json_with_time(&request.params, time)).map_err(refused)?;
                // A fixed point of JSON.stringify(JSON.parse(·)), an object:
                // exactly the text the server hashes.
                (
                    body.clone(),
                    request_signature(body.as_bytes(), &self.secret),
                )
            }
            (true, Encoding::Form) => {
                let body = form_with_time(&request.params, time);
                let hash = express_signature(None, Body::Form(body.as_bytes()), &self.secret)
                    .map_err(refused)?;
                (body, hash)
            }
            (false, _) => {
                let query = form_with_time(&request.params, time);
                let hash =
                    express_signature(Some(&query), Body::None, &self.secret).map_err(refused)?;
                (query, hash)
            }
        };
        request.params = params;
        request.add_header("apikey", self.key.as_str().to_owned());
        request.add_header("hash", hash.as_str().to_owned());
        Ok(())
    }
}

impl Authorizer for ApiKeyAuth {
    fn authorize(&self, request: &mut CallToSign<'_>) -> Result<(), AuthError> {
        let time = self.next_nonce(request.now);
        self.sign(request, time)
    }

    fn name(&self) -> &'static str {
        "api-key"
    }

    fn nonce_lane(&self) -> Option<NonceLane<'_>> {
        self.source
            .as_deref()
            .map(|source| NonceLane::new(source, &self.key, self.unit))
    }

    fn nonce_candidate(&self, now: UnixMillis) -> u64 {
        // Above whatever this process issued (or was told to resume after),
        // whatever the source remembers.
        let last = self.last.load(Ordering::Acquire);
        next_nonce(self.unit.count(now), (last != 0).then_some(last))
    }

    fn authorize_with_nonce(
        &self,
        request: &mut CallToSign<'_>,
        nonce: u64,
    ) -> Result<(), AuthError> {
        self.last.fetch_max(nonce, Ordering::AcqRel);
        self.sign(request, nonce)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::CallToSign;
    use crate::config::Encoding;
    use crate::transport::Verb;

    #[test]
    fn debug_shows_neither_parameters_nor_header_values() {
        let mut headers = vec![(Cow::Borrowed("lang"), String::from("en"))];
        let mut unsigned = CallToSign {
            path: "public/exchanger/order/create",
            verb: Verb::Post,
            encoding: Encoding::Json,
            params: String::from(r#"{"orderSecret":"SECRET-ORDER","ipnSecret":"SECRET-IPN"}"#),
            headers: &mut headers,
            now: smartex_core::time::UnixMillis::from_millis(0),
        };
        unsigned.add_header("authorization", "Bearer SECRET-TOKEN");
        let debug = format!("{unsigned:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        for part in [
            "order/create",
            "Post",
            "Json",
            "authorization",
            "params_len",
        ] {
            assert!(debug.contains(part), "{part} in {debug}");
        }
    }
}
