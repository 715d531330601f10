//! Site, API root and page URLs.

use smartex_core::pages::{CallbackStatus, Site};
use smartex_core::{Lang, OrderSecret, OrderUid};

#[test]
fn joining_never_doubles_slashes() {
    let uid = OrderUid::new(1409).unwrap();
    let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb").unwrap();
    for site in [
        "https://www.smartexpay.com",
        "https://www.smartexpay.com/",
        "https://www.smartexpay.com//",
    ] {
        let site = Site::new(site).unwrap();
        assert_eq!(
            site.api_root(),
            "https://www.smartexpay.com/service/api/v1/"
        );
        assert_eq!(
            site.payment_page(Lang::EN, uid, &secret),
            "https://www.smartexpay.com/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb"
        );
        assert_eq!(
            site.order_page(Lang::RU, uid, &secret),
            "https://www.smartexpay.com/ru/order/1409/dGqwF2M2eBPaSN1G5ljMS1cb"
        );
    }
    let odd = OrderSecret::new("a/b?c#d e").unwrap();
    let site = Site::new("http://127.0.0.1:8080").unwrap();
    assert_eq!(
        site.order_page(Lang::EN, uid, &odd),
        "http://127.0.0.1:8080/en/order/1409/a%2Fb%3Fc%23d%20e"
    );
    let long = "a".repeat(300);
    for bad in [
        "www.smartexpay.com",
        "ftp://x",
        "https://x/?a=1",
        "https://",
        "",
        // Longer than an ipnUrl may be (a site may), and bad for another reason.
        &format!("javascript:{long}"),
        &format!("https://x.example/{long} y"),
        &format!("https://:443/{long}"),
    ] {
        assert!(Site::new(bad).is_err(), "{bad}");
    }
    for idn in ["http://пример.рф", "HTTPS://пример.рф/", "http://é.example"] {
        assert!(Site::new(idn).is_ok(), "{idn}");
    }
    let long_ok = format!("https://x.example/{long}");
    assert_eq!(Site::new(&long_ok).unwrap().as_str(), long_ok);
}

#[test]
fn callback_status() {
    assert_eq!(
        CallbackStatus::parse("https://shop.example/back?status=success").unwrap(),
        CallbackStatus::Success
    );
    assert_eq!(
        CallbackStatus::parse("https://shop.example/back?order=1&status=error#x").unwrap(),
        CallbackStatus::Error
    );
    assert_eq!(
        CallbackStatus::parse("status=success").unwrap(),
        CallbackStatus::Success
    );
    for bad in [
        "https://shop.example/back",
        "status=maybe",
        "status=success&status=error",
        "https://x/?order=1",
    ] {
        let err = CallbackStatus::parse(bad).unwrap_err();
        assert_eq!(err.field(), Some("status"), "{bad}");
    }
}
