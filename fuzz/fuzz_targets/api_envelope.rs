//! Response decoding: any body (HTML pages, truncated JSON, odd shapes) gives a
//! typed result or error, never a panic — and never loses what it keeps:
//! an amount comes back with the exact text it was sent with, and no error's
//! message carries a raw control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::Amount;
use smartex_core::response::{
    self, ApiErrorKind, CreatedOrder, OrderView, RouteView, Routes, StatusUpdate,
};

/// Panics if `shown` holds a control character (a forged log line).
fn clean(shown: &str) {
    assert!(
        !shown.chars().any(char::is_control),
        "control character in {shown:?}"
    );
}

/// Decodes `data` as `$t`: any error displays clean, and a typed kind of
/// the platform's error comes from a catalogued code only.
macro_rules! check {
    ($t:ty, $data:expr) => {
        match response::decode::<$t>($data) {
            Err(e) => clean(&e.to_string()),
            Ok(r) => {
                if let Err(api) = r.result {
                    clean(&api.to_string());
                    if api.kind != ApiErrorKind::Other {
                        let code = api.code.as_deref().unwrap_or_default();
                        assert_eq!(ApiErrorKind::from_code(code), api.kind);
                    }
                }
            }
        }
    };
}

fuzz_target!(|data: &[u8]| {
    check!(CreatedOrder, data);
    check!(OrderView, data);
    check!(Routes, data);
    check!(RouteView, data);
    check!(StatusUpdate, data);
    check!(serde_json::Value, data);

    if let Ok(Ok(order)) = response::decode::<CreatedOrder>(data).map(|r| r.result) {
        // Whatever limit they break, a created order's uid and secret are
        // there, and the salvage path (used when typing fails) finds the same.
        assert!(!order.secret.expose().is_empty());
        let found = response::salvage_order_identity(data).expect("a typed order is salvageable");
        assert_eq!(found.secret, order.secret);
        for w in &order.warnings {
            clean(&w.to_string());
        }
    }

    // The input as an amount: if it is a JSON number, it survives a response
    // unchanged, as a number and as a string.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(amount) = text.parse::<Amount>() {
            for value in [text.to_owned(), format!("\"{text}\"")] {
                let body = format!(
                    r#"{{"success":true,"data":{{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"secret":"s","inAmount":{value}}}}}"#
                );
                let order = response::decode::<CreatedOrder>(body.as_bytes())
                    .expect("a valid envelope")
                    .result
                    .expect("a valid order");
                assert_eq!(order.in_amount.as_ref(), Some(&amount));
            }
        }
    }
});
