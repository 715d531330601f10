//! The `qs` form decoder: any bytes, any limits — an error, never a panic; and
//! what the lazy decoder validates, it decodes.
//!
//! Input layout: the body, as is (decoded with the default limits), unless it
//! starts with 0xFF: then the next three bytes pick the limits (each 0xFF
//! meaning "no limit", `usize::MAX`) and the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::form::{self, Limits, Pairs};

fuzz_target!(|input: &[u8]| {
    let (limits, data) = match input {
        [0xFF, pairs, depth, index, body @ ..] => {
            let pick = |b: u8| {
                if b == 0xFF {
                    usize::MAX
                } else {
                    usize::from(b)
                }
            };
            let limits = Limits {
                max_pairs: pick(*pairs),
                max_depth: pick(*depth),
                max_index: pick(*index),
            };
            (limits, body)
        }
        _ => (Limits::default(), input),
    };
    let _ = form::decode_tree(data, &limits);
    for pair in Pairs::new(data, limits) {
        let Ok((key, value)) = pair else { break };
        let _ = key.root();
        for segment in key.segments() {
            let _ = segment.decode();
            let _ = segment.index();
        }
        // The allocation-free check and the decoder must agree.
        assert_eq!(value.validate("v").is_ok(), value.decode("v").is_ok());
    }
    let _ = smartex_core::pages::CallbackStatus::parse(&String::from_utf8_lossy(data));
});
