//! The demo's first order, step by step: each step a function, each result
//! a named value — [`Route`] → [`Created`] → the lifecycle →
//! [`Reconciled`] → [`Received`] → the checks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use smartex_core::ipn::VerifiedIpn;
use smartex_core::request::CreateOrder;
use smartex_core::status::Decision;
use smartex_core::{CurrencyCode, OrderStatus, OrderUid};
use smartex_http::{Client, CreateReply, ReqwestTransport, WatchEnd, WatchOptions};
use smartex_sandbox::{DeliveryResult, IpnRecord, Sandbox};

use super::{Check, DemoOptions, EventKind, IpnStep, Timeline, WAIT, step_line};
use crate::exit::Error;
use crate::now_ms;
use crate::receiver::{Delivery, IpnServer, Reception, decision_word};
use crate::term::Printer;

/// The card number the demo's customer pays with (a test number).
const CARD: &str = "4111111111111111";
/// The customer's BTC address (a valid bech32 form; no funds move).
const BTC_WALLET: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
/// The amount sent, in RUB.
const AMOUNT: &str = "5000";

/// What every step works with.
pub(super) struct Context<'a, 'w> {
    pub(super) options: &'a DemoOptions,
    pub(super) p: &'a Printer<'w>,
    pub(super) sb: &'a Arc<Sandbox>,
    pub(super) server: &'a IpnServer,
    pub(super) client: &'a Client<ReqwestTransport>,
    pub(super) timeline: &'a Timeline,
}

/// The route the order takes, as a merchant finds it.
struct Route {
    id: String,
    /// The field the card number goes in.
    card_field: String,
}

/// The order, once `order/create` answered.
struct Created {
    order: CreateReply,
    /// Its `orderId`, the key of the merchant's books.
    order_id: String,
}

/// What reconciliation with `order/get` found.
struct Reconciled {
    /// The status `order/get` returned last.
    polled: Option<OrderStatus>,
    end: WatchEnd,
    /// `order/get says done`, for the narrative and the checks.
    summary: String,
}

/// Every IPN, once all have settled: what the endpoint received and what
/// the exchange sent.
struct Received {
    deliveries: Vec<Delivery>,
    sent: Vec<IpnRecord>,
}

/// Runs the first order to `done` and returns its checks.
pub(super) async fn run(cx: &Context<'_, '_>) -> Result<Vec<Check>, Error> {
    let route = find_route(cx).await?;
    let created = create(cx, &route).await?;
    for step in IpnStep::ALL {
        tokio::time::sleep(cx.options.pace).await;
        take_step(cx, &created, step).await?;
    }
    tokio::time::sleep(cx.options.pace).await;
    let reconciled = reconcile(cx, &created).await?;
    let received = receive_the_rest(cx).await?;
    Ok(checks(cx.server, &created, &reconciled, &received))
}

/// Step 1: the route, as a merchant finds it: by the currencies' codes.
async fn find_route(cx: &Context<'_, '_>) -> Result<Route, Error> {
    cx.p.waiting("route/get/one/by-xml …");
    let (xml_in, xml_out) = (
        CurrencyCode::parse("xmlIn", "CARDRUB")?,
        CurrencyCode::parse("xmlOut", "BTC")?,
    );
    let route = cx.client.route_by_xml(xml_in, xml_out).await?.route;
    let card_field = route
        .from
        .as_ref()
        .and_then(|side| side.fields.iter().find(|f| f.required != Some(false)))
        .map(|f| f.id.clone())
        .ok_or_else(|| Error::unavailable("the CARDRUB → BTC route asks for no card number"))?;
    step_line(
        cx.p,
        "→",
        "route/get/one/by-xml",
        format!("CARDRUB → BTC: route {} (manual payment)", route.route_id),
    );
    Ok(Route {
        id: route.route_id.as_str().to_owned(),
        card_field,
    })
}

/// Step 2: the order, with the receiver as `ipnUrl` and a fresh `ipnSecret`.
async fn create(cx: &Context<'_, '_>, route: &Route) -> Result<Created, Error> {
    let secret = super::random_secret()?;
    let request = CreateOrder::builder()
        .route_id(route.id.as_str())
        .amount(AMOUNT)
        .agreement(true)
        .from_value(route.card_field.as_str(), CARD)
        .to_value("wallet", BTC_WALLET)
        .ipn_url(cx.server.url())
        .ipn_secret(secret.expose())
        .build()?;
    cx.p.waiting("order/create …");
    let order = cx.client.create_order(&request).await?;
    cx.timeline.push(
        now_ms(),
        order.status.clone().unwrap_or(OrderStatus::New),
        EventKind::Call {
            method: "order/create",
        },
    );
    let order_id = order.id().as_str().to_owned();
    let endpoint_secret = if cx.options.wrong_secret {
        super::random_secret()?
    } else {
        secret
    };
    cx.server.expect_order(&order_id, endpoint_secret);
    let amounts = format!(
        "{AMOUNT} CARDRUB → {} BTC",
        order
            .out_amount
            .as_ref()
            .map_or("?", smartex_core::Amount::as_str)
    );
    step_line(
        cx.p,
        "→",
        "order/create",
        format!("order {}: {amounts}", order.uid()),
    );
    step_line(cx.p, " ", "payment page", order.payment_page());
    Ok(Created { order, order_id })
}

/// Step 3: one status change with its IPN (and the step's fault): the merchant
/// marks the order paid, or the exchange moves it on.
async fn take_step(cx: &Context<'_, '_>, created: &Created, step: IpnStep) -> Result<(), Error> {
    let (sb, uid) = (cx.sb, created.order.uid());
    let status = step.status();
    let fault = cx.options.faults_of(step);
    match fault {
        "lost" => sb.drop_next_ipn(uid),
        "duplicated" => sb.duplicate_next_ipn(uid),
        "late" => sb.delay_next_ipn(uid, cx.options.late_by),
        _ => {}
    }
    let fault_note = if fault.is_empty() {
        String::new()
    } else {
        cx.p.style().warn(&format!("  [its IPN will be {fault}]"))
    };
    if step == IpnStep::InProgress {
        cx.p.waiting("order/update-status …");
        cx.client.mark_paid(uid, created.order.secret()).await?;
        cx.timeline.push(
            now_ms(),
            status.clone(),
            EventKind::Call {
                method: "order/update-status",
            },
        );
        step_line(
            cx.p,
            "→",
            "order/update-status",
            format!(
                "the customer paid by card: marked paid (waitPayment → inProgress){fault_note}"
            ),
        );
    } else {
        cx.p.waiting(format!("the exchange moves the order to {status} …"));
        if fault == "late" {
            // The sandbox answers once the IPN settled, which for a late
            // one is later: let it wait on its own.
            let exchange = Arc::clone(sb);
            tokio::spawn(async move { exchange.advance(uid).await });
            sb.wait_for_status(uid, status.clone(), WAIT).await?;
        } else {
            sb.advance(uid).await?;
        }
        let what = match step {
            IpnStep::WaitPayment => "waiting for the customer's payment",
            IpnStep::InProgressPayout => "payment accepted, payout queued",
            _ => "payout sent",
        };
        step_line(
            cx.p,
            "⋯",
            "exchange",
            format!("{status}: {what}{fault_note}"),
        );
    }
    if fault != "late" {
        cx.p.waiting(format!("the {status} IPN …"));
        settled(sb, uid, &status).await?;
    }
    Ok(())
}

/// Waits until the IPN records of `status` of order `uid` have all settled.
async fn settled(sb: &Sandbox, uid: OrderUid, status: &OrderStatus) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let records = sb.ipns_for(uid);
        let mut mine = records.iter().filter(|r| r.status == *status).peekable();
        if mine.peek().is_some() && mine.all(|r| r.outcome.is_settled()) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::unavailable(format!(
                "the {status} IPN was not delivered within {WAIT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Step 4: reconciliation: poll from what the IPNs said, each change applied to
/// the books through the same tracker.
async fn reconcile(cx: &Context<'_, '_>, created: &Created) -> Result<Reconciled, Error> {
    cx.p.waiting("reconciling with order/get …");
    let mut watch_options = WatchOptions::default()
        .deadline(WAIT)
        .intervals(Duration::from_millis(50), Duration::from_millis(200));
    if let Some(known) = cx.server.known(&created.order_id) {
        watch_options = watch_options.known_status(known);
    }
    let mut watch =
        cx.client
            .watch_order(created.order.uid(), created.order.secret(), watch_options);
    let mut reported = false;
    while let Some(change) = watch.next().await {
        let change = change?;
        let decision = cx.server.reconcile(&created.order_id, &change.event);
        cx.timeline.push(
            now_ms(),
            change.status.clone(),
            EventKind::Poll {
                outcome: decision_word(&decision),
            },
        );
        reported = true;
    }
    let polled = watch.last_order().map(|o| o.status.clone());
    if !reported && let Some(status) = &polled {
        cx.timeline.push(
            now_ms(),
            status.clone(),
            EventKind::Poll {
                outcome: "duplicate",
            },
        );
    }
    let end = watch.end();
    let summary = match (&polled, end) {
        (Some(st), WatchEnd::Final) => format!("order/get says {st}"),
        (Some(st), _) => format!("order/get still says {st} (not final)"),
        (None, _) => "order/get gave no answer".to_owned(),
    };
    step_line(
        cx.p,
        "→",
        "order/get",
        format!("reconciled (watch_order): {summary}"),
    );
    Ok(Reconciled {
        polled,
        end,
        summary,
    })
}

/// Step 5: late IPNs arrive; then everything is settled, and every IPN goes on
/// the timeline.
async fn receive_the_rest(cx: &Context<'_, '_>) -> Result<Received, Error> {
    if cx.options.late.is_some() {
        cx.p.waiting("waiting for the late IPN …");
    }
    let sent = cx.sb.wait_ipns_settled(cx.options.late_by + WAIT).await?;
    cx.p.done_waiting();
    let deliveries = cx.server.deliveries();
    for d in &deliveries {
        // A refused body's status is not to be trusted; the exchange's own
        // record of what it sent (the same bytes) says which one it was.
        let status = d.reception.ipn().map(VerifiedIpn::status).or_else(|| {
            sent.iter()
                .find(|r| r.body.as_bytes() == d.body.as_ref())
                .map(|r| r.status.clone())
        });
        cx.timeline.push(
            d.received_at_ms,
            status.unwrap_or_else(|| OrderStatus::Unknown("?".to_owned())),
            EventKind::Ipn {
                outcome: d.reception.outcome(),
                verified: d.reception.is_verified(),
                answer_status: d.answer.status,
                answer_body: d.answer.body,
                refusal: match &d.reception {
                    Reception::Refused { error, .. } => Some(error.to_string()),
                    _ => None,
                },
            },
        );
    }
    for r in &sent {
        if r.outcome == DeliveryResult::Dropped {
            cx.timeline
                .push(r.queued_at_ms, r.status.clone(), EventKind::LostIpn);
        } else if r.delay.is_some() {
            cx.timeline
                .push(r.queued_at_ms, r.status.clone(), EventKind::HeldIpn);
        }
    }
    Ok(Received { deliveries, sent })
}

/// Step 6: the checks.
fn checks(
    server: &IpnServer,
    created: &Created,
    reconciled: &Reconciled,
    received: &Received,
) -> Vec<Check> {
    let Received { deliveries, sent } = received;
    let mut checks = Vec::new();
    let verified = deliveries
        .iter()
        .filter(|d| d.reception.is_verified())
        .count();
    checks.push(Check {
        passed: !deliveries.is_empty() && verified == deliveries.len(),
        what: format!("{} IPN(s) arrived, {verified} verified", deliveries.len()),
    });
    let answered: Vec<u16> = sent
        .iter()
        .filter_map(|r| r.outcome.http_status())
        .collect();
    checks.push(Check {
        passed: answered.iter().all(|st| (200..300).contains(st)),
        what: format!(
            "every IPN was answered 2xx ({})",
            answered
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    let applied = server.applied(&created.order_id);
    let distinct: HashSet<&OrderStatus> = applied.iter().collect();
    checks.push(Check {
        passed: distinct.len() == applied.len(),
        what: format!(
            "each status was processed once ({})",
            applied
                .iter()
                .map(OrderStatus::as_str)
                .collect::<Vec<_>>()
                .join(" → ")
        ),
    });
    let final_status = server.known(&created.order_id).map(|k| k.status);
    checks.push(Check {
        passed: final_status == Some(OrderStatus::Done),
        what: format!(
            "final status in the merchant's records: {}",
            final_status.as_ref().map_or("(none)", OrderStatus::as_str)
        ),
    });
    checks.push(Check {
        passed: reconciled.end == WatchEnd::Final
            && reconciled.polled.is_some()
            && reconciled.polled == final_status,
        what: format!("reconciliation agrees: {}", reconciled.summary),
    });
    // A decision the books refused is for a person to look at.
    if deliveries.iter().any(|d| {
        matches!(
            &d.reception,
            Reception::Verified {
                decision: Decision::Unexpected { .. },
                ..
            }
        )
    }) {
        checks.push(Check {
            passed: false,
            what: "an IPN did not fit the lifecycle (held for review)".to_owned(),
        });
    }
    checks
}
