//! IPN parsing and verification, form and JSON bodies: an error, never a panic.
//!
//! An input starting with 0xFE checks a property instead: a correctly signed
//! body (its timestamp in seconds or milliseconds) with any unsigned pairs
//! added (`orderUID`, `toValues` and unknown roots, then the fuzzer's bytes)
//! verifies, with the same signed values and the timestamp normalized.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_core::IpnSecret;
use smartex_core::checksum::SignedFields;
use smartex_core::form::FormWriter;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};

/// Roots that are never a signed name, whatever follows them (an empty root
/// is not one: the fuzzer would spell `timestamp` after it).
const UNSIGNED_ROOTS: [&str; 7] = [
    "toValues", "orderUID", "toValues%5B", "toValues.", "extra", "orderUID[", "%ZZ",
];

fn signed_plus_junk(secret: &IpnSecret, data: &[u8]) {
    let (head, junk) = data.split_at(data.len().min(16));
    // Timestamp digits from the head: 1 to 16 of them (seconds or millis).
    let digits: String = head.iter().map(|b| char::from(b'0' + b % 10)).collect();
    let ts = if digits.is_empty() { "0".to_owned() } else { digits };
    let amount = format!("{}.{}", head.len(), head.first().copied().unwrap_or(0));
    let signed = SignedFields {
        order_id: "5d8e6002b80b7b4cd75a6424",
        new_status: "done",
        in_amount: &amount,
        out_amount: "1e-7",
        xml_from: "BTC",
        xml_to: "a&b=c%d+é",
        timestamp: &ts,
    };
    let mut w = FormWriter::default();
    for (k, v) in [
        ("orderId", signed.order_id),
        ("newStatus", signed.new_status),
        ("inAmount", signed.in_amount),
        ("outAmount", signed.out_amount),
        ("xml_from", signed.xml_from),
        ("xml_to", signed.xml_to),
        ("timestamp", signed.timestamp),
    ] {
        w.field(k, v);
    }
    w.field("hash", signed.sign(secret).to_hex().as_str());
    let mut body = w.finish().into_bytes();
    for piece in junk.split(|&b| b == b'&') {
        let (root, rest) = match piece.split_first() {
            Some((r, rest)) => (UNSIGNED_ROOTS[usize::from(*r) % UNSIGNED_ROOTS.len()], rest),
            None => ("extra", piece),
        };
        body.push(b'&');
        body.extend_from_slice(root.as_bytes());
        body.extend_from_slice(rest);
    }
    let format = IpnFormat {
        limits: smartex_core::form::Limits {
            max_pairs: usize::MAX,
            ..Default::default()
        },
        ..IpnFormat::default()
    };
    let ipn = UnverifiedIpn::parse_form(&body, &format)
        .and_then(|ipn| ipn.verify(secret))
        .unwrap_or_else(|e| panic!("refused: {e}: {}", String::from_utf8_lossy(&body)));
    assert_eq!(ipn.signed_fields(), signed);
    let n: u64 = ts.parse().unwrap_or(0);
    let expected = if n < 100_000_000_000 { n * 1000 } else { n };
    assert_eq!(ipn.timestamp_ms().ok(), Some(expected));
    let _ = (ipn.to_values().count(), ipn.extra().count(), ipn.order_uid());
}

fuzz_target!(|input: &[u8]| {
    let Ok(secret) = IpnSecret::new("SECRET123") else {
        return;
    };
    if let [0xFE, data @ ..] = input {
        signed_plus_junk(&secret, data);
        return;
    }
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
        let _ = (ipn.order_id(), ipn.order_uid(), ipn.has_checksum());
        if let Ok(ipn) = ipn.verify(&secret) {
            let _ = (
                ipn.status(),
                ipn.in_amount(),
                ipn.out_amount(),
                ipn.timestamp_ms(),
                ipn.event(),
            );
            let to_values = ipn.to_values();
            let _ = to_values.is_structured();
            for v in to_values {
                let _ = (v.key(), v.name(), v.value());
            }
            let _ = (ipn.extra().count(), ipn.unsigned_pairs().count(), ipn.timestamp());
            let _ = ipn.into_owned();
        }
    }
    if let Ok(ipn) = UnverifiedIpn::parse_json(data, &format) {
        let _ = ipn.verify(&secret);
    }
});
