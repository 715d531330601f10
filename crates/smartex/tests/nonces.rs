//! Several processes sharing one API key through the store's nonce lanes
//! (`StoreNonces`: the client's `NonceSource` over the store's ledger),
//! against a sandbox that checks nonces strictly in arrival order and
//! reorders concurrent keyed calls. The workers are this test binary run
//! again (its `worker` test, with the job in the environment).

// Tests panic on failure by design; workers report on stdout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::print_stdout
)]

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../smartex-store/tests/it/common.rs"]
mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, Location};
use smartex::StoreNonces;
use smartex_core::request::{CreateOrder, OrderViewKind};
use smartex_core::time::UnixMillis;
use smartex_core::{ApiKey, ApiSecret, OrderSecret, OrderUid};
use smartex_http::{
    ApiKeyAuth, ClientBuilder, ErrorKind, NonceError, NonceSource, NonceUnit, ReqwestTransport,
    RetryPolicy,
};
use smartex_sandbox::{Sandbox, SandboxConfig, Schedule, TEST_API_KEY, TEST_API_SECRET};
use smartex_store::{AnyStore, PostgresStore, SqliteStore, StoreOptions};

const PROCESSES: usize = 3;
const CALLS: usize = 100;

fn test_key() -> ApiKey {
    ApiKey::new(TEST_API_KEY).unwrap()
}

fn auth() -> ApiKeyAuth {
    ApiKeyAuth::new(test_key(), ApiSecret::new(TEST_API_SECRET).unwrap())
}

/// Opens the fixture's store again, as another process would.
async fn open(location: &str) -> AnyStore {
    if let Some(path) = location.strip_prefix("sqlite:") {
        AnyStore::Sqlite(
            SqliteStore::open(path, StoreOptions::default())
                .await
                .unwrap(),
        )
    } else {
        let (url, schema) = location.rsplit_once('#').unwrap();
        let options = sqlx::postgres::PgConnectOptions::from_str(url)
            .unwrap()
            .options([("search_path", schema)]);
        AnyStore::Postgres(
            PostgresStore::connect_with(options, StoreOptions::default())
                .await
                .unwrap(),
        )
    }
}

fn location_of(fixture: &Fixture) -> String {
    match &fixture.location {
        Location::Sqlite(dir) => format!("sqlite:{}", dir.path().join("store.db").display()),
        Location::Postgres { url, schema } => format!("{url}#{schema}"),
    }
}

/// A worker process: `CALLS` concurrent `get_order` calls with the test key,
/// its nonces from the store (`SMARTEX_NONCE_STORE`) or, if that is `local`,
/// from the process's own lane. Prints `NONCE-WORKER failed=<n>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the multi-process tests, in their own processes"]
async fn worker() {
    let Ok(site) = std::env::var("SMARTEX_NONCE_SITE") else {
        return;
    };
    let location = std::env::var("SMARTEX_NONCE_STORE").unwrap();
    let uid = OrderUid::new(std::env::var("SMARTEX_NONCE_UID").unwrap().parse().unwrap()).unwrap();
    let secret = OrderSecret::new(std::env::var("SMARTEX_NONCE_SECRET").unwrap()).unwrap();
    let mut auth = auth();
    if let Some(path) = location.strip_prefix("sqlite-file:") {
        let nonces = StoreNonces::sqlite_file(path).await.unwrap();
        auth = auth.nonce_source(Arc::new(nonces));
    } else if location != "local" {
        let store = open(&location).await;
        auth = auth.nonce_source(Arc::new(StoreNonces::new(&store).await.unwrap()));
    }
    let client = ClientBuilder::new(&site)
        .api_key(auth)
        // No retries: a refusal shows as a failure instead of being retried.
        .retry(RetryPolicy::none())
        .build_with(ReqwestTransport::builder().no_proxy().build().unwrap())
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLS {
        let client = client.clone();
        let secret = secret.clone();
        tasks.spawn(async move { client.get_order(uid, &secret, OrderViewKind::Order).await });
    }
    let mut failed = 0;
    while let Some(result) = tasks.join_next().await {
        if let Err(e) = result.unwrap() {
            if failed == 0 {
                eprintln!("first failure: {e}");
            }
            failed += 1;
        }
    }
    println!("NONCE-WORKER failed={failed}");
}

/// Runs `PROCESSES` workers at once against `sb`; the failures of each.
async fn run_workers(sb: &Sandbox, store: &str, uid: OrderUid, secret: &OrderSecret) -> Vec<usize> {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            tokio::process::Command::new(&exe)
                .args([
                    "worker",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("SMARTEX_NONCE_SITE", sb.site_url())
                .env("SMARTEX_NONCE_STORE", store)
                .env("SMARTEX_NONCE_UID", uid.to_string())
                .env("SMARTEX_NONCE_SECRET", secret.expose())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    for child in children {
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("a worker finished within 60 s")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "worker failed: {stdout}");
        let failed = stdout
            .lines()
            .find_map(|l| Some(l.split_once("NONCE-WORKER failed=")?.1))
            .unwrap_or_else(|| panic!("no report from the worker: {stdout}"));
        failures.push(failed.trim().parse().unwrap());
    }
    failures
}

/// A strict sandbox reordering concurrent keyed calls, and an order in it.
async fn sandbox_with_order() -> (Sandbox, OrderUid, OrderSecret) {
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .test_api_key()
            .require_api_key(true)
            .reorder_keyed_calls(Duration::from_millis(5)),
    )
    .await
    .unwrap();
    let client = ClientBuilder::new(sb.site_url())
        .api_key(auth())
        .build_with(ReqwestTransport::builder().no_proxy().build().unwrap())
        .unwrap();
    let route = sb.route_by_xml("ETH", "WMZ").unwrap();
    let order = CreateOrder::builder()
        .route_id(route.id)
        .amount("0.5")
        .agreement(true)
        .to_value("wallet", "Z123456789012")
        .build()
        .unwrap();
    let created = client.create_order(&order).await.unwrap();
    let (uid, secret) = (created.uid(), created.secret().clone());
    (sb, uid, secret)
}

async fn processes_share_a_key(fixture: &Fixture) {
    let (sb, uid, secret) = sandbox_with_order().await;
    let nonces = StoreNonces::new(&fixture.store).await.unwrap();
    let before = nonces.last_nonce(&test_key()).await.unwrap();
    let failures = run_workers(&sb, &location_of(fixture), uid, &secret).await;
    assert_eq!(failures, vec![0; PROCESSES], "calls failed");
    assert_eq!(sb.nonce_refusals(), 0);
    let (unit, last) = nonces.last_nonce(&test_key()).await.unwrap().unwrap();
    assert_eq!(unit, NonceUnit::Millis);
    assert!(before.is_none_or(|(_, b)| last >= b + (PROCESSES * CALLS) as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_a_key_through_postgres() {
    let Some(fixture) = common::postgres(StoreOptions::default()).await else {
        return;
    };
    processes_share_a_key(&fixture).await;
    common::cleanup(fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_a_key_through_sqlite() {
    let fixture = common::sqlite(StoreOptions::default()).await;
    processes_share_a_key(&fixture).await;
    common::cleanup(fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_a_key_through_a_sqlite_file_of_its_own() {
    let (sb, uid, secret) = sandbox_with_order().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nonces.db");
    let failures = run_workers(
        &sb,
        &format!("sqlite-file:{}", path.display()),
        uid,
        &secret,
    )
    .await;
    assert_eq!(failures, vec![0; PROCESSES], "calls failed");
    assert_eq!(sb.nonce_refusals(), 0);
    let nonces = StoreNonces::sqlite_file(&path).await.unwrap();
    assert!(nonces.last_nonce(&test_key()).await.unwrap().is_some());
}

/// The same three processes with only their own in-process lanes: the
/// sandbox refuses some calls — what the shared lane prevents, and proof
/// that the tests above can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_without_a_shared_lane_are_refused() {
    let (sb, uid, secret) = sandbox_with_order().await;
    let failures = run_workers(&sb, "local", uid, &secret).await;
    assert!(failures.iter().sum::<usize>() > 0, "{failures:?}");
    assert!(sb.nonce_refusals() > 0);
}

/// A restarted process whose clock is behind continues above the stored
/// last nonce; a key stored in milliseconds is refused in seconds.
async fn restart_and_units(fixture: &Fixture) {
    let key = test_key();
    {
        let first = StoreNonces::new(&fixture.store).await.unwrap();
        let mut lease = first.acquire(&key, NonceUnit::Millis).await.unwrap();
        let at = UnixMillis::from_millis(1_000_000);
        assert_eq!(lease.issue(1_000_000, at).await.unwrap(), 1_000_000);
        lease.release().await.unwrap();
    }
    // "Restarted": another pool, a clock far behind.
    let store = open(&location_of(fixture)).await;
    let restarted = StoreNonces::new(&store).await.unwrap();
    let mut lease = restarted.acquire(&key, NonceUnit::Millis).await.unwrap();
    let behind = UnixMillis::from_millis(5);
    assert_eq!(lease.issue(5, behind).await.unwrap(), 1_000_001);
    lease.release().await.unwrap();
    assert_eq!(
        restarted.last_nonce(&key).await.unwrap(),
        Some((NonceUnit::Millis, 1_000_001))
    );

    let Err(e) = restarted.acquire(&key, NonceUnit::Seconds).await else {
        panic!("a seconds turn of a millisecond key was handed out");
    };
    assert!(
        matches!(
            e,
            NonceError::UnitMismatch {
                stored: NonceUnit::Millis,
                configured: NonceUnit::Seconds
            }
        ),
        "{e}"
    );
    // The refused turn left the lane free.
    let lease = restarted.acquire(&key, NonceUnit::Millis).await.unwrap();
    lease.release().await.unwrap();

    // Through a client: a clear error before anything is sent.
    let client = ClientBuilder::new("http://127.0.0.1:9")
        .api_key(
            auth()
                .unit(NonceUnit::Seconds)
                .nonce_source(Arc::new(StoreNonces::new(&store).await.unwrap())),
        )
        .build_with(ReqwestTransport::builder().no_proxy().build().unwrap())
        .unwrap();
    let uid = OrderUid::new(1).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    let e = client
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    let chain = format!(
        "{e} {:?}",
        std::error::Error::source(&e).map(ToString::to_string)
    );
    assert!(chain.contains("milliseconds"), "{chain}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_units_postgres() {
    let Some(fixture) = common::postgres(StoreOptions::default()).await else {
        return;
    };
    restart_and_units(&fixture).await;
    common::cleanup(fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_units_sqlite() {
    let fixture = common::sqlite(StoreOptions::default()).await;
    restart_and_units(&fixture).await;
    common::cleanup(fixture).await;
}
