//! Error messages never write raw control characters taken from a request: a
//! `%0A` in a key name must not forge a log line.

use proptest::prelude::*;
use smartex_ipn::{IpnRequest, Receiver};

const SIGNED: &str = "orderUID=104857&orderId=5d8e6002b80b7b4cd75a6424&newStatus=inProgress&inAmount=2\
    &outAmount=317.42&xml_from=ETH&xml_to=WMZ&timestamp=1571328406072\
    &hash=af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48";

#[track_caller]
fn assert_clean(shown: &str) {
    assert!(
        !shown.chars().any(char::is_control),
        "control character in {shown:?}"
    );
}

#[test]
fn an_encoded_newline_in_a_key_is_escaped_in_the_error() {
    let receiver = Receiver::new();
    for extra in [
        "orderId%0AINFO%20forged=1",
        "toValues%0D%0A[=x",
        "new%1B[2JStatus=done",
        "orderId=5d8e6002b80b7b4cd75a6424%0A",
    ] {
        let body = format!("{SIGNED}&{extra}");
        let request = IpnRequest::new("POST", body.as_bytes())
            .content_type("application/x-www-form-urlencoded");
        if let Err(e) = receiver.parse(&request) {
            assert_clean(&e.to_string());
        }
    }
}

proptest! {
    /// Whatever the body, a refusal's message holds no control character.
    #[test]
    fn refusals_display_no_control_characters(
        key in "[a-zA-Z]{0,6}(%0[0-9A-F]|%1[0-9A-F]|%7F|%C2%85|%E2%80%A8|\\[|\\])[a-zA-Z\\[\\]]{0,6}",
        value in "[ -~]{0,12}",
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let receiver = Receiver::new();
        let crafted = format!("{SIGNED}&{key}={value}&{key}={value}");
        for body in [crafted.as_bytes(), &body[..]] {
            let request = IpnRequest::new("POST", body)
                .content_type("application/x-www-form-urlencoded");
            if let Err(e) = receiver.parse(&request) {
                let shown = e.to_string();
                prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
            }
        }
    }
}
