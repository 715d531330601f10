//! The commands.

pub(crate) mod held;
pub(crate) mod ipn;
pub(crate) mod order;
pub(crate) mod sandbox;
pub(crate) mod url;

use std::time::Duration;

use crate::cli::{Command, DemoArgs, HeldCommand, IpnCommand, OrderCommand, UrlCommand};
use crate::demo::DemoOptions;
use crate::exit::{Error, Exit};
use crate::term::Printer;

/// Runs a parsed command.
pub(crate) fn dispatch(command: &Command) -> Result<Exit, Error> {
    let mut stdout = std::io::stdout();
    let p = Printer::stdout(&mut stdout);
    match command {
        Command::Demo(args) => demo(args, &p),
        Command::Sandbox(args) => sandbox::run(args, &p),
        Command::Ipn(IpnCommand::Verify(args)) => ipn::verify(args, &p),
        Command::Ipn(IpnCommand::Sign(args)) => {
            drop(p);
            ipn::sign(args, &mut std::io::stdout())
        }
        Command::Ipn(IpnCommand::Send(args)) => ipn::send(args, &p),
        Command::Ipn(IpnCommand::Listen(args)) => ipn::listen(args, &p),
        Command::Secret | Command::Ipn(IpnCommand::Secret) => secret(&p),
        Command::Order(OrderCommand::Create(args)) => order::create(args, &p),
        Command::Order(OrderCommand::Get(args)) => order::get(args, &p),
        Command::Order(OrderCommand::MarkPaid(args)) => order::mark_paid(args, &p),
        Command::Url(UrlCommand::Payment(args)) => url::run(url::Page::Payment, args, &p),
        Command::Url(UrlCommand::Order(args)) => url::run(url::Page::Order, args, &p),
        Command::Held(HeldCommand::List(args)) => held::list(args, &p),
        Command::Held(HeldCommand::Accept(args)) => held::decide(held::Verdict::Accept, args, &p),
        Command::Held(HeldCommand::Dismiss(args)) => held::decide(held::Verdict::Dismiss, args, &p),
    }
}

/// `smartex demo`.
fn demo(args: &DemoArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let mut options = DemoOptions::default()
        .pace(Duration::from_millis(args.pace_ms))
        .wrong_secret(args.wrong_secret)
        .ipn_spelling(args.ipn_spelling);
    if let Some(step) = args.lose_ipn {
        options = options.lose_ipn(step);
    }
    if let Some(step) = args.duplicate_ipn {
        options = options.duplicate_ipn(step);
    }
    if let Some(step) = args.late_ipn {
        options = options.late_ipn(step);
    }
    options.check()?;
    let report = crate::block_on(crate::demo::run_with(&options, p))??;
    Ok(if report.passed() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// `smartex secret`, `smartex ipn secret`: a fresh random secret.
fn secret(p: &Printer<'_>) -> Result<Exit, Error> {
    let secret = smartex_core::IpnSecret::generate()
        .map_err(|e| Error::unavailable(format!("cannot make a secret: {e}")))?;
    p.line(secret.expose());
    Ok(Exit::Ok)
}
