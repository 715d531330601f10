//! Parse + verify of the sample IPN in a loop, for instruction counts:
//!
//! ```sh
//! cargo build --release -p smartex-core --example ipn_loop
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!     target/release/examples/ipn_loop 10000
//! ```
//!
//! Total instructions / iterations is the per-notification figure in
//! docs/PERFORMANCE.md (the set-up is a few thousand instructions, under one
//! iteration's worth at 10,000 iterations). Without an argument it runs once.

use std::hint::black_box;

use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};

const SAMPLE: &[u8] = include_bytes!("../tests/data/sample-ipn-body.txt");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1,
    };
    let secret = IpnSecret::new("SECRET123")?;
    let format = IpnFormat::default();
    for _ in 0..iterations {
        let ipn = UnverifiedIpn::parse_form(black_box(SAMPLE), &format)?.verify(&secret)?;
        black_box(&ipn);
    }
    Ok(())
}
