//! Configuration: [`ClientBuilder`], the request [`Encoding`], the
//! [`RetryPolicy`].

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use smartex_core::Lang;
use smartex_core::pages::Site;
use smartex_core::time::{Clock, UnixMillis};

use crate::auth::{ApiKeyAuth, Authorizer};
use crate::client::{Client, Shared};
use crate::error::Error;
use crate::transport::{Transport, Verb};

/// Default whole-request timeout of one attempt: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body: 8 MiB (the route list is the largest
/// response; it is far smaller).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// The `User-Agent` the client sends unless told otherwise: `smartex/<version>`.
pub const USER_AGENT: &str = concat!("smartex/", env!("CARGO_PKG_VERSION"));

/// The read methods of the platform: [`ClientBuilder::reads_with_get`] sends
/// them with `GET`.
pub const READ_METHODS: [&str; 4] = [
    "public/exchanger/order/get",
    "public/exchanger/route/get",
    "public/exchanger/route/get/one",
    "public/exchanger/route/get/one/by-xml",
];

/// How the parameters of a `POST`/`PUT` are encoded. (`GET` always puts them in
/// the query string in the bracket form encoding.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// `application/json` — what the platform's own web app sends. The default.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded` with the docs' bracket notation
    /// (`toValues[0][key]=wallet`).
    Form,
}

impl Encoding {
    /// The `Content-Type` of a body in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// When and how often to repeat a call that failed on the way.
///
/// Only methods whose [`IDEMPOTENT`](smartex_core::request::ApiCall::IDEMPOTENT)
/// is `true` are ever retried, and only after a connection error (the
/// connection could not be made, or broke before the response came) or an
/// HTTP `429`, `502`, `503` or `504`. `create_order` is never retried: a repeat
/// could create a second order. A timeout is not retried either (the server
/// may still be working on the first attempt).
///
/// The platform's anti-flood answer (code `5030000`) is retried for reads
/// too, after the wait the platform asked for (or the backoff below if it
/// named none) — but only if that wait is at most `max_delay`: a longer wait is
/// returned to the caller as [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited)
/// with [`Error::retry_after`](crate::Error::retry_after), since retrying
/// sooner than asked would only be refused again.
///
/// A refusal of the `time` nonce ([`NonceRefusal`]) is re-signed and retried
/// within the same `max_retries`, after the same backoff.
///
/// The delay before retry `n` (from 1) is drawn uniformly from
/// `[d/2, d]` where `d = min(max_delay, base_delay · 2^(n-1))` ("equal
/// jitter"), or the server's `Retry-After` (in seconds, capped at `max_delay`)
/// when it sends one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a call may be repeated after the first attempt (default 2).
    pub max_retries: u32,
    /// The first delay (default 200 ms).
    pub base_delay: Duration,
    /// The longest delay (default 5 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
}

/// Which refusals of the platform say "this `time` nonce is not greater than
/// the last one of the key" — a refusal a fresh nonce can fix.
///
/// Such a refusal is re-signed with a new nonce and sent again (within the
/// [retry policy](RetryPolicy)'s `max_retries`, after its backoff, each
/// attempt within the client's timeout) for every read and for
/// `update-status`: the platform checked the nonce and did nothing else.
///
/// `create_order` too, by default ([`retry_create`](Self::retry_create)): the
/// nonce is the platform's protection against replayed requests, which works
/// only if it is checked *before* the method runs — a check after the order
/// was created would let every replay create one. So a well-formed refusal
/// envelope matching a rule (never a 5xx, a timeout or an unreadable answer,
/// which stay [`Ambiguous`](crate::ErrorKind::Ambiguous)) proves that nothing
/// was created. The sandbox checks the key (hash, then nonce) before any
/// method. Turn it off if the platform ever shows otherwise.
///
/// The default rules: code `40301` (the platform's "unauthorized", the
/// sandbox's nonce refusal) with a message that mentions `time` or `nonce`
/// (the sandbox says `Param time must be greater than in the previous request
/// with this key`). The platform's own wording is not documented
/// (docs/API-NOTES.md); add a rule when it is seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonceRefusal {
    rules: Vec<(Option<String>, String)>,
    retry_create: bool,
}

impl Default for NonceRefusal {
    fn default() -> Self {
        Self {
            rules: vec![
                (Some(String::from("40301")), String::from("time")),
                (Some(String::from("40301")), String::from("nonce")),
            ],
            retry_create: true,
        }
    }
}

impl NonceRefusal {
    /// No refusal is recognised: nothing is retried for its nonce.
    pub fn none() -> Self {
        Self {
            rules: Vec::new(),
            retry_create: false,
        }
    }

    /// Also recognises an error with code `code` (any code if `None`) whose
    /// message contains `message` (compared case-insensitively).
    pub fn rule(mut self, code: Option<&str>, message: &str) -> Self {
        self.rules
            .push((code.map(str::to_owned), message.to_lowercase()));
        self
    }

    /// Whether `create_order` is retried on a recognised refusal (default
    /// yes; see above).
    pub fn retry_create(mut self, on: bool) -> Self {
        self.retry_create = on;
        self
    }

    /// Whether `create_order` is retried on a recognised refusal.
    pub fn retries_create(&self) -> bool {
        self.retry_create
    }

    /// Whether `error` is a refusal of the nonce.
    pub fn matches(&self, error: &smartex_core::response::ApiError) -> bool {
        let message = error.message.to_lowercase();
        self.rules.iter().any(|(code, needle)| {
            code.as_deref()
                .is_none_or(|code| error.code.as_deref() == Some(code))
                && message.contains(needle.as_str())
        })
    }
}

/// Builds a [`Client`]. Made by [`Client::builder`].
///
/// | setting | default |
/// |---|---|
/// | API root | `{site}/service/api/v1/` |
/// | [`trailing_slash`](Self::trailing_slash) after the method path | yes |
/// | [`lang`](Self::lang) (the `Lang` header, the page URLs, route field names) | `en` |
/// | [`encoding`](Self::encoding) | JSON |
/// | [`verb`](Self::verb) | `POST` for every method |
/// | authorization | none (orders are valid but do not show in the cabinet) |
/// | [`timeout`](Self::timeout) per attempt | 30 s |
/// | [`max_response_bytes`](Self::max_response_bytes) | 8 MiB |
/// | [`retry`](Self::retry) | 2 retries, 200 ms → 5 s, reads only |
/// | [`nonce_refusal`](Self::nonce_refusal) | code `40301` mentioning `time`/`nonce`, re-signed and retried |
/// | [`user_agent`](Self::user_agent) | `smartex/<version>` |
#[derive(Clone)]
pub struct ClientBuilder {
    site: String,
    api_root: Option<String>,
    lang: Lang,
    encoding: Encoding,
    default_verb: Verb,
    verbs: Vec<(Cow<'static, str>, Verb)>,
    authorizer: Option<Arc<dyn Authorizer>>,
    timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
    nonce_refusal: NonceRefusal,
    user_agent: String,
    trailing_slash: bool,
    clock: Arc<dyn Clock>,
    allow_plain_http: bool,
}

/// This machine's clock: the client's "now" unless
/// [`ClientBuilder::clock`] says otherwise. The one place this crate reads
/// the system time.
#[derive(Debug)]
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        // A clock set before 1970 reads as the epoch: nonces then step past
        // the last one, and poll windows are only less precise.
        UnixMillis::from(std::time::SystemTime::now())
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("site", &self.site)
            .field("api_root", &self.api_root)
            .field("lang", &self.lang)
            .field("encoding", &self.encoding)
            .field("default_verb", &self.default_verb)
            .field("verbs", &self.verbs)
            .field("authorizer", &self.authorizer.as_ref().map(|a| a.name()))
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("retry", &self.retry)
            .field("trailing_slash", &self.trailing_slash)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Starts configuring a client of `site` (`https://www.smartexpay.com`):
    /// finish with [`build_with`](Self::build_with) (any transport) or
    /// [`build`](Self::build) (the reqwest transport).
    pub fn new(site: &str) -> Self {
        Self {
            site: site.to_owned(),
            api_root: None,
            lang: Lang::EN,
            encoding: Encoding::Json,
            default_verb: Verb::Post,
            verbs: Vec::new(),
            authorizer: None,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
            nonce_refusal: NonceRefusal::default(),
            user_agent: USER_AGENT.to_owned(),
            trailing_slash: true,
            clock: Arc::new(SystemClock),
            allow_plain_http: false,
        }
    }

    /// Allows a plain `http://` site or API root that is not a loopback
    /// host (default: refused when the client is built). Plain HTTP shows
    /// every call to anyone on the path — `order/create` carries the order's
    /// `ipnSecret`, a keyed call the key's hash — so this is for a
    /// deliberate test set-up only; a sandbox on `127.0.0.1` needs no opt-in.
    #[must_use]
    pub fn danger_allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Where "now" comes from (default: the system clock): the `time` nonce
    /// of a key's calls ([`CallToSign::now`](crate::auth::CallToSign::now)) and
    /// the time window of [`watch_order`](crate::Client::watch_order)'s
    /// polls. For tests ([`ManualClock`](smartex_core::time::ManualClock)),
    /// reproducible signatures, or a clock kept in step with the platform's.
    /// Timeouts and waits between polls are tokio's timers, not this clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Overrides the API root (default `{site}/service/api/v1/`). Call paths
    /// are appended to it, so it should end with `/` (one is added if not).
    pub fn api_root(mut self, url: impl Into<String>) -> Self {
        self.api_root = Some(url.into());
        self
    }

    /// Whether method URLs end with `/` (`…/order/get/`, the default, as the
    /// platform's web app calls them) or not (`…/order/get`, as the profile
    /// page's API-key section writes them).
    pub fn trailing_slash(mut self, on: bool) -> Self {
        self.trailing_slash = on;
        self
    }

    /// The language: sent as the `Lang` header, used in page URLs and as
    /// `lang` of the route methods. Default `en`.
    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// The encoding of `POST`/`PUT` bodies. Default [`Encoding::Json`].
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The verb of one method, by path (`public/exchanger/order/get`); the
    /// platform's web app POSTs every method.
    pub fn verb(mut self, method_path: impl Into<Cow<'static, str>>, verb: Verb) -> Self {
        let path = method_path.into();
        self.verbs.retain(|(p, _)| *p != path);
        self.verbs.push((path, verb));
        self
    }

    /// The verb of every method without its own [`verb`](Self::verb). Default `POST`.
    pub fn default_verb(mut self, verb: Verb) -> Self {
        self.default_verb = verb;
        self
    }

    /// Sends the four read methods ([`READ_METHODS`]) with `GET`, parameters
    /// in the query string, as one public client of the platform does.
    pub fn reads_with_get(mut self) -> Self {
        for path in READ_METHODS {
            self = self.verb(path, Verb::Get);
        }
        self
    }

    /// Authorizes calls with the platform's API-key scheme (see [`ApiKeyAuth`]
    /// for the `time` nonce, its unit and the key's send lane). Clients that
    /// share one key should share one `ApiKeyAuth` (clone it), so they share
    /// its lane.
    pub fn api_key(self, auth: ApiKeyAuth) -> Self {
        self.authorizer(auth)
    }

    /// Which refusals are a stale nonce, re-signed and retried
    /// (default [`NonceRefusal::default`]).
    pub fn nonce_refusal(mut self, refusal: NonceRefusal) -> Self {
        self.nonce_refusal = refusal;
        self
    }

    /// Authorizes calls with the merchant's own scheme.
    pub fn authorizer(mut self, authorizer: impl Authorizer + 'static) -> Self {
        self.authorizer = Some(Arc::new(authorizer));
        self
    }

    /// No authorization (the default): orders are valid but do not appear in the
    /// merchant's cabinet.
    pub fn no_authorization(mut self) -> Self {
        self.authorizer = None;
        self
    }

    /// The whole-request timeout of each attempt, applied by the client around
    /// the transport. Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The cap on a response body; a larger body fails the call. Default 8 MiB.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// The retry policy. Default: [`RetryPolicy::default`].
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The `User-Agent` header. Default [`USER_AGENT`].
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client over `transport`.
    ///
    /// # Errors
    /// [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) if the site URL or the
    /// API root is not an absolute http(s) URL.
    pub fn build_with<T: Transport>(self, transport: T) -> Result<Client<T>, Error> {
        let site = Site::new(&self.site).map_err(|e| Error::invalid("", e))?;
        let api_root = match self.api_root {
            Some(root) => {
                // Checked like a site URL; the trailing slash is ours to add.
                let checked = Site::new(&root).map_err(|e| Error::invalid("", e))?;
                format!("{}/", checked.as_str())
            }
            None => site.api_root(),
        };
        if !self.allow_plain_http {
            // Keyed calls carry the key's hash, order/create the ipnSecret.
            smartex_core::pages::check_secure("site", site.as_str())
                .and_then(|()| smartex_core::pages::check_secure("api root", &api_root))
                .map_err(|e| Error::invalid("", e))?;
        }
        if !self
            .user_agent
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic())
        {
            return Err(Error::invalid(
                "",
                smartex_core::Error::InvalidField {
                    field: Cow::Borrowed("user-agent"),
                    problem: smartex_core::Problem::ForbiddenCharacter,
                },
            ));
        }
        Ok(Client::from_shared(Shared {
            transport,
            site,
            api_root,
            lang: self.lang,
            encoding: self.encoding,
            default_verb: self.default_verb,
            verbs: self.verbs,
            authorizer: self.authorizer,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            retry: self.retry,
            nonce_refusal: self.nonce_refusal,
            user_agent: self.user_agent,
            trailing_slash: self.trailing_slash,
            clock: self.clock,
        }))
    }

    /// Builds the client over a default [`ReqwestTransport`](crate::ReqwestTransport).
    ///
    /// # Errors
    /// As [`build_with`](Self::build_with), and
    /// [`ErrorKind::Transport`](crate::ErrorKind::Transport) if the transport
    /// cannot be built.
    #[cfg(feature = "reqwest")]
    pub fn build(self) -> Result<Client<crate::ReqwestTransport>, Error> {
        let transport =
            crate::ReqwestTransport::new().map_err(|e| Error::transport("", e, false))?;
        self.build_with(transport)
    }
}
