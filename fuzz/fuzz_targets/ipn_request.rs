//! A whole IPN request through smartex-ipn — method, content type, query
//! string, headers, body — parsed and verified: a refusal with a documented
//! answer, never a panic.
//!
//! Input layout: one flags byte, then up to five parts separated by 0xFF
//! bytes: body, query string, `X-Hash` header, `Content-Type` header, a
//! caller-supplied checksum. Missing parts are absent. A seed that is a flags
//! byte followed by a form body is a plain POST of that body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartex_ipn::{
    ChecksumLocation, Config, ContentTypes, Error, IpnRequest, IpnSecret, Receiver, ReplayKey,
};

/// The secret the seed corpus is signed with.
const SECRET: &str = "SECRET123";

/// Flag bits.
const GET: u8 = 1; // the method is GET instead of POST
const JSON: u8 = 2; // JSON bodies are allowed
const ANY_TIME: u8 = 4; // no timestamp window
const NO_CT_OK: u8 = 8; // a missing Content-Type means a form
const NO_GUARD: u8 = 16; // no replay guard

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(5, |&b| b == 0xFF);
    let body = parts.next().unwrap_or_default();
    let query = parts.next().map(String::from_utf8_lossy);
    let header_hash = parts.next();
    let content_type = parts.next();
    let supplied = parts.next().map(String::from_utf8_lossy);

    let mut config = Config::default()
        .checksum_in([
            ChecksumLocation::body_field("hash"),
            ChecksumLocation::query_param("hash"),
            ChecksumLocation::header("X-Hash"),
        ])
        .content_types(ContentTypes {
            form: true,
            json: flags & JSON != 0,
            missing_as_form: flags & NO_CT_OK != 0,
        });
    if flags & ANY_TIME != 0 {
        config = config.danger_accept_any_timestamp();
    }
    let mut receiver = Receiver::with_config(config);
    if flags & NO_GUARD != 0 {
        receiver = receiver.without_replay_guard();
    }

    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    if let Some(h) = header_hash {
        headers.push(("X-Hash", h));
    }
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    let method = if flags & GET != 0 { "GET" } else { "POST" };
    let mut request = IpnRequest::new(method, body).headers(&headers);
    if content_type.is_none() && flags & NO_CT_OK == 0 {
        request = request.content_type("application/x-www-form-urlencoded");
    }
    if let Some(q) = &query {
        request = request.query(q);
    }
    if let Some(s) = &supplied {
        request = request.checksum(s);
    }

    let Ok(secret) = IpnSecret::new(SECRET) else {
        return;
    };
    let now = smartex_ipn::UnixMillis::from_millis(1_571_328_406_072 + 60_000);
    match receiver.parse(&request) {
        Err(e) => check_refusal(&e, data),
        Ok(parsed) => {
            let _ = (parsed.order_id(), parsed.order_uid(), format!("{parsed:?}"));
            match receiver.verify(parsed, &secret, now) {
                Err(e) => check_refusal(&e, data),
                Ok(ipn) => {
                    // Verified: the typed views never panic, and a second
                    // receipt is a replay unless the guard is off.
                    let _ = (
                        ipn.status(),
                        ipn.in_amount(),
                        ipn.out_amount(),
                        ipn.timestamp_ms(),
                    );
                    let _ = (
                        ipn.xml_from(),
                        ipn.xml_to(),
                        smartex_ipn::transition(None, &ipn.event()),
                        ReplayKey::of(&ipn).storage_key(),
                    );
                    for v in ipn.to_values() {
                        let _ = (v.key(), v.name(), v.value());
                    }
                    let again = receiver.receive(&request, &secret, now);
                    if flags & NO_GUARD == 0 {
                        assert!(
                            matches!(&again, Err(Error::Replayed { order_id, event })
                                if order_id == ipn.order_id_raw() && *event == ipn.event()),
                            "{again:?}"
                        );
                    } else {
                        assert!(again.is_ok(), "{again:?}");
                    }
                    let _ = ipn.into_owned();
                }
            }
        }
    }
});

/// A refusal has a documented answer, and its message never shows the
/// secret (unless the sender put that text in the request itself: messages
/// name offending keys, which are the sender's own text).
fn check_refusal(e: &Error, input: &[u8]) {
    let answer = e.answer();
    assert!(
        matches!(answer.status, 200 | 400 | 401 | 404 | 405 | 413 | 415 | 422),
        "{e:?} → {answer:?}"
    );
    assert_eq!(answer.status == 200, e.is_duplicate());
    if !input.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()) {
        let text = format!("{e} {e:?}");
        assert!(!text.contains(SECRET), "{text}");
    }
}
