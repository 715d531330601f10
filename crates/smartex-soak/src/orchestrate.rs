//! The orchestrator, step by step: [`Plan`] (seed, run id, files) →
//! [`Stage`] (sandbox, store, load balancer) → the [`Fleet`] of instances
//! → the orders driven under [`Chaos`] → the calm → the [`Audit`] once the
//! store has converged → the summary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smartex::store::{AnyStore, StoreOptions};
use smartex_sandbox::{IpnTimestampUnit, Sandbox, SandboxConfig, Schedule};

use crate::args::{InstanceArgs, SoakArgs};
use crate::audit::{Audit, audit};
use crate::drive::{Rng, Soak, Tally};
use crate::fleet::{Chaos, Fleet};
use crate::route::RouteKind;
use crate::summary::{SentIpns, Summary};
use crate::{Failure, lb, say};

/// The instances' client timeout, ms: a stall longer than it makes a call
/// ambiguous.
const CLIENT_TIMEOUT_MS: u64 = 1_500;
/// How long the store may take to converge once the chaos stopped.
const CONVERGE_WITHIN: Duration = Duration::from_secs(30);

/// Runs the soak; `Ok(true)` only if every check passed.
pub(crate) fn run(args: &SoakArgs) -> Result<bool, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::unavailable(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(soak(args))
}

async fn soak(args: &SoakArgs) -> Result<bool, Failure> {
    let started = Instant::now();
    let (plan, rng) = Plan::new(args)?;
    say(format!(
        "soak: {} orders, {} instances, store {}, seed {}",
        args.orders,
        args.instances,
        redact_url(&plan.store_url),
        plan.seed
    ));
    let stage = Stage::start(args, &plan).await?;
    let fleet = Fleet::start(
        stage.instance_template(args, &plan),
        master_key_hex()?,
        Arc::clone(&stage.backends),
        args.instances,
    )
    .await?;
    let soak = Arc::new(Soak {
        sb: Arc::clone(&stage.sb),
        rng,
        tally: Tally::default(),
        backends: Arc::clone(&stage.backends),
        client: stage.client.clone(),
        run_id: plan.run_id.clone(),
        ends: Mutex::new(BTreeMap::new()),
        timeout_ms: CLIENT_TIMEOUT_MS,
        routes: stage.routes.clone(),
    });

    let chaos = Chaos::start(Arc::clone(&fleet), Arc::clone(&soak), args.kill_every_ms);
    drive_orders(&soak, args).await;
    // Calm: no more kills; every slot up; no IPN still on its way.
    chaos.stop();
    let _ = stage.sb.wait_ipns_settled(Duration::from_secs(10)).await;
    fleet.all_up().await?;
    let audit = converge(&soak, &stage.store, &plan, args.instances).await?;
    fleet.stop().await;

    // A run that created nothing checked nothing.
    let passed = audit.passed() && (audit.orders > 0 || args.orders == 0);
    Summary {
        seed: plan.seed,
        elapsed: started.elapsed(),
        args,
        audit: &audit,
        tally: &soak.tally,
        sent: SentIpns::count(&stage.sb),
        lb: &stage.lb_stats,
        nonce_refusals: stage.sb.nonce_refusals(),
    }
    .print(passed);
    if passed {
        let _ = std::fs::remove_dir_all(&plan.dir);
        say("soak: PASSED");
    } else {
        say(format!(
            "soak: FAILED (files kept in {})",
            plan.dir.display()
        ));
    }
    Ok(passed)
}

/// The run's seed, id and files.
struct Plan {
    seed: u64,
    /// Eight hex digits, new for every run: the orders' references carry it.
    run_id: String,
    /// The temporary directory: the SQLite store (by default) and the acks.
    dir: PathBuf,
    store_url: String,
}

impl Plan {
    /// The plan, and the random faults' generator it seeded.
    fn new(args: &SoakArgs) -> Result<(Plan, Rng), Failure> {
        let seed = args.seed.unwrap_or_else(|| {
            u64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() % u128::from(u64::MAX)),
            )
            .unwrap_or(1)
        });
        let rng = Rng::new(seed);
        // Unique per run, even for a seed run before (its files may be kept,
        // its orders' references may be in a reused store); the faults stay
        // those of the seed.
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            ^ std::process::id().rotate_left(16);
        let run_id = format!("{:08x}", (rng.next() as u32) ^ salt);
        let dir = std::env::temp_dir().join(format!("smartex-soak-{run_id}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::unavailable(format!("cannot create {}: {e}", dir.display())))?;
        let store_url = match &args.store {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", dir.join("soak.db").display()),
        };
        let plan = Plan {
            seed,
            run_id,
            dir,
            store_url,
        };
        Ok((plan, rng))
    }
}

/// Everything but the instances: the platform, the orchestrator's own view
/// of the store, the HTTP client and the load balancer in front of the
/// instances.
struct Stage {
    sb: Arc<Sandbox>,
    /// The sandbox's route of each kind.
    routes: BTreeMap<RouteKind, String>,
    store: AnyStore,
    client: reqwest::Client,
    backends: Arc<lb::Backends>,
    lb_stats: Arc<lb::LbStats>,
    lb_port: u16,
}

impl Stage {
    async fn start(args: &SoakArgs, plan: &Plan) -> Result<Stage, Failure> {
        // IPN timestamps in seconds or milliseconds at random, repeatably.
        let mut sandbox = SandboxConfig::default()
            .schedule(Schedule::manual())
            .ipn_timestamp_unit(IpnTimestampUnit::Mixed)
            .seed(plan.seed);
        if args.api_key {
            sandbox = sandbox
                .test_api_key()
                .require_api_key(true)
                .reorder_keyed_calls(Duration::from_millis(5));
        }
        let sb = Arc::new(
            Sandbox::start(sandbox)
                .await
                .map_err(|e| Failure::unavailable(format!("sandbox: {e}")))?,
        );
        let mut routes = BTreeMap::new();
        for kind in RouteKind::ALL {
            let (from, to) = kind.xml();
            let route = sb.route_by_xml(from, to).ok_or_else(|| {
                Failure::unavailable(format!("the sandbox has no {from}→{to} route"))
            })?;
            routes.insert(kind, route.id);
        }
        // Opened before the instances: it runs the migrations.
        let store = AnyStore::open(&plan.store_url, StoreOptions::default())
            .await
            .map_err(|e| Failure::unavailable(format!("store: {e}")))?;
        let transport = smartex::http::ReqwestTransport::builder()
            .no_proxy()
            .timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| Failure::unavailable(format!("HTTP client: {e}")))?;
        let client = transport.reqwest_client().clone();
        let backends = Arc::new(lb::Backends::new(args.instances));
        let lb_stats = Arc::new(lb::LbStats::default());
        let lb_port = lb::start(Arc::clone(&backends), Arc::clone(&lb_stats), client.clone())
            .await
            .map_err(|e| Failure::unavailable(format!("load balancer: {e}")))?;
        Ok(Stage {
            sb,
            routes,
            store,
            client,
            backends,
            lb_stats,
            lb_port,
        })
    }

    /// What every instance is started with.
    fn instance_template(&self, args: &SoakArgs, plan: &Plan) -> InstanceArgs {
        InstanceArgs {
            store: plan.store_url.clone(),
            site: self.sb.site_url().to_owned(),
            ipn_url: format!("http://127.0.0.1:{}/ipn", self.lb_port),
            name: String::new(),
            acks: plan.dir.join("acks.log"),
            timeout_ms: CLIENT_TIMEOUT_MS,
            pending_horizon_ms: 60_000,
            business_fail_every: 7,
            api_key: args.api_key,
            alter_amounts: args.alter_amounts,
        }
    }
}

/// The instances' master key: 64 random hex digits (256 bits from the
/// operating system).
fn master_key_hex() -> Result<String, Failure> {
    let key = smartex::core::IpnSecret::generate()
        .map_err(|e| Failure::unavailable(format!("a master key: {e}")))?;
    Ok(key.expose().to_owned())
}

/// The orders, paced, each driven to a final status by its own task, until
/// all are done or the time is up.
async fn drive_orders(soak: &Arc<Soak>, args: &SoakArgs) {
    let mut drivers = tokio::task::JoinSet::new();
    let pace = Duration::from_millis(args.pace_ms);
    for i in 0..args.orders {
        let soak = Arc::clone(soak);
        drivers.spawn(async move { soak.order(i).await });
        tokio::time::sleep(pace).await;
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while let Ok(Some(_)) = tokio::time::timeout_at(deadline.into(), drivers.join_next()).await {}
    drivers.abort_all();
}

/// Audits the store until it has converged (or the time is up); the last
/// audit.
async fn converge(
    soak: &Soak,
    store: &AnyStore,
    plan: &Plan,
    instances: usize,
) -> Result<Audit, Failure> {
    say("soak: waiting for the store to converge");
    let deadline = Instant::now() + CONVERGE_WITHIN;
    let mut found = audit(soak, store, &plan.dir, instances).await?;
    while !found.converged() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        found = audit(soak, store, &plan.dir, instances).await?;
    }
    Ok(found)
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

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_store_url_is_printed_without_its_password() {
        assert_eq!(
            redact_url("postgres://soak:hunter2@127.0.0.1:5432/db"),
            "postgres://soak:[redacted]@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact_url("postgres://soak@127.0.0.1/db"),
            "postgres://soak@127.0.0.1/db"
        );
        assert_eq!(redact_url("sqlite:/tmp/soak.db"), "sqlite:/tmp/soak.db");
    }
}
