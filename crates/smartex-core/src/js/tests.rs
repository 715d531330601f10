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
