//! Requests: builder rules (every error names its field) and both encodings,
//! as insta snapshots.

use smartex_core::request::{
    ApiCall, CreateOrder, CreateOrderBuilder, GetOrder, GetRoute, GetRouteByXml, GetRoutes,
    OrderViewKind, UpdateStatus,
};
use smartex_core::{Error, Lang, OrderSecret, OrderStatus, OrderUid};

fn full() -> CreateOrderBuilder {
    CreateOrder::builder()
        .route_id("5d8e6002b80b7b4cd75a6424")
        .partner("partner-7")
        .amount("-1.2345678901234560E+2")
        .from_value("5d8e6002b80b7b4cd75a6425", "4111 **** 1111")
        .to_value("wallet", "Z123456789012")
        .to_value("email", "client+tag@example.com")
        .route_value("5d8e6002b80b7b4cd75a6426", "a&b=c")
        .lang("EN")
        .agreement(true)
        .hide_out_data(true)
        .client_callback_url("https://shop.example/return?order=7")
        .ipn_url("https://shop.example/ipn")
        .ipn_secret("per-order-secret")
        .disable_email_notify(false)
        .skip_preview(true)
        .email("client@example.com")
}

#[test]
fn create_order_json_snapshot() {
    let order = full().build().unwrap();
    insta::assert_snapshot!(order.to_json());
    // The amount is a JSON number in JavaScript's spelling (what the
    // platform's server writes back and hashes), the same decimal value.
    assert!(order.to_json().contains(r#""amount":-123.4567890123456,"#));
    assert_eq!(order.amount().as_str(), "-1.2345678901234560E+2");
}

#[test]
fn amounts_a_javascript_number_cannot_hold_are_refused() {
    for (amount, sent) in [
        ("2.10", "2.1"),
        ("100.0", "100"),
        ("1E-7", "1e-7"),
        ("0.1", "0.1"),
        ("9007199254740992", "9007199254740992"),
    ] {
        let order = full().amount(amount).build().unwrap();
        assert!(
            order.to_json().contains(&format!(r#""amount":{sent},"#)),
            "{amount}"
        );
        assert!(
            order.to_form().contains(&format!("&amount={sent}&")),
            "{amount}"
        );
    }
    for amount in [
        "0.123456789012345678",
        "9007199254740993",
        "1e400",
        "1e-400",
    ] {
        let err = full().amount(amount).build().unwrap_err();
        assert_eq!(err.field(), Some("amount"), "{amount}: {err}");
        assert!(err.to_string().contains("JavaScript"), "{err}");
    }
}

#[test]
fn create_order_form_snapshot() {
    let order = full().build().unwrap();
    insta::assert_snapshot!(order.to_form());
}

#[test]
fn minimal_create_order() {
    let order = CreateOrder::builder()
        .route_id("5d8e6002b80b7b4cd75a6424")
        .amount("2")
        .agreement(true)
        .build()
        .unwrap();
    assert_eq!(
        order.to_json(),
        r#"{"routeId":"5d8e6002b80b7b4cd75a6424","amount":2,"agreement":true}"#
    );
    assert_eq!(
        order.to_form(),
        "routeId=5d8e6002b80b7b4cd75a6424&amount=2&agreement=true"
    );
    const { assert!(!CreateOrder::IDEMPOTENT, "create must never be retried") };
}

#[track_caller]
fn check_refused(builder: CreateOrderBuilder, field: &str, message: &str) {
    let err = builder.build().unwrap_err();
    assert_eq!(err.field(), Some(field), "{err}");
    assert_eq!(err.to_string(), message);
}

#[test]
fn builder_refuses_with_the_field_named() {
    let base = || {
        CreateOrder::builder()
            .route_id("5d8e6002b80b7b4cd75a6424")
            .amount("1")
            .agreement(true)
    };
    check_refused(
        CreateOrder::builder().amount("1").agreement(true),
        "routeId",
        "field `routeId` is missing",
    );
    check_refused(
        base().route_id("xyz"),
        "routeId",
        "field `routeId` must be exactly 24 characters",
    );
    check_refused(
        base().amount("NaN"),
        "amount",
        "field `amount` is not a decimal number",
    );
    check_refused(base().amount(""), "amount", "field `amount` is empty");
    check_refused(
        base().amount("0.00"),
        "amount",
        "field `amount` must not be zero",
    );
    check_refused(
        CreateOrder::builder()
            .route_id("5d8e6002b80b7b4cd75a6424")
            .amount("1"),
        "agreement",
        "field `agreement` is missing",
    );
    check_refused(
        base().agreement(false),
        "agreement",
        "field `agreement` must be true",
    );
    check_refused(
        base().partner("p".repeat(101)),
        "partner",
        "field `partner` is longer than 100 characters",
    );
    check_refused(
        base().lang("engl"),
        "lang",
        "field `lang` is longer than 3 characters",
    );
    check_refused(
        base().ipn_url("ftp://shop.example/ipn").ipn_secret("s"),
        "ipnUrl",
        "field `ipnUrl` is not an absolute http(s) URL",
    );
    check_refused(
        base().ipn_url("/ipn").ipn_secret("s"),
        "ipnUrl",
        "field `ipnUrl` is not an absolute http(s) URL",
    );
    let long = format!("https://shop.example/{}", "x".repeat(181));
    check_refused(
        base().client_callback_url(long),
        "clientCallbackUrl",
        "field `clientCallbackUrl` is longer than 200 characters",
    );
    check_refused(
        base().ipn_secret("s".repeat(201)),
        "ipnSecret",
        "field `ipnSecret` is longer than 200 characters",
    );
    check_refused(
        base().ipn_url("https://shop.example/ipn"),
        "ipnSecret",
        "field `ipnSecret` is required when ipnUrl is set (unsigned notifications cannot be trusted)",
    );
    check_refused(
        base().to_value("wallet", "x").to_value("", "y"),
        "toValues[1][key]",
        "field `toValues[1][key]` is empty",
    );
    check_refused(
        base().email("not-an-email"),
        "email",
        "field `email` is not an e-mail address",
    );
    // 200 characters exactly is allowed.
    let edge = format!("https://shop.example/{}", "x".repeat(179));
    assert_eq!(edge.len(), 200);
    base().ipn_url(edge).ipn_secret("s").build().unwrap();
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let builder = full();
    assert!(!format!("{builder:?}").contains("per-order-secret"));
    let order = builder.build().unwrap();
    assert!(!format!("{order:?}").contains("per-order-secret"));
    let err = CreateOrder::builder()
        .ipn_secret("x".repeat(300))
        .route_id("5d8e6002b80b7b4cd75a6424")
        .amount("1")
        .agreement(true)
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("xxx"));
}

#[test]
fn other_methods_encode_as_the_web_app_sends_them() {
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    let get = GetOrder::new(uid, secret.clone()).view(OrderViewKind::Payment);
    assert_eq!(
        get.to_json(),
        r#"{"orderUID":1409,"orderSecret":"dGqwF2M2eBPaSN1G5ljMS1cb","type":"payment"}"#
    );
    assert_eq!(GetOrder::PATH, "public/exchanger/order/get");
    let paid = UpdateStatus::mark_paid(uid, secret.clone()).unwrap();
    assert_eq!(
        paid.to_json(),
        r#"{"orderUID":1409,"orderSecret":"dGqwF2M2eBPaSN1G5ljMS1cb","status":"inProgress"}"#
    );
    assert_eq!(
        paid.to_form(),
        "orderUID=1409&orderSecret=dGqwF2M2eBPaSN1G5ljMS1cb&status=inProgress"
    );
    assert!(UpdateStatus::new(uid, secret, OrderStatus::Hold, None).is_err());
    assert_eq!(GetRoutes::default().to_json(), "{}");
    assert_eq!(GetRoutes::default().to_form(), "");
    let by_xml = GetRouteByXml {
        xml_in: "BTC".parse().unwrap(),
        xml_out: "USDTTRC20".parse().unwrap(),
        lang: None,
    };
    assert_eq!(by_xml.to_json(), r#"{"xmlIn":"BTC","xmlOut":"USDTTRC20"}"#);
    let by_xml = GetRouteByXml {
        lang: Some(Lang::RU),
        ..by_xml
    };
    assert_eq!(
        by_xml.to_json(),
        r#"{"xmlIn":"BTC","xmlOut":"USDTTRC20","lang":"ru"}"#
    );
    let route = GetRoute {
        id: "5d8e6002b80b7b4cd75a6424".parse().unwrap(),
        lang: Some(Lang::EN),
    };
    assert_eq!(
        route.to_json(),
        r#"{"id":"5d8e6002b80b7b4cd75a6424","lang":"en"}"#
    );
    let routes = GetRoutes {
        from_currency_id: Some("5d8e6002b80b7b4cd75a6424".parse().unwrap()),
        to_currency_id: None,
    };
    assert_eq!(
        routes.to_json(),
        r#"{"fromCurrencyId":"5d8e6002b80b7b4cd75a6424"}"#
    );
    assert_eq!(GetRouteByXml::PATH, "public/exchanger/route/get/one/by-xml");
    let _: Error = OrderUid::new(100_000_000_000).unwrap_err();
}

#[test]
fn deserialized_field_values_are_checked_like_new_ones() {
    use smartex_core::FieldValue;
    let ok: FieldValue = serde_json::from_str(r#"{"key":"wallet","value":"Z1"}"#).unwrap();
    assert_eq!((ok.key(), ok.value()), ("wallet", "Z1"));
    let long = format!(r#"{{"key":"wallet","value":"{}"}}"#, "v".repeat(1001));
    for bad in [r#"{"key":"","value":"x"}"#, long.as_str()] {
        let err = serde_json::from_str::<FieldValue>(bad).unwrap_err();
        assert!(!err.to_string().contains("vvv"), "{err}");
    }
    // Other members are ignored; a missing or repeated one is named.
    let ok: FieldValue =
        serde_json::from_str(r#"{"name":"Wallet","key":"wallet","value":"Z1"}"#).unwrap();
    assert_eq!(ok.key(), "wallet");
    for (bad, says) in [
        (r#"{"key":"wallet"}"#, "missing field `value`"),
        (r#"{"value":"Z1"}"#, "missing field `key`"),
        (
            r#"{"key":"a","key":"b","value":"Z1"}"#,
            "duplicate field `key`",
        ),
        (r#"{"key":"wallet","value":1}"#, "invalid type"),
        (r#"["wallet","Z1"]"#, "invalid type"),
    ] {
        let err = serde_json::from_str::<FieldValue>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
    // And written back in the same shape.
    assert_eq!(
        serde_json::to_string(&ok).unwrap(),
        r#"{"key":"wallet","value":"Z1"}"#
    );
}
