//! `smartex held list | accept | dismiss`: the changes held for review in a
//! merchant's store, and a person's decision on one.

use serde_json::{Value, json};
use smartex::core::amounts::Amounts;
use smartex::core::status::{KnownStatus, Source, StatusEvent};
use smartex::store::{AnyStore, HeldChange, OrderStore, Resolved, StoreOptions};

use crate::cli::{HeldDecisionArgs, HeldListArgs, StoreArg};
use crate::exit::{Error, Exit};
use crate::term::{Printer, esc};

/// What a person decides on a held change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It becomes the order's current status.
    Accept,
    /// It is set aside.
    Dismiss,
}

/// The exit code and message of a store error. Each message is the store's
/// own (it names fields, never values), escaped all the same: a database's
/// error text may quote what it was given.
fn store_error(e: smartex::store::Error) -> Error {
    use smartex::store::Error as E;
    let exit = match &e {
        E::InvalidInput { .. } | E::UnsupportedUrl { .. } => Exit::Usage,
        E::NotHeld { .. } | E::AlreadyResolved { .. } | E::StaleHeld(_) | E::NotFound => {
            Exit::Refused
        }
        // The database, its migrations, a stored value that does not read
        // back, contention, and whatever a later version adds.
        _ => Exit::Unavailable,
    };
    let mut message = format!("store: {}", esc(&e.to_string()));
    if let E::AlreadyResolved { decided_by, .. } = &e {
        message.push_str(&format!(" by {}", esc(decided_by)));
    }
    Error::new(exit, message)
}

/// The SQLite file a `sqlite:` URL names (as sqlx reads it: after
/// `sqlite://` or `sqlite:`, up to the query), if the URL is one.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// Opens the store `arg` names. A SQLite file that does not exist is
/// refused: opening would create an empty store, and a mistyped path would
/// show nothing held.
async fn open(arg: &StoreArg) -> Result<AnyStore, Error> {
    let url = arg.store.0.as_str();
    if let Some(file) = sqlite_file(url)
        && !std::path::Path::new(file).is_file()
    {
        return Err(Error::usage(format!(
            "--store: no SQLite store at {} (the merchant's existing file is needed)",
            esc(file)
        )));
    }
    // A command needs one connection at a time.
    AnyStore::open(url, StoreOptions::default().max_connections(2))
        .await
        .map_err(store_error)
}

/// Who reported an observation, for people.
fn source(source: Source) -> &'static str {
    match source {
        Source::Ipn => "IPN",
        Source::IpnSeconds => "IPN (timed in seconds)",
        Source::Poll { .. } => "poll",
    }
}

/// When and by whom: `signed 2026-01-01T00:00:00.000Z by IPN`.
fn observed(event: &StatusEvent) -> String {
    let verb = if event.source.is_signed() {
        "signed"
    } else {
        "polled"
    };
    match event.at {
        Some(at) => format!("{verb} {at} by {}", source(event.source)),
        None => format!("by {}, time unknown", source(event.source)),
    }
}

/// `in 2 ETH, out 317.42 WMZ`, every part escaped (amounts are kept exactly
/// as received).
fn amounts(a: &Amounts) -> String {
    if a.is_empty() {
        return "no amounts".to_owned();
    }
    let side = |amount: &Option<String>, code: &Option<String>| {
        let amount = amount
            .as_deref()
            .map_or_else(|| "?".to_owned(), |a| esc(a).to_string());
        match code {
            Some(code) => format!("{amount} {}", esc(code)),
            None => amount,
        }
    };
    format!(
        "in {}, out {}",
        side(&a.in_amount, &a.from),
        side(&a.out_amount, &a.to)
    )
}

/// The current status, for people.
fn current(known: Option<&KnownStatus>) -> String {
    known.map_or_else(
        || "no status".to_owned(),
        |k| esc(k.status.as_str()).to_string(),
    )
}

/// A held change as JSON (its strings escaped by JSON itself).
fn held_json(h: &HeldChange) -> Value {
    let e = &h.event;
    json!({
        "event_id": e.id,
        "reference": e.reference.as_str(),
        "current": h.current.as_ref().map(|k| k.status.as_str()),
        "status": e.event.status.as_str(),
        "reason": e.reason,
        "at": e.event.at.map(|t| t.to_string()),
        "source": e.event.source.as_str(),
        "window_ms": e.event.source.window_ms(),
        "received_at": e.received_at.to_string(),
        "amounts": {
            "in_amount": e.amounts.in_amount,
            "out_amount": e.amounts.out_amount,
            "from": e.amounts.from,
            "to": e.amounts.to,
        },
        "stale": h.stale().map(|s| s.reason()),
    })
}

/// `smartex held list`.
pub(crate) fn list(args: &HeldListArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let held = crate::block_on(async {
        let store = open(&args.store).await?;
        let held = store.held(args.reference.as_ref(), args.limit).await;
        store.close().await;
        held.map_err(store_error)
    })??;
    if args.json {
        p.line(Value::Array(held.iter().map(held_json).collect()).to_string());
        return Ok(Exit::Ok);
    }
    let s = p.style();
    if held.is_empty() {
        p.line("no change is held for review");
        return Ok(Exit::Ok);
    }
    let count = match held.len() {
        1 => "1 change".to_owned(),
        n => format!("{n} changes"),
    };
    p.line(s.bold(&format!("{count} held for review, oldest first:")));
    for h in &held {
        let e = &h.event;
        p.line(format!(
            "#{} order {}: {} → {}",
            e.id,
            esc(e.reference.as_str()),
            current(h.current.as_ref()),
            s.warn(&esc(e.event.status.as_str()).to_string()),
        ));
        if let Some(reason) = &e.reason {
            p.line(format!("    held: {}", esc(reason)));
        }
        p.line(s.dim(&format!(
            "    {}, received {}; {}",
            observed(&e.event),
            e.received_at,
            amounts(&e.amounts)
        )));
        if let Some(stale) = h.stale() {
            p.line(format!(
                "    {} {}",
                s.bad("accepting it is refused now:"),
                stale.reason()
            ));
        }
    }
    p.line(s.dim(
        "decide with: smartex held accept EVENT_ID --by NAME, or smartex held dismiss EVENT_ID --by NAME",
    ));
    Ok(Exit::Ok)
}

/// `smartex held accept` and `smartex held dismiss`.
pub(crate) fn decide(
    verdict: Verdict,
    args: &HeldDecisionArgs,
    p: &Printer<'_>,
) -> Result<Exit, Error> {
    let now = crate::now();
    let resolved: Resolved = crate::block_on(async {
        let store = open(&args.store).await?;
        let resolved = match verdict {
            Verdict::Accept => store.accept_held(args.event_id, &args.by, now).await,
            Verdict::Dismiss => store.dismiss_held(args.event_id, &args.by, now).await,
        };
        store.close().await;
        resolved.map_err(store_error)
    })??;
    let order = &resolved.order;
    if args.json {
        p.line(
            json!({
                "decision": match verdict {
                    Verdict::Accept => "accepted",
                    Verdict::Dismiss => "dismissed",
                },
                "held_event_id": args.event_id,
                "event_id": resolved.event_id,
                "reference": order.reference.as_str(),
                "status": order.known.as_ref().map(|k| k.status.as_str()),
                "version": order.version,
                "outbox_id": resolved.outbox_id,
            })
            .to_string(),
        );
        return Ok(Exit::Ok);
    }
    let s = p.style();
    let (reference, by) = (esc(order.reference.as_str()), esc(&args.by));
    let status = current(order.known.as_ref());
    match verdict {
        Verdict::Accept => {
            p.line(s.ok(&format!(
                "✓ accepted held change #{}: order {reference} is now {status}, by {by}",
                args.event_id
            )));
            if let Some(id) = resolved.outbox_id {
                p.line(format!(
                    "  outbox item {id}: the business step gets it like any applied change"
                ));
            }
        }
        Verdict::Dismiss => p.line(s.ok(&format!(
            "✓ dismissed held change #{}: order {reference} stays {status}, by {by}",
            args.event_id
        ))),
    }
    p.line(s.dim(&format!(
        "  recorded as event {} of the order's log",
        resolved.event_id
    )));
    Ok(Exit::Ok)
}
