//! The response envelope and the typed `data`.

use smartex_core::Error;
use smartex_core::response::{ApiErrorKind, CreatedOrder, OrderView, RouteView, Routes, decode};

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
