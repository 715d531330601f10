//! `smartex demo`: one order from creation to `done`, on this machine.
//!
//! The exchange is a [`Sandbox`] whose orders move only on command, so the
//! flow is deterministic; the merchant is an [`IpnServer`] (smartex-ipn
//! behind hyper) and the real API client ([`smartex_http::Client`] over
//! reqwest). Both listen on ephemeral 127.0.0.1 ports. The flow:
//!
//! 1. look the route up (`route/get/one/by-xml`, CARDRUB → BTC, a
//!    manual-payment route) and create an order (`order/create`) whose
//!    `ipnUrl` is the receiver and whose `ipnSecret` is fresh and random;
//! 2. the exchange moves it to `waitPayment`;
//! 3. the merchant marks it paid (`order/update-status` → `inProgress`);
//! 4. the exchange moves it to `inProgressPayout`, then `done`;
//! 5. the merchant reconciles with `order/get` (`watch_order`), from the
//!    status its IPNs told it.
//!
//! Every status change sends one IPN, which the receiver verifies and
//! decides with the core tracker. Faults can be injected per status (a lost,
//! duplicated or late IPN); the demo passes only if every IPN that arrived
//! verified, every one was answered 2xx, each status was processed once, the
//! merchant's records end at `done`, and `order/get` agrees.
//!
//! Then the durable part (`durable.rs`): the `smartex` facade over a real
//! SQLite file checks a second order out, goes down while the exchange moves
//! it to `done` (its IPNs are lost: the platform never resends), restarts
//! over the same file, and recovers `done` from the store with its
//! reconciler.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use smartex_core::ipn::VerifiedIpn;
use smartex_core::request::CreateOrder;
use smartex_core::status::Decision;
use smartex_core::{CurrencyCode, IpnSecret, OrderStatus, OrderUid};
use smartex_http::{Client, ClientBuilder, ReqwestTransport, RetryPolicy, WatchEnd, WatchOptions};
use smartex_sandbox::{IpnOutcome, IpnSpelling, Sandbox, SandboxConfig, Schedule};

use crate::exit::Error;
use crate::receiver::{IpnServer, IpnServerOptions, Verdict};
use crate::term::{Printer, Style};

/// How long any one wait of the demo may take before it gives up.
const WAIT: Duration = Duration::from_secs(10);

/// The card number the demo's customer pays with (a test number).
const CARD: &str = "4111111111111111";
/// The customer's BTC address (a valid bech32 form; no funds move).
const BTC_WALLET: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
/// The amount sent, in RUB.
const AMOUNT: &str = "5000";

/// A status change that sends an IPN, for the fault options: `waitPayment`,
/// `inProgress`, `inProgressPayout` or `done`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum IpnStep {
    /// The exchange waits for the customer's payment.
    #[value(name = "waitPayment")]
    WaitPayment,
    /// The merchant marked the order paid.
    #[value(name = "inProgress")]
    InProgress,
    /// Payment accepted, payout queued.
    #[value(name = "inProgressPayout")]
    InProgressPayout,
    /// Paid out.
    #[value(name = "done")]
    Done,
}

impl IpnStep {
    /// The steps, in the order the demo takes them.
    pub const ALL: [IpnStep; 4] = [
        IpnStep::WaitPayment,
        IpnStep::InProgress,
        IpnStep::InProgressPayout,
        IpnStep::Done,
    ];

    /// The status this step moves the order to.
    pub fn status(self) -> OrderStatus {
        match self {
            IpnStep::WaitPayment => OrderStatus::WaitPayment,
            IpnStep::InProgress => OrderStatus::InProgress,
            IpnStep::InProgressPayout => OrderStatus::InProgressPayout,
            IpnStep::Done => OrderStatus::Done,
        }
    }
}

/// What the demo injects, and how fast it goes.
///
/// ```
/// use std::time::Duration;
/// use smartex_cli::demo::{DemoOptions, IpnStep};
/// let options = DemoOptions::default()
///     .lose_ipn(IpnStep::Done)
///     .duplicate_ipn(IpnStep::InProgress)
///     .pace(Duration::ZERO);
/// assert!(options.check().is_ok());
/// assert!(DemoOptions::default().lose_ipn(IpnStep::Done).late_ipn(IpnStep::Done).check().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOptions {
    lose: Option<IpnStep>,
    duplicate: Option<IpnStep>,
    late: Option<IpnStep>,
    wrong_secret: bool,
    pace: Duration,
    late_by: Duration,
    ipn_spelling: IpnSpelling,
}

impl Default for DemoOptions {
    /// No faults; 100 ms between steps; a late IPN is held back 1 s.
    fn default() -> Self {
        Self {
            lose: None,
            duplicate: None,
            late: None,
            wrong_secret: false,
            pace: Duration::from_millis(100),
            late_by: Duration::from_secs(1),
            ipn_spelling: IpnSpelling::Qs,
        }
    }
}

impl DemoOptions {
    /// Loses the IPN of `step`: reconciliation must make up for it.
    pub fn lose_ipn(mut self, step: IpnStep) -> Self {
        self.lose = Some(step);
        self
    }

    /// Delivers the IPN of `step` twice.
    pub fn duplicate_ipn(mut self, step: IpnStep) -> Self {
        self.duplicate = Some(step);
        self
    }

    /// Holds the IPN of `step` back (see [`late_by`](Self::late_by)) so that
    /// later ones overtake it.
    pub fn late_ipn(mut self, step: IpnStep) -> Self {
        self.late = Some(step);
        self
    }

    /// Gives the merchant's endpoint another secret than the order's: every
    /// IPN is refused (401), and the demo fails — what a misconfigured
    /// endpoint looks like.
    pub fn wrong_secret(mut self, wrong: bool) -> Self {
        self.wrong_secret = wrong;
        self
    }

    /// How the sandbox spells its IPN bodies (default: as the platform's
    /// `qs`); see [`IpnSpelling`].
    pub fn ipn_spelling(mut self, spelling: IpnSpelling) -> Self {
        self.ipn_spelling = spelling;
        self
    }

    /// The pause between steps (default 100 ms).
    pub fn pace(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// How long a late IPN is held back (default 1 s: far longer than the
    /// remaining steps take).
    pub fn late_by(mut self, delay: Duration) -> Self {
        self.late_by = delay;
        self
    }

    /// Checks that no status has two faults.
    ///
    /// # Errors
    /// Exit 2, naming the status.
    pub fn check(&self) -> Result<(), Error> {
        let faults = [self.lose, self.duplicate, self.late];
        for step in IpnStep::ALL {
            if faults.iter().filter(|f| **f == Some(step)).count() > 1 {
                return Err(Error::usage(format!(
                    "the {} IPN can have one fault at a time",
                    step.status()
                )));
            }
        }
        Ok(())
    }

    fn faults_of(&self, step: IpnStep) -> &'static str {
        if self.lose == Some(step) {
            "lost"
        } else if self.duplicate == Some(step) {
            "duplicated"
        } else if self.late == Some(step) {
            "late"
        } else {
            ""
        }
    }
}

/// Where an event of the timeline comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The merchant's API call returned.
    Call {
        /// The method (`order/create`, `order/update-status`).
        method: &'static str,
    },
    /// The merchant's endpoint received an IPN.
    Ipn {
        /// `applied`, `duplicate`, `stale`, `unexpected`, `replay` or `refused`.
        outcome: &'static str,
        /// Whether its checksum matched.
        verified: bool,
        /// The HTTP status the endpoint answered.
        answer_status: u16,
        /// The body it answered.
        answer_body: &'static str,
        /// Why it was refused, if it was.
        refusal: Option<String>,
    },
    /// The exchange lost an IPN on purpose (the merchant never saw it).
    LostIpn,
    /// The exchange held an IPN back on purpose (it arrives late).
    HeldIpn,
    /// A poll (`order/get`) during reconciliation.
    Poll {
        /// `applied` (a change the IPNs had not told), `duplicate` (agrees), …
        outcome: &'static str,
    },
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// Milliseconds since the demo started.
    pub at_ms: u64,
    /// The order's status it is about.
    pub status: OrderStatus,
    /// What happened.
    pub kind: EventKind,
}

/// One check of the demo.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Whether it passed.
    pub passed: bool,
    /// What was checked, and what was found.
    pub what: String,
}

/// What the demo did and found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DemoReport {
    /// The order's number.
    pub order_uid: OrderUid,
    /// The payment page it printed.
    pub payment_page: String,
    /// Every event, in time order.
    pub timeline: Vec<Event>,
    /// Every check.
    pub checks: Vec<Check>,
    /// The status in the merchant's records at the end.
    pub final_status: Option<OrderStatus>,
    /// The status `order/get` returned last.
    pub polled_status: Option<OrderStatus>,
}

impl DemoReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The status in the merchant's records at the end.
    pub fn final_status(&self) -> Option<&OrderStatus> {
        self.final_status.as_ref()
    }
}

/// Runs the demo, writing its narrative and timeline to `out` (no colour,
/// no spinner).
///
/// # Errors
/// Exit 2 for conflicting options; exit 3 if the sandbox or the receiver
/// cannot start, or a step fails or times out. A check that fails is not an
/// error: see [`DemoReport::passed`].
pub async fn run(options: &DemoOptions, out: &mut (dyn Write + Send)) -> Result<DemoReport, Error> {
    run_with(options, &Printer::new(out, Style::plain(), false)).await
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    smartex_ipn::now().as_millis()
}

/// 32 random hex digits from std alone (the per-process random hasher keys,
/// a counter and the clock): a demo secret, never shown.
fn random_hex() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(32);
    for _ in 0..2 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let x = std::collections::hash_map::RandomState::new().hash_one((n, nanos));
        out.push_str(&format!("{x:016x}"));
    }
    out
}

/// The timeline as it is being built.
#[derive(Default)]
struct Timeline {
    events: Mutex<Vec<Event>>,
    start_ms: u64,
}

impl Timeline {
    fn push(&self, at_ms: u64, status: OrderStatus, kind: EventKind) {
        let event = Event {
            at_ms: at_ms.saturating_sub(self.start_ms),
            status,
            kind,
        };
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    fn into_sorted(self) -> Vec<Event> {
        let mut events = self
            .events
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        events.sort_by_key(|e| e.at_ms);
        events
    }
}

/// Waits until the IPN records of `status` of order `uid` have all settled.
async fn settled(sb: &Sandbox, uid: OrderUid, status: &OrderStatus) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let records = sb.ipns_for(uid);
        let mut mine = records.iter().filter(|r| r.status == *status).peekable();
        if mine.peek().is_some() && mine.all(|r| r.outcome.is_settled()) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::unavailable(format!(
                "the {status} IPN was not delivered within {WAIT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The demo with a printer of the caller's choice.
pub(crate) async fn run_with(options: &DemoOptions, p: &Printer<'_>) -> Result<DemoReport, Error> {
    options.check()?;
    let s = p.style();
    let timeline = Timeline {
        start_ms: now_ms(),
        ..Timeline::default()
    };

    p.line(s.bold(
        "smartex demo: one order from creation to done, on this machine (no real money moves)",
    ));
    p.line("");
    let sb = Arc::new(
        Sandbox::start(
            SandboxConfig::default()
                .schedule(Schedule::manual())
                .ipn_spelling(options.ipn_spelling),
        )
        .await?,
    );
    let server = IpnServer::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        IpnServerOptions::default(),
    )
    .await?;
    p.line(format!(
        "  exchange   smartex-sandbox   {}  (API root {})",
        sb.site_url(),
        sb.api_root()
    ));
    p.line(format!(
        "  merchant   smartex-ipn       {}  (ipnSecret: random, not shown)",
        server.url()
    ));
    let injected: Vec<String> = IpnStep::ALL
        .iter()
        .filter_map(|step| {
            let fault = options.faults_of(*step);
            (!fault.is_empty()).then(|| format!("the {} IPN will be {fault}", step.status()))
        })
        .collect();
    let mut injected = injected;
    if options.wrong_secret {
        injected.push("the merchant's endpoint has the wrong ipnSecret".to_owned());
    }
    if !injected.is_empty() {
        p.line(format!("  faults     {}", injected.join("; ")));
    }
    p.line("");

    let transport = ReqwestTransport::builder()
        .no_proxy()
        .timeout(Some(WAIT))
        .build()
        .map_err(|e| Error::unavailable(format!("the HTTP client could not be set up: {e}")))?;
    let client = ClientBuilder::new(sb.site_url())
        .timeout(WAIT)
        .retry(RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        })
        .build_with(transport)?;

    let result = flow(options, p, &sb, &server, &client, &timeline).await;
    // The durable part, on the same exchange, once the first order is done.
    let durable = match &result {
        Ok(_) => Some(crate::durable::run(&sb, p).await),
        Err(_) => None,
    };
    server_and_sandbox_down(server, sb).await;
    let (order_uid, payment_page, mut checks, final_status, polled_status) = result?;
    if let Some(durable) = durable {
        checks.extend(durable?);
    }

    let report = DemoReport {
        order_uid,
        payment_page,
        timeline: timeline.into_sorted(),
        checks,
        final_status,
        polled_status,
    };
    print_report(p, &report);
    Ok(report)
}

async fn server_and_sandbox_down(server: IpnServer, sb: Arc<Sandbox>) {
    server.shutdown().await;
    match Arc::try_unwrap(sb) {
        Ok(sb) => sb.shutdown().await,
        // A late delivery task still holds it: dropping it aborts that task.
        Err(sb) => drop(sb),
    }
}

type FlowResult = (
    OrderUid,
    String,
    Vec<Check>,
    Option<OrderStatus>,
    Option<OrderStatus>,
);

async fn flow(
    options: &DemoOptions,
    p: &Printer<'_>,
    sb: &Arc<Sandbox>,
    server: &IpnServer,
    client: &Client<ReqwestTransport>,
    timeline: &Timeline,
) -> Result<FlowResult, Error> {
    let s = p.style();
    let step_line = |arrow: &str, what: &str, text: String| {
        p.line(format!("  {arrow} {what:<22} {text}"));
    };

    // 1. The route, as a merchant finds it: by the currencies' codes.
    p.waiting("route/get/one/by-xml …");
    let (xml_in, xml_out) = (
        CurrencyCode::parse("xmlIn", "CARDRUB")?,
        CurrencyCode::parse("xmlOut", "BTC")?,
    );
    let route = client.route_by_xml(xml_in, xml_out).await?.route;
    let card_field = route
        .from
        .as_ref()
        .and_then(|side| side.fields.iter().find(|f| f.required != Some(false)))
        .map(|f| f.id.clone())
        .ok_or_else(|| Error::unavailable("the CARDRUB → BTC route asks for no card number"))?;
    step_line(
        "→",
        "route/get/one/by-xml",
        format!("CARDRUB → BTC: route {} (manual payment)", route.route_id),
    );

    // 2. The order, with the receiver as ipnUrl and a fresh ipnSecret.
    let secret = IpnSecret::new(random_hex())?;
    let order = CreateOrder::builder()
        .route_id(route.route_id.as_str())
        .amount(AMOUNT)
        .agreement(true)
        .from_value(card_field, CARD)
        .to_value("wallet", BTC_WALLET)
        .ipn_url(server.url())
        .ipn_secret(secret.expose())
        .build()?;
    p.waiting("order/create …");
    let created = client.create_order(&order).await?;
    timeline.push(
        now_ms(),
        created.status.clone().unwrap_or(OrderStatus::New),
        EventKind::Call {
            method: "order/create",
        },
    );
    let order_id = created.id().as_str().to_owned();
    let endpoint_secret = if options.wrong_secret {
        IpnSecret::new(random_hex())?
    } else {
        secret
    };
    server.expect_order(&order_id, endpoint_secret);
    let uid = created.uid();
    let amounts = format!(
        "{AMOUNT} CARDRUB → {} BTC",
        created
            .out_amount
            .as_ref()
            .map_or("?", smartex_core::Amount::as_str)
    );
    step_line("→", "order/create", format!("order {uid}: {amounts}"));
    let payment_page = created.payment_page();
    step_line(" ", "payment page", payment_page.clone());

    // 3. The lifecycle, each change with its IPN.
    for step in IpnStep::ALL {
        tokio::time::sleep(options.pace).await;
        let status = step.status();
        let fault = options.faults_of(step);
        match fault {
            "lost" => sb.drop_next_ipn(uid),
            "duplicated" => sb.duplicate_next_ipn(uid),
            "late" => sb.delay_next_ipn(uid, options.late_by),
            _ => {}
        }
        let fault_note = if fault.is_empty() {
            String::new()
        } else {
            s.warn(&format!("  [its IPN will be {fault}]"))
        };
        if step == IpnStep::InProgress {
            p.waiting("order/update-status …");
            client.mark_paid(uid, created.secret()).await?;
            timeline.push(
                now_ms(),
                status.clone(),
                EventKind::Call {
                    method: "order/update-status",
                },
            );
            step_line(
                "→",
                "order/update-status",
                format!(
                    "the customer paid by card: marked paid (waitPayment → inProgress){fault_note}"
                ),
            );
        } else {
            p.waiting(format!("the exchange moves the order to {status} …"));
            if fault == "late" {
                // The sandbox answers once the IPN settled, which for a late
                // one is later: let it wait on its own.
                let exchange = Arc::clone(sb);
                tokio::spawn(async move { exchange.advance(uid).await });
                sb_wait_status(sb, uid, &status).await?;
            } else {
                sb.advance(uid).await?;
            }
            let what = match step {
                IpnStep::WaitPayment => "waiting for the customer's payment",
                IpnStep::InProgressPayout => "payment accepted, payout queued",
                _ => "payout sent",
            };
            step_line("⋯", "exchange", format!("{status}: {what}{fault_note}"));
        }
        if fault != "late" {
            p.waiting(format!("the {status} IPN …"));
            settled(sb, uid, &status).await?;
        }
    }

    // 4. Reconciliation: poll from what the IPNs said.
    tokio::time::sleep(options.pace).await;
    p.waiting("reconciling with order/get …");
    let mut watch_options = WatchOptions::default()
        .deadline(WAIT)
        .intervals(Duration::from_millis(50), Duration::from_millis(200));
    if let Some(known) = server.known(&order_id) {
        watch_options = watch_options.known_status(known);
    }
    let mut watch = client.watch_order(uid, created.secret(), watch_options);
    let mut reported = false;
    while let Some(change) = watch.next().await {
        let change = change?;
        let decision = server.reconcile(&order_id, &change.event);
        timeline.push(
            now_ms(),
            change.status.clone(),
            EventKind::Poll {
                outcome: crate::receiver::decision_word(&decision),
            },
        );
        reported = true;
    }
    let polled_status = watch.last_order().map(|o| o.status.clone());
    if !reported && let Some(status) = &polled_status {
        timeline.push(
            now_ms(),
            status.clone(),
            EventKind::Poll {
                outcome: "duplicate",
            },
        );
    }
    let end = watch.end();
    let recon = match (&polled_status, end) {
        (Some(st), WatchEnd::Final) => format!("order/get says {st}"),
        (Some(st), _) => format!("order/get still says {st} (not final)"),
        (None, _) => "order/get gave no answer".to_owned(),
    };
    step_line(
        "→",
        "order/get",
        format!("reconciled (watch_order): {recon}"),
    );

    // 5. Late IPNs arrive; then everything is settled.
    if options.late.is_some() {
        p.waiting("waiting for the late IPN …");
    }
    let records = sb.wait_ipns_settled(options.late_by + WAIT).await?;
    p.done_waiting();

    let deliveries = server.deliveries();
    for d in &deliveries {
        // A refused body's status is not to be trusted; the exchange's own
        // record of what it sent (the same bytes) says which one it was.
        let status = d.verdict.ipn().map(VerifiedIpn::status).or_else(|| {
            records
                .iter()
                .find(|r| r.body.as_bytes() == d.body.as_slice())
                .map(|r| r.status.clone())
        });
        timeline.push(
            d.received_at_ms,
            status.unwrap_or_else(|| OrderStatus::Unknown("?".to_owned())),
            EventKind::Ipn {
                outcome: d.verdict.outcome(),
                verified: d.verdict.is_verified(),
                answer_status: d.answer.status,
                answer_body: d.answer.body,
                refusal: match &d.verdict {
                    Verdict::Refused { error, .. } => Some(error.to_string()),
                    _ => None,
                },
            },
        );
    }
    for r in &records {
        if r.outcome == IpnOutcome::Dropped {
            timeline.push(r.queued_at_ms, r.status.clone(), EventKind::LostIpn);
        } else if r.delay.is_some() {
            timeline.push(r.queued_at_ms, r.status.clone(), EventKind::HeldIpn);
        }
    }

    // 6. The checks.
    let mut checks = Vec::new();
    let verified = deliveries
        .iter()
        .filter(|d| d.verdict.is_verified())
        .count();
    checks.push(Check {
        passed: !deliveries.is_empty() && verified == deliveries.len(),
        what: format!("{} IPN(s) arrived, {verified} verified", deliveries.len()),
    });
    let answered: Vec<u16> = records
        .iter()
        .filter_map(|r| r.outcome.http_status())
        .collect();
    checks.push(Check {
        passed: answered.iter().all(|st| (200..300).contains(st)),
        what: format!(
            "every IPN was answered 2xx ({})",
            answered
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    let applied = server.applied(&order_id);
    let distinct: HashSet<&OrderStatus> = applied.iter().collect();
    checks.push(Check {
        passed: distinct.len() == applied.len(),
        what: format!(
            "each status was processed once ({})",
            applied
                .iter()
                .map(OrderStatus::as_str)
                .collect::<Vec<_>>()
                .join(" → ")
        ),
    });
    let final_status = server.known(&order_id).map(|k| k.status);
    checks.push(Check {
        passed: final_status == Some(OrderStatus::Done),
        what: format!(
            "final status in the merchant's records: {}",
            final_status.as_ref().map_or("(none)", OrderStatus::as_str)
        ),
    });
    checks.push(Check {
        passed: end == WatchEnd::Final && polled_status.is_some() && polled_status == final_status,
        what: format!("reconciliation agrees: {recon}"),
    });
    // A decision the books refused is for a person to look at.
    if deliveries.iter().any(|d| {
        matches!(
            &d.verdict,
            Verdict::Verified {
                decision: Decision::Unexpected { .. },
                ..
            }
        )
    }) {
        checks.push(Check {
            passed: false,
            what: "an IPN did not fit the lifecycle (held for review)".to_owned(),
        });
    }
    Ok((uid, payment_page, checks, final_status, polled_status))
}

/// Waits until the sandbox's order `uid` has had `status`.
async fn sb_wait_status(sb: &Sandbox, uid: OrderUid, status: &OrderStatus) -> Result<(), Error> {
    sb.wait_for_status(uid, status.clone(), WAIT).await?;
    Ok(())
}

fn print_report(p: &Printer<'_>, report: &DemoReport) {
    let s = p.style();
    p.line("");
    p.line(format!(
        "{}   {}",
        s.bold("timeline"),
        s.dim("(ms since start; IPN: what the merchant's endpoint received; poll: order/get)")
    ));
    p.line(s.dim(&format!(
        "  {:>6}  {:<6}  {:<17} {}",
        "ms", "source", "status", ""
    )));
    for e in &report.timeline {
        let (source, detail) = match &e.kind {
            EventKind::Call { method } => ("API", s.dim(method)),
            EventKind::Ipn {
                outcome,
                verified,
                answer_status,
                answer_body,
                refusal,
            } => {
                let mark = if *verified {
                    s.ok("✓ verified")
                } else {
                    s.bad("✗ refused")
                };
                let what = match *outcome {
                    "applied" => "applied".to_owned(),
                    "duplicate" => "duplicate, already known".to_owned(),
                    "stale" => s.warn("stale (older than what is known), ignored"),
                    "replay" => s.warn("replay (received before), not processed again"),
                    other => s.warn(refusal.as_deref().unwrap_or(other)),
                };
                (
                    "IPN",
                    format!("{mark}  {what}  → {answer_status} {answer_body}"),
                )
            }
            EventKind::LostIpn => (
                "IPN",
                s.warn("✗ lost by the exchange (injected): the merchant never saw it"),
            ),
            EventKind::HeldIpn => (
                "IPN",
                s.warn("… held back by the exchange (injected): it will arrive late"),
            ),
            EventKind::Poll { outcome } => {
                let what = match *outcome {
                    "applied" => s.ok("✓ recovered by reconciliation: no verified IPN had told it"),
                    "duplicate" => s.ok("✓ agrees with the IPNs"),
                    other => s.warn(other),
                };
                ("poll", what)
            }
        };
        p.line(format!(
            "  {:>6}  {source:<6}  {:<17} {detail}",
            e.at_ms,
            e.status.as_str()
        ));
    }
    p.line("");
    p.line(s.bold("checks"));
    for c in &report.checks {
        let mark = if c.passed { s.ok("✓") } else { s.bad("✗") };
        p.line(format!("  {mark} {}", c.what));
    }
    p.line("");
    if report.passed() {
        p.line(s.ok(&s.bold("demo passed: every check checked out")));
    } else {
        p.line(s.bad(&s.bold("demo FAILED: see the checks above")));
    }
}
