//! `smartex soak`: a chaos run of the whole durable flow on this machine.
//!
//! The orchestrator (this process) runs the sandbox with a manual schedule
//! and drives every order itself, injecting faults: lost, duplicated, late
//! (overtaken) and stale IPNs, a 5xx after create, stalled answers. `K`
//! merchant instances run as separate processes (this binary, re-executed
//! with the hidden `soak-instance` subcommand) sharing one store, behind a
//! small load balancer that the orders' `ipnUrl` points to; they are killed
//! with SIGKILL and restarted at random moments. At the end every order's
//! stored status is compared with the sandbox's, the event log is checked
//! for double and backwards applies, and every applied change must have
//! reached the business handler (each instance appends acknowledged event
//! ids to a file).

pub(crate) mod instance;
mod lb;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use smartex::store::{AnyStore, DecisionKind, OrderKey, OrderStore, Source, StoreOptions};
use smartex_core::{OrderStatus, OrderUid};
use smartex_sandbox::{IpnKind, IpnOutcome, Sandbox, SandboxConfig, Schedule};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::cli::{SoakArgs, SoakInstanceArgs};
use crate::exit::{Error, Exit};
use crate::term::Printer;

pub(crate) use instance::run as run_instance;

/// A small xorshift generator: the soak's randomness, reproducible from
/// `--seed`.
#[derive(Debug)]
struct Rng(Mutex<u64>);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(Mutex::new(seed.max(1)))
    }

    fn next(&self) -> u64 {
        let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *s = x;
        x
    }

    /// True with probability `percent` / 100.
    fn chance(&self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A duration in `[lo, hi]` milliseconds.
    fn ms(&self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }
}

/// How a checkout request ended, from the orchestrator's side.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CheckoutEnd {
    Created(OrderUid),
    Ambiguous,
    NotCreated,
    /// The instance died (or answered nonsense) mid-checkout.
    Lost,
}

#[derive(Debug, Default)]
struct Tally {
    checkouts_ok: AtomicU64,
    checkouts_ambiguous: AtomicU64,
    checkouts_lost: AtomicU64,
    not_created: AtomicU64,
    faults_drop: AtomicU64,
    faults_duplicate: AtomicU64,
    faults_delay: AtomicU64,
    faults_stale: AtomicU64,
    faults_create_5xx: AtomicU64,
    faults_stall: AtomicU64,
    kills: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

struct Soak {
    sb: Arc<Sandbox>,
    rng: Rng,
    tally: Tally,
    backends: Arc<lb::Backends>,
    client: reqwest::Client,
    run_id: String,
    /// Orders the orchestrator knows to have uid and secret in the store
    /// (their checkout answered "created").
    ends: Mutex<BTreeMap<String, CheckoutEnd>>,
    timeout_ms: u64,
}

/// Runs the soak; exits 0 only if every check passed.
pub(crate) fn run(args: &SoakArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::unavailable(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(soak(args, p))
}

/// Starts instance `slot`; returns the child once it listens.
async fn spawn_instance(
    slot: usize,
    generation: u64,
    base: &SoakInstanceArgs,
    key_hex: &str,
    backends: &lb::Backends,
) -> Result<Child, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::unavailable(format!("cannot find this program: {e}")))?;
    let mut child = Command::new(exe)
        .arg("soak-instance")
        .arg("--store")
        .arg(&base.store)
        .arg("--site")
        .arg(&base.site)
        .arg("--ipn-url")
        .arg(&base.ipn_url)
        .arg("--name")
        .arg(format!("i{slot}-g{generation}"))
        .arg("--acks")
        .arg(base.acks.with_file_name(format!("acks-{slot}.log")))
        .arg("--route-id")
        .arg(&base.route_id)
        .arg("--timeout-ms")
        .arg(base.timeout_ms.to_string())
        .arg("--pending-horizon-ms")
        .arg(base.pending_horizon_ms.to_string())
        .arg("--business-fail-every")
        .arg(base.business_fail_every.to_string())
        .args(base.api_key.then_some("--api-key"))
        .env(instance::MASTER_KEY_ENV, key_hex)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::unavailable(format!("cannot start an instance: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::unavailable("instance without stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .map_err(|_| Error::unavailable("an instance did not start within 20 s"))?
        .map_err(|e| Error::unavailable(format!("instance output: {e}")))?
        .ok_or_else(|| Error::unavailable("an instance exited at start (see its error above)"))?;
    let port: u16 = line
        .strip_prefix("port ")
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| Error::unavailable(format!("unexpected instance output: {line:?}")))?;
    backends.set(slot, Some(port));
    Ok(child)
}

async fn soak(args: &SoakArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let started = Instant::now();
    let seed = args.seed.unwrap_or_else(|| {
        u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() % u128::from(u64::MAX)),
        )
        .unwrap_or(1)
    });
    let rng = Rng::new(seed);
    let run_id = format!("{:08x}", rng.next() as u32);
    let dir = std::env::temp_dir().join(format!("smartex-soak-{run_id}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::unavailable(format!("cannot create {}: {e}", dir.display())))?;
    let store_url = match &args.store {
        Some(url) => url.clone(),
        None => format!("sqlite:{}", dir.join("soak.db").display()),
    };
    p.line(format!(
        "soak: {} orders, {} instances, store {}, seed {seed}",
        args.orders,
        args.instances,
        redact_url(&store_url)
    ));

    let mut sandbox = SandboxConfig::default().schedule(Schedule::manual());
    if args.api_key {
        sandbox = sandbox
            .test_api_key()
            .require_api_key(true)
            .reorder_keyed_calls(Duration::from_millis(5));
    }
    let sb = Arc::new(
        Sandbox::start(sandbox)
            .await
            .map_err(|e| Error::unavailable(format!("sandbox: {e}")))?,
    );
    let route = sb
        .route_by_xml("ETH", "WMZ")
        .ok_or_else(|| Error::unavailable("the sandbox has no ETH→WMZ route"))?;
    // The orchestrator's own view of the store (opened first: migrations).
    let store = AnyStore::open(&store_url, StoreOptions::default())
        .await
        .map_err(|e| Error::unavailable(format!("store: {e}")))?;

    let transport = smartex_http::ReqwestTransport::builder()
        .no_proxy()
        .timeout(Some(Duration::from_secs(15)))
        .build()
        .map_err(|e| Error::unavailable(format!("HTTP client: {e}")))?;
    let client = transport.reqwest_client().clone();
    let backends = Arc::new(lb::Backends::new(args.instances));
    let lb_stats = Arc::new(lb::LbStats::default());
    let lb_port = lb::start(Arc::clone(&backends), Arc::clone(&lb_stats), client.clone())
        .await
        .map_err(|e| Error::unavailable(format!("load balancer: {e}")))?;

    let key_hex = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        rng.next(),
        rng.next(),
        rng.next(),
        rng.next()
    );
    let timeout_ms = 1_500;
    let base = SoakInstanceArgs {
        store: store_url.clone(),
        site: sb.site_url().to_owned(),
        ipn_url: format!("http://127.0.0.1:{lb_port}/ipn"),
        name: String::new(),
        acks: dir.join("acks.log"),
        route_id: route.id.clone(),
        timeout_ms,
        pending_horizon_ms: 60_000,
        business_fail_every: 7,
        api_key: args.api_key,
    };
    let mut children = Vec::with_capacity(args.instances);
    for slot in 0..args.instances {
        children.push(Some(
            spawn_instance(slot, 0, &base, &key_hex, &backends).await?,
        ));
    }

    let soak = Arc::new(Soak {
        sb: Arc::clone(&sb),
        rng,
        tally: Tally::default(),
        backends: Arc::clone(&backends),
        client,
        run_id: run_id.clone(),
        ends: Mutex::new(BTreeMap::new()),
        timeout_ms,
    });

    // Chaos: SIGKILL a random instance every so often and restart it.
    let chaos_on = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let children = Arc::new(tokio::sync::Mutex::new(children));
    let chaos = tokio::spawn({
        let soak = Arc::clone(&soak);
        let children = Arc::clone(&children);
        let chaos_on = Arc::clone(&chaos_on);
        let base = base.clone();
        let key_hex = key_hex.clone();
        let every = args.kill_every_ms;
        let slots = args.instances.max(1);
        async move {
            let mut generation = 1;
            while chaos_on.load(Ordering::Relaxed) {
                tokio::time::sleep(soak.rng.ms(every / 2, every * 3 / 2)).await;
                if !chaos_on.load(Ordering::Relaxed) || every == 0 {
                    break;
                }
                let slot = usize::try_from(soak.rng.next()).unwrap_or(0) % slots;
                let mut guard = children.lock().await;
                if let Some(mut child) = guard[slot].take() {
                    soak.backends.set(slot, None);
                    let _ = child.start_kill(); // SIGKILL
                    let _ = child.wait().await;
                    bump(&soak.tally.kills);
                }
                drop(guard);
                tokio::time::sleep(soak.rng.ms(50, 400)).await;
                let restarted =
                    spawn_instance(slot, generation, &base, &key_hex, &soak.backends).await;
                generation += 1;
                children.lock().await[slot] = restarted.ok();
            }
        }
    });

    // The orders, paced, each driven to a final status by its own task.
    let mut drivers = tokio::task::JoinSet::new();
    let pace = Duration::from_millis(args.pace_ms);
    for i in 0..args.orders {
        let soak = Arc::clone(&soak);
        drivers.spawn(async move { soak.order(i).await });
        tokio::time::sleep(pace).await;
    }
    let drive_deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while let Ok(Some(_)) =
        tokio::time::timeout_at(drive_deadline.into(), drivers.join_next()).await
    {}
    drivers.abort_all();

    // Calm: no more kills; every slot up.
    chaos_on.store(false, Ordering::Relaxed);
    chaos.abort();
    {
        let mut guard = children.lock().await;
        for slot in 0..args.instances {
            if guard[slot].is_none() {
                guard[slot] = Some(
                    spawn_instance(slot, 1_000 + slot as u64, &base, &key_hex, &backends).await?,
                );
            }
        }
    }
    p.waiting("soak: waiting for the store to converge");
    let converge_deadline = Instant::now() + Duration::from_secs(30);
    let mut verdict = check(&soak, &store, &dir, args.instances).await?;
    while !verdict.converged() && Instant::now() < converge_deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        verdict = check(&soak, &store, &dir, args.instances).await?;
    }
    p.done_waiting();

    // Stop the instances.
    for child in children.lock().await.iter_mut().flatten() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }

    let records = sb.sent_ipns();
    let ours = |r: &&smartex_sandbox::IpnRecord| r.target.contains("/ipn");
    let sent = records
        .iter()
        .filter(ours)
        .filter(|r| r.kind == IpnKind::Original)
        .count();
    let dropped = records
        .iter()
        .filter(|r| matches!(r.outcome, IpnOutcome::Dropped))
        .count();
    let failed = records
        .iter()
        .filter(|r| matches!(r.outcome, IpnOutcome::Failed(_)))
        .count();
    let duplicates_sent = records
        .iter()
        .filter(|r| r.kind == IpnKind::Duplicate)
        .count();
    let stale_sent = records.iter().filter(|r| r.kind == IpnKind::Stale).count();
    let answered_duplicate = records
        .iter()
        .filter(|r| matches!(&r.outcome, IpnOutcome::Delivered { body, .. } if body.starts_with("OK: duplicate")))
        .count();
    let t = &soak.tally;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "soak summary (seed {seed}, {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  orders            {} requested, {} created on the platform, {} not created",
        args.orders,
        verdict.orders,
        get(&t.not_created)
    );
    let _ = writeln!(
        out,
        "  checkouts         {} ok, {} ambiguous, {} lost with a killed instance",
        get(&t.checkouts_ok),
        get(&t.checkouts_ambiguous),
        get(&t.checkouts_lost)
    );
    let _ = writeln!(
        out,
        "  faults            {} IPNs dropped, {} duplicated, {} delayed, {} stale resends, {} 5xx after create, {} stalls, {} SIGKILLs",
        get(&t.faults_drop),
        get(&t.faults_duplicate),
        get(&t.faults_delay),
        get(&t.faults_stale),
        get(&t.faults_create_5xx),
        get(&t.faults_stall),
        get(&t.kills)
    );
    let _ = writeln!(
        out,
        "  IPNs              {sent} sent (+{duplicates_sent} duplicate, +{stale_sent} stale deliveries), {dropped} lost by the sandbox, {failed} failed to deliver, {} received by the balancer ({} re-routed after a kill)",
        get(&lb_stats.received),
        get(&lb_stats.retried)
    );
    let _ = writeln!(
        out,
        "  applied           {} changes: {} from IPNs, {} recovered by the reconciler",
        verdict.applied_ipn + verdict.applied_poll,
        verdict.applied_ipn,
        verdict.applied_poll
    );
    let _ = writeln!(
        out,
        "  duplicates        {} answered as duplicates, {} decided duplicate or stale in the store",
        answered_duplicate, verdict.not_applied
    );
    let _ = writeln!(
        out,
        "  recovered         {} ambiguous or lost checkouts bound by their IPN ({} bindings seen)",
        verdict.recovered_ambiguous,
        get(&lb_stats.bound)
    );
    let _ = writeln!(
        out,
        "  business step     {} of {} applied changes acknowledged ({} deliveries incl. redeliveries)",
        verdict.acked,
        verdict.applied_ipn + verdict.applied_poll,
        verdict.ack_lines
    );
    let _ = writeln!(
        out,
        "  checks            {} mismatched, {} applied twice, {} regressions, {} not acknowledged",
        verdict.mismatched.len(),
        verdict.double_applied,
        verdict.regressions,
        verdict.unacked
    );
    if args.api_key {
        let _ = writeln!(
            out,
            "  API key           every call keyed (lane shared through the store); {} refused for their nonce by the sandbox",
            soak.sb.nonce_refusals()
        );
    }
    for line in verdict.mismatched.iter().take(10) {
        let _ = writeln!(out, "    mismatch: {line}");
    }
    for line in out.lines() {
        p.line(line);
    }
    let passed = verdict.converged() && verdict.double_applied == 0 && verdict.regressions == 0;
    if passed {
        let _ = std::fs::remove_dir_all(&dir);
        p.line("soak: PASSED");
        Ok(Exit::Ok)
    } else {
        p.line(format!("soak: FAILED (files kept in {})", dir.display()));
        Ok(Exit::CheckFailed)
    }
}

/// The URL without its password.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Soak {
    fn reference(&self, i: usize) -> String {
        format!("soak-{}-{i}", self.run_id)
    }

    /// Checks out order `i` through a live instance, then drives it to a
    /// final status on the sandbox with random faults.
    async fn order(self: Arc<Self>, i: usize) {
        let reference = self.reference(i);
        if self.rng.chance(6) {
            bump(&self.tally.faults_create_5xx);
            self.sb.fail_next_create(500);
        } else if self.rng.chance(2) {
            // Longer than the instances' client timeout: an ambiguous
            // create (or a slow poll) of whichever call comes next.
            bump(&self.tally.faults_stall);
            self.sb.stall_responses(
                Duration::from_millis(self.timeout_ms + 300),
                smartex_sandbox::Times::Once,
            );
        }
        let end = self.checkout(&reference).await;
        let uid = match &end {
            CheckoutEnd::Created(uid) => {
                bump(&self.tally.checkouts_ok);
                Some(*uid)
            }
            other => {
                match other {
                    CheckoutEnd::Ambiguous => bump(&self.tally.checkouts_ambiguous),
                    _ => bump(&self.tally.checkouts_lost),
                }
                // Did the platform create it? Give a dying request a moment.
                tokio::time::sleep(Duration::from_millis(self.timeout_ms + 500)).await;
                self.sandbox_uid(&reference)
            }
        };
        self.ends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(reference.clone(), end.clone());
        let Some(uid) = uid else {
            bump(&self.tally.not_created);
            return;
        };
        // Orders whose uid and secret the store has can be polled: only
        // their IPNs may be lost. The others are tracked by IPNs alone (the
        // platform gives neither to an IPN), so losing one is not recoverable
        // by anyone: the soak does not drop theirs.
        let pollable = matches!(end, CheckoutEnd::Created(_));
        let path = self.rng.next() % 100;
        let _ = self.step(uid, pollable, None).await; // waitPayment
        if path < 10 {
            let _ = self.step(uid, pollable, Some(OrderStatus::Deleted)).await;
            return self.maybe_stale(uid).await;
        }
        let _ = self.step(uid, pollable, None).await; // inProgress
        if path < 20 {
            let _ = self.step(uid, pollable, Some(OrderStatus::Hold)).await;
            let _ = self
                .step(uid, pollable, Some(OrderStatus::InProgress))
                .await;
        }
        if (20..27).contains(&path) {
            let _ = self.step(uid, pollable, Some(OrderStatus::Returned)).await;
            return self.maybe_stale(uid).await;
        }
        let _ = self.step(uid, pollable, None).await; // inProgressPayout
        let _ = self.step(uid, pollable, None).await; // done
        self.maybe_stale(uid).await;
    }

    async fn maybe_stale(&self, uid: OrderUid) {
        if self.rng.chance(15) {
            bump(&self.tally.faults_stale);
            tokio::time::sleep(self.rng.ms(0, 200)).await;
            let _ = self
                .sb
                .resend_stale_ipn(uid, OrderStatus::WaitPayment)
                .await;
        }
    }

    /// One status change (the next on the happy path, or `to`), with a
    /// random fault on its IPN.
    async fn step(&self, uid: OrderUid, pollable: bool, to: Option<OrderStatus>) -> Option<()> {
        tokio::time::sleep(self.rng.ms(20, 200)).await;
        let roll = self.rng.next() % 100;
        let mut delayed = false;
        if pollable && roll < 15 {
            bump(&self.tally.faults_drop);
            self.sb.drop_next_ipn(uid);
        } else if roll < 25 {
            bump(&self.tally.faults_duplicate);
            self.sb.duplicate_next_ipn(uid);
        } else if roll < 35 {
            bump(&self.tally.faults_delay);
            self.sb.delay_next_ipn(uid, self.rng.ms(100, 600));
            delayed = true;
        }
        let sb = Arc::clone(&self.sb);
        let change = async move {
            match to {
                Some(status) => sb.set_status(uid, status).await.map(|_| ()),
                None => sb.advance(uid).await.map(|_| ()),
            }
        };
        if delayed {
            // Do not wait for the delayed IPN: the next change's IPN
            // overtakes it, and it arrives late (stale).
            tokio::spawn(change);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some(())
        } else {
            change.await.ok()
        }
    }

    async fn checkout(&self, reference: &str) -> CheckoutEnd {
        let Some(port) = self.backends.live().first().copied() else {
            return CheckoutEnd::Lost;
        };
        let sent = self
            .client
            .post(format!("http://127.0.0.1:{port}/checkout?ref={reference}"))
            .send()
            .await;
        let Ok(response) = sent else {
            return CheckoutEnd::Lost;
        };
        let code = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        match code {
            200 => text
                .strip_prefix("created ")
                .and_then(|u| OrderUid::parse("uid", u.trim()).ok())
                .map_or(CheckoutEnd::Lost, CheckoutEnd::Created),
            502 => CheckoutEnd::Ambiguous,
            422 => CheckoutEnd::NotCreated,
            _ => CheckoutEnd::Lost,
        }
    }

    fn sandbox_uid(&self, reference: &str) -> Option<OrderUid> {
        let suffix = format!("ref={reference}");
        self.sb
            .orders()
            .into_iter()
            .find(|o| o.ipn_url.as_deref().is_some_and(|u| u.ends_with(&suffix)))
            .map(|o| o.uid)
    }
}

/// What the final comparison found.
#[derive(Debug, Default)]
struct Verdict {
    orders: usize,
    mismatched: Vec<String>,
    applied_ipn: usize,
    applied_poll: usize,
    not_applied: usize,
    double_applied: usize,
    regressions: usize,
    recovered_ambiguous: usize,
    acked: usize,
    unacked: usize,
    ack_lines: usize,
}

impl Verdict {
    fn converged(&self) -> bool {
        self.mismatched.is_empty() && self.unacked == 0
    }
}

/// Compares the store with the sandbox.
async fn check(
    soak: &Soak,
    store: &AnyStore,
    dir: &std::path::Path,
    instances: usize,
) -> Result<Verdict, Error> {
    let mut acked: HashMap<i64, usize> = HashMap::new();
    let mut ack_lines = 0;
    for slot in 0..instances {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("acks-{slot}.log"))) else {
            continue;
        };
        for line in text.lines() {
            if let Ok(id) = line.trim().parse::<i64>() {
                *acked.entry(id).or_default() += 1;
                ack_lines += 1;
            }
        }
    }
    let prefix = format!("ref=soak-{}-", soak.run_id);
    let ends = soak
        .ends
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut v = Verdict {
        ack_lines,
        ..Verdict::default()
    };
    for order in soak.sb.orders() {
        let Some(url) = order.ipn_url.as_deref() else {
            continue;
        };
        let Some(at) = url.find(&prefix) else {
            continue;
        };
        let reference = smartex::Reference::new(&url[at + 4..])
            .map_err(|e| Error::unavailable(format!("the order's ipnUrl: {e}")))?;
        v.orders += 1;
        let events = store
            .events(OrderKey::Reference(&reference))
            .await
            .map_err(|e| Error::unavailable(format!("store: {e}")))?;
        let record = store
            .order(OrderKey::Reference(&reference))
            .await
            .map_err(|e| Error::unavailable(format!("store: {e}")))?;
        let stored = record
            .as_ref()
            .and_then(|r| r.known.as_ref())
            .map(|k| k.status.clone());
        if stored.as_ref() != Some(&order.status) {
            v.mismatched.push(format!(
                "{reference}: stored {}, platform {}",
                stored.map_or("nothing".to_owned(), |s| s.to_string()),
                order.status
            ));
        }
        if !matches!(ends.get(reference.as_str()), Some(CheckoutEnd::Created(_)))
            && record.as_ref().is_some_and(|r| r.order_id.is_some())
        {
            v.recovered_ambiguous += 1;
        }
        // The applied statuses must follow the platform's history in order,
        // each history entry used at most once.
        let history: Vec<OrderStatus> = order.history.iter().map(|c| c.status.clone()).collect();
        let mut cursor = 0usize;
        for e in events.iter().filter(|e| e.decision == DecisionKind::Apply) {
            match e.event.source {
                Source::Ipn => v.applied_ipn += 1,
                Source::Poll { .. } => v.applied_poll += 1,
            }
            if acked.contains_key(&e.id) {
                v.acked += 1;
            } else {
                v.unacked += 1;
            }
            match history[cursor..].iter().position(|s| *s == e.event.status) {
                Some(offset) => cursor += offset + 1,
                None => {
                    if history[..cursor].contains(&e.event.status) {
                        // Seen before in the history and already used: a
                        // second apply of one change, or a step backwards.
                        if history[..cursor].last() == Some(&e.event.status) {
                            v.double_applied += 1;
                        } else {
                            v.regressions += 1;
                        }
                    } else {
                        v.mismatched.push(format!(
                            "{reference}: applied {} which the platform never had",
                            e.event.status
                        ));
                    }
                }
            }
        }
        v.not_applied += events
            .iter()
            .filter(|e| e.decision != DecisionKind::Apply)
            .count();
    }
    Ok(v)
}
