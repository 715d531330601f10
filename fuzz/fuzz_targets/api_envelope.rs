//! Response decoding: any body (HTML pages, truncated JSON, odd shapes) gives a
//! typed result or error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::response::{self, CreatedOrder, OrderView, RouteView, Routes};

fuzz_target!(|data: &[u8]| {
    let _ = response::decode::<CreatedOrder>(data);
    let _ = response::decode::<OrderView>(data);
    let _ = response::decode::<Routes>(data);
    let _ = response::decode::<RouteView>(data);
    let _ = response::decode::<serde_json::Value>(data);
});
