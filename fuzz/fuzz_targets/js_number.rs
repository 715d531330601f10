//! The canonical-number writer against the parser: every double written as
//! JavaScript writes it (`Number.prototype.toString`) parses back to the same
//! double, and the text is a fixed point of `JSON.stringify(JSON.parse(·))`
//! as `smartex_core::js` computes it. Decimal text checked by
//! `exact_js_number` keeps its value when it is accepted.
//!
//! Input layout: 8 bytes, a double's bits (little-endian); any bytes after
//! them are tried as an amount's text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::js::{exact_js_number, number_text, restringify_json};

fuzz_target!(|input: &[u8]| {
    let Some((bits, rest)) = input.split_first_chunk::<8>() else {
        return;
    };
    let n = f64::from_le_bytes(*bits);
    let text = number_text(n);
    if n.is_finite() {
        let back: f64 = text.parse().expect("JavaScript's spelling parses");
        // -0 is written "0": the one value that does not come back bit for bit.
        assert!(back == n, "{n:?} written {text} read {back:?}");
        if n != 0.0 {
            assert_eq!(back.to_bits(), n.to_bits(), "{text}");
        }
        let json = format!("[{text}]");
        assert_eq!(restringify_json(&json).expect("valid JSON"), json);
        assert_eq!(exact_js_number(&text).as_deref(), Some(text.as_str()));
    } else {
        assert_eq!(text, "null");
    }
    if let Ok(amount) = std::str::from_utf8(rest) {
        if let Some(js) = exact_js_number(amount) {
            let a: f64 = amount.parse().expect("accepted amounts parse");
            let b: f64 = js.parse().expect("the spelling parses");
            assert!(a == b, "{amount} -> {js}");
            assert_eq!(exact_js_number(&js).as_deref(), Some(js.as_str()), "{amount}");
        }
    }
});
