//! Status parsing and the tracker: wire strings round-trip, the tracker never
//! panics and never lets a final status become non-final.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::OrderStatus;
use smartex_core::status::{StatusEvent, Tracker};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let status = OrderStatus::parse(&text);
    assert_eq!(status.as_str(), text);
    let mut tracker = Tracker::default();
    for chunk in data.chunks(3) {
        let status = OrderStatus::KNOWN
            .get(usize::from(chunk[0]) % 11)
            .cloned()
            .unwrap_or_else(|| OrderStatus::Unknown("x".into()));
        let at_ms = chunk.get(1).map(|&b| u64::from(b));
        let was_final = tracker.known().is_some_and(|k| k.status.is_final());
        let _ = tracker.apply(&StatusEvent { status, at_ms });
        if was_final {
            assert!(tracker.known().is_some_and(|k| k.status.is_final()));
        }
    }
    let _ = smartex_core::status::check_update_status(None, &OrderStatus::parse(&text));
});
