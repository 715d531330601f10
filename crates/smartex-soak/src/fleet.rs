//! The merchant instances: one child process per slot, all started from one
//! template, registered with the load balancer once they listen — and the
//! chaos that SIGKILLs and restarts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::Failure;
use crate::args::InstanceArgs;
use crate::drive::{Soak, bump};
use crate::instance::MASTER_KEY_ENV;
use crate::lb::Backends;

/// How long an instance may take to start listening.
const START_WITHIN: Duration = Duration::from_secs(20);

/// The instances, by slot (`None`: down).
pub(crate) struct Fleet {
    /// What every instance is started with; `name` and `acks` are per slot.
    template: InstanceArgs,
    key_hex: String,
    backends: Arc<Backends>,
    slots: usize,
    children: tokio::sync::Mutex<Vec<Option<Child>>>,
}

impl Fleet {
    /// Starts one instance per slot (generation 0) and waits until each
    /// listens.
    pub(crate) async fn start(
        template: InstanceArgs,
        key_hex: String,
        backends: Arc<Backends>,
        slots: usize,
    ) -> Result<Arc<Fleet>, Failure> {
        let fleet = Fleet {
            template,
            key_hex,
            backends,
            slots,
            children: tokio::sync::Mutex::new(Vec::with_capacity(slots)),
        };
        for slot in 0..slots {
            let child = fleet.spawn(slot, 0).await?;
            fleet.children.lock().await.push(Some(child));
        }
        Ok(Arc::new(fleet))
    }

    /// Starts instance `slot`; returns the child once it listens (and the
    /// balancer routes to it).
    async fn spawn(&self, slot: usize, generation: u64) -> Result<Child, Failure> {
        let base = &self.template;
        let exe = std::env::current_exe()
            .map_err(|e| Failure::unavailable(format!("cannot find this program: {e}")))?;
        let mut child = Command::new(exe)
            .arg("instance")
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
            .arg("--timeout-ms")
            .arg(base.timeout_ms.to_string())
            .arg("--pending-horizon-ms")
            .arg(base.pending_horizon_ms.to_string())
            .arg("--business-fail-every")
            .arg(base.business_fail_every.to_string())
            .args(base.api_key.then_some("--api-key"))
            .args(base.alter_amounts.then_some("--alter-amounts"))
            .env(MASTER_KEY_ENV, &self.key_hex)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Failure::unavailable(format!("cannot start an instance: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Failure::unavailable("instance without stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_WITHIN, lines.next_line())
            .await
            .map_err(|_| Failure::unavailable("an instance did not start within 20 s"))?
            .map_err(|e| Failure::unavailable(format!("instance output: {e}")))?
            .ok_or_else(|| {
                Failure::unavailable("an instance exited at start (see its error above)")
            })?;
        let port: u16 = line
            .strip_prefix("port ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| Failure::unavailable(format!("unexpected instance output: {line:?}")))?;
        self.backends.set(slot, Some(port));
        Ok(child)
    }

    /// SIGKILLs instance `slot` if it is up; whether it was.
    async fn kill(&self, slot: usize) -> bool {
        let mut children = self.children.lock().await;
        let Some(mut child) = children.get_mut(slot).and_then(Option::take) else {
            return false;
        };
        self.backends.set(slot, None);
        let _ = child.start_kill(); // SIGKILL
        let _ = child.wait().await;
        true
    }

    /// Starts instance `slot` again (it stays down if it cannot start).
    async fn restart(&self, slot: usize, generation: u64) {
        let restarted = self.spawn(slot, generation).await;
        if let Some(place) = self.children.lock().await.get_mut(slot) {
            *place = restarted.ok();
        }
    }

    /// Starts every slot that is down: the calm after the chaos.
    pub(crate) async fn all_up(&self) -> Result<(), Failure> {
        let mut children = self.children.lock().await;
        for (slot, place) in children.iter_mut().enumerate() {
            if place.is_none() {
                *place = Some(self.spawn(slot, 1_000 + slot as u64).await?);
            }
        }
        Ok(())
    }

    /// Stops every instance.
    pub(crate) async fn stop(&self) {
        for child in self.children.lock().await.iter_mut().flatten() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// SIGKILLs a random instance every so often and restarts it, until
/// stopped.
pub(crate) struct Chaos {
    on: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Chaos {
    /// Starts killing: on average every `every_ms` (0: never).
    pub(crate) fn start(fleet: Arc<Fleet>, soak: Arc<Soak>, every_ms: u64) -> Chaos {
        let on = Arc::new(AtomicBool::new(true));
        let running = Arc::clone(&on);
        let task = tokio::spawn(async move {
            let slots = fleet.slots.max(1);
            let mut generation = 1;
            while running.load(Ordering::Relaxed) {
                tokio::time::sleep(soak.rng.ms(every_ms / 2, every_ms * 3 / 2)).await;
                if !running.load(Ordering::Relaxed) || every_ms == 0 {
                    break;
                }
                let slot = usize::try_from(soak.rng.next()).unwrap_or(0) % slots;
                if fleet.kill(slot).await {
                    bump(&soak.tally.kills);
                }
                tokio::time::sleep(soak.rng.ms(50, 400)).await;
                fleet.restart(slot, generation).await;
                generation += 1;
            }
        });
        Chaos { on, task }
    }

    /// No more kills (one in progress is cut short).
    pub(crate) fn stop(self) {
        self.on.store(false, Ordering::Relaxed);
        self.task.abort();
    }
}
