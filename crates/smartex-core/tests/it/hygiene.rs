//! Error messages never write raw control characters taken from input: a
//! `%0A` in a key name must not forge a log line.

use proptest::prelude::*;
use smartex_core::form::{Limits, decode_tree};
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
use smartex_core::status::check_update_status;
use smartex_core::{Error, Escaped, ObjectId, OrderStatus};

#[track_caller]
fn assert_clean(shown: &str) {
    assert!(
        !shown
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}'),
        "control character in {shown:?}"
    );
}

#[test]
fn escaped_writes_controls_as_escapes() {
    #[track_caller]
    fn check(input: &str, expect: &str) {
        assert_eq!(Escaped(input).to_string(), expect);
    }
    check("orderUID", "orderUID");
    check("a\nb", "a\\nb");
    check("a\r\n", "a\\r\\n");
    check("tab\there", "tab\\there");
    check("\u{1b}[31mred", "\\u{1b}[31mred");
    check("nul\0", "nul\\u{0}");
    check("c1\u{85}", "c1\\u{85}");
    check("line\u{2028}sep", "line\\u{2028}sep");
    check("bidi\u{202e}", "bidi\\u{202e}");
    check("back\\slash", "back\\\\slash");
    check("ключ", "ключ");
    let long = "x".repeat(1000);
    let shown = Escaped(&long).to_string();
    assert_eq!(shown.chars().count(), Escaped::MAX_CHARS + 1);
    assert!(shown.ends_with('…'));
}

#[test]
fn a_percent_encoded_newline_in_a_key_cannot_forge_a_log_line() {
    let body = b"to%0AValues%5B=1&x%0D%0AINFO%20forged=2";
    let err = decode_tree(body, &Limits::default()).unwrap_err();
    let shown = err.to_string();
    assert_clean(&shown);
    insta::assert_snapshot!(shown, @"form key `to\\nValues` is malformed: has an unclosed `[`");
}

#[test]
fn status_names_from_input_are_escaped() {
    let err = check_update_status(
        Some(&OrderStatus::parse("done\nINFO forged")),
        &OrderStatus::parse("new\r"),
    )
    .unwrap_err();
    assert_clean(&err.to_string());
}

#[test]
fn every_field_carrying_variant_escapes() {
    let field = "a\nb\u{1b}";
    for err in [
        Error::InvalidField {
            field: field.to_owned().into(),
            problem: smartex_core::Problem::Empty,
        },
        Error::MissingField {
            field: field.to_owned().into(),
        },
        Error::DuplicateField {
            field: field.to_owned().into(),
        },
        Error::MalformedKey {
            key: field.to_owned(),
            problem: smartex_core::Problem::Empty,
        },
        Error::NotEnvelope {
            reason: field.to_owned(),
            excerpt: field.to_owned(),
        },
        Error::UnexpectedData {
            field: field.to_owned().into(),
            reason: field.to_owned(),
        },
        Error::TransitionNotAllowed {
            from: field.to_owned(),
            to: field.to_owned(),
            reason: "r",
        },
    ] {
        assert_clean(&err.to_string());
    }
    assert_clean(&ObjectId::parse("id", "\n").unwrap_err().to_string());
}

proptest! {
    /// Errors built from arbitrary form bodies, IPN bodies and response
    /// bodies display without a control character.
    #[test]
    fn errors_from_arbitrary_input_display_no_control_characters(
        body in proptest::collection::vec(any::<u8>(), 0..200),
        key in "\\PC*[\\x00-\\x1f\\x7f\\u{85}\\u{2028}]\\PC*",
        value in any::<String>(),
    ) {
        let mut checked = Vec::new();
        if let Err(e) = decode_tree(&body, &Limits::default()) {
            checked.push(e.to_string());
        }
        // The control character percent-encoded in a key, next to the
        // raw bytes.
        let mut encoded = String::new();
        smartex_core::form::encode_component(&key, &mut encoded);
        for form in [
            format!("{encoded}[=1"),
            format!("{encoded}=1&{encoded}=2"),
            format!("orderId={encoded}&{encoded}[a][=x"),
        ] {
            if let Err(e) = decode_tree(form.as_bytes(), &Limits::default()) {
                checked.push(e.to_string());
            }
            if let Err(e) = UnverifiedIpn::parse_form(form.as_bytes(), &IpnFormat::default()) {
                checked.push(e.to_string());
            }
        }
        if let Err(e) = UnverifiedIpn::parse_form(&body, &IpnFormat::default()) {
            checked.push(e.to_string());
        }
        let json = serde_json::json!({"success": true, "data": {"routes": [{"routeId": value, "isShowWeb": key}]}}).to_string();
        if let Err(e) = smartex_core::response::decode::<smartex_core::response::Routes>(json.as_bytes()) {
            checked.push(e.to_string());
        }
        if let Err(e) = smartex_core::response::decode::<smartex_core::response::Routes>(&body) {
            checked.push(e.to_string());
        }
        for shown in checked {
            prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
        }
    }
}
