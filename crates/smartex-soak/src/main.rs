//! `smartex-soak`: a chaos run of the whole durable flow on this machine.
//!
//! The orchestrator (this process) runs the sandbox with a manual schedule
//! and IPN timestamps in seconds or milliseconds at random, and drives every
//! order itself along a random path of the lifecycle (expiry, operator
//! moves, back-and-forth within 300 ms, the customer's own "I have paid",
//! recalculated and underpaid amounts) on three routes, injecting faults:
//! lost, duplicated, late (overtaken) and stale IPNs, a 5xx after create,
//! stalled answers. `K` merchant instances run as separate processes (this
//! binary, re-executed with the hidden `instance` subcommand) sharing one
//! store, behind a small load balancer that the orders' `ipnUrl` points to;
//! they are killed with SIGKILL and restarted at random moments. At the end
//! every order's stored status is compared with the sandbox's, the event
//! log with its history (nothing applied twice or backwards), every IPN
//! answered 2xx must have reached the business step with its signed status,
//! time and amounts (or be shown not to be a change it lacks), and the
//! business step's view (each instance appends what it saw of every item to
//! a file) must never make an unpaid or underpaid order shippable.
//! ARCHITECTURE.md, "What the soak proves", says what that proves.
//!
//! ```sh
//! cargo run -p smartex-soak -- --orders 200 --instances 3 [--store postgres://…] [--api-key]
//! ```
//!
//! Exit codes: 0 every check passed, 1 a check failed, 2 usage error, 3 the
//! sandbox, the store or an instance could not run.

mod acks;
mod args;
mod audit;
mod drive;
mod fleet;
mod instance;
mod lb;
mod orchestrate;
mod route;
mod summary;
mod truth;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// Why the soak could not run (not a failed check): a message for people
/// and its exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A usage error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// The sandbox, the store or an instance could not run (exit 3).
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }
}

/// Writes one line to stdout: the soak's whole report.
pub(crate) fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (the reader went away) must not stop the run.
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

fn main() -> ExitCode {
    // Usage errors exit 2 here, --help 0.
    let cli = args::Cli::parse();
    let ran = match &cli.instance {
        Some(args::Sub::Instance(instance)) => instance::run(instance).map(|()| true),
        None => orchestrate::run(&cli.soak),
    };
    match ran {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
