//! IPN parsing and verification, form and JSON bodies: an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};

fuzz_target!(|input: &[u8]| {
    let Ok(secret) = IpnSecret::new("SECRET123") else {
        return;
    };
    // A leading 0xFF turns the decoder's limits off; the rest is the body.
    let (format, data) = match input {
        [0xFF, body @ ..] => {
            let limits = smartex_core::form::Limits {
                max_pairs: usize::MAX,
                max_depth: usize::MAX,
                max_index: usize::MAX,
            };
            (
                IpnFormat {
                    limits,
                    ..IpnFormat::default()
                },
                body,
            )
        }
        _ => (IpnFormat::default(), input),
    };
    if let Ok(ipn) = UnverifiedIpn::parse_form(data, &format) {
        let _ = (ipn.order_id(), ipn.order_uid(), ipn.checksum_in_body());
        if let Ok(ipn) = ipn.verify(&secret) {
            let _ = (
                ipn.status(),
                ipn.in_amount(),
                ipn.out_amount(),
                ipn.timestamp_ms(),
                ipn.event(),
            );
            for v in ipn.to_values() {
                let _ = (v.key(), v.name(), v.value());
            }
            let _ = ipn.into_owned();
        }
    }
    if let Ok(ipn) = UnverifiedIpn::parse_json(data, &format) {
        let _ = ipn.verify(&secret);
    }
});
