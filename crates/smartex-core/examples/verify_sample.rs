//! Builds, parses and verifies an IPN exactly as the platform sends it, with
//! nothing but `smartex-core`: the docs' checksum vector, the sample body, and
//! what a tampered body looks like.
//!
//! `cargo run -p smartex-core --example verify_sample`
// An example prints what it does.
#![allow(clippy::print_stdout)]

use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
use smartex_core::status::{Decision, KnownStatus, decide};
use smartex_core::{Error, IpnSecret, OrderStatus};

const SAMPLE: &[u8] = include_bytes!("../tests/data/sample-ipn-body.txt");

fn main() -> Result<(), Error> {
    let secret = IpnSecret::new("SECRET123")?;
    let format = IpnFormat::default();

    // 1. Parse: only the order's id and uid are visible before verification.
    let unverified = UnverifiedIpn::parse_form(SAMPLE, &format)?;
    println!(
        "IPN for order {} (uid {})",
        unverified.order_id()?,
        unverified.order_uid()?
    );

    // 2. Verify with the order's secret (looked up by orderId in a real shop:
    //    orderUID is not covered by the checksum).
    let ipn = unverified.verify(&secret)?;
    println!(
        "verified: {} -> {} ({} {} -> {} {}), payment: {}",
        ipn.timestamp_ms()?,
        ipn.status(),
        ipn.in_amount()?,
        ipn.xml_from()?,
        ipn.out_amount()?,
        ipn.xml_to()?,
        ipn.status().payment(),
    );
    for v in ipn.to_values() {
        println!("  toValues: {} ({}) = {}", v.key(), v.name(), v.value());
    }

    // 3. Decide against what the shop already knows: a late notification never
    //    overwrites a final status.
    let known = KnownStatus {
        status: OrderStatus::WaitPayment,
        at: Some(smartex_core::time::UnixMillis::from_millis(
            1_571_328_000_000,
        )),
        source: smartex_core::status::Source::Ipn,
        last_signed: None,
    };
    let decision = decide(Some(&known), &ipn.event());
    println!("known: waitPayment -> decision: {decision:?}");
    assert_eq!(decision, Decision::Apply);

    // 4. A tampered body (outAmount "317.42" re-formatted as "317.420") is refused.
    let tampered = String::from_utf8_lossy(SAMPLE).replace("outAmount=317.42", "outAmount=317.420");
    match UnverifiedIpn::parse_form(tampered.as_bytes(), &format)?.verify(&secret) {
        Err(Error::BadChecksum) => println!("tampered copy refused: checksum does not match"),
        other => {
            println!("tampered copy NOT refused: {other:?}");
            std::process::exit(1);
        }
    }
    println!("ok");
    Ok(())
}
