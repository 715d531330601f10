//! `smartex url payment | order`: pure.

use predicates::prelude::*;

use crate::smartex;

#[test]
fn payment_and_order_urls() {
    smartex()
        .args(["url", "payment", "--site", "https://www.smartexpay.com/"])
        .args([
            "--uid",
            "1409",
            "--order-secret",
            "dGqwF2M2eBPaSN1G5ljMS1cb",
        ])
        .assert()
        .code(0)
        .stdout("https://www.smartexpay.com/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb\n")
        .stderr(predicate::str::is_empty());
    // The secret is one path segment.
    smartex()
        .args(["url", "order", "--uid", "1409", "--lang", "RU"])
        .env("SMARTEX_SITE", "https://develop.exchange")
        .env("SMARTEX_ORDER_SECRET", "a b/c")
        .assert()
        .code(0)
        .stdout("https://develop.exchange/ru/order/1409/a%20b%2Fc\n");
}

#[test]
fn bad_input_exits_2() {
    let site = "https://x.example";
    for args in [
        &[
            "--site",
            "www.smartexpay.com",
            "--uid",
            "1",
            "--order-secret",
            "s",
        ][..],
        &[
            "--site",
            "https://x.example/?q=1",
            "--uid",
            "1",
            "--order-secret",
            "s",
        ],
        &["--site", site, "--uid", "-1", "--order-secret", "s"],
        &[
            "--site",
            site,
            "--uid",
            "1",
            "--lang",
            "english",
            "--order-secret",
            "s",
        ],
        &["--site", site, "--uid", "1"],
        &["--site", site, "--uid", "1", "--order-secret", ""],
    ] {
        smartex()
            .args(["url", "payment"])
            .args(args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::is_empty().not());
    }
}
