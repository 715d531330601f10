//! The platform's merchant API: `{site}/service/api/v1/{method}/`, its
//! parameters, its validation and its envelope.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::CONTENT_TYPE;
use hyper::{HeaderMap, Method};
use serde_json::{Map, Value, json};
use smartex_core::checksum::Checksum;
use smartex_core::form::{self, Limits, Node};
use smartex_core::{IpnSecret, OrderSecret, OrderStatus, OrderUid, auth, js};
use subtle::ConstantTimeEq;

use crate::catalogue::FieldSpec;
use crate::decimal::Dec;
use crate::engine::{CreateRequest, Inner, OrderRec};
use crate::faults::ApiFault;
use crate::model::ValueEntry;
use crate::server::{self, Resp};

/// The error codes the sandbox answers with.
///
/// The platform's own codes (docs/API-NOTES.md, "Error codes") where public
/// clients know them; the others are the sandbox's choice (the platform's
/// codes for those cases are not public), each a distinct number so tests can
/// tell them apart.
pub mod codes {
    /// A parameter failed validation; `error.object` names it (the platform's code).
    pub const VALIDATION: u64 = 6_231_546_409_213_868;
    /// The site is under maintenance, "technical works" (the platform's code).
    pub const MAINTENANCE: u64 = 5_555_555_555_555_555;
    /// Unauthorized: unknown key, bad `hash`, or a `time` not greater than the
    /// last one (the platform's code for a refused API key).
    pub const AUTH: u64 = 40_301;
    /// The anti-flood guard: retry after the seconds in the message (the
    /// platform's code).
    pub const ANTI_FLOOD: u64 = 5_030_000;
    /// The amount is above the route's maximum (the platform's code).
    pub const AMOUNT_ABOVE_MAXIMUM: u64 = 3_631_545_348_962_766;
    /// The amount is below the route's minimum (the platform's code).
    pub const AMOUNT_BELOW_MINIMUM: u64 = 7_701_545_348_962_387;
    /// Not enough reserve, as a Node.js server writes it: the platform's code
    /// `9951545348963165` is above 2^53, and the nearest double prints as
    /// `9951545348963164`.
    pub const NOT_ENOUGH_RESERVE: u64 = 9_951_545_348_963_164;
    /// The route is not available now (the platform's code).
    pub const ROUTE_UNAVAILABLE: u64 = 6_801_545_277_215_051;
    /// No such order (or a wrong order secret: the two are not told apart), no
    /// such route, or no such method (the sandbox's choice).
    pub const NOT_FOUND: u64 = 40_401;
    /// `order/update-status` refused by the platform's rule (the sandbox's choice).
    pub const NOT_ALLOWED: u64 = 40_901;
    /// The body could not be decoded, or the HTTP method does not fit (the
    /// sandbox's choice).
    pub const BAD_REQUEST: u64 = 40_001;
    /// Something went wrong inside the sandbox (the sandbox's choice).
    pub const INTERNAL: u64 = 50_001;
}

/// An error for the envelope.
#[derive(Debug)]
pub(crate) struct ApiErr {
    code: u64,
    message: String,
    /// `error.object`: `fieldId`, `nameField`, `err`, `type`, in that order.
    object: Option<Box<[String; 4]>>,
    http: u16,
}

impl ApiErr {
    fn new(code: u64, message: impl Into<String>) -> ApiErr {
        ApiErr {
            code,
            message: message.into(),
            object: None,
            http: 200,
        }
    }

    /// A top-level parameter failed rule `err`.
    fn param(name: &str, err: &str) -> ApiErr {
        ApiErr {
            object: Some(Box::new([
                name.into(),
                name.into(),
                err.into(),
                "params".into(),
            ])),
            ..ApiErr::new(codes::VALIDATION, format!("Param {name} isn't valid"))
        }
    }

    /// A route field in `list` failed rule `err`.
    fn field(list: &str, f: &FieldSpec, err: &str) -> ApiErr {
        ApiErr {
            object: Some(Box::new([
                f.id.clone(),
                f.name.clone(),
                err.into(),
                list.into(),
            ])),
            ..ApiErr::new(
                codes::VALIDATION,
                format!("Param {list} isn't valid: {}", f.id),
            )
        }
    }

    fn with_http(mut self, status: u16) -> ApiErr {
        self.http = status;
        self
    }
}

/// An API call as received.
pub(crate) struct Call<'a> {
    /// The method path, without slashes around it.
    pub(crate) method: &'a str,
    pub(crate) http: &'a Method,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Create,
    Get,
    UpdateStatus,
    Routes,
    Route,
    RouteByXml,
}

impl Api {
    fn from_path(path: &str) -> Option<Api> {
        Some(match path {
            "public/exchanger/order/create" => Api::Create,
            "public/exchanger/order/get" => Api::Get,
            "public/exchanger/order/update-status" => Api::UpdateStatus,
            "public/exchanger/route/get" => Api::Routes,
            "public/exchanger/route/get/one" => Api::Route,
            "public/exchanger/route/get/one/by-xml" => Api::RouteByXml,
            _ => return None,
        })
    }

    /// POST for every method (what the platform's web app sends); GET with query
    /// parameters for reads and PUT for update-status (what other clients send).
    fn allows(self, m: &Method) -> bool {
        *m == Method::POST
            || (*m == Method::GET && !matches!(self, Api::Create | Api::UpdateStatus))
            || (*m == Method::PUT && self == Api::UpdateStatus)
    }
}

/// Answers one API call, applying any API fault rule.
pub(crate) async fn handle(inner: &Arc<Inner>, call: Call<'_>) -> Resp {
    let started = Instant::now();
    let fault = inner.take_api_fault(call.method);
    let refusal = match fault {
        Some(ApiFault::ErrorPage { status }) => return server::error_page(status),
        Some(ApiFault::AntiFlood { retry_after_secs }) => Some(ApiErr::new(
            codes::ANTI_FLOOD,
            format!("Too many requests. Try again in {retry_after_secs} seconds"),
        )),
        Some(ApiFault::Refuse { code, message }) => Some(ApiErr::new(code, message)),
        _ => None,
    };
    if let Some(refusal) = refusal {
        let (status, body) = envelope(&inner.request_id(), Err(refusal), 0);
        return server::respond(status, "application/json; charset=utf-8", body);
    }
    let result = if call.headers.contains_key("apikey") {
        keyed(inner, &call).await
    } else {
        process(inner, &call)
    };
    let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, body) = envelope(&inner.request_id(), result, latency);
    match fault {
        Some(ApiFault::Stall(d)) => tokio::time::sleep(d).await,
        Some(ApiFault::ErrorPageAfterProcessing { status }) => return server::error_page(status),
        _ => {}
    }
    server::respond(status, "application/json; charset=utf-8", body)
}

/// A keyed call, delayed first when the reordering mode says so (see
/// `SandboxConfig::reorder_keyed_calls`).
async fn keyed(inner: &Arc<Inner>, call: &Call<'_>) -> Result<Value, ApiErr> {
    use std::sync::atomic::Ordering;
    let others = inner.keyed_in_flight.fetch_add(1, Ordering::AcqRel);
    if let Some(max) = inner.settings.reorder_keyed
        && others > 0
    {
        let draw = inner.lock().rng.next_u64();
        if draw & 1 == 1 {
            let span = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
            let wait = (draw >> 1) % span.saturating_add(1);
            tokio::time::sleep(Duration::from_micros(wait)).await;
        }
    }
    let result = process(inner, call);
    inner.keyed_in_flight.fetch_sub(1, Ordering::AcqRel);
    result
}

/// JSON text of a string.
fn js(s: &str) -> String {
    Value::from(s).to_string()
}

/// The envelope, with its keys in the platform's order.
fn envelope(request_id: &str, result: Result<Value, ApiErr>, latency: u64) -> (u16, String) {
    let tail = format!(
        ",\"latency_ms\":{latency},\"requestId\":{}}}",
        js(request_id)
    );
    match result {
        Ok(data) => (200, format!("{{\"success\":true,\"data\":{data}{tail}")),
        Err(e) => {
            let object = e.object.map_or(String::new(), |o| {
                let [id, name, err, kind] = *o;
                format!(
                    ",\"object\":{{\"fieldId\":{},\"nameField\":{},\"err\":{},\"type\":{}}}",
                    js(&id),
                    js(&name),
                    js(&err),
                    js(&kind)
                )
            });
            let error = format!(
                "{{\"apiError\":true,\"message\":{},\"errorType\":\"api\"{object},\"level\":0,\"errorCode\":{}}}",
                js(&e.message),
                e.code
            );
            (
                e.http,
                format!("{{\"success\":false,\"error\":{error}{tail}"),
            )
        }
    }
}

/// Runs a method in process, as if called over HTTP with a JSON body and no API
/// key (no faults, no API-key check, maintenance mode honoured). Returns the
/// envelope's text.
pub(crate) fn call_in_process(inner: &Arc<Inner>, method: &str, json_body: &[u8]) -> String {
    let started = Instant::now();
    let headers = HeaderMap::new();
    let call = Call {
        method,
        http: &Method::POST,
        headers: &headers,
        query: None,
        body: json_body,
    };
    let result = dispatch(inner, &call, false);
    let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    envelope(&inner.request_id(), result, latency).1
}

fn process(inner: &Arc<Inner>, call: &Call<'_>) -> Result<Value, ApiErr> {
    dispatch(inner, call, true)
}

fn dispatch(inner: &Arc<Inner>, call: &Call<'_>, check_key: bool) -> Result<Value, ApiErr> {
    if inner.lock().maintenance {
        return Err(ApiErr::new(codes::MAINTENANCE, "Technical works"));
    }
    let api = Api::from_path(call.method).ok_or_else(|| {
        ApiErr::new(
            codes::NOT_FOUND,
            format!("Method not found: {}", call.method),
        )
        .with_http(404)
    })?;
    if !api.allows(call.http) {
        return Err(ApiErr::new(
            codes::BAD_REQUEST,
            format!("Method {} is not allowed here", call.http),
        )
        .with_http(405));
    }
    let params = parse_params(call)?;
    if check_key {
        authenticate(inner, call, &params)?;
    }
    match api {
        Api::Create => create(inner, &params),
        Api::Get => get(inner, &params),
        Api::UpdateStatus => update_status(inner, &params),
        Api::Routes => routes(inner, &params),
        Api::Route => route_one(inner, &params),
        Api::RouteByXml => route_by_xml(inner, &params),
    }
}

fn bad_request(message: String) -> ApiErr {
    ApiErr::new(codes::BAD_REQUEST, message).with_http(400)
}

fn node_to_json(node: Node) -> Value {
    match node {
        Node::Value(s) => Value::String(s),
        Node::List(items) => Value::Array(items.into_iter().map(node_to_json).collect()),
        Node::Map(map) => Value::Object(form_map(map)),
    }
}

fn form_map(map: form::Map) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| (k.to_owned(), node_to_json(v.clone())))
        .collect()
}

fn from_form(bytes: &[u8]) -> Result<Map<String, Value>, ApiErr> {
    form::decode_tree(bytes, &Limits::default())
        .map(form_map)
        .map_err(|e| bad_request(format!("Invalid form body: {e}")))
}

/// The parameters: the query for GET; for other methods the body, JSON or form
/// by its `Content-Type` (or its first byte), or the query if the body is empty.
fn parse_params(call: &Call<'_>) -> Result<Map<String, Value>, ApiErr> {
    let query = call.query.unwrap_or_default().as_bytes();
    if *call.http == Method::GET {
        return from_form(query);
    }
    let body = call.body.trim_ascii();
    if body.is_empty() {
        return from_form(query);
    }
    let content_type = call
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let is_json = content_type.contains("json")
        || (!content_type.contains("x-www-form-urlencoded") && body.starts_with(b"{"));
    if !is_json {
        return from_form(body);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("The body is not a JSON object".to_owned())),
        Err(e) => Err(bad_request(format!("The body is not valid JSON: {e}"))),
    }
}

fn auth_error(message: &str) -> ApiErr {
    ApiErr::new(codes::AUTH, message)
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// The API-key scheme: `apikey` + `hash` headers, `hash` =
/// `sha256_hex(sha256_hex(JSON.stringify({...req.query, ...req.body})) + secret)`
/// over the parameters as the platform's Express server parses them
/// (`express.json`, `express.urlencoded({extended: true})`, its `qs` query
/// parser — never the raw bytes), and a `time` greater than the last one seen
/// for the key.
fn authenticate(inner: &Inner, call: &Call<'_>, params: &Map<String, Value>) -> Result<(), ApiErr> {
    let Some(key) = call.headers.get("apikey") else {
        return if inner.settings.require_api_key {
            Err(auth_error("An API key is required"))
        } else {
            Ok(())
        };
    };
    let key = key.to_str().map_err(|_| auth_error("Invalid api key"))?;
    let (key, secret) = inner
        .settings
        .api_keys
        .iter()
        .find(|(k, _)| k.as_str() == key)
        .ok_or_else(|| auth_error("Invalid api key"))?;
    let hash = call
        .headers
        .get("hash")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| auth_error("A hash header is required"))?;
    let content_type = call.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    // Express's body parsers go by Content-Type alone, whatever the verb.
    let body = js::Body::from_content_type(content_type, call.body);
    let expected = auth::express_signature(call.query, body, secret)
        .map_err(|e| bad_request(format!("Invalid request: {e}")))?;
    let matches = match (
        Checksum::parse_hex("hash", hash.trim()),
        Checksum::parse_hex("hash", expected.as_str()),
    ) {
        (Ok(got), Ok(want)) => bool::from(got.as_bytes().ct_eq(want.as_bytes())),
        _ => false,
    };
    if !matches {
        return Err(auth_error("Invalid hash"));
    }
    let time = params
        .get("time")
        .and_then(as_u64)
        .filter(|t| *t > 0)
        .ok_or_else(|| ApiErr::param("time", "required"))?;
    if !inner.accept_nonce(key.as_str(), time) {
        return Err(auth_error(
            "Param time must be greater than in the previous request with this key",
        ));
    }
    Ok(())
}

/// A scalar parameter as text; `None` if absent or null.
fn scalar(p: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiErr> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(ApiErr::param(name, "type")),
    }
}

/// An optional text parameter of at most `max` characters (an empty one counts
/// as absent).
fn bounded(p: &Map<String, Value>, name: &str, max: usize) -> Result<Option<String>, ApiErr> {
    match scalar(p, name)? {
        Some(s) if s.chars().count() > max => Err(ApiErr::param(name, "max")),
        Some(s) if s.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// An optional absolute http(s) URL of at most 200 characters.
fn url(p: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiErr> {
    let Some(u) = bounded(p, name, 200)? else {
        return Ok(None);
    };
    let lower = u.get(..8).unwrap_or(&u).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &u[8..]
    } else if lower.starts_with("http://") {
        &u[7..]
    } else {
        return Err(ApiErr::param(name, "url"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || host.starts_with(':')
        || u.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ApiErr::param(name, "url"));
    }
    Ok(Some(u))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true" || s == "1",
        Value::Number(n) => n.as_u64() == Some(1),
        _ => false,
    }
}

/// The `(key, value)` entries of a value list: `[{key, value}, …]` (JSON or
/// brackets) or `{key: value, …}`.
fn entries(p: &Map<String, Value>, list: &str) -> Result<Vec<(String, String)>, ApiErr> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let shape = || ApiErr::param(list, "type");
    match p.get(list) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let key = item.get("key").and_then(text).ok_or_else(shape)?;
                let value = item
                    .get("value")
                    .map_or(Some(String::new()), text)
                    .ok_or_else(shape)?;
                Ok((key, value))
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), text(v).ok_or_else(shape)?)))
            .collect(),
        Some(_) => Err(shape()),
    }
}

fn create(inner: &Arc<Inner>, p: &Map<String, Value>) -> Result<Value, ApiErr> {
    match p.get("agreement") {
        None | Some(Value::Null) => return Err(ApiErr::param("agreement", "required")),
        Some(v) if truthy(v) => {}
        Some(_) => return Err(ApiErr::param("agreement", "valid")),
    }
    let route_id = scalar(p, "routeId")?.ok_or_else(|| ApiErr::param("routeId", "required"))?;
    let route_ix = inner
        .settings
        .route_index(&route_id)
        .ok_or_else(|| ApiErr::param("routeId", "notFound"))?;
    let route = &inner.settings.routes[route_ix];
    let amount_text = scalar(p, "amount")?.ok_or_else(|| ApiErr::param("amount", "required"))?;
    let amount = Dec::parse(amount_text.trim()).ok_or_else(|| ApiErr::param("amount", "number"))?;
    if amount.is_zero() {
        return Err(ApiErr::param("amount", "nonZero"));
    }
    let partner = bounded(p, "partner", 100)?;
    let lang = bounded(p, "lang", 3)?;
    let client_callback_url = url(p, "clientCallbackUrl")?;
    let ipn_url = url(p, "ipnUrl")?;
    let ipn_secret = bounded(p, "ipnSecret", 200)?
        .map(|s| IpnSecret::new(s).map_err(|_| ApiErr::param("ipnSecret", "max")))
        .transpose()?;
    let email = bounded(p, "email", 200)?;

    let mut values: [Vec<ValueEntry>; 3] = Default::default();
    for (slot, (list, fields)) in values.iter_mut().zip(&route.lists) {
        let given = entries(p, list)?;
        for f in fields {
            let value = given
                .iter()
                .find(|(k, _)| *k == f.spec.id)
                .map_or("", |(_, v)| v.as_str());
            if value.is_empty() {
                if f.spec.required {
                    return Err(ApiErr::field(list, &f.spec, "required"));
                }
                continue;
            }
            let len = value.chars().count();
            if f.spec.min.is_some_and(|m| len < m as usize) {
                return Err(ApiErr::field(list, &f.spec, "min"));
            }
            if f.spec.max.is_some_and(|m| len > m as usize) {
                return Err(ApiErr::field(list, &f.spec, "max"));
            }
            if f.regex.as_ref().is_some_and(|rx| !rx.is_match(value)) {
                return Err(ApiErr::field(list, &f.spec, "regexp"));
            }
            slot.push(ValueEntry {
                key: f.spec.id.clone(),
                name: f.spec.name.clone(),
                value: value.to_owned(),
            });
        }
    }

    // Positive: the amount sent; negative: the amount received.
    let (sent, received) = route
        .quote(amount, Dec::ONE)
        .ok_or_else(|| ApiErr::param("amount", "number"))?;
    // The platform's own codes for the route's limits; `error.object` still
    // names the parameter, as for a validation error.
    let limit = |code, rule, words, limit: &str| ApiErr {
        code,
        message: format!(
            "The amount is {words} of {limit} {}",
            route.spec.from.symbol
        ),
        ..ApiErr::param("amount", rule)
    };
    if sent.compare(route.min) == Ordering::Less || received.is_zero() || sent.is_zero() {
        return Err(limit(
            codes::AMOUNT_BELOW_MINIMUM,
            "min",
            "less than the minimum",
            &route.spec.min_amount,
        ));
    }
    if sent.compare(route.max) == Ordering::Greater {
        return Err(limit(
            codes::AMOUNT_ABOVE_MAXIMUM,
            "max",
            "more than the maximum",
            &route.spec.max_amount,
        ));
    }
    if route
        .reserve
        .is_some_and(|reserve| received.compare(reserve) == Ordering::Greater)
    {
        return Err(ApiErr::new(
            codes::NOT_ENOUGH_RESERVE,
            format!("Not enough reserve of {}", route.spec.to.symbol),
        ));
    }

    let order = inner
        .create_order(CreateRequest {
            route: route_ix,
            asked: amount,
            in_amount: sent.to_string(),
            out_amount: received.to_string(),
            values,
            lang: lang.unwrap_or_else(|| "en".to_owned()).to_ascii_lowercase(),
            partner,
            client_callback_url,
            ipn_url,
            ipn_secret,
            email,
        })
        .map_err(|e| ApiErr::new(codes::INTERNAL, e.to_string()).with_http(500))?;
    Ok(json!({
        "_id": order.id.as_str(),
        "uid": order.uid.get(),
        "secret": order.secret.expose(),
        "route": route.spec.summary_json(),
        "inAmount": order.in_amount,
        "outAmount": order.out_amount,
        "status": "new",
        "createdAt": iso8601(order.created_at_ms),
        "expiresAt": iso8601(order.expires_at_ms),
    }))
}

/// Finds the order named by `orderUID` and `orderSecret`; a wrong secret is
/// answered exactly like an unknown order.
fn find_order<'s>(
    orders: &'s std::collections::BTreeMap<u64, OrderRec>,
    p: &Map<String, Value>,
) -> Result<&'s OrderRec, ApiErr> {
    let uid = scalar(p, "orderUID")?.ok_or_else(|| ApiErr::param("orderUID", "required"))?;
    let uid = OrderUid::parse("orderUID", &uid).map_err(|_| ApiErr::param("orderUID", "number"))?;
    let secret =
        scalar(p, "orderSecret")?.ok_or_else(|| ApiErr::param("orderSecret", "required"))?;
    if secret.chars().count() > OrderSecret::MAX_LEN {
        return Err(ApiErr::param("orderSecret", "max"));
    }
    let not_found = || ApiErr::new(codes::NOT_FOUND, "Order not found");
    let order = orders.get(&uid.get()).ok_or_else(not_found)?;
    if bool::from(order.secret.expose().as_bytes().ct_eq(secret.as_bytes())) {
        Ok(order)
    } else {
        Err(not_found())
    }
}

fn get(inner: &Arc<Inner>, p: &Map<String, Value>) -> Result<Value, ApiErr> {
    let view = scalar(p, "type")?.unwrap_or_else(|| "order".to_owned());
    if view != "order" && view != "payment" {
        return Err(ApiErr::param("type", "valid"));
    }
    let st = inner.lock();
    let order = find_order(&st.orders, p)?;
    let route = &inner.settings.routes[order.route];
    let list = |i: usize| {
        order.new.values[i]
            .iter()
            .map(ValueEntry::to_json)
            .collect::<Vec<_>>()
    };
    let mut o = json!({
        "_id": order.id.as_str(),
        "uid": order.uid.get(),
        "status": order.status.as_str(),
        "inAmount": order.in_amount(),
        "outAmount": order.quote_out,
        "fromValues": list(0),
        "toValues": list(1),
        "routeValues": list(2),
        "route": route.spec.summary_json(),
        "rate": {"in": route.spec.rate_in, "out": route.rate_out_text(order.rate_factor)},
        "lang": order.new.lang,
        "partner": order.new.partner,
        "clientCallbackUrl": order.new.client_callback_url,
        "email": order.new.email,
        "createdAt": iso8601(order.created_at_ms),
        "expiresAt": iso8601(order.expires_at_ms),
        "statusHistory": order.history.iter().map(|c| json!({"status": c.status.as_str(), "at": iso8601(c.at_ms)})).collect::<Vec<_>>(),
    });
    if view == "payment" {
        o["payment"] = json!({
            "currency": route.spec.from.xml,
            "amount": order.quote_in,
            "detection": route.spec.payment.as_str(),
            "details": format!("sandbox: send {} {} to SANDBOX-DEPOSIT-{}", order.quote_in, route.spec.from.symbol, order.uid),
        });
    }
    Ok(json!({"order": o, "verifications": []}))
}

fn update_status(inner: &Arc<Inner>, p: &Map<String, Value>) -> Result<Value, ApiErr> {
    let target = scalar(p, "status")?.ok_or_else(|| ApiErr::param("status", "required"))?;
    let target = OrderStatus::parse(&target);
    if matches!(target, OrderStatus::Unknown(_)) {
        return Err(ApiErr::param("status", "valid"));
    }
    let uid = find_order(&inner.lock().orders, p)?.uid;
    // The uid and the secret are all it takes: the customer has both in the
    // payment page's URL, and their change is signed and notified like any.
    match inner.customer_update(uid.get(), target.clone()) {
        // The platform's answer: `{ok, oldStatus, newStatus}`.
        Ok((old, _)) => {
            Ok(json!({"ok": 1, "oldStatus": old.as_str(), "newStatus": target.as_str()}))
        }
        Err(crate::Error::NotAllowed { reason, .. }) => {
            Err(ApiErr::new(codes::NOT_ALLOWED, reason))
        }
        Err(e) => Err(ApiErr::new(codes::INTERNAL, e.to_string()).with_http(500)),
    }
}

fn routes(inner: &Arc<Inner>, p: &Map<String, Value>) -> Result<Value, ApiErr> {
    let from = scalar(p, "fromCurrencyId")?;
    let to = scalar(p, "toCurrencyId")?;
    let routes: Vec<Value> = inner
        .settings
        .routes
        .iter()
        .filter(|r| from.as_deref().is_none_or(|f| r.spec.from.id == f))
        .filter(|r| to.as_deref().is_none_or(|t| r.spec.to.id == t))
        .map(|r| r.spec.to_json())
        .collect();
    Ok(json!({ "routes": routes }))
}

fn route_one(inner: &Arc<Inner>, p: &Map<String, Value>) -> Result<Value, ApiErr> {
    let id = scalar(p, "id")?.ok_or_else(|| ApiErr::param("id", "required"))?;
    let route = inner
        .settings
        .routes
        .iter()
        .find(|r| r.spec.id == id)
        .ok_or_else(|| ApiErr::new(codes::NOT_FOUND, "Route not found"))?;
    Ok(json!({ "route": route.spec.to_json() }))
}

fn route_by_xml(inner: &Arc<Inner>, p: &Map<String, Value>) -> Result<Value, ApiErr> {
    let xml_in = scalar(p, "xmlIn")?.ok_or_else(|| ApiErr::param("xmlIn", "required"))?;
    let xml_out = scalar(p, "xmlOut")?.ok_or_else(|| ApiErr::param("xmlOut", "required"))?;
    let route = inner
        .settings
        .routes
        .iter()
        .find(|r| r.spec.from.xml == xml_in && r.spec.to.xml == xml_out)
        .ok_or_else(|| ApiErr::new(codes::NOT_FOUND, "Route not found"))?;
    Ok(json!({ "route": route.spec.to_json() }))
}

/// `2024-03-23T12:34:56.789Z` for a time in ms since the Unix epoch.
pub(crate) fn iso8601(ms: u64) -> String {
    smartex_core::time::UtcDateTime::from_unix_ms(ms).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_571_328_406_072), "2019-10-17T16:06:46.072Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn envelope_keeps_the_platform_key_order() {
        let (status, body) = envelope("1-abcdefg", Err(ApiErr::param("amount", "min")), 3);
        assert_eq!(status, 200);
        assert_eq!(
            body,
            r#"{"success":false,"error":{"apiError":true,"message":"Param amount isn't valid","errorType":"api","object":{"fieldId":"amount","nameField":"amount","err":"min","type":"params"},"level":0,"errorCode":6231546409213868},"latency_ms":3,"requestId":"1-abcdefg"}"#
        );
        let (_, body) = envelope("1-abcdefg", Ok(json!({"a": 1})), 0);
        assert_eq!(
            body,
            r#"{"success":true,"data":{"a":1},"latency_ms":0,"requestId":"1-abcdefg"}"#
        );
    }
}
