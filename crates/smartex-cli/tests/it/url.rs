//! `smartex url payment | order`: pure.

use crate::{smartex, stderr, stdout};

#[test]
fn payment_and_order_urls() {
    let output = smartex()
        .args(["url", "payment", "--site", "https://www.smartexpay.com/"])
        .args([
            "--uid",
            "1409",
            "--order-secret",
            "dGqwF2M2eBPaSN1G5ljMS1cb",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "https://www.smartexpay.com/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb\n"
    );
    let output = smartex()
        .args(["url", "order", "--uid", "1409", "--lang", "RU"])
        .env("SMARTEX_SITE", "https://develop.exchange")
        .env("SMARTEX_ORDER_SECRET", "a b/c")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "https://develop.exchange/ru/order/1409/a%20b%2Fc\n",
        "the secret is one path segment"
    );
}

#[test]
fn bad_input_exits_2() {
    for args in [
        &[
            "url",
            "payment",
            "--site",
            "www.smartexpay.com",
            "--uid",
            "1",
            "--order-secret",
            "s",
        ][..],
        &[
            "url",
            "payment",
            "--site",
            "https://x.example/?q=1",
            "--uid",
            "1",
            "--order-secret",
            "s",
        ],
        &[
            "url",
            "payment",
            "--site",
            "https://x.example",
            "--uid",
            "-1",
            "--order-secret",
            "s",
        ],
        &[
            "url",
            "payment",
            "--site",
            "https://x.example",
            "--uid",
            "1",
            "--lang",
            "english",
            "--order-secret",
            "s",
        ],
        &[
            "url",
            "payment",
            "--site",
            "https://x.example",
            "--uid",
            "1",
        ],
        &[
            "url",
            "payment",
            "--site",
            "https://x.example",
            "--uid",
            "1",
            "--order-secret",
            "",
        ],
    ] {
        let output = smartex().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stdout(&output).is_empty());
    }
}
