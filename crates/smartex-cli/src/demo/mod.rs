//! `smartex demo`: one order from creation to `done`, on this machine.
//!
//! The exchange is a [`Sandbox`] whose orders move only on command, so the
//! flow is deterministic; the merchant is an [`IpnServer`] (smartex-ipn's
//! receiver and the core tracker behind the command's server) and the real
//! API client ([`smartex_http::Client`] over reqwest). Both listen on
//! ephemeral 127.0.0.1 ports. The flow ([`flow`]):
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
//! Then the durable part ([`durable`]): the `smartex` facade over a real
//! SQLite file checks a second order out, goes down while the exchange moves
//! it to `done` (its IPNs are lost: the platform never resends), restarts
//! over the same file, and recovers `done` from the store with its
//! reconciler.

mod durable;
mod flow;
mod report;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use smartex_core::OrderStatus;
use smartex_http::{Client, ClientBuilder, ReqwestTransport, RetryPolicy};
use smartex_sandbox::{IpnSpelling, Sandbox, SandboxConfig, Schedule};

use crate::exit::Error;
use crate::receiver::{IpnServer, IpnServerOptions};
use crate::term::Printer;

/// How long any one wait of the demo may take before it gives up.
const WAIT: Duration = Duration::from_secs(10);

/// A status change that sends an IPN, for the fault options: `waitPayment`,
/// `inProgress`, `inProgressPayout` or `done`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub(crate) enum IpnStep {
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
    const ALL: [IpnStep; 4] = [
        IpnStep::WaitPayment,
        IpnStep::InProgress,
        IpnStep::InProgressPayout,
        IpnStep::Done,
    ];

    /// The status this step moves the order to.
    fn status(self) -> OrderStatus {
        match self {
            IpnStep::WaitPayment => OrderStatus::WaitPayment,
            IpnStep::InProgress => OrderStatus::InProgress,
            IpnStep::InProgressPayout => OrderStatus::InProgressPayout,
            IpnStep::Done => OrderStatus::Done,
        }
    }
}

/// What the demo injects, and how fast it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DemoOptions {
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
    pub(crate) fn lose_ipn(mut self, step: IpnStep) -> Self {
        self.lose = Some(step);
        self
    }

    /// Delivers the IPN of `step` twice.
    pub(crate) fn duplicate_ipn(mut self, step: IpnStep) -> Self {
        self.duplicate = Some(step);
        self
    }

    /// Holds the IPN of `step` back (1 s) so that later ones overtake it.
    pub(crate) fn late_ipn(mut self, step: IpnStep) -> Self {
        self.late = Some(step);
        self
    }

    /// Gives the merchant's endpoint another secret than the order's: every
    /// IPN is refused (401), and the demo fails — what a misconfigured
    /// endpoint looks like.
    pub(crate) fn wrong_secret(mut self, wrong: bool) -> Self {
        self.wrong_secret = wrong;
        self
    }

    /// How the sandbox spells its IPN bodies (default: as the platform's
    /// `qs`); see [`IpnSpelling`].
    pub(crate) fn ipn_spelling(mut self, spelling: IpnSpelling) -> Self {
        self.ipn_spelling = spelling;
        self
    }

    /// The pause between steps (default 100 ms).
    pub(crate) fn pace(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// Checks that no status has two faults.
    ///
    /// # Errors
    /// Exit 2, naming the status.
    pub(crate) fn check(&self) -> Result<(), Error> {
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

    /// The faults, for people: `the done IPN will be lost`, ….
    fn injected(&self) -> Vec<String> {
        let mut injected: Vec<String> = IpnStep::ALL
            .iter()
            .filter_map(|step| {
                let fault = self.faults_of(*step);
                (!fault.is_empty()).then(|| format!("the {} IPN will be {fault}", step.status()))
            })
            .collect();
        if self.wrong_secret {
            injected.push("the merchant's endpoint has the wrong ipnSecret".to_owned());
        }
        injected
    }
}

/// Where an event of the timeline comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum EventKind {
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
struct Event {
    /// Milliseconds since the demo started.
    at_ms: u64,
    /// The order's status it is about.
    status: OrderStatus,
    /// What happened.
    kind: EventKind,
}

/// One check of the demo.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Check {
    /// Whether it passed.
    passed: bool,
    /// What was checked, and what was found.
    what: String,
}

/// What the demo did and found.
#[derive(Clone, Debug)]
pub(crate) struct DemoReport {
    /// Every event, in time order.
    timeline: Vec<Event>,
    /// Every check.
    checks: Vec<Check>,
}

impl DemoReport {
    /// Whether every check passed.
    pub(crate) fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }
}

/// A fresh random secret (256 bits from the operating system), never shown.
fn random_secret() -> Result<smartex_core::IpnSecret, Error> {
    smartex_core::IpnSecret::generate()
        .map_err(|e| Error::unavailable(format!("cannot make a secret: {e}")))
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

/// Runs the demo, printing with `p`.
///
/// # Errors
/// Exit 2 for conflicting options; exit 3 if the sandbox or the receiver
/// cannot start, or a step fails or times out. A check that fails is not an
/// error: see [`DemoReport::passed`].
pub(crate) async fn run_with(options: &DemoOptions, p: &Printer<'_>) -> Result<DemoReport, Error> {
    options.check()?;
    let timeline = Timeline {
        start_ms: crate::now_ms(),
        ..Timeline::default()
    };
    let world = World::start(options, p).await?;
    let result = flow::run(&world.context(options, p, &timeline)).await;
    // The durable part, on the same exchange, once the first order is done.
    let durable = match &result {
        Ok(_) => Some(durable::run(&world.sb, p).await),
        Err(_) => None,
    };
    world.shut_down().await;
    let mut checks = result?;
    if let Some(durable) = durable {
        checks.extend(durable?);
    }
    let report = DemoReport {
        timeline: timeline.into_sorted(),
        checks,
    };
    report::print(p, &report);
    Ok(report)
}

/// The exchange, the merchant's endpoint and the merchant's API client.
struct World {
    sb: Arc<Sandbox>,
    server: IpnServer,
    client: Client<ReqwestTransport>,
}

impl World {
    /// Starts the sandbox and the receiver, builds the client and says so.
    async fn start(options: &DemoOptions, p: &Printer<'_>) -> Result<World, Error> {
        p.line(p.style().bold(
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
        let injected = options.injected();
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
        Ok(World { sb, server, client })
    }

    fn context<'a, 'w>(
        &'a self,
        options: &'a DemoOptions,
        p: &'a Printer<'w>,
        timeline: &'a Timeline,
    ) -> flow::Context<'a, 'w> {
        flow::Context {
            options,
            p,
            sb: &self.sb,
            server: &self.server,
            client: &self.client,
            timeline,
        }
    }

    async fn shut_down(self) {
        self.server.shutdown().await;
        match Arc::try_unwrap(self.sb) {
            Ok(sb) => sb.shutdown().await,
            // A late delivery task still holds it: dropping it aborts that task.
            Err(sb) => drop(sb),
        }
    }
}

/// Prints `  {arrow} {what:<22} {text}`: one step of the narrative.
fn step_line(p: &Printer<'_>, arrow: &str, what: &str, text: impl AsRef<str>) {
    p.line(format!("  {arrow} {what:<22} {}", text.as_ref()));
}
