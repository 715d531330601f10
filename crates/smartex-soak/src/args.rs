//! The command line, as clap parses it. The doc comments are the `--help`
//! texts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Chaos-test the durable flow on this machine: checkout, IPNs, the
/// reconciler and the outbox under random faults and SIGKILLs.
///
/// Starts the sandbox and K merchant instances (separate processes of this
/// program) sharing one store behind a small load balancer, drives N orders
/// to a final status along random paths of the lifecycle (operator moves,
/// back-and-forth within 300 ms, the customer's own "I have paid",
/// recalculated and underpaid amounts, IPNs timed in seconds or ms) with
/// lost, duplicated, late and stale IPNs, 5xx after create and stalled
/// answers, kills instances with SIGKILL and restarts them. Then checks that
/// every order's stored status equals the platform's, that no change was
/// applied twice or backwards, that every genuine IPN reached the business
/// step with the amounts signed, and that the business step never sees an
/// unpaid or underpaid order as paid.
#[derive(Debug, Parser)]
#[command(
    name = "smartex-soak",
    args_conflicts_with_subcommands = true,
    after_help = "Exit codes: 0 every check passed, 1 a check failed, \
        2 usage error, 3 the sandbox, the store or an instance could not run.",
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) instance: Option<Sub>,
    #[command(flatten)]
    pub(crate) soak: SoakArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Sub {
    /// One merchant instance (started by the soak itself)
    #[command(hide = true)]
    Instance(InstanceArgs),
}

fn instances(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(k) if (1..=32).contains(&k) => Ok(k),
        _ => Err("must be a number from 1 to 32".to_owned()),
    }
}

#[derive(Debug, Args)]
pub(crate) struct SoakArgs {
    /// How many orders to check out and drive to a final status
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) orders: usize,

    /// How many merchant instances (separate processes) share the store
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = instances)]
    pub(crate) instances: usize,

    /// The store: `sqlite:PATH` (default: a new file in a temporary
    /// directory) or `postgres://…`
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,

    /// The seed of the random faults (default: from the clock; printed)
    #[arg(long, value_name = "SEED")]
    pub(crate) seed: Option<u64>,

    /// The mean time between SIGKILLs of a random instance, ms (0: none)
    #[arg(long, value_name = "MS", default_value_t = 1_500)]
    pub(crate) kill_every_ms: u64,

    /// The time between two checkouts, ms
    #[arg(long, value_name = "MS", default_value_t = 40)]
    pub(crate) pace_ms: u64,

    /// The longest the orders may take to be driven, seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) timeout_secs: u64,

    /// Sign every API call with the sandbox's test key: the sandbox requires
    /// it, checks nonces strictly and reorders concurrent keyed calls; the
    /// instances share the key's send lane and last nonce through the store
    #[arg(long)]
    pub(crate) api_key: bool,

    /// For the soak's own test: the business step records every inAmount
    /// with a `0` appended (the same value, another text), so the check
    /// that amounts reach it exactly as signed must fail
    #[arg(long, hide = true)]
    pub(crate) alter_amounts: bool,
}

/// How the orchestrator starts an instance (the master key comes in
/// [`crate::instance::MASTER_KEY_ENV`], not on the command line).
#[derive(Clone, Debug, Args)]
pub(crate) struct InstanceArgs {
    #[arg(long)]
    pub(crate) store: String,
    #[arg(long)]
    pub(crate) site: String,
    #[arg(long)]
    pub(crate) ipn_url: String,
    #[arg(long)]
    pub(crate) name: String,
    #[arg(long)]
    pub(crate) acks: PathBuf,
    #[arg(long)]
    pub(crate) timeout_ms: u64,
    #[arg(long)]
    pub(crate) pending_horizon_ms: u64,
    #[arg(long, default_value_t = 0)]
    pub(crate) business_fail_every: u64,
    #[arg(long)]
    pub(crate) api_key: bool,
    #[arg(long)]
    pub(crate) alter_amounts: bool,
}
