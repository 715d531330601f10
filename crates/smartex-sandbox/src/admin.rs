//! The admin endpoint under `/_sandbox/`, and the sandbox's own web pages (the
//! payment and order pages the platform would show a client).

use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use serde_json::{Value, json};
use smartex_core::status::Actor;
use smartex_core::{OrderStatus, OrderUid};
use subtle::ConstantTimeEq;

use crate::catalogue::PaymentDetection;
use crate::config::{IpnTimestampUnit, OrderExpiry, RateDrift};
use crate::engine::Inner;
use crate::error::Error;
use crate::faults::{ApiFault, IpnFault, Times};
use crate::model::{IpnRecord, Transition, parse_actor};
use crate::moves;
use crate::script::Script;
use crate::server::{self, API_PREFIX, Resp};

fn error(status: u16, message: &str) -> Resp {
    server::json(status, &json!({ "error": message }))
}

fn from_error(e: &Error) -> Resp {
    let status = match e {
        Error::Invalid { .. } => 400,
        Error::UnknownOrder(_) | Error::NoSuchIpn { .. } => 404,
        Error::NotAllowed { .. } => 409,
        Error::Timeout { .. } => 504,
        _ => 500,
    };
    error(status, &e.to_string())
}

fn body_json(body: &[u8]) -> Option<Value> {
    if body.trim_ascii().is_empty() {
        return Some(json!({}));
    }
    serde_json::from_slice(body).ok().filter(Value::is_object)
}

/// Whether the request may use the admin endpoint: always without an admin
/// token; with one, only with `Authorization: Bearer {token}` (compared in
/// constant time).
pub(crate) fn authorized(inner: &Inner, headers: &hyper::HeaderMap) -> bool {
    let Some(token) = &inner.settings.admin_token else {
        return true;
    };
    headers
        .get_all(hyper::header::AUTHORIZATION)
        .iter()
        .any(|value| match value.as_bytes().strip_prefix(b"Bearer ") {
            Some(given) => bool::from(given.ct_eq(token.0.as_bytes())),
            None => false,
        })
}

/// 401, with the scheme to use.
pub(crate) fn unauthorized() -> Resp {
    let mut resp = error(
        401,
        "the admin endpoint needs Authorization: Bearer TOKEN (printed by smartex sandbox at start)",
    );
    resp.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Bearer"),
    );
    resp
}

/// Handles `/_sandbox{rest}`: the endpoints and fault bodies documented in
/// the crate's docs ("The admin endpoint"; keep the two in step).
pub(crate) async fn handle(inner: &Arc<Inner>, method: &Method, rest: &str, body: &[u8]) -> Resp {
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let Some(body) = body_json(body) else {
        return error(400, "the body must be a JSON object");
    };
    let uid = |s: &str| OrderUid::parse("uid", s).ok().map(OrderUid::get);
    match (method.clone(), segments.as_slice()) {
        (Method::GET, [""]) => {
            let st = inner.lock();
            server::json(
                200,
                &json!({
                    "siteUrl": inner.site,
                    "apiRoot": format!("{}{API_PREFIX}/", inner.site),
                    "routes": inner.settings.routes.iter().map(|r| r.spec.to_json()).collect::<Vec<_>>(),
                    "orders": st.orders.len(),
                    "ipns": st.ipns.len(),
                    "maintenance": st.maintenance,
                    "ipnTimestampUnit": st.ipn_timestamp_unit.as_str(),
                    "orderExpiry": expiry_json(st.order_expiry),
                    "rateDrift": drift_json(*inner.rate_drift.borrow()),
                }),
            )
        }
        (Method::GET, ["orders"]) => {
            let st = inner.lock();
            let orders: Vec<Value> = st
                .orders
                .values()
                .map(|o| inner.snapshot_of(o).to_json())
                .collect();
            server::json(200, &json!({ "orders": orders }))
        }
        (Method::GET, ["orders", id]) => {
            let Some(uid) = uid(id) else {
                return error(400, "the uid is not a number");
            };
            let Some(order) = inner.snapshot(uid) else {
                return from_error(&Error::UnknownOrder(uid));
            };
            let ipns: Vec<Value> = inner
                .lock()
                .ipns
                .iter()
                .filter(|r| r.order_uid.get() == uid)
                .map(IpnRecord::to_json)
                .collect();
            server::json(200, &json!({ "order": order.to_json(), "ipns": ipns }))
        }
        (Method::POST, ["orders", id, action]) => {
            let Some(uid) = uid(id) else {
                return error(400, "the uid is not a number");
            };
            order_action(inner, uid, action, &body).await
        }
        (Method::GET, ["ipns"]) => {
            let records: Vec<Value> = inner.lock().ipns.iter().map(IpnRecord::to_json).collect();
            server::json(200, &json!({ "ipns": records }))
        }
        (Method::GET, ["maintenance"]) => {
            server::json(200, &json!({ "maintenance": inner.lock().maintenance }))
        }
        (Method::POST, ["maintenance"]) => {
            let Some(on) = body.get("enabled").and_then(Value::as_bool) else {
                return error(400, "the body needs \"enabled\": true or false");
            };
            inner.lock().maintenance = on;
            inner.notify();
            server::json(200, &json!({ "maintenance": on }))
        }
        (Method::GET, ["ipn-timestamps"]) => server::json(
            200,
            &json!({ "unit": inner.lock().ipn_timestamp_unit.as_str() }),
        ),
        (Method::POST, ["ipn-timestamps"]) => {
            let Some(unit) = body
                .get("unit")
                .and_then(Value::as_str)
                .and_then(IpnTimestampUnit::parse)
            else {
                return error(
                    400,
                    "the body needs \"unit\": \"milliseconds\", \"seconds\" or \"mixed\"",
                );
            };
            inner.lock().ipn_timestamp_unit = unit;
            server::json(200, &json!({ "unit": unit.as_str() }))
        }
        (Method::GET, ["expiry"]) => server::json(200, &expiry_json(inner.lock().order_expiry)),
        (Method::POST, ["expiry"]) => match parse_expiry(&body) {
            Ok(expiry) => {
                inner.lock().order_expiry = expiry;
                server::json(200, &expiry_json(expiry))
            }
            Err(message) => error(400, message),
        },
        (Method::GET, ["rate-drift"]) => server::json(
            200,
            &json!({ "rateDrift": drift_json(*inner.rate_drift.borrow()) }),
        ),
        (Method::POST | Method::DELETE, ["rate-drift"]) => {
            let drift = if *method == Method::DELETE {
                None
            } else {
                let ms = |name| body.get(name).and_then(Value::as_u64);
                let (Some(every), Some(bp)) = (ms("everyMs"), ms("maxChangeBp")) else {
                    return error(
                        400,
                        "the body needs \"everyMs\" and \"maxChangeBp\" numbers",
                    );
                };
                Some(RateDrift {
                    every: Duration::from_millis(every),
                    max_change_bp: u32::try_from(bp).unwrap_or(u32::MAX),
                })
            };
            if let Err(e) = moves::check_drift(drift) {
                return from_error(&e);
            }
            inner.rate_drift.send_replace(drift);
            server::json(200, &json!({ "rateDrift": drift_json(drift) }))
        }
        (Method::POST, ["seed"]) => {
            let Some(seed) = body.get("seed").and_then(Value::as_u64) else {
                return error(400, "the body needs a numeric \"seed\"");
            };
            inner.lock().chance = crate::rng::Rng::from_seed(seed);
            server::json(200, &json!({ "seed": seed }))
        }
        (Method::POST, ["faults"]) => match add_fault(inner, &body) {
            Ok(()) => server::json(200, &json!({ "ok": true })),
            Err(message) => error(400, &message),
        },
        (Method::DELETE, ["faults"]) => {
            inner.lock().faults.clear();
            server::json(200, &json!({ "ok": true }))
        }
        _ => error(404, "no such admin endpoint"),
    }
}

/// `POST /_sandbox/orders/{uid}/{action}`.
async fn order_action(inner: &Arc<Inner>, uid: u64, action: &str, body: &Value) -> Resp {
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .map(OrderStatus::parse);
    let by = match actor(body, Actor::Operator) {
        Ok(by) => by,
        Err(message) => return error(400, &message),
    };
    let transition = |result: Result<Transition, Error>| match result {
        Ok(t) => server::json(200, &t.to_json()),
        Err(e) => from_error(&e),
    };
    let order = |result: Result<crate::OrderSnapshot, Error>| match result {
        Ok(o) => server::json(200, &json!({ "order": o.to_json() })),
        Err(e) => from_error(&e),
    };
    match (action, status) {
        ("status", Some(status)) => transition(inner.set_status_settled(uid, status, by).await),
        ("advance", _) => transition(inner.advance_settled(uid).await),
        ("customer-status", Some(status)) => {
            transition(inner.customer_update_settled(uid, status).await)
        }
        ("customer-claims-paid", _) => transition(
            inner
                .customer_update_settled(uid, OrderStatus::InProgress)
                .await,
        ),
        ("expire", _) => transition(inner.expire_settled(uid).await),
        ("resend", Some(status)) => match inner.resend(uid, &status) {
            Ok(seq) => match inner.wait_settled(&[seq]).await {
                Ok(records) => server::json(
                    200,
                    &json!({"ipns": records.iter().map(IpnRecord::to_json).collect::<Vec<_>>()}),
                ),
                Err(e) => from_error(&e),
            },
            Err(e) => from_error(&e),
        },
        ("status" | "customer-status" | "resend", None) => {
            error(400, "the body needs a \"status\" string")
        }
        ("script", _) => match parse_script(body) {
            Ok(script) => match inner.run_script(uid, script).await {
                Ok(ts) => server::json(
                    200,
                    &json!({"transitions": ts.iter().map(Transition::to_json).collect::<Vec<_>>()}),
                ),
                Err(e) => from_error(&e),
            },
            Err(message) => error(400, &message),
        },
        ("recalculate", _) => match decimal_field(body, "factor", true) {
            Ok(factor) => order(inner.recalculate(uid, factor)),
            Err(e) => from_error(&e),
        },
        ("paid-amount", _) => match decimal_field(body, "inAmount", false) {
            Ok(amount) => order(inner.set_paid_amount(uid, amount)),
            Err(e) => from_error(&e),
        },
        _ => error(404, "no such admin action"),
    }
}

/// `"by"`: `server`, `customer` or `operator`; `default` when left out.
fn actor(body: &Value, default: Actor) -> Result<Actor, String> {
    match body.get("by") {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_str()
            .and_then(parse_actor)
            .ok_or_else(|| "\"by\" must be \"server\", \"customer\" or \"operator\"".to_owned()),
    }
}

/// A decimal given as a string (exact) or a JSON number.
fn decimal_field(
    body: &Value,
    name: &'static str,
    positive: bool,
) -> Result<crate::decimal::Dec, Error> {
    let text = match body.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(Error::Invalid {
                field: name,
                reason: "the body needs it as a decimal string".to_owned(),
            });
        }
    };
    moves::decimal(name, &text, positive)
}

/// `{"steps": ["errorPayment", {"status": "waitPayment", "by": "operator"}],
/// "gapMs": 100 | [0, 300], "by": "server"}`: a step's own `by`, else the
/// script's, else `server`.
fn parse_script(body: &Value) -> Result<Script, String> {
    let by = actor(body, Actor::Server)?;
    let steps = body
        .get("steps")
        .and_then(Value::as_array)
        .ok_or("the body needs \"steps\": a list of statuses")?;
    let mut script = Script::new();
    for step in steps {
        let (status, step_by) = match step {
            Value::String(s) => (s.as_str(), by),
            Value::Object(_) => (
                step.get("status")
                    .and_then(Value::as_str)
                    .ok_or("each step needs a \"status\" string")?,
                actor(step, by)?,
            ),
            _ => return Err("each step is a status or {\"status\", \"by\"}".to_owned()),
        };
        script = script.then(OrderStatus::parse(status), step_by);
    }
    let ms = |v: &Value| v.as_u64().map(Duration::from_millis);
    let (min, max) = match body.get("gapMs") {
        None | Some(Value::Null) => (Duration::ZERO, Duration::ZERO),
        Some(Value::Array(range)) => match range.as_slice() {
            [lo, hi] => ms(lo).zip(ms(hi)),
            _ => None,
        }
        .ok_or("\"gapMs\" is a number or [min, max]")?,
        Some(v) => ms(v)
            .map(|d| (d, d))
            .ok_or("\"gapMs\" is a number or [min, max]")?,
    };
    let script = script.gap_between(min, max);
    script.check().map_err(|e| e.to_string())?;
    Ok(script)
}

/// `{"mode": "off" | "route" | "after", "ms": 300}`.
fn expiry_json(expiry: OrderExpiry) -> Value {
    match expiry {
        OrderExpiry::Off => json!({"mode": "off"}),
        OrderExpiry::RouteTtl => json!({"mode": "route"}),
        OrderExpiry::After(d) => json!({
            "mode": "after",
            "ms": u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        }),
    }
}

fn parse_expiry(body: &Value) -> Result<OrderExpiry, &'static str> {
    match body.get("mode").and_then(Value::as_str) {
        Some("off") => Ok(OrderExpiry::Off),
        Some("route") => Ok(OrderExpiry::RouteTtl),
        Some("after") => body
            .get("ms")
            .and_then(Value::as_u64)
            .map(|ms| OrderExpiry::After(Duration::from_millis(ms)))
            .ok_or("\"mode\": \"after\" needs a numeric \"ms\""),
        _ => Err("the body needs \"mode\": \"off\", \"route\" or \"after\""),
    }
}

/// `null` or `{"everyMs": 200, "maxChangeBp": 300}`.
fn drift_json(drift: Option<RateDrift>) -> Value {
    drift.map_or(Value::Null, |d| {
        json!({
            "everyMs": u64::try_from(d.every.as_millis()).unwrap_or(u64::MAX),
            "maxChangeBp": d.max_change_bp,
        })
    })
}

fn add_fault(inner: &Inner, body: &Value) -> Result<(), String> {
    let kind = body
        .get("fault")
        .and_then(Value::as_str)
        .ok_or("the body needs a \"fault\" string")?;
    let ms = || {
        body.get("ms")
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
            .ok_or("this fault needs \"ms\"")
    };
    let status = || {
        body.get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=599).contains(s))
            .unwrap_or(502)
    };
    let times = match body.get("times") {
        None => Times::Once,
        Some(Value::String(s)) if s == "always" => Times::Always,
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(1) => Times::Once,
            Some(n) if n > 0 => Times::N(n),
            _ => return Err("\"times\" must be a positive number or \"always\"".to_owned()),
        },
    };
    let order = match body.get("uid") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|u| OrderUid::new(u).ok())
                .ok_or("\"uid\" must be an order uid")?,
        ),
    };
    // The API path the fault applies to (`public/exchanger/order/get`);
    // "method" is read too, the name it had before "method" came to mean
    // the HTTP verb only.
    let path = body
        .get("path")
        .or_else(|| body.get("method"))
        .and_then(Value::as_str);
    let mut st = inner.lock();
    match kind {
        "dropIpn" => st.faults.add_ipn(order, IpnFault::Drop, times),
        "delayIpn" => st.faults.add_ipn(order, IpnFault::Delay(ms()?), times),
        "duplicateIpn" => st.faults.add_ipn(order, IpnFault::Duplicate, times),
        "stall" => st.faults.add_api(path, ApiFault::Stall(ms()?), times),
        "errorPage" => st
            .faults
            .add_api(path, ApiFault::ErrorPage { status: status() }, times),
        "errorPageAfterProcessing" => st.faults.add_api(
            path,
            ApiFault::ErrorPageAfterProcessing { status: status() },
            times,
        ),
        "antiFlood" => {
            let retry_after_secs = match body.get("seconds") {
                None => 1,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or("\"seconds\" must be a whole number")?,
            };
            st.faults
                .add_api(path, ApiFault::AntiFlood { retry_after_secs }, times);
        }
        "refuse" => {
            let code = body
                .get("code")
                .and_then(Value::as_u64)
                .ok_or("this fault needs a numeric \"code\"")?;
            let message = catalogued_message(code)
                .ok_or("\"code\" must be one of the platform's catalogued codes")?;
            st.faults
                .add_api(path, ApiFault::Refuse { code, message }, times);
        }
        other => return Err(format!("unknown fault `{other}`")),
    }
    Ok(())
}

/// The message the sandbox sends with a catalogued refusal.
fn catalogued_message(code: u64) -> Option<&'static str> {
    use crate::codes;
    Some(match code {
        codes::VALIDATION => "Param isn't valid",
        codes::MAINTENANCE => "Technical works",
        codes::AUTH => "Unauthorized",
        codes::AMOUNT_ABOVE_MAXIMUM => "The amount is more than the maximum",
        codes::AMOUNT_BELOW_MINIMUM => "The amount is less than the minimum",
        codes::NOT_ENOUGH_RESERVE => "Not enough reserve",
        codes::ROUTE_UNAVAILABLE => "Route is unavailable",
        _ => return None,
    })
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(status: u16, title: &str, body: &str) -> Resp {
    server::respond(
        status,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
            escape(title)
        ),
    )
}

/// The sandbox's pages: `/` and `/{lang}/{payment|order}/{uid}/{secret}`.
pub(crate) fn page(inner: &Inner, method: &Method, path: &str) -> Resp {
    if *method != Method::GET {
        return server::respond(404, "text/plain", "not found");
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => {
            let routes: String = inner
                .settings
                .routes
                .iter()
                .map(|r| {
                    format!(
                        "<li>{} → {} (<code>{}</code>, {} payment)</li>",
                        escape(&r.spec.from.xml),
                        escape(&r.spec.to.xml),
                        escape(&r.spec.id),
                        r.spec.payment.as_str()
                    )
                })
                .collect();
            html(
                200,
                "smartex sandbox",
                &format!(
                    "<h1>smartex sandbox</h1><p>API root: <code>{}{API_PREFIX}/</code></p><ul>{routes}</ul>",
                    escape(&inner.site)
                ),
            )
        }
        [_lang, kind @ ("payment" | "order"), uid, secret] => {
            let found = OrderUid::parse("uid", uid).ok().and_then(|uid| {
                let st = inner.lock();
                let order = st.orders.get(&uid.get())?;
                // The secret arrives percent-encoded; the sandbox's secrets are
                // letters and digits, so the raw segment is compared as is.
                bool::from(order.secret.expose().as_bytes().ct_eq(secret.as_bytes())).then(|| {
                    let manual =
                        inner.settings.routes[order.route].spec.payment == PaymentDetection::Manual;
                    (inner.snapshot_of(order), manual)
                })
            });
            let Some((order, manual)) = found else {
                return html(404, "Order not found", "<h1>Order not found</h1>");
            };
            // What the platform's page offers on a manual-payment route: the
            // customer's own `order/update-status`, with the uid and secret
            // the page's URL carries.
            let i_have_paid = if manual && order.status == OrderStatus::WaitPayment {
                format!(
                    "<form method=\"post\" action=\"{API_PREFIX}/public/exchanger/order/update-status/\">\
                     <input type=\"hidden\" name=\"orderUID\" value=\"{}\">\
                     <input type=\"hidden\" name=\"orderSecret\" value=\"{}\">\
                     <input type=\"hidden\" name=\"status\" value=\"inProgress\">\
                     <button id=\"i-have-paid\">I have paid</button></form>",
                    order.uid,
                    escape(order.secret.expose()),
                )
            } else {
                String::new()
            };
            let title = if *kind == "payment" {
                "Payment"
            } else {
                "Order"
            };
            html(
                200,
                &format!("{title} {}", order.uid),
                &format!(
                    "<meta http-equiv=\"refresh\" content=\"2\"><h1>{title} #{}</h1>\
                     <p>Status: <strong id=\"status\">{}</strong></p>\
                     <p>Send {} {} → receive {} {}</p>{i_have_paid}\
                     <p><small>smartex sandbox: no real money moves. Mark it paid with \
                     <code>order/update-status</code> (manual routes) or \
                     <code>POST /_sandbox/orders/{}/advance</code>.</small></p>",
                    order.uid,
                    escape(order.status.as_str()),
                    escape(&order.quoted_in_amount),
                    escape(&order.xml_from),
                    escape(&order.out_amount),
                    escape(&order.xml_to),
                    order.uid,
                ),
            )
        }
        _ => server::respond(404, "text/plain", "not found"),
    }
}
