//! The sandbox's state and its lifecycle engine: orders, status changes, the
//! scheduler, and IPN queueing. Everything behind one mutex, never held across
//! an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use regex::Regex;
use smartex_core::ipn::IpnBody;
use smartex_core::status::Actor;
use smartex_core::time::{Clock, UnixMillis};
use smartex_core::{ApiKey, ApiSecret, IpnSecret, ObjectId, OrderSecret, OrderStatus, OrderUid};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::catalogue::{FieldSpec, PaymentDetection, RouteSpec};
use crate::config::{IpnTimestampUnit, OrderExpiry, RateDrift, SandboxConfig, Schedule};
use crate::decimal::{Dec, Rounding};
use crate::error::{Error, Result};
use crate::faults::{ApiFault, Faults, IpnFault};
use crate::model::{
    DeliveryResult, IpnKind, IpnRecord, OrderSnapshot, StatusChange, Transition, ValueEntry,
};
use crate::rng::Rng;

/// This machine's clock: the sandbox's "now" unless
/// [`SandboxConfig::clock`] says otherwise. The one place the sandbox reads
/// the system time.
#[derive(Debug)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        UnixMillis::from(std::time::SystemTime::now())
    }
}

/// A route field with its compiled regex.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) spec: FieldSpec,
    pub(crate) regex: Option<Regex>,
}

/// A route, checked and ready.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) spec: RouteSpec,
    pub(crate) rate_in: Dec,
    pub(crate) rate_out: Dec,
    pub(crate) min: Dec,
    pub(crate) max: Dec,
    pub(crate) reserve: Option<Dec>,
    /// `fromValues`, `toValues`, `routeValues` fields, in that order.
    pub(crate) lists: [(&'static str, Vec<Field>); 3],
}

impl Route {
    /// An order's amounts, `(sent, received)`: `asked` positive is the amount
    /// sent, negative the amount received, at the route's rate with its `out`
    /// side multiplied by `factor` (the order's recalculations, 1 until
    /// then). The amount sent is rounded up and the amount received down,
    /// never in the client's favour. `None` on overflow or a zero rate.
    pub(crate) fn quote(&self, asked: Dec, factor: Dec) -> Option<(Dec, Dec)> {
        let rate_out = self.rate_out.mul(factor)?;
        let (from_digits, to_digits) = (self.spec.from.precision, self.spec.to.precision);
        if asked.is_negative() {
            let received = asked.abs().round(to_digits, Rounding::Down);
            let sent = received
                .mul(self.rate_in)?
                .div(rate_out, from_digits, Rounding::Up)?;
            Some((sent, received))
        } else {
            let sent = asked.round(from_digits, Rounding::Down);
            let received = sent
                .mul(rate_out)?
                .div(self.rate_in, to_digits, Rounding::Down)?;
            Some((sent, received))
        }
    }

    /// The `out` side of the rate an order gets, as text: the route's own
    /// text until the order's rate is recalculated.
    pub(crate) fn rate_out_text(&self, factor: Dec) -> String {
        match self.rate_out.mul(factor) {
            Some(rate) if factor != Dec::ONE => rate.to_string(),
            _ => self.spec.rate_out.clone(),
        }
    }

    fn compile(spec: RouteSpec) -> Result<Route> {
        let bad = |what: &str| Error::Config(format!("route {}: {what}", spec.id));
        if ObjectId::parse("routeId", &spec.id).is_err() {
            return Err(bad("the id is not 24 hex digits"));
        }
        let dec = |what: &str, s: &str| {
            Dec::parse(s)
                .filter(|d| !d.is_negative())
                .ok_or_else(|| bad(&format!("{what} `{s}` is not a non-negative decimal")))
        };
        let rate_in = dec("rate_in", &spec.rate_in)?;
        let rate_out = dec("rate_out", &spec.rate_out)?;
        if rate_in.is_zero() || rate_out.is_zero() {
            return Err(bad("a rate is zero"));
        }
        let min = dec("min_amount", &spec.min_amount)?;
        let max = dec("max_amount", &spec.max_amount)?;
        let reserve = spec
            .reserve
            .as_deref()
            .map(|r| dec("reserve", r))
            .transpose()?;
        let fields = |specs: &[FieldSpec]| -> Result<Vec<Field>> {
            specs
                .iter()
                .map(|f| {
                    let regex = f
                        .regex
                        .as_deref()
                        .map(Regex::new)
                        .transpose()
                        .map_err(|e| bad(&format!("field {}: bad regex: {e}", f.id)))?;
                    Ok(Field {
                        spec: f.clone(),
                        regex,
                    })
                })
                .collect()
        };
        let lists = [
            ("fromValues", fields(&spec.from.fields)?),
            ("toValues", fields(&spec.to.fields)?),
            ("routeValues", fields(&spec.fields)?),
        ];
        Ok(Route {
            rate_in,
            rate_out,
            min,
            max,
            reserve,
            lists,
            spec,
        })
    }
}

/// The configuration, checked.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) routes: Vec<Route>,
    pub(crate) schedule: Schedule,
    pub(crate) api_keys: Vec<(ApiKey, ApiSecret)>,
    pub(crate) require_api_key: bool,
    pub(crate) checksum_field: String,
    pub(crate) ipn_spelling: crate::IpnSpelling,
    pub(crate) ipn_timeout: Duration,
    pub(crate) allow_any_ipn_host: bool,
    pub(crate) admin: bool,
    pub(crate) admin_token: Option<crate::config::AdminToken>,
    pub(crate) reorder_keyed: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Settings {
    pub(crate) fn route_index(&self, id: &str) -> Option<usize> {
        self.routes.iter().position(|r| r.spec.id == id)
    }
}

/// An order, as stored.
#[derive(Debug)]
pub(crate) struct OrderRec {
    pub(crate) id: ObjectId,
    pub(crate) uid: OrderUid,
    pub(crate) secret: OrderSecret,
    pub(crate) route: usize,
    pub(crate) status: OrderStatus,
    pub(crate) history: Vec<StatusChange>,
    /// The order as created; its amounts are what `order/create` answered.
    pub(crate) new: CreateRequest,
    /// The current quote, `inAmount` and `outAmount` at the order's rate.
    pub(crate) quote_in: String,
    pub(crate) quote_out: String,
    /// What the customer actually paid, once marked.
    pub(crate) paid_in: Option<String>,
    /// The product of the order's rate recalculations (1 until recalculated).
    pub(crate) rate_factor: Dec,
    /// Scripts running on the order: while any runs, the schedule waits.
    pub(crate) scripts: u32,
    pub(crate) created_at_ms: u64,
    pub(crate) expires_at_ms: u64,
    /// Bumped by every status change; a scheduled step whose generation is stale
    /// does nothing.
    pub(crate) generation: u64,
    /// IPN delivery tickets issued and served: an order's IPNs leave in the
    /// order of their changes (a delayed one has no ticket and may be overtaken).
    ipn_issued: u64,
    ipn_served: u64,
}

impl OrderRec {
    /// `inAmount` as `order/get` and IPNs carry it: what the customer paid
    /// if marked, else the quote.
    pub(crate) fn in_amount(&self) -> &str {
        self.paid_in.as_deref().unwrap_or(&self.quote_in)
    }
}

/// A validated `order/create`.
#[derive(Debug)]
pub(crate) struct CreateRequest {
    pub(crate) route: usize,
    /// `amount` as asked (positive: sent; negative: received), which a
    /// recalculation keeps.
    pub(crate) asked: Dec,
    pub(crate) in_amount: String,
    pub(crate) out_amount: String,
    pub(crate) values: [Vec<ValueEntry>; 3],
    pub(crate) lang: String,
    pub(crate) partner: Option<String>,
    pub(crate) client_callback_url: Option<String>,
    pub(crate) ipn_url: Option<String>,
    pub(crate) ipn_secret: Option<IpnSecret>,
    pub(crate) email: Option<String>,
}

/// Everything that changes.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) orders: BTreeMap<u64, OrderRec>,
    next_uid: u64,
    pub(crate) ipns: Vec<IpnRecord>,
    pub(crate) maintenance: bool,
    nonces: HashMap<String, u64>,
    pub(crate) faults: Faults,
    pub(crate) rng: Rng,
    /// The random source of faults, seeded by `SandboxConfig::seed`.
    pub(crate) chance: Rng,
    pub(crate) ipn_timestamp_unit: IpnTimestampUnit,
    /// For orders created from now on.
    pub(crate) order_expiry: OrderExpiry,
    oid_counter: u32,
}

/// One IPN delivery to make: one body, sent once per seq.
struct Job {
    uid: u64,
    /// The place in the order's delivery queue, if it waits its turn.
    ticket: Option<u64>,
    seqs: Vec<u64>,
    delay: Option<Duration>,
    target: String,
    body: String,
}

/// The shared heart of a sandbox.
pub(crate) struct Inner {
    pub(crate) settings: Settings,
    state: Mutex<State>,
    /// Every task the sandbox runs (the listener, connections, scheduled steps,
    /// deliveries); `None` once shut down.
    tasks: Mutex<Option<JoinSet<()>>>,
    changed: watch::Sender<u64>,
    pub(crate) site: String,
    /// Keyed calls being answered now (for [`Settings::reorder_keyed`]).
    pub(crate) keyed_in_flight: AtomicU64,
    /// Calls refused for their `time` nonce, since the start.
    pub(crate) nonce_refusals: AtomicU64,
    /// The floating rates' schedule, watched by the drift task.
    pub(crate) rate_drift: watch::Sender<Option<RateDrift>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn new(config: SandboxConfig, site: String) -> Result<Inner> {
        let routes = config
            .routes
            .into_iter()
            .map(Route::compile)
            .collect::<Result<Vec<_>>>()?;
        for (i, r) in routes.iter().enumerate() {
            if routes[..i].iter().any(|o| o.spec.id == r.spec.id) {
                return Err(Error::Config(format!("route {} appears twice", r.spec.id)));
            }
        }
        if config.checksum_field.is_empty() {
            return Err(Error::Config("the checksum field name is empty".to_owned()));
        }
        if OrderUid::new(config.first_uid).is_err() {
            return Err(Error::Config(format!(
                "first uid {} has more than 11 digits",
                config.first_uid
            )));
        }
        let (changed, _) = watch::channel(0);
        let mut rng = Rng::from_os().ok_or_else(|| {
            Error::Config("the operating system's random source is unavailable".to_owned())
        })?;
        // The faults' draws: from the seed when one is given (a run can be
        // repeated), else from the one generator seeded by the system.
        let chance = rng.fork();
        crate::moves::check_drift(config.rate_drift)?;
        let (rate_drift, _) = watch::channel(config.rate_drift);
        Ok(Inner {
            settings: Settings {
                routes,
                schedule: config.schedule,
                api_keys: config.api_keys,
                require_api_key: config.require_api_key,
                checksum_field: config.checksum_field,
                ipn_spelling: config.ipn_spelling,
                ipn_timeout: config.ipn_timeout,
                allow_any_ipn_host: config.allow_any_ipn_host,
                admin: config.admin,
                admin_token: config.admin_token.clone(),
                reorder_keyed: config.reorder_keyed,
                clock: config.clock,
            },
            state: Mutex::new(State {
                orders: BTreeMap::new(),
                next_uid: config.first_uid,
                ipns: Vec::new(),
                maintenance: config.maintenance,
                nonces: HashMap::new(),
                faults: Faults::default(),
                rng,
                chance: match config.seed {
                    Some(seed) => Rng::from_seed(seed),
                    None => chance,
                },
                ipn_timestamp_unit: config.ipn_timestamp_unit,
                order_expiry: config.order_expiry,
                oid_counter: 0,
            }),
            tasks: Mutex::new(Some(JoinSet::new())),
            changed,
            site,
            keyed_in_flight: AtomicU64::new(0),
            nonce_refusals: AtomicU64::new(0),
            rate_drift,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Now, in milliseconds since the epoch, on the sandbox's clock.
    pub(crate) fn now_ms(&self) -> u64 {
        self.settings.clock.now().as_millis()
    }

    /// Wakes every waiter.
    pub(crate) fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Runs `fut` as one of the sandbox's tasks (aborted at shutdown). Must be
    /// called within a Tokio runtime.
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        if let Some(set) = lock(&self.tasks).as_mut() {
            // Reap finished tasks so the set does not grow without bound.
            while set.try_join_next().is_some() {}
            set.spawn(fut);
        }
    }

    /// Aborts every task; with `wait`, the returned set can be awaited.
    pub(crate) fn close(&self) -> Option<JoinSet<()>> {
        let mut set = lock(&self.tasks).take()?;
        set.abort_all();
        Some(set)
    }

    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.tasks).is_none()
    }

    /// `{ms}-{7 letters and digits}`, as the platform's `requestId`.
    pub(crate) fn request_id(&self) -> String {
        let tail = self.lock().rng.alnum(7);
        format!("{}-{tail}", self.now_ms())
    }

    pub(crate) fn take_api_fault(&self, method: &str) -> Option<ApiFault> {
        self.lock().faults.take_api(method)
    }

    /// Records `time` for `key` if it is greater than the last one seen.
    pub(crate) fn accept_nonce(&self, key: &str, time: u64) -> bool {
        let mut st = self.lock();
        match st.nonces.get(key) {
            Some(last) if time <= *last => {
                self.nonce_refusals.fetch_add(1, Ordering::Relaxed);
                false
            }
            _ => {
                st.nonces.insert(key.to_owned(), time);
                true
            }
        }
    }

    pub(crate) fn snapshot(&self, uid: u64) -> Option<OrderSnapshot> {
        let st = self.lock();
        st.orders.get(&uid).map(|o| self.snapshot_of(o))
    }

    pub(crate) fn snapshot_of(&self, o: &OrderRec) -> OrderSnapshot {
        let spec = &self.settings.routes[o.route].spec;
        OrderSnapshot {
            id: o.id,
            uid: o.uid,
            secret: o.secret.clone(),
            status: o.status.clone(),
            history: o.history.clone(),
            route_id: spec.id.clone(),
            xml_from: spec.from.xml.clone(),
            xml_to: spec.to.xml.clone(),
            in_amount: o.in_amount().to_owned(),
            out_amount: o.quote_out.clone(),
            quoted_in_amount: o.quote_in.clone(),
            created_in_amount: o.new.in_amount.clone(),
            created_out_amount: o.new.out_amount.clone(),
            paid_in_amount: o.paid_in.clone(),
            rate_factor: o.rate_factor.to_string(),
            to_values: o.new.values[1].clone(),
            ipn_url: o.new.ipn_url.clone(),
            has_ipn_secret: o.new.ipn_secret.is_some(),
            lang: o.new.lang.clone(),
            created_at_ms: o.created_at_ms,
            expires_at_ms: o.expires_at_ms,
        }
    }

    /// Stores a validated order as `new` and starts its schedule.
    pub(crate) fn create_order(self: &Arc<Self>, new: CreateRequest) -> Result<OrderSnapshot> {
        let snapshot = {
            let mut st = self.lock();
            let uid = OrderUid::new(st.next_uid).map_err(|_| Error::NotAllowed {
                uid: st.next_uid,
                reason: "the sandbox ran out of 11-digit uids".to_owned(),
            })?;
            st.next_uid += 1;
            let now = self.now_ms();
            st.oid_counter = st.oid_counter.wrapping_add(1);
            let oid = format!(
                "{:08x}{}{:06x}",
                (now / 1000) as u32,
                st.rng.hex(5),
                st.oid_counter & 0x00ff_ffff
            );
            let id = ObjectId::parse("_id", &oid).map_err(|e| Error::Config(e.to_string()))?;
            let secret =
                OrderSecret::new(st.rng.alnum(24)).map_err(|e| Error::Config(e.to_string()))?;
            let ttl_ms = match st.order_expiry {
                OrderExpiry::After(d) => u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                OrderExpiry::Off | OrderExpiry::RouteTtl => {
                    u64::from(self.settings.routes[new.route].spec.order_ttl_minutes) * 60_000
                }
            };
            let order = OrderRec {
                id,
                uid,
                secret,
                route: new.route,
                status: OrderStatus::New,
                history: vec![StatusChange {
                    status: OrderStatus::New,
                    at_ms: now,
                    by: Actor::Server,
                }],
                created_at_ms: now,
                expires_at_ms: now.saturating_add(ttl_ms),
                quote_in: new.in_amount.clone(),
                quote_out: new.out_amount.clone(),
                paid_in: None,
                rate_factor: Dec::ONE,
                scripts: 0,
                new,
                generation: 0,
                ipn_issued: 0,
                ipn_served: 0,
            };
            let snapshot = self.snapshot_of(&order);
            let expires = st.order_expiry != OrderExpiry::Off;
            st.orders.insert(uid.get(), order);
            (snapshot, expires)
        };
        let (snapshot, expires) = snapshot;
        self.notify();
        self.schedule_next(snapshot.uid.get(), &snapshot.status, 0);
        if expires {
            self.schedule_expiry(snapshot.uid.get(), snapshot.expires_at_ms);
        }
        Ok(snapshot)
    }

    /// The next happy-path status after `status`, on command.
    fn next_on_command(status: &OrderStatus) -> Option<OrderStatus> {
        Some(match status {
            OrderStatus::New => OrderStatus::WaitPayment,
            OrderStatus::WaitPayment | OrderStatus::ErrorPayment => OrderStatus::InProgress,
            OrderStatus::InProgress | OrderStatus::ErrorPayout => OrderStatus::InProgressPayout,
            OrderStatus::InProgressPayout => OrderStatus::Done,
            _ => return None,
        })
    }

    /// The next step the schedule takes by itself from `status`, if any.
    fn next_scheduled(
        &self,
        route: usize,
        status: &OrderStatus,
    ) -> Option<(Duration, OrderStatus)> {
        let s = &self.settings.schedule;
        let automatic = self.settings.routes[route].spec.payment == PaymentDetection::Automatic;
        match status {
            OrderStatus::New => s.wait_payment.map(|d| (d, OrderStatus::WaitPayment)),
            OrderStatus::WaitPayment if automatic => {
                s.payment_detected.map(|d| (d, OrderStatus::InProgress))
            }
            OrderStatus::InProgress => s.payout.map(|d| (d, OrderStatus::InProgressPayout)),
            OrderStatus::InProgressPayout => s.done.map(|d| (d, OrderStatus::Done)),
            _ => None,
        }
    }

    pub(crate) fn schedule_next(self: &Arc<Self>, uid: u64, status: &OrderStatus, generation: u64) {
        // While a script runs, it alone moves the order; it restarts the
        // schedule when it ends.
        let Some(route) = self
            .lock()
            .orders
            .get(&uid)
            .filter(|o| o.scripts == 0)
            .map(|o| o.route)
        else {
            return;
        };
        let Some((delay, next)) = self.next_scheduled(route, status) else {
            return;
        };
        let inner = Arc::clone(self);
        self.spawn(async move {
            tokio::time::sleep(delay).await;
            // A change in the meantime (a command) bumped the generation: the
            // schedule restarted from there, and this step is void.
            let _ = inner.change_status(uid, next, Actor::Server, Some(generation));
        });
    }

    /// Moves order `uid` to `to` as `by` sets it, queues its IPN, and
    /// reschedules. With `expect_generation`, does nothing (returns
    /// `Ok(None)`) if the order changed since. Returns the previous status
    /// and the IPN records made.
    pub(crate) fn change_status(
        self: &Arc<Self>,
        uid: u64,
        to: OrderStatus,
        by: Actor,
        expect_generation: Option<u64>,
    ) -> Result<Option<(OrderStatus, Vec<u64>)>> {
        let (from, jobs, seqs, generation) = {
            let mut st = self.lock();
            let st = &mut *st;
            let order = st.orders.get_mut(&uid).ok_or(Error::UnknownOrder(uid))?;
            if expect_generation.is_some_and(|g| g != order.generation) {
                return Ok(None);
            }
            let last = order.history.last().map_or(0, |c| c.at_ms);
            // Strictly increasing timestamps, so a receiver can order them.
            let at = self.now_ms().max(last + 1);
            let from = std::mem::replace(&mut order.status, to.clone());
            order.history.push(StatusChange {
                status: to.clone(),
                at_ms: at,
                by,
            });
            order.generation += 1;
            let generation = order.generation;
            let (jobs, seqs) = self.queue_ipn(st, uid, &to, at);
            (from, jobs, seqs, generation)
        };
        self.notify();
        for job in jobs {
            let inner = Arc::clone(self);
            self.spawn(async move { inner.deliver(job).await });
        }
        self.schedule_next(uid, &to, generation);
        Ok(Some((from, seqs)))
    }

    /// Makes the IPN records for a status change, applying any fault rule.
    fn queue_ipn(
        &self,
        st: &mut State,
        uid: u64,
        status: &OrderStatus,
        at: u64,
    ) -> (Vec<Job>, Vec<u64>) {
        let Some(target) = st.orders.get(&uid).and_then(|o| o.new.ipn_url.clone()) else {
            // No order or no ipnUrl, no notification: nothing to record.
            return (Vec::new(), Vec::new());
        };
        let in_seconds = match st.ipn_timestamp_unit {
            IpnTimestampUnit::Milliseconds => false,
            IpnTimestampUnit::Seconds => true,
            IpnTimestampUnit::Mixed => st.chance.next_u64() & 1 == 1,
        };
        // `Math.floor(Date.now() / 1000)` or `Date.now()`, hashed as sent.
        let timestamp = if in_seconds { at / 1000 } else { at };
        let timestamp = timestamp.to_string();
        // Drawn before the order is borrowed from the same state.
        let mut rng = st.rng.fork();
        let Some(order) = st.orders.get(&uid) else {
            return (Vec::new(), Vec::new());
        };
        let in_amount = order.in_amount().to_owned();
        let out_amount = order.quote_out.clone();
        let body = order.new.ipn_secret.as_ref().map(|secret| {
            let spec = &self.settings.routes[order.route].spec;
            let to_values: Vec<(&str, &str, &str)> = order.new.values[1]
                .iter()
                .map(|v| (v.key.as_str(), v.name.as_str(), v.value.as_str()))
                .collect();
            let uid_text = order.uid.to_string();
            let body = IpnBody {
                order_uid: &uid_text,
                signed: smartex_core::checksum::SignedFields {
                    order_id: order.id.as_str(),
                    new_status: status.as_str(),
                    in_amount: &in_amount,
                    out_amount: &out_amount,
                    xml_from: &spec.from.xml,
                    xml_to: &spec.to.xml,
                    timestamp: &timestamp,
                },
                to_values: &to_values,
            };
            self.settings
                .ipn_spelling
                .form(&body, secret, &self.settings.checksum_field, &mut rng)
        });
        let order_uid = order.uid;
        let queued_at_ms = self.now_ms();
        let record = |st: &mut State, kind, body: &str, delay, outcome| {
            let seq = st.ipns.len() as u64;
            st.ipns.push(IpnRecord {
                seq,
                kind,
                order_uid,
                status: status.clone(),
                timestamp: timestamp.clone(),
                in_amount: in_amount.clone(),
                out_amount: out_amount.clone(),
                target: target.clone(),
                body: body.to_owned(),
                delay,
                queued_at_ms,
                outcome,
            });
            seq
        };
        let Some(body) = body else {
            let seq = record(
                st,
                IpnKind::Original,
                "",
                None,
                DeliveryResult::NotSent("the order has no ipnSecret to sign with".to_owned()),
            );
            return (Vec::new(), vec![seq]);
        };
        let fault = st.faults.take_ipn(uid);
        let mut ticket = || {
            let order = st.orders.get_mut(&uid)?;
            order.ipn_issued += 1;
            Some(order.ipn_issued - 1)
        };
        let ticket = match fault {
            Some(IpnFault::Drop | IpnFault::Delay(_)) => None,
            _ => ticket(),
        };
        match fault {
            Some(IpnFault::Drop) => {
                let seq = record(st, IpnKind::Original, &body, None, DeliveryResult::Dropped);
                (Vec::new(), vec![seq])
            }
            Some(IpnFault::Delay(d)) => {
                let seq = record(
                    st,
                    IpnKind::Original,
                    &body,
                    Some(d),
                    DeliveryResult::Pending,
                );
                let job = Job {
                    uid,
                    ticket,
                    seqs: vec![seq],
                    delay: Some(d),
                    target,
                    body,
                };
                (vec![job], vec![seq])
            }
            Some(IpnFault::Duplicate) => {
                let a = record(st, IpnKind::Original, &body, None, DeliveryResult::Pending);
                let b = record(st, IpnKind::Duplicate, &body, None, DeliveryResult::Pending);
                let job = Job {
                    uid,
                    ticket,
                    seqs: vec![a, b],
                    delay: None,
                    target,
                    body,
                };
                (vec![job], vec![a, b])
            }
            None => {
                let seq = record(st, IpnKind::Original, &body, None, DeliveryResult::Pending);
                let job = Job {
                    uid,
                    ticket,
                    seqs: vec![seq],
                    delay: None,
                    target,
                    body,
                };
                (vec![job], vec![seq])
            }
        }
    }

    /// Sends a job's body once per seq, in turn, recording each outcome.
    async fn deliver(self: Arc<Self>, job: Job) {
        if let Some(d) = job.delay {
            tokio::time::sleep(d).await;
        }
        if let Some(ticket) = job.ticket {
            // Every job ahead ends within its own timeouts; the bound only
            // guards against a stuck runtime. On shutdown the task is aborted.
            let _ = self
                .wait_for(
                    Duration::from_secs(3600),
                    || format!("order {}'s turn to notify", job.uid),
                    |st| {
                        st.orders
                            .get(&job.uid)
                            .is_none_or(|o| o.ipn_served >= ticket)
                            .then_some(())
                    },
                )
                .await;
        }
        for seq in job.seqs {
            let outcome = crate::deliver::post_ipn(
                &job.target,
                &job.body,
                self.settings.allow_any_ipn_host,
                self.settings.ipn_timeout,
            )
            .await;
            if let Some(r) = self.lock().ipns.get_mut(seq as usize) {
                r.outcome = outcome;
            }
            self.notify();
        }
        if job.ticket.is_some() {
            if let Some(o) = self.lock().orders.get_mut(&job.uid) {
                o.ipn_served += 1;
            }
            self.notify();
        }
    }

    /// Moves an order one step along the happy path.
    pub(crate) fn advance(
        self: &Arc<Self>,
        uid: u64,
    ) -> Result<(OrderStatus, OrderStatus, Vec<u64>)> {
        let current = self
            .lock()
            .orders
            .get(&uid)
            .map(|o| o.status.clone())
            .ok_or(Error::UnknownOrder(uid))?;
        let next = Self::next_on_command(&current).ok_or_else(|| Error::NotAllowed {
            uid,
            reason: format!("no next step from `{current}` (use set_status)"),
        })?;
        let (from, seqs) = self
            .change_status(uid, next.clone(), Actor::Server, None)?
            .ok_or(Error::UnknownOrder(uid))?;
        Ok((from, next, seqs))
    }

    /// Sends the last body recorded for `status` of order `uid` again.
    pub(crate) fn resend(self: &Arc<Self>, uid: u64, status: &OrderStatus) -> Result<u64> {
        let (seq, job) = {
            let mut st = self.lock();
            if !st.orders.contains_key(&uid) {
                return Err(Error::UnknownOrder(uid));
            }
            let old = st
                .ipns
                .iter()
                .rev()
                .find(|r| r.order_uid.get() == uid && r.status == *status && !r.body.is_empty())
                .cloned()
                .ok_or_else(|| Error::NoSuchIpn {
                    uid,
                    status: status.to_string(),
                })?;
            let seq = st.ipns.len() as u64;
            st.ipns.push(IpnRecord {
                seq,
                kind: IpnKind::Stale,
                delay: None,
                queued_at_ms: self.now_ms(),
                outcome: DeliveryResult::Pending,
                ..old.clone()
            });
            let job = Job {
                uid,
                ticket: None,
                seqs: vec![seq],
                delay: None,
                target: old.target,
                body: old.body,
            };
            (seq, job)
        };
        self.notify();
        let inner = Arc::clone(self);
        self.spawn(async move { inner.deliver(job).await });
        Ok(seq)
    }

    /// Sets a status on command, as `by` would, and waits for its IPNs to settle.
    pub(crate) async fn set_status_settled(
        self: &Arc<Self>,
        uid: u64,
        to: OrderStatus,
        by: Actor,
    ) -> Result<Transition> {
        let (from, seqs) = self
            .change_status(uid, to.clone(), by, None)?
            .ok_or(Error::UnknownOrder(uid))?;
        self.transition(uid, from, to, by, &seqs).await
    }

    /// Advances on command and waits for the IPNs to settle.
    pub(crate) async fn advance_settled(self: &Arc<Self>, uid: u64) -> Result<Transition> {
        let (from, to, seqs) = self.advance(uid)?;
        self.transition(uid, from, to, Actor::Server, &seqs).await
    }

    /// A change made, once its IPNs settled.
    pub(crate) async fn transition(
        &self,
        uid: u64,
        from: OrderStatus,
        to: OrderStatus,
        by: Actor,
        seqs: &[u64],
    ) -> Result<Transition> {
        let ipns = self.wait_settled(seqs).await?;
        Ok(Transition {
            uid: OrderUid::new(uid).map_err(|_| Error::UnknownOrder(uid))?,
            from,
            to,
            by,
            ipns,
        })
    }

    /// Waits until `check` gives an answer, re-checking after every change.
    pub(crate) async fn wait_for<T>(
        &self,
        timeout: Duration,
        what: impl Fn() -> String,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Result<T> {
        let mut rx = self.changed.subscribe();
        let now = tokio::time::Instant::now();
        // A timeout past what the clock can represent (`Duration::MAX`: "no
        // limit") is a century rather than a panic.
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        loop {
            let found = {
                let st = self.lock();
                check(&st)
            };
            if let Some(t) = found {
                return Ok(t);
            }
            if self.is_closed() {
                return Err(Error::ShutDown);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::ShutDown),
                Err(_) => {
                    return Err(Error::Timeout {
                        after: timeout,
                        what: what(),
                    });
                }
            }
        }
    }

    /// Waits until every IPN in `seqs` has an outcome.
    pub(crate) async fn wait_settled(&self, seqs: &[u64]) -> Result<Vec<IpnRecord>> {
        let (longest, pending) = {
            let st = self.lock();
            let longest = seqs
                .iter()
                .filter_map(|s| st.ipns.get(*s as usize))
                .filter_map(|r| r.delay)
                .max()
                .unwrap_or_default();
            let pending = st.ipns.iter().filter(|r| !r.outcome.is_settled()).count();
            (longest, u32::try_from(pending).unwrap_or(u32::MAX))
        };
        // Each delivery ends within its delay plus its timeout, and may queue
        // behind the pending ones; the margin only guards against a stuck runtime.
        let timeout = longest
            .saturating_add(
                self.settings
                    .ipn_timeout
                    .saturating_mul(pending.saturating_add(1)),
            )
            .saturating_add(Duration::from_secs(1));
        self.wait_for(
            timeout,
            || format!("IPNs {seqs:?} to be delivered"),
            |st| {
                let records: Vec<IpnRecord> = seqs
                    .iter()
                    .filter_map(|s| st.ipns.get(*s as usize).cloned())
                    .collect();
                records
                    .iter()
                    .all(|r| r.outcome.is_settled())
                    .then_some(records)
            },
        )
        .await
    }
}
