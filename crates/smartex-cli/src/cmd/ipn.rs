//! `smartex ipn verify | sign | send | listen`.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use serde_json::{Value, json};
use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnBody, IpnFormat, UnverifiedIpn, VerifiedIpn};
use smartex_ipn::{ChecksumLocation, Config};

use crate::cli::{IpnFields, ListenArgs, SecretArg, SendArgs, SignArgs, VerifyArgs};
use crate::exit::{Error, Exit};
use crate::post::{Poster, check_http_url};
use crate::receiver::{Delivery, IpnServer, IpnServerOptions, Reception};
use crate::term::{Printer, Style, esc};

/// The largest body `ipn verify` reads.
const MAX_STDIN: u64 = 1024 * 1024;

/// The IPN secret, checked without repeating it.
pub(crate) fn ipn_secret(arg: &SecretArg) -> Result<IpnSecret, Error> {
    IpnSecret::new(arg.secret.0.clone()).map_err(|_| {
        Error::usage(format!(
            "the IPN secret (--secret or SMARTEX_IPN_SECRET) must be 1 to {} characters",
            IpnSecret::MAX_LEN
        ))
    })
}

/// `2019-10-17 16:06:46.072 UTC` for a time in milliseconds since the epoch.
pub(crate) fn utc(ms: u64) -> String {
    let t = smartex_core::time::UtcDateTime::from_unix_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millisecond
    )
}

/// `16:06:46.072` (UTC) for a time in milliseconds since the epoch.
fn time_of_day(ms: u64) -> String {
    let rest = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// `smartex ipn verify`.
pub(crate) fn verify(args: &VerifyArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let secret = ipn_secret(&args.secret)?;
    let mut body = Vec::new();
    if std::io::stdin().is_terminal() {
        crate::term::eprint_line(
            "reading the IPN body from stdin (paste it, then Ctrl-D; or pipe it in)",
        );
    }
    std::io::stdin()
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::usage(format!("cannot read the body from stdin: {e}")))?;
    if body.len() as u64 > MAX_STDIN {
        return Err(Error::usage("the body on stdin is larger than 1 MiB"));
    }
    // A trailing newline from `echo` or an editor; form bodies never end in one.
    while matches!(body.last(), Some(b'\n' | b'\r')) {
        body.pop();
    }
    let field = args.signature_field.signature_field.as_str();
    let format = IpnFormat {
        checksum_field: Some(field),
        ..IpnFormat::default()
    };
    let unverified = UnverifiedIpn::parse_form(&body, &format)
        .map_err(|e| Error::usage(format!("malformed IPN body: {e}")))?;
    let ipn = match unverified.verify(&secret) {
        Ok(ipn) => ipn,
        Err(smartex_core::Error::MissingChecksum) => {
            return Err(Error::check(format!(
                "not verified: the body has no `{field}` field with a checksum (see --signature-field)"
            )));
        }
        Err(smartex_core::Error::BadChecksum) => {
            return Err(Error::check(
                "not verified: bad checksum — the body was not signed with this secret, or it was altered",
            ));
        }
        Err(e) => return Err(Error::check(format!("not verified: bad checksum: {e}"))),
    };
    if args.json {
        let text = serde_json::to_string_pretty(&ipn)
            .map_err(|e| Error::unavailable(format!("cannot write JSON: {e}")))?;
        p.line(text);
    } else {
        let s = p.style();
        p.line(s.ok("✓ valid: the checksum matches"));
        for line in describe(&ipn) {
            p.line(line);
        }
    }
    Ok(Exit::Ok)
}

/// A verified notification, for people.
fn describe(ipn: &VerifiedIpn<'_>) -> Vec<String> {
    let status = ipn.status();
    let meaning = if status.is_final() {
        " (final)"
    } else if status.payment().is_received() {
        " (payment received)"
    } else if status.payment() == smartex_core::status::PaymentView::ClaimedByCustomer {
        " (claimed by the customer: not proof of payment)"
    } else if status.is_error() {
        " (an error)"
    } else {
        ""
    };
    let mut lines = vec![
        format!(
            "  order      {}  (id {})",
            esc(ipn.order_uid_raw().unwrap_or("(no uid)")),
            esc(ipn.order_id_raw())
        ),
        format!("  status     {}{meaning}", esc(ipn.status_raw())),
        format!(
            "  amounts    {} {} → {} {}",
            esc(ipn.in_amount_raw()),
            esc(ipn.signed_fields().xml_from),
            esc(ipn.out_amount_raw()),
            esc(ipn.signed_fields().xml_to)
        ),
    ];
    let when = ipn
        .timestamp_ms()
        .map_or_else(|_| "not a time".to_owned(), utc);
    lines.push(format!(
        "  timestamp  {}  ({when})",
        esc(ipn.timestamp_raw())
    ));
    let to_values = ipn.to_values();
    if !to_values.is_structured() {
        lines.push(format!(
            "  {:<10} sent in a spelling that could not be structured; as received:",
            "toValues"
        ));
        for (k, v) in ipn.unsigned_pairs() {
            if k.starts_with("toValues") {
                lines.push(format!("  {:<10} {} = {}", "", esc(&k), esc(&v)));
            }
        }
    }
    for (i, v) in to_values.enumerate() {
        let label = if i == 0 { "toValues" } else { "" };
        let name = v.name();
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" ({})", esc(name))
        };
        lines.push(format!(
            "  {label:<10} {}{name}: {}",
            esc(v.key()),
            esc(v.value())
        ));
    }
    for (i, (k, v)) in ipn.extra().enumerate() {
        let label = if i == 0 { "other" } else { "" };
        lines.push(format!("  {label:<10} {k} = {v}"));
    }
    lines
}

/// Parses the `--to-value KEY=NAME=VALUE` entries.
fn to_values(entries: &[String]) -> Result<Vec<(String, String, String)>, Error> {
    entries
        .iter()
        .map(|entry| {
            let parts = entry
                .split_once('=')
                .and_then(|(key, rest)| rest.split_once('=').map(|(n, v)| (key, n, v)));
            match parts {
                Some((key, name, value)) if !key.is_empty() => {
                    Ok((key.to_owned(), name.to_owned(), value.to_owned()))
                }
                _ => Err(Error::usage(
                    "--to-value must be KEY=NAME=VALUE (NAME may be empty: KEY==VALUE)",
                )),
            }
        })
        .collect()
}

/// The signed form body for `fields`.
fn signed_body(fields: &IpnFields, secret: &IpnSecret, field: &str) -> Result<String, Error> {
    if fields.status.is_empty() {
        return Err(Error::usage("--status must not be empty"));
    }
    if field.is_empty() {
        return Err(Error::usage("--signature-field must not be empty"));
    }
    let timestamp = fields.timestamp.unwrap_or_else(crate::now_ms).to_string();
    let values = to_values(&fields.to_values)?;
    let values: Vec<(&str, &str, &str)> = values
        .iter()
        .map(|(k, n, v)| (k.as_str(), n.as_str(), v.as_str()))
        .collect();
    let uid = fields.order_uid.to_string();
    let body = IpnBody {
        order_uid: &uid,
        signed: smartex_core::checksum::SignedFields {
            order_id: fields.order_id.as_str(),
            new_status: &fields.status,
            in_amount: fields.in_amount.as_str(),
            out_amount: fields.out_amount.as_str(),
            xml_from: fields.xml_from.as_str(),
            xml_to: fields.xml_to.as_str(),
            timestamp: &timestamp,
        },
        to_values: &values,
    };
    Ok(body.to_form(secret, field))
}

/// `smartex ipn sign`.
pub(crate) fn sign(args: &SignArgs, out: &mut dyn Write) -> Result<Exit, Error> {
    let secret = ipn_secret(&args.secret)?;
    let body = signed_body(&args.fields, &secret, &args.signature_field.signature_field)?;
    // No trailing newline into a pipe: `| curl --data-binary @-` sends it as is.
    let newline = if std::io::stdout().is_terminal() {
        "\n"
    } else {
        ""
    };
    let _ = write!(out, "{body}{newline}");
    let _ = out.flush();
    Ok(Exit::Ok)
}

/// The URL without its query and fragment (a query may carry a token).
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// `smartex ipn send`.
pub(crate) fn send(args: &SendArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    check_http_url("--to", &args.to)?;
    let secret = ipn_secret(&args.secret)?;
    let field = &args.signature_field.signature_field;
    let body = signed_body(&args.fields, &secret, field)?;
    let poster = Poster::new(&args.to, Duration::from_secs(args.timeout_secs.max(1)))?;
    let s = p.style();
    if !args.json {
        p.line(format!(
            "→ POST {}  (orderUID {}, newStatus {}, {} bytes, checksum in `{field}`)",
            without_query(&args.to),
            args.fields.order_uid,
            args.fields.status,
            body.len()
        ));
    }
    p.waiting("waiting for the answer …");
    let answer =
        crate::block_on(poster.post("application/x-www-form-urlencoded", body.into_bytes()))?;
    p.done_waiting();
    let answer =
        answer.map_err(|why| Error::unavailable(format!("no answer from the endpoint: {why}")))?;
    let success = (200..300).contains(&answer.status);
    if args.json {
        p.line(json!({"status": answer.status, "body": answer.body}).to_string());
    } else {
        let status = answer.status.to_string();
        let status = if success {
            s.ok(&status)
        } else {
            s.bad(&status)
        };
        p.line(format!("← {status} {}", answer.body));
    }
    if success {
        Ok(Exit::Ok)
    } else {
        Ok(Exit::CheckFailed)
    }
}

/// `smartex ipn listen`.
pub(crate) fn listen(args: &ListenArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let secret = ipn_secret(&args.secret)?;
    let field = args.signature_field.signature_field.clone();
    if field.is_empty() {
        return Err(Error::usage("--signature-field must not be empty"));
    }
    let mut config = Config::default().checksum_in([ChecksumLocation::body_field(field)]);
    if args.accept_any_timestamp {
        config = config.danger_accept_any_timestamp();
    }
    let mut options = IpnServerOptions::default().config(config).secret(secret);
    if let Some(url) = &args.forward_to {
        options = options.forward_to(url.clone());
    }
    crate::block_on(async {
        let mut interrupt = crate::Interrupt::install()?;
        let server = IpnServer::start(args.listen, options).await?;
        if args.json {
            p.line(json!({"listening": server.url()}).to_string());
        } else {
            p.line(format!(
                "listening on {} — POST IPNs here (any path); Ctrl-C to stop",
                server.url()
            ));
            if let Some(url) = &args.forward_to {
                p.line(format!("forwarding every body to {}", without_query(url)));
            }
        }
        let mut changes = server.changes();
        let (mut printed, mut refused) = (0usize, 0usize);
        loop {
            if args.count.is_some_and(|c| printed >= c) {
                break;
            }
            tokio::select! {
                () = interrupt.recv() => break,
                changed = changes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    // Only the new ones, from the server's bounded ring; a
                    // gap (the ring moved on faster than we printed) is said.
                    let fresh = server.deliveries_since(printed);
                    if let Some(first) = fresh.first()
                        && first.seq > printed
                    {
                        p.line(format!(
                            "… {} IPN(s) not shown (the ring of recent deliveries moved on)",
                            first.seq - printed
                        ));
                        printed = first.seq;
                    }
                    for d in &fresh {
                        if args.count.is_some_and(|c| printed >= c) {
                            break;
                        }
                        if !d.reception.is_verified() {
                            refused += 1;
                        }
                        if args.json {
                            p.line(delivery_json(d).to_string());
                        } else {
                            for line in delivery_lines(d, p.style()) {
                                p.line(line);
                            }
                        }
                        printed += 1;
                    }
                }
            }
        }
        server.shutdown().await;
        Ok(if args.count.is_some() && refused > 0 {
            Exit::CheckFailed
        } else {
            Exit::Ok
        })
    })?
}

/// One delivery as a JSON object.
fn delivery_json(d: &Delivery) -> Value {
    let mut v = json!({
        "seq": d.seq,
        "receivedAt": d.received_at_ms,
        "verified": d.reception.is_verified(),
        "outcome": d.reception.outcome(),
        "answer": {"status": d.answer.status, "body": d.answer.body},
    });
    match &d.reception {
        Reception::Verified { ipn, .. } | Reception::Replayed { ipn, .. } => {
            v["orderId"] = json!(ipn.order_id_raw());
            v["orderUID"] = json!(ipn.order_uid_raw());
            v["status"] = json!(ipn.status_raw());
            v["ipn"] = serde_json::to_value(ipn).unwrap_or(Value::Null);
        }
        Reception::Refused { error, order_id } => {
            v["orderId"] = json!(order_id);
            v["error"] = json!(error.to_string());
        }
    }
    if let Some(f) = &d.forwarded {
        v["forwarded"] = match &f.result {
            Ok((status, body)) => {
                json!({"url": without_query(&f.url), "status": status, "body": body})
            }
            Err(why) => json!({"url": without_query(&f.url), "error": why}),
        };
    }
    v
}

/// One delivery, for people.
fn delivery_lines(d: &Delivery, s: Style) -> Vec<String> {
    let when = time_of_day(d.received_at_ms);
    let answer = format!("→ {} {}", d.answer.status, d.answer.body);
    let mut lines = vec![match &d.reception {
        Reception::Verified { ipn, .. } | Reception::Replayed { ipn, .. } => format!(
            "{when}  {}  order {}  {:<16}  {:<9}  {answer}  ({} {} → {} {})",
            s.ok("✓ verified"),
            esc(ipn.order_uid_raw().unwrap_or("(no uid)")),
            esc(ipn.status_raw()).to_string(),
            d.reception.outcome(),
            esc(ipn.in_amount_raw()),
            esc(ipn.signed_fields().xml_from),
            esc(ipn.out_amount_raw()),
            esc(ipn.signed_fields().xml_to),
        ),
        Reception::Refused { error, order_id } => format!(
            "{when}  {}  order id {}  {error}  {answer}",
            s.bad("✗ refused "),
            // Unverified: whatever the sender wrote, escaped.
            esc(order_id.as_deref().unwrap_or("?")),
        ),
    }];
    if let Some(f) = &d.forwarded {
        lines.push(match &f.result {
            Ok((status, body)) => format!(
                "              ↪ forwarded to {} → {status} {}",
                without_query(&f.url),
                esc(body)
            ),
            Err(why) => format!(
                "              ↪ forwarding to {} failed: {why}",
                without_query(&f.url)
            ),
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Fixed inputs.
    use super::*;

    /// A forged POST cannot paint a line of its own: what the sender wrote
    /// is escaped (issue 18: a forged orderId printed a fake "✓ verified").
    #[test]
    fn a_refused_delivery_prints_the_unverified_order_id_escaped() {
        let forged = "x\n16:06:46.072  ✓ verified  order 1  done  applied\u{1b}[2K";
        let d = Delivery {
            seq: 0,
            received_at_ms: 0,
            body: Default::default(),
            reception: Reception::Refused {
                error: smartex_ipn::Error::BadChecksum,
                order_id: Some(forged.to_owned()),
            },
            answer: smartex_ipn::Answer::for_error(&smartex_ipn::Error::BadChecksum),
            forwarded: None,
        };
        let lines = delivery_lines(&d, Style::for_stderr());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            !lines[0].contains('\n') && !lines[0].contains('\u{1b}'),
            "{lines:?}"
        );
        assert!(
            lines[0].contains("x\\n16:06"),
            "escaped, not dropped: {lines:?}"
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(1_571_328_406_072), "2019-10-17 16:06:46.072 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00.000 UTC");
        assert_eq!(time_of_day(1_571_328_406_072), "16:06:46.072");
    }

    #[test]
    fn to_value_entries() {
        let parsed = to_values(&["wallet=Wallet=Z1=2".to_owned(), "k==v".to_owned()]).unwrap();
        assert_eq!(parsed[0], ("wallet".into(), "Wallet".into(), "Z1=2".into()));
        assert_eq!(parsed[1], ("k".into(), String::new(), "v".into()));
        assert!(to_values(&["wallet=Z1".to_owned()]).is_err());
        assert!(to_values(&["=n=v".to_owned()]).is_err());
    }

    #[test]
    fn queries_are_not_shown() {
        assert_eq!(without_query("http://h/ipn?token=x#f"), "http://h/ipn");
    }
}
