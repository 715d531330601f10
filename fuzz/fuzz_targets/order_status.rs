//! Status parsing and the tracker: wire strings round-trip, the tracker never
//! panics and never lets a final status become non-final, whatever mix of
//! IPNs and timed polls it is fed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::OrderStatus;
use smartex_core::status::{Source, StatusEvent, Tracker};

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
        let at = chunk
            .get(1)
            .map(|&b| smartex_core::time::UnixMillis::from_millis(u64::from(b)));
        let was_final = tracker.known().is_some_and(|k| k.status.is_final());
        // The third byte picks the source: an IPN, or a poll standing for a
        // window of that many milliseconds times 16.
        let source = match chunk.get(2) {
            Some(&w) if w & 1 == 1 => Source::Poll {
                window_ms: u64::from(w >> 1) * 16,
            },
            _ => Source::Ipn,
        };
        let _ = tracker.apply(&StatusEvent {
            status,
            at,
            source,
        });
        if was_final {
            assert!(tracker.known().is_some_and(|k| k.status.is_final()));
        }
    }
    let _ = smartex_core::status::check_update_status(None, &OrderStatus::parse(&text));
});
