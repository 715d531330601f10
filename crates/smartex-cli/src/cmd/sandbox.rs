//! `smartex sandbox`.

use std::time::Duration;

use serde_json::json;
use smartex_sandbox::{
    PaymentDetection, RouteSpec, Sandbox, SandboxConfig, Schedule, TEST_API_KEY, TEST_API_SECRET,
};

use crate::cli::SandboxArgs;
use crate::exit::{Error, Exit};
use crate::term::Printer;

/// `smartex sandbox`: runs until Ctrl-C.
pub(crate) fn run(args: &SandboxArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let schedule = if args.manual {
        Schedule::manual()
    } else {
        Schedule::every(Duration::from_millis(args.step_ms))
    };
    let mut config = SandboxConfig::default()
        .listen(args.listen)
        .schedule(schedule)
        .test_api_key()
        .require_api_key(args.require_api_key)
        .reorder_keyed_calls(Duration::from_millis(args.reorder_keyed_ms));
    let token = admin_token(args)?;
    if let Some(token) = &token {
        config = config.admin_token(token.as_str());
    }
    crate::block_on(async {
        let mut interrupt = crate::Interrupt::install()?;
        let sb = Sandbox::start(config).await?;
        if args.json {
            let routes: Vec<_> = sb.routes().iter().map(RouteSpec::to_json).collect();
            p.line(
                json!({
                    "site": sb.site_url(),
                    "apiRoot": sb.api_root(),
                    "admin": sb.admin_url(),
                    "apiKey": TEST_API_KEY,
                    "apiSecret": TEST_API_SECRET,
                    "adminToken": token,
                    "requireApiKey": args.require_api_key,
                    "reorderKeyedMs": args.reorder_keyed_ms,
                    "stepMs": (!args.manual).then_some(args.step_ms),
                    "routes": routes,
                })
                .to_string(),
            );
        } else {
            describe(&sb, args, token.as_deref(), p);
        }
        interrupt.recv().await;
        sb.shutdown().await;
        if !args.json {
            p.line("stopped");
        }
        Ok(Exit::Ok)
    })?
}

/// The admin endpoint's token: the one given, or — on an address other
/// machines can reach — a fresh random one, with a warning on stderr. On
/// loopback without `--admin-token`: none.
fn admin_token(args: &SandboxArgs) -> Result<Option<String>, Error> {
    let exposed = !args.listen.ip().is_loopback();
    if exposed {
        crate::term::eprint_line(&crate::term::Style::for_stderr().warn(&format!(
            "warning: {} is not a loopback address: anyone who can reach it can create \
             orders and read their IPN bodies; the admin endpoint /_sandbox/ requires \
             the token printed below (Authorization: Bearer TOKEN)",
            args.listen
        )));
    }
    match &args.admin_token {
        Some(given) if given.0.is_empty() => Err(Error::usage("--admin-token must not be empty")),
        Some(given) => Ok(Some(given.0.clone())),
        None if exposed => {
            // 256 random bits from the OS, as 64 hex digits: the IPN-secret
            // generator makes exactly such a value.
            let fresh = smartex_core::IpnSecret::generate()
                .map_err(|e| Error::unavailable(format!("cannot make an admin token: {e}")))?;
            Ok(Some(fresh.expose().to_owned()))
        }
        None => Ok(None),
    }
}

fn describe(sb: &Sandbox, args: &SandboxArgs, token: Option<&str>, p: &Printer<'_>) {
    let s = p.style();
    p.line(s.bold("smartex sandbox: a local exchange for tests and demos (no real money moves)"));
    p.line(format!("  site         {}", sb.site_url()));
    p.line(format!("  API root     {}", sb.api_root()));
    p.line(format!("  admin        {}", sb.admin_url()));
    if let Some(token) = token {
        // Printed once, here: the admin endpoint needs it.
        p.line(format!("  admin token  {token}  (Authorization: Bearer …)"));
    }
    let lifecycle = if args.manual {
        "moves only on command (admin endpoint) or order/update-status".to_owned()
    } else {
        format!(
            "each step after {} ms; manual-payment routes wait in waitPayment for order/update-status",
            args.step_ms
        )
    };
    p.line(format!("  lifecycle    {lifecycle}"));
    p.line("  IPNs         signed, POSTed once to each order's ipnUrl (loopback addresses only)");
    p.line("");
    let keys = if args.require_api_key {
        "test credentials (published sandbox values; required)"
    } else {
        "test credentials (published sandbox values; calls without a key are accepted too)"
    };
    p.line(s.bold(keys));
    p.line(format!("  API key      {TEST_API_KEY}"));
    p.line(format!("  API secret   {TEST_API_SECRET}"));
    if args.reorder_keyed_ms > 0 {
        p.line(format!(
            "  nonces       strict; concurrent keyed calls reordered by up to {} ms",
            args.reorder_keyed_ms
        ));
    }
    p.line("");
    p.line(s.bold("routes"));
    for r in sb.routes() {
        let payment = match r.payment {
            PaymentDetection::Manual => "manual payment",
            _ => "automatic payment",
        };
        p.line(format!(
            "  {}  {} → {}  rate {} {} = {} {}  amount {}–{} {}  {payment}",
            r.id,
            r.from.xml,
            r.to.xml,
            r.rate_in,
            r.from.symbol,
            r.rate_out,
            r.to.symbol,
            r.min_amount,
            r.max_amount,
            r.from.symbol,
        ));
        for (list, fields) in [
            ("fromValues", &r.from.fields),
            ("toValues", &r.to.fields),
            ("routeValues", &r.fields),
        ] {
            for f in fields {
                let need = if f.required { "required" } else { "optional" };
                p.line(s.dim(&format!("      {list}: {} ({}, {need})", f.id, f.name)));
            }
        }
    }
    p.line("");
    p.line(s.bold("try it"));
    p.line(format!("  export SMARTEX_SITE={}", sb.site_url()));
    p.line(
        "  smartex order create --xml-from ETH --xml-to WMZ --amount 1 --to-value wallet=Z123456789012",
    );
    p.line("");
    p.line("Ctrl-C to stop.");
}
