//! # smartex-cli
//!
//! The `smartex` command: the whole payment flow of the exchange platform
//! (smartexpay.com, develop.exchange, …) on one laptop, a local exchange to
//! develop against, and the tools to sign, send, receive and verify IPNs —
//! what Stripe's CLI and stripe-mock give Stripe users. This library is the
//! command itself ([`run`], [`Exit`], [`Error`]); to receive IPNs or drive
//! the flow from Rust, use the `smartex` crate.
//!
//! ## Commands
//!
//! ```text
//! cargo run --release -p smartex-cli -- demo      # the main job
//! ```
//!
//! | command | what it does |
//! |---|---|
//! | `smartex demo [--lose-ipn S] [--duplicate-ipn S] [--late-ipn S] [--wrong-secret]` | starts a sandbox and an IPN receiver on ephemeral 127.0.0.1 ports, creates an order with the real client, prints its payment page, marks it paid, receives and verifies every IPN until `done`, reconciles with `order/get`, prints the timeline; the options inject a lost, duplicated or late IPN, or give the endpoint the wrong secret (the demo then fails, exit 1) |
//! | `smartex sandbox [--listen ADDR] [--step-ms MS \| --manual] [--json]` | runs the sandbox until Ctrl-C; prints its site, API root, routes and test credentials |
//! | `smartex ipn verify --secret S [--signature-field NAME] [--json]` | verifies a raw body read on stdin |
//! | `smartex ipn sign --secret S [--order-id …] [--status …] [--to-value K=N=V] …` | prints a signed form body |
//! | `smartex ipn send --to URL --secret S …` | POSTs a signed test IPN to your endpoint and shows the answer |
//! | `smartex ipn listen --secret S [--listen ADDR] [--forward-to URL] [--count N]` | receives, verifies and prints IPNs, optionally forwarding them |
//! | `smartex order create \| get \| mark-paid --site URL …` | the API client from the shell (`get --watch` polls until final) |
//! | `smartex url payment \| order --site URL --uid N --order-secret S` | page URLs, no network |
//! | `smartex held list \| accept EVENT_ID --by NAME \| dismiss EVENT_ID --by NAME --store URL` | the changes a merchant's store holds for review (genuine, but not what the lifecycle expects), and a person's decision on one, recorded with who decided |
//!
//! ## Secrets
//!
//! Secrets come from environment variables so they stay out of the shell
//! history — `SMARTEX_IPN_SECRET`, `SMARTEX_API_KEY`, `SMARTEX_API_SECRET`,
//! `SMARTEX_ORDER_SECRET`, `SMARTEX_STORE` (a store URL may carry a password;
//! options exist too) — and are never printed: not in
//! `--help` (values of these variables are hidden), not in errors (a secret
//! that fails its check is described, never echoed). The order secret that
//! `order create` returns, and the page URLs that carry it, are the command's
//! output and are printed on purpose; the demo's `ipnSecret` is random and
//! never shown. The sandbox's test API key pair is a published constant.
//!
//! ## Output
//!
//! Colour only when stdout is a terminal and `NO_COLOR` is unset; a spinner
//! on stderr while waiting, only when stderr is a terminal. `--json` on the
//! commands that print data.
//!
//! ## Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok: everything checked out |
//! | 1 | a check failed: an IPN did not verify (`ipn verify`), the demo's checks failed, an endpoint answered non-2xx (`ipn send`), `ipn listen --count` saw an IPN that did not verify, `order get --watch` ended before a final status |
//! | 2 | usage error or malformed input (a bad option, a body that does not parse, a request refused before sending) |
//! | 3 | network or platform unavailable (no connection, a timeout, an HTTP error page, maintenance, a port that cannot be bound) |
//! | 4 | the platform refused the request (its error envelope: validation, not found, not allowed); `held accept` / `dismiss`: the store refused the decision (not a held change, already resolved, the order has moved on since) |
//! | 5 | ambiguous: `order/create` failed after it may have reached the platform (a timeout, a broken connection, an HTTP 5xx other than 503) — look for the order before creating another |
//!
//! See [`Exit`].
//!
//! ## Features
//!
//! | feature | what it does | default |
//! |---|---|---|
//! | (none) | this crate has no optional features | — |
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod cli;
mod cmd;
mod demo;
mod exit;
mod post;
mod receiver;
mod serve;
mod term;

use std::ffi::OsString;
use std::future::Future;

use clap::Parser;

pub use exit::{Error, Exit};

/// Runs the `smartex` command with `args` (the first one is the program
/// name), printing to stdout and stderr, and returns its exit code.
///
/// ```
/// use smartex_cli::Exit;
/// let args = ["smartex", "url", "payment", "--site", "https://www.smartexpay.com",
///             "--uid", "1409", "--order-secret", "dGqwF2M2eBPaSN1G5ljMS1cb"];
/// // Prints https://www.smartexpay.com/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb
/// assert_eq!(smartex_cli::run(args), Exit::Ok);
/// assert_eq!(smartex_cli::run(["smartex", "url", "payment", "--uid", "x"]), Exit::Usage);
/// ```
pub fn run<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version end here too, successfully.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
        }
    };
    match cmd::dispatch(&cli.command) {
        Ok(exit) => exit,
        Err(e) => {
            let style = term::Style::for_stderr();
            term::eprint_line(&format!("{} {}", style.bad("error:"), e.message()));
            e.exit()
        }
    }
}

/// Ctrl-C (SIGINT), with the handler installed when this is made, so that a
/// Ctrl-C right after start-up is not missed. Must be made inside a Tokio
/// runtime.
pub(crate) struct Interrupt {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupt {
    /// Installs the handler.
    pub(crate) fn install() -> Result<Interrupt, Error> {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| Error::unavailable(format!("cannot handle Ctrl-C: {e}")))?;
            Ok(Interrupt { signal })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupt {})
        }
    }

    /// Waits for Ctrl-C.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            self.signal.recv().await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The current time: the command's one reading of the clock (an I/O crate
/// reads it; the library's decisions take it as an argument).
pub(crate) fn now() -> smartex::core::time::UnixMillis {
    smartex::ipn::now()
}

/// [`now`], in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    now().as_millis()
}

/// Runs `future` to completion on a new single-threaded Tokio runtime.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::unavailable(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
