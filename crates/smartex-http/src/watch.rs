//! [`OrderWatch`]: polls an order until its status is final or a deadline
//! passes, reporting each status change once — the way to recover from an IPN
//! that never arrived (the platform sends each IPN once and does not guarantee
//! delivery).
//!
//! It is pulled like a stream, without a stream library:
//! `while let Some(change) = watch.next().await { … }`. Each change is decided
//! by the core [`Tracker`]: a status that follows the known one is reported
//! with [`Decision::Apply`]; one that does not fit the lifecycle (an operator's
//! hand) with [`Decision::Unexpected`], once; repeats and stale statuses are
//! not reported.
//!
//! Each poll is a timed observation: the order had the status it shows at some
//! platform instant between the request leaving and the answer arriving (on
//! the client's clock, [`ClientBuilder::clock`](crate::ClientBuilder::clock)),
//! widened by the clock skew ([`WatchOptions::clock_skew`]) —
//! [`StatusEvent::polled_between`]. So a watch fed what the merchant knows
//! from IPNs ([`WatchOptions::known`]) orders a poll against them as the
//! store's reconciler does.

use std::time::Duration;

use smartex_core::request::OrderViewKind;
use smartex_core::response::Order;
use smartex_core::status::{DEFAULT_CLOCK_SKEW_MS, Decision, KnownStatus, StatusEvent, Tracker};
use smartex_core::{OrderSecret, OrderStatus, OrderUid};
use tokio::time::Instant;

use crate::client::{Client, random_u64};
use crate::error::Error;
use crate::transport::Transport;

/// How [`Client::watch_order`] polls.
///
/// The first poll is immediate; then the interval starts at `first_interval`,
/// grows by half after each poll that shows no change (up to `max_interval`),
/// and returns to `first_interval` after a change. Each wait is jittered by up
/// to a tenth. Nothing is sent after `deadline`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchOptions {
    /// How long to watch in total (default 30 minutes).
    pub deadline: Duration,
    /// The first wait between polls (default 5 s).
    pub first_interval: Duration,
    /// The longest wait between polls (default 2 minutes).
    pub max_interval: Duration,
    /// Which view of the order to ask for (default `order`).
    pub view: OrderViewKind,
    /// What the merchant already knows of the order (default nothing): a status
    /// equal to it is not reported again.
    pub known: Option<KnownStatus>,
    /// How far the platform's clock may be from ours (default
    /// [`DEFAULT_CLOCK_SKEW_MS`], 5 s): widens each poll's time window.
    pub clock_skew: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30 * 60),
            first_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(120),
            view: OrderViewKind::Order,
            known: None,
            clock_skew: Duration::from_millis(DEFAULT_CLOCK_SKEW_MS),
        }
    }
}

impl WatchOptions {
    /// Watch for at most `deadline`.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The wait between polls grows from `first` to `max`.
    pub fn intervals(mut self, first: Duration, max: Duration) -> Self {
        self.first_interval = first;
        self.max_interval = max.max(first);
        self
    }

    /// How far the platform's clock may be from ours (see
    /// [`StatusEvent::polled_between`]).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Starts from what the merchant knows, with its time and source (the
    /// record a store keeps): a poll is then ordered against it by time.
    pub fn known_status(mut self, known: KnownStatus) -> Self {
        self.known = Some(known);
        self
    }

    /// Starts from what the merchant knows (the status it stored last), with
    /// no time: the tracker relies on the lifecycle alone.
    pub fn known(mut self, status: OrderStatus) -> Self {
        self.known = Some(KnownStatus {
            status,
            at: None,
            source: smartex_core::status::Source::Poll { window_ms: 0 },
            last_signed: None,
        });
        self
    }

    /// Asks for the `payment` view instead of the `order` view.
    pub fn view(mut self, view: OrderViewKind) -> Self {
        self.view = view;
        self
    }
}

/// A status change seen by [`OrderWatch`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StatusChange {
    /// The new status.
    pub status: OrderStatus,
    /// [`Decision::Apply`] (record it) or [`Decision::Unexpected`] (look at it).
    pub decision: Decision,
    /// The order as the poll returned it.
    pub order: Order,
    /// The observation the tracker decided: the status with the poll's time
    /// window ([`StatusEvent::polled_between`]) — what a store records
    /// (`smartex_store::Observation`), so a later IPN is ordered against it.
    pub event: StatusEvent,
}

/// How an [`OrderWatch`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchEnd {
    /// Still watching.
    Watching,
    /// The order reached a final status (`done`, `returned`, `deleted`).
    Final,
    /// The deadline passed first.
    Deadline,
    /// A poll failed with an error that waiting would not cure (reported by
    /// [`OrderWatch::next`]).
    Failed,
}

/// Polls one order; made by [`Client::watch_order`]. See the [module](self).
///
/// If a `next()` future is dropped while it waits, the next call polls at once.
pub struct OrderWatch<'c, T> {
    client: &'c Client<T>,
    uid: OrderUid,
    secret: OrderSecret,
    view: OrderViewKind,
    tracker: Tracker,
    deadline: Instant,
    first_interval: Duration,
    max_interval: Duration,
    clock_skew_ms: u64,
    interval: Duration,
    wait: Option<Duration>,
    last_unexpected: Option<OrderStatus>,
    last_order: Option<Order>,
    last_error: Option<Error>,
    polls: u32,
    end: WatchEnd,
}

impl<T> std::fmt::Debug for OrderWatch<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderWatch")
            .field("uid", &self.uid)
            .field("known", &self.tracker.known())
            .field("polls", &self.polls)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Client<T> {
    /// Watches order `uid` until its status is final or `options.deadline`
    /// passes, polling `order/get` (a read, so its own retries apply too).
    ///
    /// ```no_run
    /// # async fn demo<T: smartex_http::Transport>(client: smartex_http::Client<T>,
    /// #     uid: smartex_core::OrderUid, secret: smartex_core::OrderSecret) -> Result<(), smartex_http::Error> {
    /// use smartex_http::watch::WatchOptions;
    /// use smartex_core::status::Decision;
    ///
    /// let mut watch = client.watch_order(uid, &secret, WatchOptions::default());
    /// while let Some(change) = watch.next().await {
    ///     let change = change?;
    ///     match change.decision {
    ///         Decision::Apply => { /* record change.status; ship, refund, … */ }
    ///         _ => { /* unexpected: flag the order for a person */ }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch_order(
        &self,
        uid: OrderUid,
        secret: &OrderSecret,
        options: WatchOptions,
    ) -> OrderWatch<'_, T> {
        let tracker = options.known.map(Tracker::from_known).unwrap_or_default();
        let now = Instant::now();
        // A deadline past what the clock can represent (`Duration::MAX`: "no
        // deadline") is a century away rather than a panic.
        let deadline = now
            .checked_add(options.deadline)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        OrderWatch {
            client: self,
            uid,
            secret: secret.clone(),
            view: options.view,
            tracker,
            deadline,
            first_interval: options.first_interval,
            max_interval: options.max_interval.max(options.first_interval),
            clock_skew_ms: u64::try_from(options.clock_skew.as_millis()).unwrap_or(u64::MAX),
            interval: options.first_interval,
            wait: None,
            last_unexpected: None,
            last_order: None,
            last_error: None,
            polls: 0,
            end: WatchEnd::Watching,
        }
    }
}

impl<T: Transport> OrderWatch<'_, T> {
    /// The next status change; `None` once the status is final (after that
    /// change was returned), the deadline has passed, or an error was returned.
    ///
    /// Errors that waiting may cure ([`Error::is_transient`]: connection,
    /// timeout, `5xx`, maintenance, anti-flood — whose wait is honoured) do
    /// not end the watch; the last one is kept in
    /// [`last_error`](Self::last_error). Any other error is returned once and
    /// ends it.
    pub async fn next(&mut self) -> Option<Result<StatusChange, Error>> {
        loop {
            if self.end != WatchEnd::Watching {
                return None;
            }
            if let Some(wait) = self.wait.take() {
                let remaining = self.deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    self.end = WatchEnd::Deadline;
                    return None;
                }
                tokio::time::sleep(wait.min(remaining)).await;
            }
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                self.end = WatchEnd::Deadline;
                return None;
            }
            self.polls += 1;
            let sent = self.client.clock().now();
            let poll = self.client.get_order(self.uid, &self.secret, self.view);
            let order = match tokio::time::timeout(remaining, poll).await {
                Err(_) => {
                    self.end = WatchEnd::Deadline;
                    return None;
                }
                Ok(Err(e)) if e.is_transient() => {
                    // The anti-flood guard names its wait: never poll sooner
                    // (the deadline still bounds it).
                    let wait = self.grow().max(e.retry_after().unwrap_or_default());
                    self.last_error = Some(e);
                    self.wait = Some(wait);
                    continue;
                }
                Ok(Err(e)) => {
                    self.end = WatchEnd::Failed;
                    return Some(Err(e));
                }
                Ok(Ok(view)) => view.order,
            };
            let received = self.client.clock().now();
            self.last_error = None;
            let status = order.status.clone();
            let is_final = status.is_final();
            let event =
                StatusEvent::polled_between(status.clone(), sent, received, self.clock_skew_ms);
            let decision = self.tracker.apply(&event);
            let report = match &decision {
                Decision::Apply => true,
                Decision::Unexpected { .. } => self.last_unexpected.as_ref() != Some(&status),
                _ => false,
            };
            if matches!(decision, Decision::Unexpected { .. }) {
                self.last_unexpected = Some(status.clone());
            }
            self.last_order = Some(order.clone());
            if is_final {
                self.end = WatchEnd::Final;
            }
            if report {
                self.interval = self.first_interval;
                self.wait = Some(jittered(self.interval));
                return Some(Ok(StatusChange {
                    status,
                    decision,
                    order,
                    event,
                }));
            }
            if is_final {
                return None;
            }
            self.wait = Some(self.grow());
        }
    }

    /// The current wait, then grows it for next time.
    fn grow(&mut self) -> Duration {
        let wait = jittered(self.interval);
        self.interval = (self.interval + self.interval / 2).min(self.max_interval);
        wait
    }

    /// How the watch ended (or [`WatchEnd::Watching`]).
    pub fn end(&self) -> WatchEnd {
        self.end
    }

    /// The status the tracker holds: the last one applied.
    pub fn known(&self) -> Option<&KnownStatus> {
        self.tracker.known()
    }

    /// The order as the last successful poll returned it.
    pub fn last_order(&self) -> Option<&Order> {
        self.last_order.as_ref()
    }

    /// The last transient error, if the last poll failed.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// How many polls were sent.
    pub fn polls(&self) -> u32 {
        self.polls
    }
}

/// `d` shortened by up to a tenth, at random.
fn jittered(d: Duration) -> Duration {
    let tenth = u64::try_from((d / 10).as_nanos()).unwrap_or(u64::MAX);
    if tenth == 0 {
        return d;
    }
    // Without randomness, no jitter.
    d - Duration::from_nanos(random_u64().map_or(0, |r| r % tenth))
}
