//! The `qs` form decoder: any bytes, any limits — an error, never a panic; and
//! what the lazy decoder validates, it decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::form::{self, Limits, Pairs};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
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
