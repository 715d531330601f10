//! What an Express server makes of request parameters (`qs.parse` of a query
//! string and a form body, `JSON.parse` of a JSON body, the spread, then
//! `JSON.stringify`): any bytes give a text or an error, never a panic, in
//! time bounded by the input; and the text is a fixed point of
//! `JSON.stringify(JSON.parse(·))`.
//!
//! Input layout: one byte picks the body's parser (0 none, 1 JSON, else
//! form); then the query string, a 0 byte, and the body (no 0 byte: no query).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::js::{Body, express_params_json, restringify_json};

fuzz_target!(|input: &[u8]| {
    let Some((&kind, rest)) = input.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (Some(String::from_utf8_lossy(&rest[..i])), &rest[i + 1..]),
        None => (None, rest),
    };
    let body = match kind {
        0 => Body::None,
        1 => Body::Json(body),
        _ => Body::Form(body),
    };
    if let Ok(json) = express_params_json(query.as_deref(), body) {
        assert_eq!(restringify_json(&json).as_deref(), Ok(json.as_str()));
    }
});
