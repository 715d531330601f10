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

/// The unit of the `timestamp` the sandbox signs its IPNs with. The docs say
/// "unix time" and their example is in milliseconds; a Node server may as
/// well send `Math.floor(Date.now() / 1000)`. Whatever the unit, the value is
/// hashed exactly as sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpnTimestampUnit {
    /// Milliseconds since the Unix epoch, `Date.now()` (the docs' example).
    #[default]
    Milliseconds,
    /// Whole seconds, `Math.floor(Date.now() / 1000)`: two changes within
    /// one second carry the same timestamp.
    Seconds,
    /// Milliseconds or seconds, picked at random for each IPN (from the
    /// sandbox's [seeded](SandboxConfig::seed) random source).
    Mixed,
}

impl IpnTimestampUnit {
    /// `milliseconds`, `seconds` or `mixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpnTimestampUnit::Milliseconds => "milliseconds",
            IpnTimestampUnit::Seconds => "seconds",
            IpnTimestampUnit::Mixed => "mixed",
        }
    }

    /// The unit named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(name: &str) -> Option<IpnTimestampUnit> {
        [
            IpnTimestampUnit::Milliseconds,
            IpnTimestampUnit::Seconds,
            IpnTimestampUnit::Mixed,
        ]
        .into_iter()
        .find(|u| u.as_str() == name)
    }
}

/// Whether the server deletes unpaid orders. The vendor's manual: `new` and
/// `waitPayment` expire, and the server sets them to `deleted`. An order
/// still `new` or `waitPayment` at its `expiresAt` is then set to `deleted`
/// by the server, with its IPN (checked once, at `expiresAt`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderExpiry {
    /// Orders never expire by themselves; `expiresAt` is shown from the
    /// route's `orderTTL` (the default: demos and tests keep their orders).
    #[default]
    Off,
    /// Orders expire at `createdAt` + the route's `orderTTL` minutes.
    RouteTtl,
    /// Orders expire this long after creation, whatever the route says
    /// (`expiresAt` shows it): short enough for a test.
    After(Duration),
}

/// Floating rates on a schedule: every `every`, each order on a
/// [floating-rate](crate::RouteSpec::floating_rate) route that is still `new`
/// or `waitPayment` has its rate multiplied by a random factor within
/// ±`max_change_bp` basis points (from the [seeded](SandboxConfig::seed)
/// random source), and its amounts recalculated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateDrift {
    /// How often the rates move.
    pub every: Duration,
    /// The largest change per move, in basis points (100 = 1 %).
    pub max_change_bp: u32,
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
    pub(crate) ipn_timestamp_unit: IpnTimestampUnit,
    pub(crate) seed: Option<u64>,
    pub(crate) order_expiry: OrderExpiry,
    pub(crate) rate_drift: Option<RateDrift>,
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
    /// loopback addresses only; the admin endpoint on; IPNs timed in
    /// milliseconds; orders never expire; rates move only on command.
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
            ipn_timestamp_unit: IpnTimestampUnit::Milliseconds,
            seed: None,
            order_expiry: OrderExpiry::Off,
            rate_drift: None,
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

    /// The unit IPN timestamps are signed in (default milliseconds); can be
    /// changed while running ([`Sandbox::set_ipn_timestamp_unit`](crate::Sandbox::set_ipn_timestamp_unit)).
    pub fn ipn_timestamp_unit(mut self, unit: IpnTimestampUnit) -> Self {
        self.ipn_timestamp_unit = unit;
        self
    }

    /// Seeds the random source of the sandbox's faults — the unit of each
    /// IPN under [`IpnTimestampUnit::Mixed`], the gaps of a
    /// [`Script`](crate::Script) drawn from a range, the factors of a
    /// [`RateDrift`] — so that a run can be repeated. Default: seeded from
    /// the system. (Ids and secrets stay random.)
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether and when unpaid orders expire (default [`OrderExpiry::Off`]);
    /// can be changed while running, for orders created afterwards
    /// ([`Sandbox::set_order_expiry`](crate::Sandbox::set_order_expiry)).
    pub fn order_expiry(mut self, expiry: OrderExpiry) -> Self {
        self.order_expiry = expiry;
        self
    }

    /// Moves floating rates on a schedule (default: only on command,
    /// [`Sandbox::recalculate`](crate::Sandbox::recalculate)); can be changed
    /// while running ([`Sandbox::set_rate_drift`](crate::Sandbox::set_rate_drift)).
    pub fn rate_drift(mut self, drift: Option<RateDrift>) -> Self {
        self.rate_drift = drift;
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
