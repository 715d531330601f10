//! How a sandbox is set up: where it listens, how fast orders move, which
//! routes and API keys it knows, and how it signs IPNs.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use smartex_core::time::Clock;
use smartex_core::{ApiKey, ApiSecret};

use crate::catalogue::RouteSpec;

/// The public half of the well-known test API key pair added by
/// [`SandboxConfig::test_api_key`].
pub const TEST_API_KEY: &str = "SANDBOX0TEST0KEY0000001";
/// The secret half of the well-known test API key pair (a sandbox-only value,
/// published on purpose).
pub const TEST_API_SECRET: &str = "sandbox-test-secret-0123456789abcdef";

/// When orders move along the happy path by themselves.
///
/// Each step is a delay measured from the previous status change, or `None`:
/// that step happens only on command ([`Sandbox::advance`](crate::Sandbox::advance),
/// [`Sandbox::set_status`](crate::Sandbox::set_status), the admin endpoint, or
/// `order/update-status` for a manual-payment route).
///
/// ```text
/// new ─wait_payment─► waitPayment ─payment_detected─► inProgress ─payout─► inProgressPayout ─done─► done
///                        (automatic-payment routes only; manual routes wait for update-status)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// `new` → `waitPayment`.
    pub wait_payment: Option<Duration>,
    /// `waitPayment` → `inProgress`, on routes with automatic payment detection.
    pub payment_detected: Option<Duration>,
    /// `inProgress` → `inProgressPayout`.
    pub payout: Option<Duration>,
    /// `inProgressPayout` → `done`.
    pub done: Option<Duration>,
}

impl Schedule {
    /// Every step after `delay`.
    pub fn every(delay: Duration) -> Schedule {
        Schedule {
            wait_payment: Some(delay),
            payment_detected: Some(delay),
            payout: Some(delay),
            done: Some(delay),
        }
    }

    /// Nothing moves by itself: every step waits for a command. The scheduler
    /// of choice for deterministic tests.
    pub fn manual() -> Schedule {
        Schedule {
            wait_payment: None,
            payment_detected: None,
            payout: None,
            done: None,
        }
    }
}

impl Default for Schedule {
    /// 200 ms per step: a whole order runs in under a second, for demos.
    fn default() -> Self {
        Schedule::every(Duration::from_millis(200))
    }
}

/// The configuration of a [`Sandbox`](crate::Sandbox). Start from
/// [`SandboxConfig::default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use smartex_sandbox::{Schedule, SandboxConfig};
/// let config = SandboxConfig::default()
///     .schedule(Schedule::every(Duration::from_millis(20)))
///     .test_api_key()
///     .checksum_field("signature");
/// assert_eq!(config.listen_addr().port(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) schedule: Schedule,
    pub(crate) routes: Vec<RouteSpec>,
    pub(crate) api_keys: Vec<(ApiKey, ApiSecret)>,
    pub(crate) require_api_key: bool,
    pub(crate) checksum_field: String,
    pub(crate) ipn_spelling: crate::IpnSpelling,
    pub(crate) first_uid: u64,
    pub(crate) ipn_timeout: Duration,
    pub(crate) allow_any_ipn_host: bool,
    pub(crate) admin: bool,
    pub(crate) admin_token: Option<AdminToken>,
    pub(crate) maintenance: bool,
    pub(crate) reorder_keyed: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The bearer token the admin endpoint requires ([`SandboxConfig::admin_token`]).
/// Its `Debug` does not show it.
#[derive(Clone)]
pub(crate) struct AdminToken(pub(crate) String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([redacted])")
    }
}

impl Default for SandboxConfig {
    /// 127.0.0.1 on an ephemeral port; [`Schedule::default`]; the
    /// [built-in routes](RouteSpec::default_catalogue); no API keys (calls without
    /// a key are accepted, as the platform accepts them); the checksum in the
    /// body field `hash`; uids from 1001; IPNs time out after 5 s and go to
    /// loopback addresses only; the admin endpoint on.
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            schedule: Schedule::default(),
            routes: RouteSpec::default_catalogue(),
            api_keys: Vec::new(),
            require_api_key: false,
            checksum_field: "hash".to_owned(),
            ipn_spelling: crate::IpnSpelling::Qs,
            first_uid: 1001,
            ipn_timeout: Duration::from_secs(5),
            allow_any_ipn_host: false,
            admin: true,
            admin_token: None,
            maintenance: false,
            reorder_keyed: None,
            clock: Arc::new(crate::engine::SystemClock),
        }
    }
}

impl SandboxConfig {
    /// The address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// How orders move by themselves.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Replaces the route catalogue.
    pub fn routes(mut self, routes: Vec<RouteSpec>) -> Self {
        self.routes = routes;
        self
    }

    /// Adds a known API key pair. A call that carries an `apikey` header must
    /// then be signed with the pair's secret and carry an increasing `time`.
    pub fn api_key(mut self, key: ApiKey, secret: ApiSecret) -> Self {
        self.api_keys.push((key, secret));
        self
    }

    /// Adds the well-known pair [`TEST_API_KEY`] / [`TEST_API_SECRET`].
    pub fn test_api_key(self) -> Self {
        match (ApiKey::new(TEST_API_KEY), ApiSecret::new(TEST_API_SECRET)) {
            (Ok(key), Ok(secret)) => self.api_key(key, secret),
            // Both constants are valid by construction (checked by a unit test).
            _ => self,
        }
    }

    /// Refuses calls without an `apikey` header (default: accepted, as the
    /// platform accepts anonymous orders).
    pub fn require_api_key(mut self, required: bool) -> Self {
        self.require_api_key = required;
        self
    }

    /// How IPN bodies spell `toValues`: as the platform's `qs` (default), as
    /// another Node client would, or a random one per notification
    /// ([`IpnSpelling`](crate::IpnSpelling)).
    pub fn ipn_spelling(mut self, spelling: crate::IpnSpelling) -> Self {
        self.ipn_spelling = spelling;
        self
    }

    /// The IPN body field that carries the checksum (default `hash`; the docs
    /// never name it).
    pub fn checksum_field(mut self, name: impl Into<String>) -> Self {
        self.checksum_field = name.into();
        self
    }

    /// The uid of the first order (default 1001); later ones count up.
    pub fn first_uid(mut self, uid: u64) -> Self {
        self.first_uid = uid;
        self
    }

    /// How long one IPN delivery may take, connection included (default 5 s).
    pub fn ipn_timeout(mut self, timeout: Duration) -> Self {
        self.ipn_timeout = timeout;
        self
    }

    /// Lets IPNs go to any host. By default the sandbox posts only to loopback
    /// addresses (`127.0.0.0/8`, `::1`, `localhost`) and records any other
    /// target as not sent, so a test can never notify a real system by mistake.
    pub fn danger_allow_any_ipn_host(mut self, allow: bool) -> Self {
        self.allow_any_ipn_host = allow;
        self
    }

    /// Serves the admin endpoint under `/_sandbox/` (default on).
    pub fn admin_endpoint(mut self, enabled: bool) -> Self {
        self.admin = enabled;
        self
    }

    /// Requires `Authorization: Bearer {token}` on every `/_sandbox` request
    /// (compared in constant time; others are answered 401). For a sandbox
    /// reachable from other machines, where anyone could otherwise set
    /// statuses and faults. Default: none (loopback needs none).
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(AdminToken(token.into()));
        self
    }

    /// Starts in maintenance mode: every API call answers error code
    /// `5555555555555555`.
    pub fn maintenance(mut self, on: bool) -> Self {
        self.maintenance = on;
        self
    }

    /// Reorders concurrent keyed calls, as a network or a proxy may: a call
    /// with an `apikey` header that arrives while another keyed call is being
    /// answered waits, one time in two, a random delay of up to `max_delay`
    /// before its key and nonce are checked, so later calls can overtake it.
    /// The nonce check stays strict (in the order calls reach it): a client
    /// that sends a key's calls concurrently sees refusals; one that sends
    /// them one at a time (a send lane) sees none. Off by default.
    pub fn reorder_keyed_calls(mut self, max_delay: Duration) -> Self {
        self.reorder_keyed = (!max_delay.is_zero()).then_some(max_delay);
        self
    }

    /// Where the sandbox's "now" comes from (default: the system clock): an
    /// order's `createdAt` and status times, its IPNs' `timestamp`, and the
    /// `requestId`s. Share a [`ManualClock`](smartex_core::time::ManualClock)
    /// with the merchant under test to move both at once. The schedule's
    /// delays and the timeouts are tokio's timers.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The address the sandbox will listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The routes it will serve.
    pub fn route_specs(&self) -> &[RouteSpec] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_pair_is_valid() {
        let config = SandboxConfig::default().test_api_key();
        assert_eq!(config.api_keys.len(), 1);
        assert_eq!(config.api_keys[0].0.as_str(), TEST_API_KEY);
        assert_eq!(config.api_keys[0].1.expose(), TEST_API_SECRET);
        assert!(!format!("{config:?}").contains(TEST_API_SECRET));
    }
}
