//! The receiver's API, one failure class at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smartex_core::form::Limits;
use smartex_ipn::{
    Answer, ChecksumLocation, Config, ContentTypes, Decision, Error, IpnRequest, IpnSecret,
    KnownStatus, MemoryReplayGuard, OrderStatus, Receiver, ReplayGuard, ReplayKey, UnixMillis,
};

use crate::common::{
    FORM, SECRET, checksum_of, secret, signed_body, signed_body_with, without_hash,
};

const ORDER: &str = "5d8e6002b80b7b4cd75a6424";
const T: u64 = 1_700_000_000_000;
const NOW: UnixMillis = UnixMillis::from_millis(T);
const HOUR: u64 = 3_600_000;

fn form(body: &str) -> IpnRequest<'_> {
    IpnRequest::new("POST", body.as_bytes()).content_type(FORM)
}

fn receive(receiver: &Receiver, request: &IpnRequest<'_>) -> Result<String, Error> {
    receiver
        .receive(request, &secret(), NOW)
        .map(|n| n.status_raw().to_owned())
}

#[test]
fn valid_notification_exposes_the_signed_values() {
    let body = signed_body(ORDER, "inProgress", T);
    let n = Receiver::new()
        .receive(&form(&body), &secret(), NOW)
        .unwrap();
    assert_eq!(n.status(), OrderStatus::InProgress);
    assert_eq!(n.order_id().unwrap().as_str(), ORDER);
    assert_eq!(n.in_amount().unwrap().as_str(), "2");
    assert_eq!(n.timestamp_ms().unwrap(), T);
    let tv: Vec<_> = n.to_values().map(|v| v.value().to_owned()).collect();
    assert_eq!(tv, ["Z123 & co"]);
    assert_eq!(
        smartex_ipn::transition(None, &n.event()).decision,
        Decision::Apply
    );
    let known = KnownStatus {
        status: OrderStatus::Done,
        at: Some(smartex_core::time::UnixMillis::from_millis(T + 1)),
        source: smartex_core::status::Source::Ipn,
        last_signed: None,
    };
    assert_eq!(
        smartex_ipn::transition(Some(&known), &n.event()).decision,
        Decision::Stale
    );
    let owned = n.into_owned();
    assert_eq!(owned.status_raw(), "inProgress");
}

#[test]
fn wrong_method_and_configured_methods() {
    let body = signed_body(ORDER, "done", T);
    let get = IpnRequest::new("GET", body.as_bytes()).content_type(FORM);
    let err = Receiver::new().parse(&get).unwrap_err();
    assert_eq!(err, Error::WrongMethod { allowed: &["POST"] });
    let post_lower = IpnRequest::new("post", body.as_bytes()).content_type(FORM);
    assert!(matches!(
        Receiver::new().parse(&post_lower),
        Err(Error::WrongMethod { .. })
    ));
    let put = IpnRequest::new("PUT", body.as_bytes()).content_type(FORM);
    let receiver = Receiver::with_config(Config::default().methods(&["POST", "PUT"]));
    assert!(receiver.parse(&put).is_ok());
    let answer = Receiver::new().parse(&put).unwrap_err().answer();
    assert_eq!(
        (answer.status, answer.allow_header().as_deref()),
        (405, Some("POST"))
    );
}

#[test]
fn body_size_limit() {
    let body = signed_body(ORDER, "done", T);
    let receiver = Receiver::with_config(Config::default().max_body(body.len()));
    assert!(receiver.parse(&form(&body)).is_ok());
    let longer = format!("{body}&");
    assert_eq!(
        receiver.parse(&form(&longer)).unwrap_err(),
        Error::TooLarge { max: body.len() }
    );
    let huge = format!("{body}&pad={}", "x".repeat(64 * 1024));
    let err = Receiver::new().parse(&form(&huge)).unwrap_err();
    assert_eq!(err, Error::TooLarge { max: 64 * 1024 });
    assert_eq!(err.answer().status, 413);
}

#[test]
fn content_types() {
    let body = signed_body(ORDER, "done", T);
    let r = Receiver::new();
    let with = |ct: &'static str| IpnRequest::new("POST", body.as_bytes()).content_type(ct);
    assert!(
        r.parse(&with("application/x-www-form-urlencoded; charset=UTF-8"))
            .is_ok()
    );
    assert!(r.parse(&with("APPLICATION/X-WWW-FORM-URLENCODED")).is_ok());
    for wrong in [
        "text/plain",
        "application/json",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "",
    ] {
        let err = r.parse(&with(wrong)).unwrap_err();
        assert!(
            matches!(err, Error::WrongContentType { .. }),
            "{wrong}: {err:?}"
        );
        assert_eq!(err.answer().status, 415);
    }
    let bytes = IpnRequest::new("POST", body.as_bytes()).content_type_bytes(b"\xffapplication");
    assert!(matches!(
        r.parse(&bytes),
        Err(Error::WrongContentType { .. })
    ));

    // From the headers: exactly one Content-Type.
    let one = [("content-type", FORM)];
    assert!(
        r.parse(&IpnRequest::new("POST", body.as_bytes()).headers(&one))
            .is_ok()
    );
    let two = [("Content-Type", FORM), ("content-type", FORM)];
    let err = r
        .parse(&IpnRequest::new("POST", body.as_bytes()).headers(&two))
        .unwrap_err();
    assert!(matches!(err, Error::WrongContentType { .. }));
    // Missing: refused unless configured.
    let none = IpnRequest::new("POST", body.as_bytes());
    assert!(matches!(
        r.parse(&none),
        Err(Error::WrongContentType { .. })
    ));
    let lenient = Receiver::with_config(Config::default().content_types(ContentTypes {
        missing_as_form: true,
        ..ContentTypes::default()
    }));
    assert!(lenient.parse(&none).is_ok());
    // The explicit content type wins over the headers.
    let text = [("content-type", "text/plain")];
    let explicit = IpnRequest::new("POST", body.as_bytes())
        .headers(&text)
        .content_type(FORM);
    assert!(r.parse(&explicit).is_ok());
}

#[test]
fn json_bodies_only_when_allowed() {
    let hash = checksum_of(&signed_body(ORDER, "done", T));
    let json = format!(
        r#"{{"orderUID":104857,"orderId":"{ORDER}","newStatus":"done","inAmount":2,"outAmount":"317.42","xml_from":"ETH","xml_to":"WMZ","timestamp":{T},"toValues":[{{"key":"wallet","name":"Wallet","value":"Z123 & co"}}],"hash":"{hash}"}}"#
    );
    let request = IpnRequest::new("POST", json.as_bytes()).content_type("application/json");
    let err = Receiver::new().parse(&request).unwrap_err();
    assert_eq!(
        err,
        Error::WrongContentType {
            expected: "application/x-www-form-urlencoded"
        }
    );
    let receiver = Receiver::with_config(Config::default().allow_json());
    assert_eq!(receive(&receiver, &request).unwrap(), "done");
    // A form body is still accepted.
    let body = signed_body(ORDER, "new", T);
    assert_eq!(receive(&receiver, &form(&body)).unwrap(), "new");
    // Repeated keys in JSON are refused too.
    let repeated = json.replacen('{', r#"{"newStatus":"new","#, 1);
    let request = IpnRequest::new("POST", repeated.as_bytes()).content_type("application/json");
    let err = receiver.parse(&request).unwrap_err();
    assert_eq!(err.field(), Some("newStatus"), "{err:?}");
    let broken = IpnRequest::new("POST", b"{").content_type("application/json");
    assert!(matches!(receiver.parse(&broken), Err(Error::Malformed(_))));
}

#[test]
fn malformed_bodies_name_the_field() {
    let body = signed_body(ORDER, "done", T);
    let cases = [
        (body.replace("xml_to=WMZ&", ""), "xml_to"),
        (format!("newStatus=new&{body}"), "newStatus"),
        (body.replace("inAmount=2", "inAmount=%FF"), "inAmount"),
        (body.replace("orderId=", "orderId[0]="), "orderId[0]"),
    ];
    for (bad, field) in &cases {
        let err = Receiver::new().parse(&form(bad)).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{field}: {err:?}");
        assert_eq!(err.field(), Some(*field), "{err:?}");
        assert_eq!(err.answer().status, 400);
    }
    // Decoder bounds.
    let tight = Config::default().limits(Limits {
        max_pairs: 5,
        ..Limits::default()
    });
    let err = Receiver::with_config(tight)
        .parse(&form(&body))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed(smartex_core::Error::LimitExceeded { .. })
        ),
        "{err:?}"
    );
    // A correctly signed but non-numeric timestamp, with the window on.
    let weird = signed_body_ts(ORDER, "done", "soon");
    let err = Receiver::new()
        .receive(&form(&weird), &secret(), NOW)
        .unwrap_err();
    assert_eq!(err.field(), Some("timestamp"));
}

fn signed_body_ts(order_id: &str, status: &str, ts: &str) -> String {
    smartex_core::ipn::IpnBody {
        order_uid: "1",
        signed: smartex_core::checksum::SignedFields {
            order_id,
            new_status: status,
            in_amount: "2",
            out_amount: "3",
            xml_from: "BTC",
            xml_to: "ETH",
            timestamp: ts,
        },
        to_values: &[],
    }
    .to_form(&secret(), "hash")
}

#[test]
fn checksum_missing_malformed_or_wrong() {
    let body = signed_body(ORDER, "done", T);
    let r = Receiver::new();
    assert_eq!(
        r.parse(&form(&without_hash(&body))).unwrap_err(),
        Error::MissingChecksum
    );
    let short = body.replace(&checksum_of(&body), "abc");
    assert!(matches!(
        r.parse(&form(&short)).unwrap_err(),
        Error::MalformedChecksum { .. }
    ));
    let not_hex = body.replace(&checksum_of(&body), &"g".repeat(64));
    assert!(matches!(
        r.parse(&form(&not_hex)).unwrap_err(),
        Error::MalformedChecksum { .. }
    ));
    let upper = body.replace(&checksum_of(&body), &checksum_of(&body).to_uppercase());
    assert!(r.receive(&form(&upper), &secret(), NOW).is_ok());
    let wrong = IpnSecret::new("wrong").unwrap();
    assert_eq!(
        r.receive(&form(&body), &wrong, NOW).unwrap_err(),
        Error::BadChecksum
    );
    let tampered = body.replace("outAmount=317.42", "outAmount=317.420");
    assert_eq!(
        receive(&r, &form(&tampered)).unwrap_err(),
        Error::BadChecksum
    );
    for e in [Error::MissingChecksum, Error::BadChecksum] {
        assert_eq!(e.answer().status, 401);
    }
}

#[test]
fn secrets_one_several_or_unknown_order() {
    let old = IpnSecret::new("old secret").unwrap();
    let new = IpnSecret::new("new secret").unwrap();
    let body = signed_body_with(ORDER, "done", T, &new, "hash");
    let r = Receiver::new().without_replay_guard();
    let parsed = || r.parse(&form(&body)).unwrap();
    assert!(r.verify(parsed(), &[old.clone(), new.clone()], NOW).is_ok());
    assert!(
        r.verify(parsed(), &vec![new.clone(), old.clone()], NOW)
            .is_ok()
    );
    assert!(r.verify(parsed(), &Some(new.clone()), NOW).is_ok());
    assert_eq!(
        r.verify(parsed(), &old, NOW).unwrap_err(),
        Error::BadChecksum
    );
    assert_eq!(
        r.verify(parsed(), &None::<IpnSecret>, NOW).unwrap_err(),
        Error::UnknownOrder
    );
    assert_eq!(
        r.verify(parsed(), &Vec::<IpnSecret>::new(), NOW)
            .unwrap_err(),
        Error::BadChecksum
    );
    assert_eq!(Error::UnknownOrder.answer().status, 404);
    // The lookup may be async: parse, await, verify.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let verified = rt.block_on(async {
        let parsed = r.parse(&form(&body))?;
        assert_eq!(parsed.order_uid().unwrap().get(), 104_857);
        let secret = async { (parsed.order_id_raw() == ORDER).then(|| new.clone()) }.await;
        r.verify(parsed, &secret, NOW)
    });
    assert_eq!(verified.unwrap().status_raw(), "done");
}

#[test]
fn checksum_locations() {
    let body = signed_body(ORDER, "done", T);
    let hash = checksum_of(&body);
    let bare = without_hash(&body);
    let all = Receiver::with_config(Config::default().checksum_in([
        ChecksumLocation::body_field("hash"),
        ChecksumLocation::query_param("sig"),
        ChecksumLocation::header("X-Hash"),
    ]))
    .without_replay_guard();
    let ok = |req: IpnRequest<'_>| all.receive(&req, &secret(), NOW).map(|_| ());

    // Each place alone.
    let q = format!("a=1&sig={hash}");
    ok(form(&bare).query(&q)).unwrap();
    let h = [("x-hash", hash.as_str())];
    ok(form(&bare).headers(&h)).unwrap();
    ok(form(&bare).checksum(&hash)).unwrap();
    // Several places agreeing (case does not matter).
    let upper = hash.to_uppercase();
    let h2 = [("X-Hash", upper.as_str()), ("X-HASH", hash.as_str())];
    ok(form(&body).query(&q).headers(&h2).checksum(&hash)).unwrap();
    // Places that differ: each value is a candidate; one that matches is
    // enough (a value added in transit never loses a genuine notification),
    // none matching is a bad checksum (never a forgery).
    let other = checksum_of(&signed_body(ORDER, "done", T + 1));
    let qo = format!("sig={other}");
    ok(form(&body).query(&qo)).unwrap();
    let ho = [("X-Hash", other.as_str()), ("X-Hash", hash.as_str())];
    ok(form(&bare).headers(&ho)).unwrap();
    ok(form(&body).checksum(&other)).unwrap();
    let twice = format!("{body}&hash={other}");
    ok(form(&twice)).unwrap();
    let only_other = [("X-Hash", other.as_str())];
    assert_eq!(
        ok(form(&bare).headers(&only_other).checksum(&other)).unwrap_err(),
        Error::BadChecksum
    );
    // A malformed value beside a good one is not a reason to refuse.
    let hm: [(&str, &[u8]); 2] = [("X-Hash", b"junk"), ("X-Hash", hash.as_bytes())];
    ok(form(&bare).headers(&hm)).unwrap();
    // Not 64 hex digits, in any place.
    let hb: [(&str, &[u8]); 1] = [("X-Hash", b"\xff\xfe")];
    assert!(matches!(
        ok(form(&bare).headers(&hb)),
        Err(Error::MalformedChecksum { .. })
    ));
    assert!(matches!(
        ok(form(&bare).query("sig=zz")),
        Err(Error::MalformedChecksum { .. })
    ));
    // A repeated query parameter is one more candidate; a nested one
    // (`sig[0]`) is not the checksum: ignored, as junk never refuses.
    let rep = format!("sig={hash}&sig={hash}&sig={other}");
    ok(form(&bare).query(&rep)).unwrap();
    let nested = format!("sig[0]={hash}");
    assert_eq!(
        ok(form(&bare).query(&nested)).unwrap_err(),
        Error::MissingChecksum
    );
    let junk = format!("sig[0]=x&%ZZ&a[=1&b]]=2&=&&sig={hash}");
    ok(form(&bare).query(&junk)).unwrap();
    // Nowhere.
    assert_eq!(
        ok(form(&bare).query("a=1")).unwrap_err(),
        Error::MissingChecksum
    );

    // Only a caller-supplied checksum: the body's `hash` is then an ordinary
    // (unsigned) extra field and does not count.
    let supplied_only = Receiver::with_config(Config::default().checksum_in([]));
    assert_eq!(
        supplied_only.parse(&form(&body)).unwrap_err(),
        Error::MissingChecksum
    );
    assert!(
        supplied_only
            .receive(&form(&body).checksum(&hash), &secret(), NOW)
            .is_ok()
    );
    // A body field with another name.
    let sig_body = signed_body_with(ORDER, "done", T, &secret(), "signature");
    let sig = Receiver::with_config(
        Config::default().checksum_in([ChecksumLocation::body_field("signature")]),
    );
    assert!(sig.receive(&form(&sig_body), &secret(), NOW).is_ok());
}

#[test]
fn timestamp_window_edges() {
    let r = Receiver::new().without_replay_guard();
    let at = |now: u64| {
        let body = signed_body(ORDER, "done", T);
        r.receive(&form(&body), &secret(), UnixMillis::from_millis(now))
            .map(|_| ())
    };
    assert!(at(T).is_ok());
    // A timestamp sent in seconds is the same instant, inside the window.
    let secs = signed_body(ORDER, "done", T / 1000);
    let n = r.receive(&form(&secs), &secret(), NOW).unwrap();
    assert_eq!(n.timestamp_ms().unwrap(), T);
    let late = UnixMillis::from_millis(T + 25 * HOUR);
    assert!(matches!(
        r.receive(&form(&secs), &secret(), late),
        Err(Error::TooOld { age_ms, .. }) if age_ms == 25 * HOUR
    ));
    assert!(at(T + 24 * HOUR).is_ok());
    assert_eq!(
        at(T + 24 * HOUR + 1).unwrap_err(),
        Error::TooOld {
            age_ms: 24 * HOUR + 1,
            max_age_ms: 24 * HOUR
        }
    );
    assert!(at(T - 5 * 60_000).is_ok());
    assert_eq!(
        at(T - 5 * 60_000 - 1).unwrap_err(),
        Error::InTheFuture {
            ahead_ms: 5 * 60_000 + 1,
            max_ahead_ms: 5 * 60_000
        }
    );
    assert_eq!(at(0).unwrap_err().answer().status, 422);
    assert_eq!(at(u64::MAX).unwrap_err().answer().status, 422);

    let narrow = Receiver::with_config(
        Config::default().timestamp_window(Duration::from_secs(60), Duration::ZERO),
    );
    let body = signed_body(ORDER, "done", T);
    assert!(matches!(
        narrow.receive(&form(&body), &secret(), UnixMillis::from_millis(T + 60_001)),
        Err(Error::TooOld { .. })
    ));
    assert!(matches!(
        narrow.receive(&form(&body), &secret(), UnixMillis::from_millis(T - 1)),
        Err(Error::InTheFuture { .. })
    ));

    let any = Receiver::with_config(Config::default().danger_accept_any_timestamp());
    assert!(
        any.receive(&form(&body), &secret(), UnixMillis::from_millis(0))
            .is_ok()
    );
    let weird = signed_body_ts(ORDER, "done", "not a number");
    assert!(any.receive(&form(&weird), &secret(), NOW).is_ok());
}

#[test]
fn replays_are_caught_and_answered_as_duplicates() {
    let body = signed_body(ORDER, "done", T);
    let r = Receiver::new();
    assert!(r.receive(&form(&body), &secret(), NOW).is_ok());
    let err = r.receive(&form(&body), &secret(), NOW).unwrap_err();
    assert!(matches!(err, Error::Replayed { .. }), "{err:?}");
    assert!(err.is_duplicate());
    assert_eq!(err.answer(), Answer::DUPLICATE);
    // Clones share the guard; a replay with the checksum moved to a header is
    // the same notification.
    let clone = r.clone();
    let h = [("X-Hash", checksum_of(&body))];
    let moved = Receiver::clone(&clone);
    assert!(matches!(
        moved
            .receive(&form(&body).headers(&h), &secret(), NOW)
            .unwrap_err(),
        Error::Replayed { .. }
    ));
    // Without a guard, a repeat is verified again (the tracker says Duplicate).
    let open = Receiver::new().without_replay_guard();
    assert!(open.receive(&form(&body), &secret(), NOW).is_ok());
    assert!(open.receive(&form(&body), &secret(), NOW).is_ok());
    // Forgotten after a failed processing: accepted once more.
    let n = open.receive(&form(&body), &secret(), NOW).unwrap();
    r.forget(&n);
    assert!(r.receive(&form(&body), &secret(), NOW).is_ok());
    assert!(matches!(
        r.receive(&form(&body), &secret(), NOW).unwrap_err(),
        Error::Replayed { .. }
    ));
    // A refused notification is not remembered.
    let fresh = Receiver::new();
    let wrong = IpnSecret::new("wrong").unwrap();
    assert!(fresh.receive(&form(&body), &wrong, NOW).is_err());
    assert!(fresh.receive(&form(&body), &secret(), NOW).is_ok());
}

#[test]
fn a_byte_identical_stale_resend_is_answered_stale() {
    let r = Receiver::new();
    // waitPayment, then done; then the waitPayment notification again,
    // byte for byte.
    let wait = signed_body(ORDER, "waitPayment", T);
    let done = signed_body(ORDER, "done", T + 60_000);
    let mut known: Option<KnownStatus> = None;
    for body in [&wait, &done] {
        let n = r.receive(&form(body), &secret(), NOW).unwrap();
        assert_eq!(
            smartex_ipn::transition(known.as_ref(), &n.event()).decision,
            Decision::Apply
        );
        known = Some(KnownStatus::after(known.as_ref(), &n.event()));
    }
    let err = r.receive(&form(&wait), &secret(), NOW).unwrap_err();
    assert_eq!(err.replayed_order_id(), Some(ORDER));
    let Error::Replayed { event, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(event.status, OrderStatus::WaitPayment);
    assert_eq!(err.answer_knowing(known.as_ref()), Answer::STALE);
    // The latest one again is a duplicate; so is any replay when nothing is
    // known, and whatever `answer` says without the stored status.
    let again = r.receive(&form(&done), &secret(), NOW).unwrap_err();
    assert_eq!(again.answer_knowing(known.as_ref()), Answer::DUPLICATE);
    assert_eq!(err.answer_knowing(None), Answer::DUPLICATE);
    assert_eq!(err.answer(), Answer::DUPLICATE);
    // Other errors are answered as always.
    let bad = r
        .receive(&form(&wait), &IpnSecret::new("wrong").unwrap(), NOW)
        .unwrap_err();
    assert_eq!(bad.replayed_order_id(), None);
    assert_eq!(bad.answer_knowing(known.as_ref()), bad.answer());
}

#[test]
fn a_shared_store_can_back_the_replay_guard() {
    #[derive(Default)]
    struct Store {
        keys: Mutex<Vec<String>>,
        calls: AtomicUsize,
    }
    impl ReplayGuard for Store {
        fn first_sight(&self, key: &ReplayKey) -> bool {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut keys = self.keys.lock().unwrap();
            let k = key.storage_key();
            if keys.contains(&k) {
                return false;
            }
            keys.push(k);
            true
        }
    }
    let store = Arc::new(Store::default());
    let server_a = Receiver::new().with_replay_guard(Arc::clone(&store));
    let server_b = Receiver::new().with_replay_guard(Arc::clone(&store));
    let body = signed_body(ORDER, "done", T);
    let n = server_a.receive(&form(&body), &secret(), NOW).unwrap();
    assert_eq!(ReplayKey::of(&n).status(), "done");
    assert_eq!(ReplayKey::of(&n).order_id(), ORDER);
    assert_eq!(ReplayKey::of(&n).timestamp(), T.to_string());
    assert!(matches!(
        server_b.receive(&form(&body), &secret(), NOW).unwrap_err(),
        Error::Replayed { .. }
    ));
    assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    // Another status of the same order at the same time is another key.
    let other = signed_body(ORDER, "inProgress", T);
    assert!(server_b.receive(&form(&other), &secret(), NOW).is_ok());

    // The in-memory guard is bounded.
    let small = Arc::new(MemoryReplayGuard::new(1));
    let r = Receiver::new().with_replay_guard(Arc::clone(&small));
    let a = signed_body(ORDER, "done", T);
    let b = signed_body(ORDER, "done", T + 1);
    assert!(r.receive(&form(&a), &secret(), NOW).is_ok());
    assert!(r.receive(&form(&b), &secret(), NOW).is_ok());
    assert_eq!(small.len(), 1);
    assert!(
        r.receive(&form(&a), &secret(), NOW).is_ok(),
        "forgotten, so verified again"
    );
}

/// Every refusal, its documented answer, and no secret or expected checksum
/// in any message or `Debug`.
#[test]
fn errors_answers_and_redaction() {
    let body = signed_body(ORDER, "done", T);
    let expected_checksum = checksum_of(&body);
    let r = Receiver::new();
    let other = IpnSecret::new("other").unwrap();
    let bad = signed_body_with(ORDER, "done", T, &other, "hash");
    let first = r.receive(&form(&body), &secret(), NOW).unwrap();
    let errors = [
        (r.receive(&form(&body), &secret(), NOW).unwrap_err(), 200),
        (r.parse(&IpnRequest::new("GET", b"")).unwrap_err(), 405),
        (
            r.parse(&IpnRequest::new("POST", body.as_bytes()))
                .unwrap_err(),
            415,
        ),
        (
            Receiver::with_config(Config::default().max_body(3))
                .parse(&form(&body))
                .unwrap_err(),
            413,
        ),
        (
            r.parse(&form(&body.replace("orderId=", "x="))).unwrap_err(),
            400,
        ),
        (r.parse(&form(&without_hash(&body))).unwrap_err(), 401),
        (
            r.parse(&form(&body.replace(&expected_checksum, "1")))
                .unwrap_err(),
            401,
        ),
        (r.receive(&form(&bad), &secret(), NOW).unwrap_err(), 401),
        (
            r.receive(&form(&body), &None::<IpnSecret>, NOW)
                .unwrap_err(),
            404,
        ),
        (
            r.receive(
                &form(&body),
                &secret(),
                UnixMillis::from_millis(T + 25 * HOUR),
            )
            .unwrap_err(),
            422,
        ),
        (
            r.receive(&form(&body), &secret(), UnixMillis::from_millis(T - HOUR))
                .unwrap_err(),
            422,
        ),
    ];
    let mut seen = std::collections::HashSet::new();
    for (err, status) in &errors {
        assert_eq!(err.answer().status, *status, "{err:?}");
        assert!(!err.answer().body.is_empty());
        seen.insert(std::mem::discriminant(err));
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(&expected_checksum), "{text}");
            assert!(!text.to_lowercase().contains(&checksum_of(&bad)), "{text}");
        }
    }
    assert_eq!(seen.len(), errors.len(), "one variant per class");
    // Parsed and verified notifications do not print the checksum or requisites.
    let parsed = r.parse(&form(&body)).unwrap();
    let text = format!("{parsed:?}");
    assert!(
        text.contains(ORDER) && !text.contains(&expected_checksum),
        "{text}"
    );
    let n = first;
    let text = format!("{n:?} {:?} {:?}", ReplayKey::of(&n), form(&body));
    assert!(
        !text.contains(&expected_checksum) && !text.contains("Z123"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn answers_for_decisions() {
    let answers = [
        (Decision::Apply, 200, "OK"),
        (Decision::Duplicate, 200, "OK: duplicate"),
        (Decision::Stale, 200, "OK: stale, ignored"),
        (
            Decision::Unexpected { reason: "final" },
            202,
            "Accepted: held for review",
        ),
    ];
    for (decision, status, body) in answers {
        let a = Answer::for_decision(&decision);
        assert_eq!(
            (a.status, a.body, a.allow),
            (status, body, None),
            "{decision:?}"
        );
        assert!(a.is_success());
        assert_eq!(Answer::from(&decision), a);
    }
    let ok: Result<Decision, Error> = Ok(Decision::Stale);
    assert_eq!(Answer::for_result(&ok, Clone::clone), Answer::STALE);
    let err: Result<Decision, Error> = Err(Error::BadChecksum);
    assert_eq!(Answer::for_result(&err, Clone::clone).status, 401);
    assert!(!Answer::from(&Error::BadChecksum).is_success());
}

#[cfg(feature = "http")]
#[test]
fn http_request_and_response() {
    let body = signed_body(ORDER, "done", T);
    let hash = checksum_of(&body);
    let request = http::Request::post(format!("/ipn?hash={hash}"))
        .header("content-type", FORM)
        .header("x-hash", &hash)
        .body(without_hash(&body).into_bytes())
        .unwrap();
    let r = Receiver::with_config(Config::default().checksum_in([
        ChecksumLocation::query_param("hash"),
        ChecksumLocation::header("X-Hash"),
    ]));
    let n = r
        .receive(&IpnRequest::from(&request), &secret(), NOW)
        .unwrap();
    assert_eq!(n.status_raw(), "done");
    drop(n);
    let (parts, bytes) = request.into_parts();
    let again = IpnRequest::from_http_parts(&parts, &bytes);
    assert!(matches!(
        r.receive(&again, &secret(), NOW).unwrap_err(),
        Error::Replayed { .. }
    ));

    let response = Answer::for_error(&Error::WrongMethod {
        allowed: &["POST", "PUT"],
    })
    .to_http_response();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST, PUT");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let response: http::Response<&str> = Answer::HELD.into();
    assert_eq!(
        (response.status().as_u16(), *response.body()),
        (202, "Accepted: held for review")
    );
}
