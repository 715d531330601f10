//! Known answers computed by the real Express 4.22 middleware
//! (`tools/node/express-params.js`), kept in `tests/data/express-params.jsonl`.

// Tests may panic: that is how they fail.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use super::{Body, express_params_json};

const VECTORS: &str = include_str!("../../tests/data/express-params.jsonl");

fn field<'a>(line: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    line.get(name).and_then(serde_json::Value::as_str)
}

#[test]
fn express_known_answers() {
    let mut checked = 0;
    for (n, line) in VECTORS.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let body = match (field(&v, "json"), field(&v, "form")) {
            (Some(j), _) => Body::Json(j.as_bytes()),
            (None, Some(f)) => Body::Form(f.as_bytes()),
            (None, None) => Body::None,
        };
        let got = express_params_json(field(&v, "query"), body);
        match (field(&v, "ok"), got) {
            (Some(want), Ok(got)) => assert_eq!(got, want, "line {}: {line}", n + 1),
            (None, Err(_)) => {}
            (want, got) => panic!("line {}: {line}\nwant {want:?}\ngot {got:?}", n + 1),
        }
        checked += 1;
    }
    assert!(checked > 50, "{checked} vectors");
}

#[test]
fn published_api_key_example_is_a_fixed_point() {
    let body = r#"{"time":123456789,"param1":"val1"}"#;
    assert_eq!(super::restringify_json(body).unwrap(), body);
}

mod props {
    use alloc::format;

    use proptest::prelude::*;

    use crate::js::{Body, exact_js_number, express_params_json, number_text, restringify_json};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// JavaScript's spelling of any double reads back as that double and
        /// is a fixed point of JSON.parse/stringify.
        #[test]
        fn number_text_round_trips(bits in any::<u64>()) {
            let n = f64::from_bits(bits);
            let text = number_text(n);
            if n.is_finite() {
                let back: f64 = text.parse().unwrap();
                prop_assert!(back == n, "{} {}", n, text);
                let json = format!("[{text}]");
                prop_assert_eq!(restringify_json(&json).unwrap(), json);
                prop_assert_eq!(exact_js_number(&text), Some(text.clone()));
            } else {
                prop_assert_eq!(text, "null");
            }
        }

        /// An accepted amount keeps its value in its JavaScript spelling.
        #[test]
        fn exact_amounts_keep_their_value(
            int in "-?[0-9]{1,20}",
            frac in "(\\.[0-9]{1,20})?",
            exp in "([eE][+-]?[0-9]{1,3})?",
        ) {
            let text = format!("{int}{frac}{exp}");
            if let Some(js) = exact_js_number(&text) {
                let a: f64 = text.parse().unwrap();
                let b: f64 = js.parse().unwrap();
                prop_assert!(a == b);
                prop_assert_eq!(exact_js_number(&js), Some(js.clone()));
            }
        }

        /// Any query and body: a text or an error, never a panic, and the
        /// text is a fixed point of JSON.parse/stringify.
        #[test]
        fn express_params_never_panic(
            query in proptest::option::of("[a-z0-9\\[\\]%&=+_.]{0,40}"),
            body in "[a-z0-9\\[\\]%&=+_.\"{}:,\\\\]{0,60}",
            kind in 0u8..3,
        ) {
            let body = match kind {
                0 => Body::None,
                1 => Body::Json(body.as_bytes()),
                _ => Body::Form(body.as_bytes()),
            };
            if let Ok(json) = express_params_json(query.as_deref(), body) {
                prop_assert_eq!(restringify_json(&json).unwrap(), json);
            }
        }
    }
}
