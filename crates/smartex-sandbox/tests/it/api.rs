//! The platform methods over HTTP: create, get, update-status, routes, the
//! API-key scheme, maintenance, and the envelope as the core decodes it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use smartex_core::request::{ApiCall, CreateOrder, GetOrder, UpdateStatus};
use smartex_core::response::{ApiErrorKind, CreatedOrder, OrderView, RouteView, Routes};
use smartex_core::{ApiSecret, OrderSecret, OrderStatus, OrderUid, auth};
use smartex_sandbox::{
    ApiFault, Sandbox, SandboxConfig, Schedule, TEST_API_KEY, TEST_API_SECRET, Times, codes,
};

use crate::*;

#[tokio::test]
async fn create_answers_the_platform_shape_and_core_decodes_it() {
    let sb = manual_sandbox().await;
    let answer = call(&sb, "public/exchanger/order/create", &eth_wmz(json!(2))).await;
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("application/json"));
    let raw = answer.json();
    assert_eq!(raw["success"], true);
    assert!(raw["latency_ms"].is_u64());
    let request_id = raw["requestId"].as_str().unwrap();
    let (ms, tail) = request_id.split_once('-').unwrap();
    assert!(ms.parse::<u64>().unwrap() > 1_600_000_000_000);
    assert!(tail.len() == 7 && tail.bytes().all(|b| b.is_ascii_alphanumeric()));

    let data = &raw["data"];
    let id = data["_id"].as_str().unwrap();
    assert!(
        id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(data["uid"], 1001);
    let secret = data["secret"].as_str().unwrap();
    assert!(secret.len() == 24 && secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(data["route"]["from"]["name"], "Ethereum");
    assert_eq!(data["route"]["from"]["symbol"], "ETH");
    assert_eq!(data["route"]["to"]["symbol"], "WMZ");
    assert_eq!(data["inAmount"], "2");
    assert_eq!(data["outAmount"], "317.42");
    assert_eq!(data["status"], "new");

    let decoded = answer.decode::<CreatedOrder>();
    assert_eq!(decoded.request_id.as_deref(), Some(request_id));
    let created = decoded.result.unwrap();
    assert_eq!(created.uid.get(), 1001);
    assert_eq!(created.id.as_str(), id);
    assert_eq!(created.secret.expose(), secret);
    assert_eq!(created.out_amount.unwrap().as_str(), "317.42");
    assert_eq!(created.status, Some(OrderStatus::New));

    // Uids count up; the second order is a different one.
    let second = create(&sb, eth_wmz(json!("0.5"))).await;
    assert_eq!(second["uid"], 1002);
    assert_eq!(second["outAmount"], "79.35"); // 0.5 × 158.71 = 79.355, rounded down
    assert_ne!(second["secret"], data["secret"]);
    assert_ne!(second["_id"], data["_id"]);
}

#[tokio::test]
async fn create_accepts_the_core_request_as_json_and_as_form_with_or_without_slash() {
    let sb = manual_sandbox().await;
    let order = CreateOrder::builder()
        .route_id(BTC_USDT)
        .amount("0.05")
        .agreement(true)
        .to_value("wallet", TRON_WALLET)
        .lang("ru")
        .ipn_url("http://127.0.0.1:9/ipn")
        .ipn_secret("s3cret")
        .build()
        .unwrap();
    // JSON, exactly as a client serializes it (amount as a JSON number).
    let json_answer = request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/order/create",
        &[("content-type", "application/json")],
        order.to_json().as_bytes(),
    )
    .await;
    let a = json_answer.decode::<CreatedOrder>().result.unwrap();
    assert_eq!(a.in_amount.unwrap().as_str(), "0.05");
    assert_eq!(a.out_amount.unwrap().as_str(), "3250");
    // The docs' bracket form.
    let form_answer = call_form(&sb, CreateOrder::PATH, &order.to_form()).await;
    let b = form_answer.decode::<CreatedOrder>().result.unwrap();
    assert_eq!(b.uid.get(), a.uid.get() + 1);
    let stored = sb.order(b.uid).unwrap();
    assert_eq!(stored.lang, "ru");
    assert_eq!(stored.to_values[0].value, TRON_WALLET);
    assert_eq!(stored.to_values[0].name, "USDT TRC20 address");
    assert_eq!(stored.ipn_url.as_deref(), Some("http://127.0.0.1:9/ipn"));
    assert!(stored.has_ipn_secret);
    // Percent-encoded brackets too.
    let encoded = order.to_form().replace('[', "%5B").replace(']', "%5D");
    let c = call_form(&sb, CreateOrder::PATH, &encoded).await.data();
    assert_eq!(c["outAmount"], "3250");
}

#[tokio::test]
async fn a_negative_amount_is_the_amount_received() {
    let sb = manual_sandbox().await;
    let data = create(&sb, eth_wmz(json!(-317.42))).await;
    assert_eq!(data["inAmount"], "2");
    assert_eq!(data["outAmount"], "317.42");
    // Sent amounts round up, never in the client's favour: 100 WMZ needs
    // 0.630080020… ETH → 0.63008003.
    let data = create(&sb, eth_wmz(json!("-100"))).await;
    assert_eq!(data["outAmount"], "100");
    assert_eq!(data["inAmount"], "0.63008003");
}

/// One validation case: a change to a valid body, and the field the error names.
struct Case {
    what: &'static str,
    body: Value,
    field: &'static str,
    name: &'static str,
    rule: &'static str,
    list: &'static str,
    message: &'static str,
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        body.as_object_mut().unwrap().remove(key);
    } else {
        body[key] = value;
    }
    body
}

fn card(card: &str, email: Option<&str>) -> Value {
    let mut body = json!({
        "routeId": CARDRUB_BTC,
        "amount": 5000,
        "fromValues": [{"key": CARD_FIELD, "value": card}],
        "toValues": [{"key": "wallet", "value": BTC_WALLET}],
        "agreement": true,
    });
    if let Some(email) = email {
        body["routeValues"] = json!([{"key": EMAIL_FIELD, "value": email}]);
    }
    body
}

#[track_caller]
fn param(what: &'static str, body: Value, field: &'static str, rule: &'static str) -> Case {
    Case {
        what,
        body,
        field,
        name: field,
        rule,
        list: "params",
        message: "",
    }
}

#[tokio::test]
async fn create_refuses_each_invalid_parameter_naming_the_field() {
    let sb = manual_sandbox().await;
    let ok = eth_wmz(json!(2));
    let long = |n: usize| "x".repeat(n);
    let cases = vec![
        param(
            "no agreement",
            with(ok.clone(), "agreement", Value::Null),
            "agreement",
            "required",
        ),
        param(
            "agreement false",
            with(ok.clone(), "agreement", json!(false)),
            "agreement",
            "valid",
        ),
        param(
            "no route",
            with(ok.clone(), "routeId", Value::Null),
            "routeId",
            "required",
        ),
        param(
            "unknown route",
            with(ok.clone(), "routeId", json!("5f1a0c9e8b3d4a0012a1bfff")),
            "routeId",
            "notFound",
        ),
        param(
            "no amount",
            with(ok.clone(), "amount", Value::Null),
            "amount",
            "required",
        ),
        param(
            "amount not a number",
            with(ok.clone(), "amount", json!("two")),
            "amount",
            "number",
        ),
        param(
            "amount with a comma",
            with(ok.clone(), "amount", json!("1,5")),
            "amount",
            "number",
        ),
        param(
            "zero amount",
            with(ok.clone(), "amount", json!("0.00")),
            "amount",
            "nonZero",
        ),
        param(
            "zero with a huge negative exponent",
            with(ok.clone(), "amount", json!("0e-2147483648")),
            "amount",
            "nonZero",
        ),
        param(
            "partner too long",
            with(ok.clone(), "partner", json!(long(101))),
            "partner",
            "max",
        ),
        param(
            "lang too long",
            with(ok.clone(), "lang", json!("engl")),
            "lang",
            "max",
        ),
        param(
            "callback not http",
            with(
                ok.clone(),
                "clientCallbackUrl",
                json!("ftp://shop.example/"),
            ),
            "clientCallbackUrl",
            "url",
        ),
        param(
            "callback too long",
            with(
                ok.clone(),
                "clientCallbackUrl",
                json!(format!("https://shop.example/{}", long(190))),
            ),
            "clientCallbackUrl",
            "max",
        ),
        param(
            "ipnUrl relative",
            with(ok.clone(), "ipnUrl", json!("/ipn")),
            "ipnUrl",
            "url",
        ),
        param(
            "ipnUrl no host",
            with(ok.clone(), "ipnUrl", json!("http:///ipn")),
            "ipnUrl",
            "url",
        ),
        param(
            "ipnUrl too long",
            with(
                ok.clone(),
                "ipnUrl",
                json!(format!("http://127.0.0.1/{}", long(190))),
            ),
            "ipnUrl",
            "max",
        ),
        param(
            "ipnSecret too long",
            with(ok.clone(), "ipnSecret", json!(long(201))),
            "ipnSecret",
            "max",
        ),
        param(
            "toValues not a list",
            with(ok.clone(), "toValues", json!("wallet")),
            "toValues",
            "type",
        ),
        Case {
            what: "wallet missing",
            body: with(ok.clone(), "toValues", json!([])),
            field: "wallet",
            name: "WMZ purse",
            rule: "required",
            list: "toValues",
            message: "Param toValues isn't valid: wallet",
        },
        Case {
            what: "wallet fails the regex",
            body: with(
                ok.clone(),
                "toValues",
                json!([{"key": "wallet", "value": "Z12"}]),
            ),
            field: "wallet",
            name: "WMZ purse",
            rule: "regexp",
            list: "toValues",
            message: "Param toValues isn't valid: wallet",
        },
        Case {
            what: "card too short",
            body: card("4111", None),
            field: CARD_FIELD,
            name: "Card number",
            rule: "min",
            list: "fromValues",
            message: "",
        },
        Case {
            what: "card not digits",
            body: card("4111x11111111111", None),
            field: CARD_FIELD,
            name: "Card number",
            rule: "regexp",
            list: "fromValues",
            message: "",
        },
        Case {
            what: "route e-mail malformed",
            body: card("4111111111111111", Some("not-an-email")),
            field: EMAIL_FIELD,
            name: "E-mail",
            rule: "regexp",
            list: "routeValues",
            message: "",
        },
    ];
    for case in cases {
        let answer = call(&sb, "public/exchanger/order/create", &case.body).await;
        assert_eq!(answer.status, 200, "{}: API errors are HTTP 200", case.what);
        let error = answer.error();
        assert_eq!(error["apiError"], true, "{}", case.what);
        assert_eq!(error["errorType"], "api", "{}", case.what);
        assert_eq!(error["level"], 0, "{}", case.what);
        assert_eq!(
            error["errorCode"].as_u64(),
            Some(codes::VALIDATION),
            "{}",
            case.what
        );
        assert_eq!(error["object"]["fieldId"], case.field, "{}", case.what);
        assert_eq!(error["object"]["nameField"], case.name, "{}", case.what);
        assert_eq!(error["object"]["err"], case.rule, "{}", case.what);
        assert_eq!(error["object"]["type"], case.list, "{}", case.what);
        if !case.message.is_empty() {
            assert_eq!(error["message"], case.message, "{}", case.what);
        }
        // And the core reads it as a validation error on that field.
        let e = answer.decode::<CreatedOrder>().result.unwrap_err();
        assert_eq!(e.kind, ApiErrorKind::Validation, "{}", case.what);
        assert_eq!(e.code.as_deref(), Some("6231546409213868"), "{}", case.what);
        assert_eq!(e.field_id.as_deref(), Some(case.field), "{}", case.what);
        assert_eq!(e.field_list.as_deref(), Some(case.list), "{}", case.what);
        assert_eq!(e.rule.as_deref(), Some(case.rule), "{}", case.what);
    }
    assert!(sb.orders().is_empty(), "no refused call created an order");
    // The manual-payment route with every field right is accepted.
    let data = create(&sb, card("4111111111111111", Some("a@b.example"))).await;
    assert_eq!(data["inAmount"], "5000");
    assert_eq!(data["outAmount"], "0.0008");
}

#[tokio::test]
async fn get_returns_the_order_to_its_secret_holder_only() {
    let sb = manual_sandbox().await;
    let created = create(&sb, eth_wmz(json!(2))).await;
    let uid = OrderUid::new(created["uid"].as_u64().unwrap()).unwrap();
    let secret = OrderSecret::new(created["secret"].as_str().unwrap()).unwrap();
    let get = GetOrder::new(uid, secret.clone());

    let by_json = request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/order/get/",
        &[("content-type", "application/json")],
        get.to_json().as_bytes(),
    )
    .await;
    let view = by_json.decode::<OrderView>().result.unwrap();
    assert_eq!(view.order.uid, uid);
    assert_eq!(view.order.id.as_str(), created["_id"].as_str().unwrap());
    assert_eq!(view.order.status, OrderStatus::New);
    assert_eq!(view.order.in_amount.unwrap().as_str(), "2");
    assert_eq!(view.order.to_values.unwrap()[0]["value"], WMZ_WALLET);
    assert!(view.order.created_at.unwrap().ends_with('Z'));
    assert!(view.verifications.is_empty());
    let raw = by_json.data();
    assert!(
        raw["order"].get("secret").is_none(),
        "order/get never echoes the secret"
    );
    let snapshot = format!("{:?}", sb.order(uid).unwrap());
    assert!(
        !snapshot.contains(secret.expose()),
        "Debug hides the secret: {snapshot}"
    );

    let by_form = call_form(&sb, GetOrder::PATH, &get.to_form()).await;
    assert_eq!(by_form.decode::<OrderView>().result.unwrap().order.uid, uid);
    let by_query = request(
        sb.local_addr(),
        "GET",
        &format!(
            "/service/api/v1/public/exchanger/order/get?{}",
            get.to_form()
        ),
        &[],
        b"",
    )
    .await;
    assert_eq!(
        by_query.decode::<OrderView>().result.unwrap().order.uid,
        uid
    );

    let payment = call(
        &sb,
        GetOrder::PATH,
        &json!({"orderUID": uid.get(), "orderSecret": secret.expose(), "type": "payment"}),
    )
    .await
    .data();
    assert_eq!(payment["order"]["payment"]["currency"], "ETH");
    assert_eq!(payment["order"]["payment"]["amount"], "2");

    // A wrong secret and an unknown order look the same.
    let wrong = call(
        &sb,
        GetOrder::PATH,
        &json!({"orderUID": uid.get(), "orderSecret": "nope", "type": "order"}),
    )
    .await;
    let unknown = call(
        &sb,
        GetOrder::PATH,
        &json!({"orderUID": 999_999, "orderSecret": secret.expose()}),
    )
    .await;
    for answer in [&wrong, &unknown] {
        let e = answer.decode::<OrderView>().result.unwrap_err();
        assert_eq!(e.kind, ApiErrorKind::Other);
        assert_eq!(e.code.as_deref(), Some("40401"));
        assert_eq!(e.message, "Order not found");
        assert!(!answer.text().contains(secret.expose()));
    }
    let bad_type = call(
        &sb,
        GetOrder::PATH,
        &json!({"orderUID": uid.get(), "orderSecret": secret.expose(), "type": "all"}),
    )
    .await;
    assert_eq!(bad_type.error()["object"]["fieldId"], "type");
    let bad_uid = call(
        &sb,
        GetOrder::PATH,
        &json!({"orderUID": "12a", "orderSecret": "x"}),
    )
    .await;
    assert_eq!(bad_uid.error()["object"]["fieldId"], "orderUID");
    let no_secret = call(&sb, GetOrder::PATH, &json!({"orderUID": 1})).await;
    assert_eq!(no_secret.error()["object"]["fieldId"], "orderSecret");
}

async fn update(sb: &Sandbox, uid: u64, secret: &str, status: &str) -> crate::Answer {
    call(
        sb,
        UpdateStatus::PATH,
        &json!({"orderUID": uid, "orderSecret": secret, "status": status}),
    )
    .await
}

#[tokio::test]
async fn update_status_follows_the_platform_rule() {
    let sb = manual_sandbox().await;
    let created = create(&sb, card("4111111111111111", None)).await;
    let uid = created["uid"].as_u64().unwrap();
    let secret = created["secret"].as_str().unwrap();
    let ouid = OrderUid::new(uid).unwrap();
    sb.advance(ouid).await.unwrap(); // new → waitPayment

    for refused in ["inProgressPayout", "done", "hold"] {
        let e = update(&sb, uid, secret, refused)
            .await
            .decode::<Value>()
            .result
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("40901"), "{refused}");
        assert!(e.message.contains(refused), "{}", e.message);
    }
    let e = update(&sb, uid, secret, "paid").await.error();
    assert_eq!(e["object"]["fieldId"], "status");
    let e = update(&sb, uid, "wrong-secret", "inProgress").await.error();
    assert_eq!(e["errorCode"].as_u64(), Some(codes::NOT_FOUND));
    assert_eq!(sb.order(ouid).unwrap().status, OrderStatus::WaitPayment);

    // Marking a manual payment paid: waitPayment → inProgress, by PUT too.
    let ok = request(
        sb.local_addr(),
        "PUT",
        "/service/api/v1/public/exchanger/order/update-status/",
        &[("content-type", "application/json")],
        json!({"orderUID": uid, "orderSecret": secret, "status": "inProgress"})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(ok.data()["ok"], 1);
    assert_eq!(ok.data()["oldStatus"], "waitPayment");
    assert_eq!(ok.data()["newStatus"], "inProgress");
    assert_eq!(sb.order(ouid).unwrap().status, OrderStatus::InProgress);

    // From inProgress nothing may be set any more.
    let e = update(&sb, uid, secret, "deleted").await.error();
    assert_eq!(e["errorCode"].as_u64(), Some(codes::NOT_ALLOWED));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("only from new or waitPayment")
    );

    // From new: deleting is allowed.
    let other = create(&sb, eth_wmz(json!(1))).await;
    let ok = update(
        &sb,
        other["uid"].as_u64().unwrap(),
        other["secret"].as_str().unwrap(),
        "deleted",
    )
    .await;
    assert_eq!(
        ok.data(),
        json!({"ok": 1, "oldStatus": "new", "newStatus": "deleted"})
    );
}

#[tokio::test]
async fn routes_are_listed_filtered_and_looked_up() {
    let sb = manual_sandbox().await;
    let all = call(&sb, "public/exchanger/route/get", &json!({})).await;
    let routes = all.decode::<Routes>().result.unwrap().routes;
    assert_eq!(routes.len(), 3);
    let ids: Vec<&str> = routes.iter().map(|r| r.route_id.as_str()).collect();
    assert_eq!(ids, [BTC_USDT, ETH_WMZ, CARDRUB_BTC]);
    assert_eq!(routes[1].from.as_ref().unwrap().xml.as_deref(), Some("ETH"));
    assert_eq!(routes[1].rate.as_ref().unwrap()["out"], "158.71");
    assert_eq!(routes[1].is_show_web, Some(true));

    // Filtered by the currency sent (Bitcoin's currency id).
    let btc = "5f1a0c9e8b3d4a0012a1c001";
    let filtered = call(
        &sb,
        "public/exchanger/route/get",
        &json!({"fromCurrencyId": btc}),
    )
    .await;
    let routes = filtered.decode::<Routes>().result.unwrap().routes;
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].route_id.as_str(), BTC_USDT);
    let to_btc = request(
        sb.local_addr(),
        "GET",
        &format!("/service/api/v1/public/exchanger/route/get?toCurrencyId={btc}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(
        to_btc.decode::<Routes>().result.unwrap().routes[0]
            .route_id
            .as_str(),
        CARDRUB_BTC
    );

    let one = call(
        &sb,
        "public/exchanger/route/get/one",
        &json!({"id": CARDRUB_BTC}),
    )
    .await;
    let route = one.decode::<RouteView>().result.unwrap().route;
    assert_eq!(route.order_ttl.as_ref().unwrap(), 60);
    let from = route.from.unwrap();
    assert_eq!(from.fields[0].id, CARD_FIELD);
    assert_eq!(from.fields[0].required, Some(true));
    assert_eq!(from.fields[0].regex.as_deref(), Some("^[0-9]{16}$"));
    assert_eq!(from.fields[0].min.as_deref(), Some("16"));
    let to = route.to.unwrap();
    assert_eq!(to.fields[0].id, "wallet");
    assert_eq!(to.fields[0].name.as_deref(), Some("BTC address"));
    assert_eq!(route.fields[0].id, EMAIL_FIELD);
    assert_eq!(route.fields[0].required, Some(false));
    assert_eq!(one.data()["route"]["paymentDetection"], "manual");

    let by_xml = call(
        &sb,
        "public/exchanger/route/get/one/by-xml",
        &json!({"xmlIn": "ETH", "xmlOut": "WMZ"}),
    )
    .await;
    assert_eq!(
        by_xml
            .decode::<RouteView>()
            .result
            .unwrap()
            .route
            .route_id
            .as_str(),
        ETH_WMZ
    );
    let by_xml_get = request(
        sb.local_addr(),
        "GET",
        "/service/api/v1/public/exchanger/route/get/one/by-xml/?xmlIn=BTC&xmlOut=USDTTRC20",
        &[],
        b"",
    )
    .await;
    assert_eq!(
        by_xml_get
            .decode::<RouteView>()
            .result
            .unwrap()
            .route
            .route_id
            .as_str(),
        BTC_USDT
    );

    for (method, body) in [
        (
            "public/exchanger/route/get/one",
            json!({"id": "5f1a0c9e8b3d4a0012a1bfff"}),
        ),
        (
            "public/exchanger/route/get/one/by-xml",
            json!({"xmlIn": "WMZ", "xmlOut": "ETH"}),
        ),
    ] {
        let e = call(&sb, method, &body)
            .await
            .decode::<RouteView>()
            .result
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("40401"));
        assert_eq!(e.message, "Route not found");
    }
    let e = call(&sb, "public/exchanger/route/get/one", &json!({}))
        .await
        .error();
    assert_eq!(e["object"]["fieldId"], "id");
}

#[tokio::test]
async fn wrong_paths_methods_and_bodies_get_envelopes() {
    let sb = manual_sandbox().await;
    let unknown = call(&sb, "public/exchanger/order/cancel", &json!({})).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown
            .decode::<Value>()
            .result
            .unwrap_err()
            .code
            .as_deref(),
        Some("40401")
    );
    let get_create = request(
        sb.local_addr(),
        "GET",
        "/service/api/v1/public/exchanger/order/create/",
        &[],
        b"",
    )
    .await;
    assert_eq!(get_create.status, 405);
    assert_eq!(
        get_create.error()["errorCode"].as_u64(),
        Some(codes::BAD_REQUEST)
    );
    let broken = request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/route/get/",
        &[("content-type", "application/json")],
        b"{\"id\":",
    )
    .await;
    assert_eq!(broken.status, 400);
    assert_eq!(
        broken.decode::<Value>().result.unwrap_err().code.as_deref(),
        Some("40001")
    );
    let array = call(&sb, "public/exchanger/route/get", &json!([1])).await;
    assert_eq!(array.status, 400);
    let elsewhere = request(sb.local_addr(), "GET", "/nothing/here", &[], b"").await;
    assert_eq!(elsewhere.status, 404);
}

/// Sends `body` signed the platform's way.
async fn signed(sb: &Sandbox, key: &str, secret: &str, body: &str) -> crate::Answer {
    let secret = ApiSecret::new(secret).unwrap();
    let hash = auth::request_signature(body.as_bytes(), &secret);
    request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/route/get/",
        &[
            ("content-type", "application/json"),
            ("apikey", key),
            ("hash", hash.as_str()),
        ],
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn api_keys_are_checked_with_an_increasing_time() {
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .test_api_key(),
    )
    .await
    .unwrap();
    assert_eq!(sb.api_keys()[0].as_str(), TEST_API_KEY);
    let body = |t: u64| auth::json_with_time("{}", t);

    let first = signed(&sb, TEST_API_KEY, TEST_API_SECRET, &body(1_000)).await;
    assert_eq!(first.data()["routes"].as_array().unwrap().len(), 3);
    // The same time again, and an earlier one: refused.
    for t in [1_000, 999] {
        let e = signed(&sb, TEST_API_KEY, TEST_API_SECRET, &body(t))
            .await
            .decode::<Routes>()
            .result
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("40301"), "time {t}");
        assert!(e.message.contains("time"), "{}", e.message);
    }
    // A JSON number in another spelling is hashed as JavaScript writes it.
    let hash = auth::request_signature(
        br#"{"time":1000.5}"#,
        &ApiSecret::new(TEST_API_SECRET).unwrap(),
    );
    let respelled = request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/route/get/",
        &[
            ("content-type", "application/json"),
            ("apikey", TEST_API_KEY),
            ("hash", hash.as_str()),
        ],
        br#"{"time":1.00050E3}"#,
    )
    .await;
    // Hash accepted; the time itself is not a whole number, so refused as such.
    assert_eq!(
        respelled.error()["object"]["fieldId"],
        "time",
        "{:?}",
        respelled.text()
    );
    // Later: accepted. A time sent as a string works too.
    signed(&sb, TEST_API_KEY, TEST_API_SECRET, &body(1_001))
        .await
        .data();
    signed(&sb, TEST_API_KEY, TEST_API_SECRET, r#"{"time":"1002"}"#)
        .await
        .data();

    // A bad hash (signed with another secret, or over other bytes): refused,
    // and it does not use up the nonce.
    let e = signed(&sb, TEST_API_KEY, "another-secret", &body(2_000))
        .await
        .error();
    assert_eq!(e["errorCode"].as_u64(), Some(codes::AUTH));
    assert_eq!(e["message"], "Invalid hash");
    let secret = ApiSecret::new(TEST_API_SECRET).unwrap();
    let sig = auth::request_signature(body(2_000).as_bytes(), &secret);
    let tampered = request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/route/get/",
        &[
            ("content-type", "application/json"),
            ("apikey", TEST_API_KEY),
            ("hash", sig.as_str()),
        ],
        br#"{"time":2000, "fromCurrencyId":"5f1a0c9e8b3d4a0012a1c001"}"#,
    )
    .await;
    assert_eq!(tampered.error()["message"], "Invalid hash");
    signed(&sb, TEST_API_KEY, TEST_API_SECRET, &body(2_000))
        .await
        .data();

    // Unknown key, missing hash, missing time.
    let e = signed(&sb, "UNKNOWNKEY", TEST_API_SECRET, &body(3_000))
        .await
        .error();
    assert_eq!(e["message"], "Invalid api key");
    let no_hash = request(
        sb.local_addr(),
        "POST",
        "/service/api/v1/public/exchanger/route/get/",
        &[
            ("content-type", "application/json"),
            ("apikey", TEST_API_KEY),
        ],
        body(3_000).as_bytes(),
    )
    .await;
    assert_eq!(no_hash.error()["errorCode"].as_u64(), Some(codes::AUTH));
    let e = signed(&sb, TEST_API_KEY, TEST_API_SECRET, "{}")
        .await
        .error();
    assert_eq!(e["object"]["fieldId"], "time");

    // GET: what is signed is the JSON of the parsed query, every value a
    // string — not the query's bytes.
    let query = "time=4000&xmlIn=ETH&xmlOut=WMZ";
    let addr = sb.local_addr();
    let get_signed = |signed: &[u8]| {
        let hash = auth::request_signature(signed, &secret);
        let path = format!("/service/api/v1/public/exchanger/route/get/one/by-xml?{query}");
        async move {
            let headers = [("apikey", TEST_API_KEY), ("hash", hash.as_str())];
            request(addr, "GET", &path, &headers, b"").await
        }
    };
    let refused = get_signed(query.as_bytes()).await;
    assert_eq!(refused.error()["message"], "Invalid hash");
    let get = get_signed(br#"{"time":"4000","xmlIn":"ETH","xmlOut":"WMZ"}"#).await;
    assert_eq!(get.data()["route"]["routeId"], ETH_WMZ);

    // Without a key the call is anonymous, and accepted…
    call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .data();
    // …unless the sandbox requires keys.
    let strict = Sandbox::start(
        SandboxConfig::default()
            .test_api_key()
            .require_api_key(true),
    )
    .await
    .unwrap();
    let e = call(&strict, "public/exchanger/route/get", &json!({}))
        .await
        .error();
    assert_eq!(e["errorCode"].as_u64(), Some(codes::AUTH));
    signed(&strict, TEST_API_KEY, TEST_API_SECRET, &body(1))
        .await
        .data();
}

#[tokio::test]
async fn maintenance_mode_answers_every_call_with_its_code() {
    let sb = manual_sandbox().await;
    let created = create(&sb, eth_wmz(json!(2))).await;
    sb.set_maintenance(true);
    assert!(sb.maintenance());
    for (method, body) in [
        ("public/exchanger/order/create", eth_wmz(json!(2))),
        (
            "public/exchanger/order/get",
            json!({"orderUID": created["uid"], "orderSecret": created["secret"]}),
        ),
        ("public/exchanger/route/get", json!({})),
        ("public/exchanger/no/such/method", json!({})),
    ] {
        let answer = call(&sb, method, &body).await;
        assert_eq!(answer.status, 200, "{method}");
        let e = answer.decode::<Value>().result.unwrap_err();
        assert_eq!(e.kind, ApiErrorKind::Maintenance, "{method}");
        assert_eq!(e.code.as_deref(), Some("5555555555555555"));
    }
    assert_eq!(
        sb.orders().len(),
        1,
        "nothing was created during maintenance"
    );
    // In-process calls see it too.
    let e = sb
        .call(&smartex_core::request::GetRoutes::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, ApiErrorKind::Maintenance);
    sb.set_maintenance(false);
    call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .data();
    // Configured from the start.
    let down = Sandbox::start(SandboxConfig::default().maintenance(true))
        .await
        .unwrap();
    let e = call(&down, "public/exchanger/route/get", &json!({}))
        .await
        .error();
    assert_eq!(e["errorCode"].as_u64(), Some(codes::MAINTENANCE));
}

#[tokio::test]
async fn an_html_502_page_is_not_an_envelope() {
    let sb = manual_sandbox().await;
    sb.error_page_next(502, Times::Once);
    let answer = call(&sb, "public/exchanger/order/create", &eth_wmz(json!(2))).await;
    assert_eq!(answer.status, 502);
    assert!(answer.content_type.starts_with("text/html"));
    assert!(answer.text().contains("502 Bad Gateway"));
    let err = smartex_core::response::decode::<CreatedOrder>(&answer.body).unwrap_err();
    assert!(
        matches!(err, smartex_core::Error::NotEnvelope { .. }),
        "{err}"
    );
    assert!(
        sb.orders().is_empty(),
        "a 502 before processing creates nothing"
    );
    // Only once.
    create(&sb, eth_wmz(json!(2))).await;
}

#[tokio::test]
async fn a_5xx_after_create_leaves_the_order_created() {
    let sb = manual_sandbox().await;
    sb.fail_next_create(500);
    let answer = call(&sb, "public/exchanger/order/create", &eth_wmz(json!(2))).await;
    assert_eq!(answer.status, 500);
    assert!(answer.text().contains("500 Internal Server Error"));
    let orders = sb.orders();
    assert_eq!(
        orders.len(),
        1,
        "the order exists although the client saw a 500"
    );
    assert_eq!(orders[0].status, OrderStatus::New);
    // Other methods are not affected, and the fault strikes once.
    call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .data();
    assert_eq!(create(&sb, eth_wmz(json!(2))).await["uid"], 1002);
}

#[tokio::test]
async fn stalled_answers_arrive_late_but_take_effect_at_once() {
    let sb = manual_sandbox().await;
    sb.stall_responses(Duration::from_millis(300), Times::Once);
    let start = Instant::now();
    let data = create(&sb, eth_wmz(json!(2))).await;
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(data["uid"], 1001);

    // A stall far longer than WAIT: a call it wrongly struck would make
    // `request` miss WAIT and fail the test, whatever the machine's load.
    const LONG: Duration = Duration::from_secs(60);

    // The call takes effect at once; only its answer is held back.
    sb.stall_responses(LONG, Times::Once);
    let addr = sb.local_addr();
    let body = eth_wmz(json!(2)).to_string();
    let held = tokio::spawn(async move {
        request(
            addr,
            "POST",
            "/service/api/v1/public/exchanger/order/create/",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await
    });
    let uid = OrderUid::new(1002).unwrap();
    sb.wait_for_status(uid, OrderStatus::New, WAIT)
        .await
        .unwrap();
    assert!(!held.is_finished(), "the answer is held back");
    // Only that call stalls: the next one answers.
    call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .data();
    held.abort();

    // Scoped to one method: another one answers; after clear_faults, that
    // method answers too.
    sb.inject_api_fault(
        Some("public/exchanger/order/get"),
        ApiFault::Stall(LONG),
        Times::N(2),
    );
    call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .data();
    sb.clear_faults();
    call(
        &sb,
        GetOrder::PATH,
        &json!({"orderUID": 1001, "orderSecret": data["secret"]}),
    )
    .await
    .data();
}

#[tokio::test]
async fn in_process_calls_share_the_validation() {
    let sb = manual_sandbox().await;
    let order = CreateOrder::builder()
        .route_id(ETH_WMZ)
        .amount("2")
        .agreement(true)
        .to_value("wallet", "not-a-purse")
        .build()
        .unwrap();
    let e = sb.call(&order).await.unwrap().unwrap_err();
    assert_eq!(e.field_id.as_deref(), Some("wallet"));
    assert_eq!(e.rule.as_deref(), Some("regexp"));
    assert_eq!(e.field_name.as_deref(), Some("WMZ purse"));
    let routes = sb
        .call(&smartex_core::request::GetRoutes::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(routes.routes.len(), 3);
}

/// The error catalogue: each answer carries the platform's code, and the core
/// types it.
#[tokio::test]
async fn the_error_catalogue_is_answered_with_the_platform_codes() {
    let mut routes = smartex_sandbox::RouteSpec::default_catalogue();
    for r in &mut routes {
        if r.id == ETH_WMZ {
            // 1 ETH = 158.71 WMZ: 10 ETH would pay out 1587.1 WMZ.
            r.reserve = Some("1000".to_owned());
        }
    }
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .routes(routes),
    )
    .await
    .unwrap();
    #[track_caller]
    fn check(answer: &crate::Answer, code: u64, kind: ApiErrorKind) {
        assert_eq!(answer.status, 200);
        assert_eq!(answer.error()["errorCode"].as_u64(), Some(code));
        let e = answer.decode::<CreatedOrder>().result.unwrap_err();
        assert_eq!(e.kind, kind, "{e}");
    }
    let create = "public/exchanger/order/create";
    let below = call(&sb, create, &eth_wmz(json!("0.001"))).await;
    check(
        &below,
        codes::AMOUNT_BELOW_MINIMUM,
        ApiErrorKind::AmountBelowMinimum,
    );
    assert_eq!(below.error()["object"]["fieldId"], "amount");
    let above = call(&sb, create, &eth_wmz(json!(101))).await;
    check(
        &above,
        codes::AMOUNT_ABOVE_MAXIMUM,
        ApiErrorKind::AmountAboveMaximum,
    );
    // Not enough reserve, with the code as a Node server writes it.
    let reserve = call(&sb, create, &eth_wmz(json!(10))).await;
    check(
        &reserve,
        codes::NOT_ENOUGH_RESERVE,
        ApiErrorKind::NotEnoughReserve,
    );
    assert!(reserve.text().contains("\"errorCode\":9951545348963164"));
    assert!(sb.orders().is_empty(), "no order was created");
    // Within the reserve: created.
    create_ok(&sb, eth_wmz(json!(6))).await;

    // Faults: the anti-flood guard and any catalogued refusal, without
    // processing the call.
    sb.inject_api_fault(
        Some(create),
        ApiFault::AntiFlood {
            retry_after_secs: 7,
        },
        Times::Once,
    );
    let flood = call(&sb, create, &eth_wmz(json!(1))).await;
    check(&flood, codes::ANTI_FLOOD, ApiErrorKind::AntiFlood);
    let e = flood.decode::<CreatedOrder>().result.unwrap_err();
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    sb.inject_api_fault(
        None,
        ApiFault::Refuse {
            code: codes::ROUTE_UNAVAILABLE,
            message: "Route is unavailable",
        },
        Times::Once,
    );
    let unavailable = call(&sb, create, &eth_wmz(json!(1))).await;
    check(
        &unavailable,
        codes::ROUTE_UNAVAILABLE,
        ApiErrorKind::RouteUnavailable,
    );
    assert_eq!(sb.orders().len(), 1, "refused calls create nothing");
    create_ok(&sb, eth_wmz(json!(1))).await;
    assert_eq!(sb.orders().len(), 2);
}

async fn create_ok(sb: &Sandbox, body: Value) {
    let answer = call(sb, "public/exchanger/order/create", &body).await;
    answer.decode::<CreatedOrder>().result.unwrap();
}
