//! The IPN hot path allocates nothing when no signed value needs unescaping.
//!
//! A test binary of its own: it installs a counting global allocator (dhat's),
//! which must not be shared with the other tests.
#![allow(clippy::unwrap_used)]

use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn parse_and_verify_of_the_sample_allocates_nothing() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sample-ipn-body.txt"
    ))
    .unwrap();
    let secret = IpnSecret::new("SECRET123").unwrap();
    let format = IpnFormat::default();
    let _profiler = dhat::Profiler::builder().testing().build();

    let before = dhat::HeapStats::get();
    let ipn = UnverifiedIpn::parse_form(&body, &format).unwrap();
    let ipn = ipn.verify(&secret).unwrap();
    let status = ipn.status();
    let after = dhat::HeapStats::get();
    dhat::assert_eq!(after.total_blocks - before.total_blocks, 0);
    drop(status);

    // The measurement is real: reading a value that needs unescaping allocates.
    let before = dhat::HeapStats::get();
    let email = ipn.to_values().nth(1).map(|v| v.value().to_owned());
    let after = dhat::HeapStats::get();
    dhat::assert!(after.total_blocks > before.total_blocks);
    dhat::assert_eq!(email.as_deref(), Some("customer.name@example.com"));

    // Unsigned fields in other spellings (`URLSearchParams`, `querystring`,
    // `qs` with `allowDots`, deep and escaped junk) are skipped, not stored:
    // parse + verify still allocates nothing.
    let odd = String::from_utf8(body.clone()).unwrap().replace(
        "&hash=",
        "&toValues=%5Bobject+Object%5D&toValues=&toValues.0.key=wallet\
         &extra%5Ba%5D%5Bb%5D%5Bc%5D%5Bd%5D%5Be%5D%5Bf%5D=1&junk%ZZ=%FF&toValues[999][key]=x&hash=",
    );
    let before = dhat::HeapStats::get();
    let ipn = UnverifiedIpn::parse_form(odd.as_bytes(), &format).unwrap();
    let ipn = ipn.verify(&secret).unwrap();
    let status = ipn.status();
    let after = dhat::HeapStats::get();
    dhat::assert_eq!(after.total_blocks - before.total_blocks, 0);
    drop(status);
}
