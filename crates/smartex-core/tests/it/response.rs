//! The response envelope and the typed `data`.

use smartex_core::Error;
use std::time::Duration;

use proptest::prelude::*;
use smartex_core::response::{
    ApiErrorKind, CreatedOrder, OrderView, RouteView, Routes, StatusUpdate, Warning, decode,
};
use smartex_core::{OrderStatus, OrderUid};

#[test]
fn validation_error_envelope() {
    let body = br#"{"success": false,
 "error": {"apiError": true, "message": "Param toValues isn't valid: wallet",
           "errorType": "api",
           "object": {"fieldId": "wallet", "nameField": "BTC address", "err": "regexp", "type": "toValues"},
           "level": 0, "errorCode": 6231546409213868, "stack": "..."},
 "latency_ms": 26, "requestId": "1743542797480-MlMEhvE"}"#;
    let r = decode::<CreatedOrder>(body).unwrap();
    let err = r.result.unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::Validation);
    assert_eq!(err.code.as_deref(), Some("6231546409213868"));
    assert_eq!(err.field_id.as_deref(), Some("wallet"));
    assert_eq!(err.field_name.as_deref(), Some("BTC address"));
    assert_eq!(err.field_list.as_deref(), Some("toValues"));
    assert_eq!(err.request_id.as_deref(), Some("1743542797480-MlMEhvE"));
    assert_eq!(r.latency_ms, Some(26));
    insta::assert_snapshot!(err.to_string(), @"the platform refused the request: Param toValues isn't valid: wallet (code 6231546409213868)");
}

#[test]
fn maintenance_is_its_own_kind() {
    let body =
        br#"{"success":false,"error":{"message":"technical works","errorCode":5555555555555555}}"#;
    let err = decode::<Routes>(body).unwrap().result.unwrap_err();
    assert_eq!(err.kind, ApiErrorKind::Maintenance);
    let body = br#"{"success":false,"error":{"message":"?","errorCode":"40301"}}"#;
    assert_eq!(
        decode::<Routes>(body).unwrap().result.unwrap_err().kind,
        ApiErrorKind::Unauthorized
    );
    let body = br#"{"success":false,"error":{"message":"?","errorCode":2361520890494288}}"#;
    assert_eq!(
        decode::<Routes>(body).unwrap().result.unwrap_err().kind,
        ApiErrorKind::Other
    );
}

#[test]
fn not_an_envelope_is_a_clear_error_with_an_excerpt() {
    let html = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "x".repeat(500)
    );
    match decode::<Routes>(html.as_bytes()) {
        Err(Error::NotEnvelope { reason, excerpt }) => {
            assert_eq!(reason, "not JSON");
            assert!(excerpt.starts_with("<html><head><title>502 Bad Gateway"));
            assert!(excerpt.len() <= 203);
        }
        other => panic!("{other:?}"),
    }
    for body in [
        &b"[]"[..],
        b"{\"data\":{}}",
        b"{\"success\":\"yes\"}",
        b"",
        b"{\"success\":tr",
    ] {
        assert!(
            matches!(decode::<Routes>(body), Err(Error::NotEnvelope { .. })),
            "{body:?}"
        );
    }
}

#[test]
fn data_of_the_wrong_shape_is_unexpected_data() {
    let body = br#"{"success":true,"data":{"_id":"nope","uid":1,"secret":"s"}}"#;
    let err = decode::<CreatedOrder>(body).unwrap_err();
    assert!(matches!(err, Error::UnexpectedData { .. }), "{err:?}");
}

#[test]
fn a_decoding_error_names_the_field_without_a_meaningless_position() {
    let body = br#"{"success":true,"data":{"route":{"routeId":"5d8e6002b80b7b4cd75a6424",
        "to":{"fields":[{"name":"no id"}]}}}}"#;
    let err = decode::<RouteView>(body).unwrap_err();
    let Error::UnexpectedData { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        reason.starts_with("field `route`: field `to`: field `fields`: missing field `_id`"),
        "{reason}"
    );
    // The members' own positions ("at line 1 column 9" of a member's text)
    // would mislead: they are gone.
    assert!(!reason.contains(" at line "), "{reason}");

    let body = br#"{"success":true,"data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"secret":"s","route":[}}"#;
    assert!(decode::<CreatedOrder>(body).is_err());
    let body = br#"{"success":true,"data":{"uid":1,"secret":"s"}}"#;
    let err = decode::<CreatedOrder>(body).unwrap_err().to_string();
    assert!(err.contains("missing field `_id`"), "{err}");
}

#[test]
fn a_route_field_with_both_id_and_key_is_read_and_keeps_both() {
    let body = br#"{"success":true,"data":{"route":{"_id":"5d8e6002b80b7b4cd75a6424","fields":[
        {"_id":"5d8e6002b80b7b4cd75a6425","key":"wallet","name":"Wallet"},{"key":"memo"}]}}}"#;
    let route = decode::<RouteView>(body).unwrap().result.unwrap().route;
    assert_eq!(route.fields[0].id, "5d8e6002b80b7b4cd75a6425");
    assert_eq!(route.fields[0].extra["key"], "wallet");
    assert_eq!(route.fields[1].id, "memo");
    assert!(route.fields[1].extra.is_empty());
}

#[test]
fn a_repeated_member_counts_once_and_the_last_wins_as_in_javascript() {
    let body = br#"{"success":true,"data":{"ok":0,"newStatus":"new","newStatus":"inProgress"}}"#;
    let update = decode::<StatusUpdate>(body).unwrap().result.unwrap();
    assert!(!update.ok);
    assert_eq!(update.new_status, Some(OrderStatus::InProgress));
    assert!(update.extra.is_empty());
}

#[test]
fn numbers_as_strings_and_unknown_fields_are_tolerated() {
    let body = br#"{"success":true,"requestId":"r1","data":{
        "order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":"1409","rid":77,"status":"waitPayment",
                 "inAmount":"2","outAmount":317.42,"createdAt":"2026-11-01T10:00:00.000Z","somethingNew":{"a":1}},
        "verifications":[],"extraTop":true}}"#;
    let view = decode::<OrderView>(body).unwrap().result.unwrap();
    assert_eq!(view.order.uid.get(), 1409);
    assert_eq!(view.order.rid.as_deref(), Some("77"));
    assert_eq!(
        view.order.out_amount.as_ref().map(|a| a.as_str()),
        Some("317.42")
    );
    assert_eq!(view.order.extra["somethingNew"]["a"], 1);
    assert_eq!(view.extra["extraTop"], true);
    assert!(!view.order.status.is_final());
}

#[test]
fn routes_and_fields() {
    let body = br#"{"success":true,"data":{"route":{"routeId":"5d8e6002b80b7b4cd75a6424",
        "from":{"name":"Bitcoin","symbol":"BTC","xml":"BTC","fields":[]},
        "to":{"name":"Tether","symbol":"USDT","xml":"USDTTRC20","fields":[
            {"_id":"wallet","name":"USDT address","type":"text","required":"true","regex":"^T[0-9A-Za-z]{33}$","min":34,"max":"34"}]},
        "fields":[],"rate":{"in":1,"out":"64000.5"},"orderTTL":1800,"isShowWeb":true}}}"#;
    let route = decode::<RouteView>(body).unwrap().result.unwrap().route;
    let to = route.to.unwrap();
    assert_eq!(to.xml.as_deref(), Some("USDTTRC20"));
    let field = &to.fields[0];
    assert_eq!(field.id, "wallet");
    assert_eq!(field.required, Some(true));
    assert_eq!(field.min.as_deref(), Some("34"));
    assert_eq!(field.max.as_deref(), Some("34"));
}

#[test]
fn created_order_secret_is_redacted_in_debug() {
    let body = br#"{"success":true,"data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,"secret":"dGqwF2M2eBPaSN1G5ljMS1cb"}}"#;
    let order = decode::<CreatedOrder>(body).unwrap().result.unwrap();
    assert_eq!(order.secret.expose(), "dGqwF2M2eBPaSN1G5ljMS1cb");
    assert!(!format!("{order:?}").contains("dGqwF2M2"));
}

#[test]
fn a_mistyped_secret_is_not_echoed_in_the_error() {
    for secret in ["123456789", "true", "[\"s3cr3t-in-a-list\"]"] {
        let body = format!(
            r#"{{"success":true,"data":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"secret":{secret}}}}}"#
        );
        let err = decode::<CreatedOrder>(body.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::UnexpectedData { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("123456789") && !text.contains("s3cr3t") && text.contains("orderSecret"),
            "{text}"
        );
    }
}

#[test]
fn amounts_keep_every_digit() {
    for amount in [
        "0.123456789012345678",
        "12345678901234567890.123456789",
        "1e-7",
        "1E+400",
        "2.10",
        "100.0",
        "-0.5",
    ] {
        let body = format!(
            r#"{{"success":true,"data":{{"order":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,
            "status":"new","inAmount":{amount},"outAmount":"{amount}"}}}}}}"#
        );
        let order = decode::<OrderView>(body.as_bytes())
            .unwrap()
            .result
            .unwrap()
            .order;
        assert_eq!(order.in_amount.unwrap().as_str(), amount);
        assert_eq!(order.out_amount.unwrap().as_str(), amount);
        let body = format!(
            r#"{{"success":true,"data":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,
            "secret":"dGqwF2M2eBPaSN1G5ljMS1cb","inAmount":{amount},"outAmount":{amount}}}}}"#
        );
        let created = decode::<CreatedOrder>(body.as_bytes())
            .unwrap()
            .result
            .unwrap();
        assert_eq!(created.in_amount.unwrap().as_str(), amount);
        assert_eq!(created.out_amount.unwrap().as_str(), amount);
        assert!(created.warnings.is_empty());
    }
}

#[test]
fn route_limits_keep_every_digit() {
    let body = br#"{"success":true,"data":{"route":{"routeId":"5d8e6002b80b7b4cd75a6424",
        "fields":[{"_id":"amount","min":0.000000012345678901234,"max":12345678901234567890.5}]}}}"#;
    let route = decode::<RouteView>(body).unwrap().result.unwrap().route;
    assert_eq!(
        route.fields[0].min.as_deref(),
        Some("0.000000012345678901234")
    );
    assert_eq!(
        route.fields[0].max.as_deref(),
        Some("12345678901234567890.5")
    );
}

#[test]
fn a_created_order_past_the_guessed_limits_is_kept_with_warnings() {
    let secret = "S".repeat(64);
    let body = format!(
        r#"{{"success":true,"data":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":"1234567890123","secret":"{secret}","somethingNew":1}}}}"#
    );
    let order = decode::<CreatedOrder>(body.as_bytes())
        .unwrap()
        .result
        .unwrap();
    assert_eq!(order.uid.get(), 1_234_567_890_123);
    assert_eq!(order.secret.expose(), secret);
    assert_eq!(
        order.warnings,
        [
            Warning::UidTooLong { digits: 13 },
            Warning::SecretTooLong { chars: 64 }
        ]
    );
    let shown = format!(
        "{order:?} {}",
        order
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert!(!shown.contains("SSSS"), "{shown}");
    insta::assert_snapshot!(order.warnings[0].to_string(), @"field `uid` has 13 digits, more than the 11 expected; kept as sent");
    insta::assert_snapshot!(order.warnings[1].to_string(), @"field `secret` has 64 characters, more than the 50 expected; kept as sent");
    // Only the known fields leave `extra`.
    assert_eq!(order.extra.keys().collect::<Vec<_>>(), ["somethingNew"]);

    // An uid that is no integer, an empty secret: nothing to keep.
    for data in [
        r#"{"_id":"5d8e6002b80b7b4cd75a6424","uid":"12a","secret":"s"}"#,
        r#"{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"secret":""}"#,
        r#"{"_id":"5d8e6002b80b7b4cd75a6424","uid":1.5,"secret":"s"}"#,
    ] {
        let body = format!(r#"{{"success":true,"data":{data}}}"#);
        assert!(decode::<CreatedOrder>(body.as_bytes()).is_err(), "{data}");
    }
    // A long uid from order/get is kept too.
    let body = br#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":123456789012,"status":"new"}}}"#;
    let order = decode::<OrderView>(body).unwrap().result.unwrap().order;
    assert_eq!(
        order.uid,
        OrderUid::parse_platform("uid", "123456789012").unwrap()
    );
    assert_eq!(order.warnings, [Warning::UidTooLong { digits: 12 }]);
}

#[test]
fn error_codes_are_read_as_integers_never_as_floats() {
    #[track_caller]
    fn check(code: &str, kind: ApiErrorKind, text: &str) {
        let body = format!(r#"{{"success":false,"error":{{"message":"m","errorCode":{code}}}}}"#);
        let err = decode::<Routes>(body.as_bytes())
            .unwrap()
            .result
            .unwrap_err();
        assert_eq!(err.kind, kind, "{code}");
        assert_eq!(err.code.as_deref(), Some(text), "{code}");
    }
    use ApiErrorKind::*;
    check("9951545348963165", NotEnoughReserve, "9951545348963165");
    check("9951545348963164", NotEnoughReserve, "9951545348963164");
    check("9.951545348963164e15", NotEnoughReserve, "9951545348963164");
    check("9951545348963164.0", NotEnoughReserve, "9951545348963164");
    check("\"9951545348963165\"", NotEnoughReserve, "9951545348963165");
    check("3631545348962766", AmountAboveMaximum, "3631545348962766");
    check("7701545348962387", AmountBelowMinimum, "7701545348962387");
    check("6801545277215051", RouteUnavailable, "6801545277215051");
    check("40301", Unauthorized, "40301");
    check("5555555555555555", Maintenance, "5555555555555555");
    check("6231546409213868", Validation, "6231546409213868");
    check("5030000", AntiFlood, "5030000");
    check("5.03e6", AntiFlood, "5030000");
    check("1.5", Other, "1.5");
    check(
        "123456789012345678901234567890",
        Other,
        "123456789012345678901234567890",
    );
}

#[test]
fn anti_flood_says_how_long_to_wait() {
    #[track_caller]
    fn check(error: &str, wait: Option<Duration>) {
        let body = format!(r#"{{"success":false,"error":{error}}}"#);
        let err = decode::<Routes>(body.as_bytes())
            .unwrap()
            .result
            .unwrap_err();
        assert_eq!(err.kind, ApiErrorKind::AntiFlood, "{error}");
        assert_eq!(err.retry_after, wait, "{error}");
    }
    check(
        r#"{"message":"Too many requests. Retry after 3 seconds.","errorCode":5030000}"#,
        Some(Duration::from_secs(3)),
    );
    check(
        r#"{"message":"Anti-flood: wait 1.5 s","errorCode":"5030000"}"#,
        Some(Duration::from_millis(1500)),
    );
    check(
        r#"{"message":"wait 9 seconds","time":2,"errorCode":5030000}"#,
        Some(Duration::from_secs(2)),
    );
    check(
        r#"{"message":"x","object":{"time":"4"},"errorCode":5030000}"#,
        Some(Duration::from_secs(4)),
    );
    check(
        r#"{"message":"Too many requests","errorCode":5030000}"#,
        None,
    );
    check(
        r#"{"message":"retry after 999999999 seconds","errorCode":5030000}"#,
        None,
    );
}

#[test]
fn update_status_answer_is_read() {
    let body = br#"{"success":true,"data":{"ok":1,"oldStatus":"waitPayment","newStatus":"inProgress","at":5}}"#;
    let update = decode::<StatusUpdate>(body).unwrap().result.unwrap();
    assert!(update.ok);
    assert_eq!(update.old_status, Some(OrderStatus::WaitPayment));
    assert_eq!(update.new_status, Some(OrderStatus::InProgress));
    assert_eq!(update.extra["at"], 5);
    assert_eq!(
        serde_json::to_string(&update).unwrap(),
        r#"{"ok":1,"oldStatus":"waitPayment","newStatus":"inProgress","at":5}"#
    );
    let body = br#"{"success":true,"data":{"ok":0}}"#;
    assert!(!decode::<StatusUpdate>(body).unwrap().result.unwrap().ok);
    let body = br#"{"success":true,"data":{}}"#;
    assert!(decode::<StatusUpdate>(body).unwrap().result.unwrap().ok);
}

#[test]
fn platform_text_in_errors_cannot_forge_log_lines() {
    let body = br#"{"success":false,"error":{"message":"bad\nINFO forged line\r\u001b[31m","errorCode":"1\n2"}}"#;
    let err = decode::<Routes>(body).unwrap().result.unwrap_err();
    let shown = err.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    insta::assert_snapshot!(shown, @r"the platform refused the request: bad\nINFO forged line\r\u{1b}[31m (code 1\n2)");
    let body = br#"{"success":true,"data":{"routes":[{"routeId":"5d8e6002b80b7b4cd75a6424","isShowWeb":"x\ny"}]}}"#;
    let err = decode::<Routes>(body).unwrap_err();
    assert!(!err.to_string().chars().any(char::is_control), "{err}");
}

proptest! {
    /// Whatever an error body says, its Display holds no control character.
    #[test]
    fn api_error_display_has_no_control_characters(message in any::<String>(), code in any::<String>()) {
        let body = serde_json::json!({"success": false, "error": {"message": message, "errorCode": code}}).to_string();
        let err = decode::<Routes>(body.as_bytes()).unwrap().result.unwrap_err();
        let shown = err.to_string();
        prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
    }

    /// Any JSON number as an amount comes back with the same text.
    #[test]
    fn any_json_number_amount_is_kept(
        int in "-?(0|[1-9][0-9]{0,30})",
        frac in proptest::option::of("[0-9]{1,30}"),
        exp in proptest::option::of("[eE][+-]?[0-9]{1,3}"),
    ) {
        let amount = format!("{int}{}{}", frac.map(|f| format!(".{f}")).unwrap_or_default(), exp.unwrap_or_default());
        prop_assume!(amount.len() <= 64);
        let body = format!(r#"{{"success":true,"data":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"secret":"s","inAmount":{amount}}}}}"#);
        let order = decode::<CreatedOrder>(body.as_bytes()).unwrap().result.unwrap();
        let kept = order.in_amount.unwrap();
        prop_assert_eq!(kept.as_str(), amount.as_str());
    }
}

/// Every field a type knows leaves `extra`: the lists of known names in the
/// decoders match the names the typed fields read.
#[test]
fn known_fields_never_reach_extra() {
    let body = br#"{"success":true,"data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"rid":"r",
        "secret":"s","route":{},"inAmount":1,"outAmount":2,"status":"new","expiresAt":"x"}}"#;
    let created = decode::<CreatedOrder>(body).unwrap().result.unwrap();
    assert!(created.extra.is_empty(), "{:?}", created.extra);

    let body =
        br#"{"success":true,"data":{"verifications":[],"order":{"_id":"5d8e6002b80b7b4cd75a6424",
        "uid":1,"rid":"r","status":"new","inAmount":1,"outAmount":2,"fromValues":[],"toValues":[],
        "routeValues":[],"route":{},"createdAt":"x","expiresAt":"y","rate":{}}}}"#;
    let view = decode::<OrderView>(body).unwrap().result.unwrap();
    assert!(view.extra.is_empty(), "{:?}", view.extra);
    assert!(view.order.extra.is_empty(), "{:?}", view.order.extra);

    let field = r#"{"_id":"w","name":"n","type":"t","required":true,"regex":"r","min":1,"max":2}"#;
    let body = format!(
        r#"{{"success":true,"data":{{"route":{{"routeId":"5d8e6002b80b7b4cd75a6424",
        "_id":"5d8e6002b80b7b4cd75a6424","from":{{"name":"n","symbol":"s","xml":"x","fields":[{field}]}},
        "to":{{"name":"n","symbol":"s","xml":"x","fields":[]}},"fields":[{field}],"rate":{{}},
        "orderTTL":1,"isShowWeb":true}}}}}}"#
    );
    let view = decode::<RouteView>(body.as_bytes())
        .unwrap()
        .result
        .unwrap();
    let route = &view.route;
    assert!(view.extra.is_empty() && route.extra.is_empty(), "{view:?}");
    let from = route.from.as_ref().unwrap();
    assert!(from.extra.is_empty(), "{from:?}");
    assert!(from.fields[0].extra.is_empty() && route.fields[0].extra.is_empty());
    let body = br#"{"success":true,"data":{"routes":[]}}"#;
    assert!(
        decode::<Routes>(body)
            .unwrap()
            .result
            .unwrap()
            .extra
            .is_empty()
    );
    let body = br#"{"success":true,"data":{"ok":1,"oldStatus":"new","newStatus":"deleted"}}"#;
    assert!(
        decode::<StatusUpdate>(body)
            .unwrap()
            .result
            .unwrap()
            .extra
            .is_empty()
    );
}

#[test]
fn an_unreadable_amount_or_status_does_not_cost_the_created_order() {
    let body = br#"{"success":true,"data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1409,
        "secret":"dGqwF2M2eBPaSN1G5ljMS1cb","inAmount":"1,5","outAmount":{"value":"2"},"status":{"code":1}}}"#;
    let order = decode::<CreatedOrder>(body).unwrap().result.unwrap();
    assert_eq!(order.uid.get(), 1409);
    assert_eq!(order.secret.expose(), "dGqwF2M2eBPaSN1G5ljMS1cb");
    assert!(order.in_amount.is_none() && order.out_amount.is_none() && order.status.is_none());
    assert_eq!(
        order.warnings,
        [
            Warning::Unreadable { field: "inAmount" },
            Warning::Unreadable { field: "outAmount" },
            Warning::Unreadable { field: "status" },
        ]
    );
    assert_eq!(order.extra["inAmount"], "1,5");
    assert_eq!(order.extra["outAmount"]["value"], "2");
    insta::assert_snapshot!(order.warnings[0].to_string(), @"field `inAmount` is not as expected; kept as sent in `extra`");

    let body = br#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"status":"new","inAmount":"","outAmount":null}}}"#;
    let order = decode::<OrderView>(body).unwrap().result.unwrap().order;
    assert_eq!(order.warnings, [Warning::Unreadable { field: "inAmount" }]);
    assert!(order.out_amount.is_none());
    assert_eq!(order.extra["inAmount"], "");
}

/// `Debug` of what the platform answered shows no requisite, no secret and no
/// value of a field this crate does not know (issue 18: it printed them).
#[test]
fn order_debug_shows_no_requisites_secrets_or_unknown_values() {
    let created = r#"{"success":true,"data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":104857,
        "secret":"ORDER-SECRET-VALUE","inAmount":2,"cardHolder":"IVAN PETROV 4111111111111111"}}"#;
    let created = decode::<CreatedOrder>(created.as_bytes())
        .unwrap()
        .result
        .unwrap();
    let got = r#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":104857,
        "status":"waitPayment","toValues":[{"key":"wallet","value":"Z-WALLET-123"}],
        "fromValues":[{"key":"card","value":"4111111111111111"}],"clientIp":"203.0.113.9"},
        "verifications":[{"passport":"AB123456"}]}}"#;
    let got = decode::<OrderView>(got.as_bytes()).unwrap().result.unwrap();
    for debug in [format!("{created:?}"), format!("{got:?}")] {
        for secret in [
            "ORDER-SECRET-VALUE",
            "4111111111111111",
            "Z-WALLET",
            "203.0.113.9",
            "AB123456",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }
    assert!(
        format!("{created:?}").contains("cardHolder"),
        "unknown fields are named"
    );
}
