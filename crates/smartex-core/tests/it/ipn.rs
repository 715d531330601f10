//! The IPN model: parsing in every spelling, typed errors, raw values kept.

use smartex_core::ipn::{IpnBody, IpnFormat, UnverifiedIpn};
use smartex_core::{Error, IpnSecret, OrderStatus};

fn secret() -> IpnSecret {
    IpnSecret::new("SECRET123").unwrap()
}

const SIGNED: &str = "orderUID=104857&orderId=5d8e6002b80b7b4cd75a6424&newStatus=inProgress&inAmount=2\
&outAmount=317.42&xml_from=ETH&xml_to=WMZ&timestamp=1571328406072";
const HASH: &str = "af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48";

fn parse(body: &str) -> Result<UnverifiedIpn<'_>, Error> {
    UnverifiedIpn::parse_form(body.as_bytes(), &IpnFormat::default())
}

#[test]
fn every_spelling_of_to_values_reads_the_same() {
    let spellings = [
        "toValues%5B0%5D%5Bkey%5D=wallet&toValues%5B0%5D%5Bvalue%5D=Z%201&toValues%5B1%5D%5Bkey%5D=email&toValues%5B1%5D%5Bvalue%5D=a%40b",
        "toValues[0][key]=wallet&toValues[0][value]=Z+1&toValues[1][key]=email&toValues[1][value]=a@b",
        "toValues[][key]=wallet&toValues[][value]=Z%201&toValues[][key]=email&toValues[][value]=a%40b",
        "toValues%5B%5D%5Bkey%5D=wallet&toValues%5B%5D%5Bvalue%5D=Z+1&toValues%5B%5D%5Bkey%5D=email&toValues%5B%5D%5Bvalue%5D=a%40b",
        "toValues[1][value]=a@b&toValues[0][value]=Z+1&toValues[1][key]=email&toValues[0][key]=wallet",
    ];
    for to_values in spellings {
        let body = format!("hash={HASH}&{to_values}&{SIGNED}");
        let ipn = parse(&body).unwrap().verify(&secret()).unwrap();
        let got: Vec<(String, String)> = ipn
            .to_values()
            .map(|v| (v.key().to_owned(), v.value().to_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("wallet".into(), "Z 1".into()),
                ("email".into(), "a@b".into())
            ],
            "{to_values}"
        );
    }
}

#[test]
fn missing_duplicated_and_malformed_signed_fields_are_named() {
    let missing = SIGNED.replace("&xml_to=WMZ", "");
    assert!(matches!(parse(&missing), Err(Error::MissingField { field }) if field == "xml_to"));
    let dup = format!("{SIGNED}&newStatus=done");
    assert!(matches!(parse(&dup), Err(Error::DuplicateField { field }) if field == "newStatus"));
    // Given twice even with the same value, or in disguise: still refused.
    let same = format!("{SIGNED}&newStatus=inProgress");
    assert!(matches!(parse(&same), Err(Error::DuplicateField { .. })));
    let disguised = format!("{SIGNED}&new%53tatus=done");
    assert!(
        matches!(parse(&disguised), Err(Error::DuplicateField { field }) if field == "newStatus")
    );
    let nested = SIGNED.replace("newStatus=", "newStatus[x]=");
    assert!(
        matches!(parse(&nested), Err(Error::InvalidField { field, .. }) if field == "newStatus[x]")
    );
    let bad_utf8 = SIGNED.replace("ETH", "%FF");
    assert!(
        matches!(parse(&bad_utf8), Err(Error::InvalidField { field, .. }) if field == "xml_from")
    );
    let bad_escape = SIGNED.replace("ETH", "E%ZZ");
    assert!(
        matches!(parse(&bad_escape), Err(Error::InvalidField { field, .. }) if field == "xml_from")
    );
}

/// What the checksum does not cover never refuses a notification: every
/// spelling a Node sender (or anyone in between) may use for `orderUID`,
/// `toValues` or unknown fields leaves it accepted with the same signed values.
#[test]
fn unsigned_fields_never_refuse_a_notification() {
    let odd = [
        "",                                                    // no orderUID, no toValues
        "&orderUID=1&orderUID=2",                              // uid twice, different
        "&orderUID[x]=1",                                      // uid nested
        "&orderUID=%ZZ",                                       // uid badly escaped
        "&toValues=%5Bobject+Object%5D%2C%5Bobject+Object%5D", // URLSearchParams
        "&toValues=",                                          // URLSearchParams, empty list
        "&toValues=&toValues=",                                // querystring
        "&toValues.0.key=wallet&toValues.0.value=Z1",          // qs allowDots
        "&toValues[key]=wallet&toValues[value]=Z1",            // qs indices: false
        "&toValues[0][key]=a&toValues[0][key]=b",              // attribute twice
        "&toValues[0][a][b][c][d][e][f]=x",                    // deep
        "&toValues[99999999999999999999][key]=x",              // huge index
        "&toValues[0]=%5Bobject%20Object%5D",                  // scalar entry
        "&extra=1&extra=2&extra[a][b][c][d][e]=3",             // unknown, repeated, deep
        "&=novalue&novalue&&&",                                // empty name, no value
        "&junk%ZZ=%ZZ&%FF=%FF",                                // bad escapes
        "&toValues[=x&toValues]=y&toValues[a[b]=z",            // malformed brackets
    ];
    let raw_junk: &[u8] = b"&toValues[0][value]=\xff\xfe"; // not UTF-8 at all
    let base = format!(
        "orderId=5d8e6002b80b7b4cd75a6424&newStatus=inProgress&inAmount=2\
        &outAmount=317.42&xml_from=ETH&xml_to=WMZ&timestamp=1571328406072&hash={HASH}"
    );
    let check = |body: &[u8], what: &str| {
        let ipn = UnverifiedIpn::parse_form(body, &IpnFormat::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .verify(&secret())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(ipn.status(), OrderStatus::InProgress, "{what}");
        assert_eq!(ipn.out_amount_raw(), "317.42", "{what}");
        let _ = (ipn.to_values(), ipn.extra().count(), ipn.order_uid());
    };
    for junk in odd {
        check(format!("{base}{junk}").as_bytes(), junk);
        check(format!("{junk}&{base}").as_bytes(), junk);
    }
    let mut body = base.clone().into_bytes();
    body.extend_from_slice(raw_junk);
    check(&body, "raw bytes");
}

#[test]
fn order_uid_is_read_but_never_required() {
    let with = |uid: &str| {
        format!(
            "{}{uid}&hash={HASH}",
            SIGNED.replace("orderUID=104857&", "")
        )
    };
    assert_eq!(
        parse(&with("&orderUID=7"))
            .unwrap()
            .order_uid()
            .unwrap()
            .get(),
        7
    );
    assert_eq!(
        parse(&with("&orderUID=7&orderUID=7"))
            .unwrap()
            .order_uid_raw(),
        Some("7")
    );
    assert!(matches!(
        parse(&with("")).unwrap().order_uid(),
        Err(Error::MissingField { .. })
    ));
    let two = with("&orderUID=7&orderUID=8");
    let ipn = parse(&two).unwrap();
    assert!(matches!(ipn.order_uid(), Err(Error::DuplicateField { .. })));
    assert_eq!(ipn.order_uid_raw(), None);
    ipn.verify(&secret()).unwrap();
    assert!(parse(&with("&orderUID=x")).unwrap().order_uid().is_err());
}

#[test]
fn to_values_says_when_it_could_not_be_structured() {
    let view = |tv: &str| {
        let body = format!("{SIGNED}&hash={HASH}&{tv}");
        let ipn = parse(&body)
            .unwrap()
            .verify(&secret())
            .unwrap()
            .into_owned();
        let v = ipn.to_values();
        let entries: Vec<(String, String, String)> = v
            .entries()
            .iter()
            .map(|e| {
                (
                    e.key().to_owned(),
                    e.name().to_owned(),
                    e.value().to_owned(),
                )
            })
            .collect();
        (v.is_structured(), entries)
    };
    let wallet = ("wallet".to_owned(), String::new(), "Z1".to_owned());
    let email = ("email".to_owned(), String::new(), "a@b".to_owned());
    for structured in [
        "toValues.0.key=wallet&toValues.0.value=Z1&toValues.1.key=email&toValues.1.value=a%40b",
        "toValues[0].key=wallet&toValues[0].value=Z1&toValues[1].key=email&toValues[1].value=a%40b",
        "toValues[key]=wallet&toValues[value]=Z1&toValues[key]=email&toValues[value]=a%40b",
        "toValues[5][key]=wallet&toValues[5][value]=Z1&toValues[70][key]=email&toValues[70][value]=a%40b",
    ] {
        assert_eq!(
            view(structured),
            (true, vec![wallet.clone(), email.clone()]),
            "{structured}"
        );
    }
    // A lone `toValues=`: an empty list, or one entry that `querystring` lost.
    assert_eq!(view("toValues="), (false, vec![]));
    assert_eq!(view("other=1"), (true, vec![]));
    for lost in [
        "toValues=%5Bobject+Object%5D%2C%5Bobject+Object%5D",
        "toValues=&toValues=",
        "toValues[0]=%5Bobject%20Object%5D",
        "toValues[0][a][b]=x",
        "toValues[x][key]=a",
        "toValues[0][key=a",
    ] {
        assert!(!view(lost).0, "{lost}");
    }
    // Ambiguous: the first is kept, and the view says so.
    let (ok, entries) = view("toValues[0][key]=a&toValues[0][key]=b");
    assert!(!ok);
    assert_eq!(entries[0].0, "a");
}

#[test]
fn timestamps_in_seconds_or_milliseconds() {
    use smartex_core::status::Source;
    // A timestamp in seconds stands for its whole second, never for its
    // first millisecond alone.
    for (ts, ms, source) in [
        ("1571328406", 1_571_328_406_000u64, Source::IpnSeconds),
        ("1571328406072", 1_571_328_406_072, Source::Ipn),
    ] {
        let secret = secret();
        let body = IpnBody {
            order_uid: "1",
            signed: smartex_core::checksum::SignedFields {
                order_id: "5d8e6002b80b7b4cd75a6424",
                new_status: "done",
                in_amount: "1",
                out_amount: "2",
                xml_from: "BTC",
                xml_to: "USDT",
                timestamp: ts,
            },
            to_values: &[],
        }
        .to_form(&secret, "hash");
        let ipn = parse(&body).unwrap().verify(&secret).unwrap();
        assert_eq!(ipn.timestamp_ms().unwrap(), ms);
        assert_eq!(ipn.timestamp().unwrap().as_millis(), ms);
        assert_eq!(
            ipn.event()
                .at
                .map(smartex_core::time::UnixMillis::as_millis),
            Some(ms)
        );
        assert_eq!(ipn.event().source, source);
        assert_eq!(
            ipn.event()
                .latest()
                .map(smartex_core::time::UnixMillis::as_millis),
            Some(ms + source.window_ms())
        );
        assert_eq!(ipn.timestamp_raw(), ts); // hashed as received
    }
}

#[test]
fn a_repeated_checksum_verifies_if_one_value_matches() {
    let wrong = HASH.replace('a', "b");
    for hashes in [
        format!("hash={HASH}&hash={wrong}"),
        format!("hash={wrong}&hash={HASH}"),
        format!("hash=junk&hash={HASH}"),
        format!("hash={HASH}&hash={HASH}"),
        format!("h%61sh={HASH}"),
    ] {
        let body = format!("{SIGNED}&{hashes}");
        let ipn = parse(&body).unwrap();
        assert!(ipn.has_checksum());
        let ipn = ipn
            .verify(&secret())
            .unwrap_or_else(|e| panic!("{hashes}: {e}"));
        assert_eq!(ipn.checksum().to_string(), HASH);
    }
    // Never a forgery: no value matches, refused.
    let body = format!("{SIGNED}&hash={wrong}&hash={}", HASH.replace('f', "e"));
    assert!(matches!(
        parse(&body).unwrap().verify(&secret()),
        Err(Error::BadChecksum)
    ));
    let body = format!("{SIGNED}&hash=junk&hash=more");
    assert!(matches!(
        parse(&body).unwrap().verify(&secret()),
        Err(Error::InvalidField { field, .. }) if field == "hash"
    ));
}

#[test]
fn checksum_problems_are_distinct() {
    assert!(matches!(
        parse(SIGNED).unwrap().verify(&secret()),
        Err(Error::MissingChecksum)
    ));
    let short = format!("{SIGNED}&hash=abc");
    assert!(matches!(
        parse(&short).unwrap().verify(&secret()),
        Err(Error::InvalidField { field, .. }) if field == "hash"
    ));
    let wrong = format!("{SIGNED}&hash={}", HASH.replace('a', "b"));
    assert!(matches!(
        parse(&wrong).unwrap().verify(&secret()),
        Err(Error::BadChecksum)
    ));
    let other_secret = IpnSecret::new("SECRET124").unwrap();
    let body = format!("{SIGNED}&hash={HASH}");
    assert!(matches!(
        parse(&body).unwrap().verify(&other_secret),
        Err(Error::BadChecksum)
    ));
    // Rotation: any of several secrets.
    let ipn = parse(&body)
        .unwrap()
        .verify_any(&[other_secret, secret()])
        .unwrap();
    assert_eq!(ipn.status(), OrderStatus::InProgress);
}

#[test]
fn checksum_field_name_is_configurable_or_external() {
    let body = format!("{SIGNED}&signature={HASH}");
    let format = IpnFormat {
        checksum_field: Some("signature"),
        ..Default::default()
    };
    let ipn = UnverifiedIpn::parse_form(body.as_bytes(), &format).unwrap();
    assert!(ipn.has_checksum());
    ipn.verify(&secret()).unwrap();
    // No field: the caller found the checksum in a header.
    let format = IpnFormat {
        checksum_field: None,
        ..Default::default()
    };
    let mut ipn = UnverifiedIpn::parse_form(SIGNED.as_bytes(), &format).unwrap();
    assert!(!ipn.has_checksum());
    assert!(!ipn.add_checksum("junk"), "not 64 hex digits: no candidate");
    assert!(matches!(
        ipn.clone().verify(&secret()),
        Err(Error::MissingChecksum)
    ));
    // Found in two places (a wrong one, and the genuine one in capitals): one matches.
    assert!(ipn.add_checksum(HASH.replace('a', "b")));
    assert!(ipn.add_checksum(HASH.to_ascii_uppercase().as_bytes()));
    ipn.verify(&secret()).unwrap();
}

#[test]
fn typed_views_never_make_a_signed_notification_unreadable() {
    let secret = IpnSecret::new("k").unwrap();
    let fields = IpnBody {
        order_uid: "not-a-number",
        signed: smartex_core::checksum::SignedFields {
            order_id: "not-an-object-id",
            new_status: "brandNewStatus",
            in_amount: "1,5",
            out_amount: "1e-7",
            xml_from: "WEIRD CODE",
            xml_to: "BTC",
            timestamp: "soon",
        },
        to_values: &[],
    };
    let body = fields.to_form(&secret, "hash");
    let ipn = parse(&body).unwrap();
    assert!(ipn.order_uid().is_err() && ipn.order_id().is_err());
    assert_eq!(ipn.order_uid_raw(), Some("not-a-number"));
    let ipn = ipn.verify(&secret).unwrap();
    assert_eq!(ipn.status(), OrderStatus::Unknown("brandNewStatus".into()));
    assert!(ipn.in_amount().is_err());
    assert_eq!(ipn.in_amount_raw(), "1,5");
    assert_eq!(ipn.out_amount().unwrap().as_str(), "1e-7");
    assert!(ipn.xml_from().is_err());
    assert!(ipn.timestamp_ms().is_err());
    assert_eq!(
        ipn.event()
            .at
            .map(smartex_core::time::UnixMillis::as_millis),
        None
    );
}

#[test]
fn unknown_fields_are_kept_and_unsigned() {
    let body = format!(
        "{SIGNED}&hash={HASH}&extraData%5Bref%5D=r%201&future=yes&toValues[0][note]=n&future=again"
    );
    let ipn = parse(&body).unwrap().verify(&secret()).unwrap();
    let extra: Vec<(String, String)> = ipn
        .extra()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        extra,
        pairs(&[
            ("extraData[ref]", "r 1"),
            ("future", "yes"),
            ("future", "again")
        ])
    );
    let unsigned: Vec<(String, String)> = ipn
        .unsigned_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        unsigned,
        pairs(&[
            ("orderUID", "104857"),
            ("extraData[ref]", "r 1"),
            ("future", "yes"),
            ("toValues[0][note]", "n"),
            ("future", "again")
        ])
    );
}

#[test]
fn json_bodies_keep_number_text() {
    let body = format!(
        r#"{{"orderUID":104857,"orderId":"5d8e6002b80b7b4cd75a6424","newStatus":"inProgress","inAmount":2,
        "outAmount":317.42,"xml_from":"ETH","xml_to":"WMZ","timestamp":1571328406072,
        "toValues":[{{"key":"wallet","name":"Wallet","value":"Z1"}}],"hash":"{HASH}"}}"#
    );
    let ipn = UnverifiedIpn::parse_json(body.as_bytes(), &IpnFormat::default()).unwrap();
    let ipn = ipn.verify(&secret()).unwrap();
    assert_eq!(ipn.out_amount_raw(), "317.42");
    assert_eq!(ipn.to_values().next().unwrap().value(), "Z1");
    let dup = body.replace(r#""inAmount":2,"#, r#""inAmount":2,"inAmount":3,"#);
    assert!(matches!(
        UnverifiedIpn::parse_json(dup.as_bytes(), &IpnFormat::default()),
        Err(Error::DuplicateField { .. })
    ));
    // Unsigned members of any shape are kept, never refused.
    let odd = body.replace(
        r#""orderUID":104857,"#,
        r#""orderUID":{"a":1},"toValues":"nope","extra":[1,{"b":null}],"#,
    );
    let ipn = UnverifiedIpn::parse_json(odd.as_bytes(), &IpnFormat::default()).unwrap();
    let ipn = ipn.verify(&secret()).unwrap();
    assert!(ipn.order_uid().is_err());
    assert!(!ipn.to_values().is_structured());
    let extra: Vec<_> = ipn.extra().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(extra, ["extra[0]=1", "extra[1][b]="]);
    assert!(UnverifiedIpn::parse_json(b"<html>", &IpnFormat::default()).is_err());
}

#[test]
fn debug_output_shows_no_secret_or_checksum() {
    let body = format!("{SIGNED}&hash={HASH}&toValues[0][value]=private-wallet");
    let unverified = parse(&body).unwrap();
    let dbg = format!("{unverified:?}");
    assert!(!dbg.contains(HASH) && !dbg.contains("inProgress"), "{dbg}");
    let ipn = unverified.verify(&secret()).unwrap();
    let dbg = format!("{ipn:?}");
    assert!(
        !dbg.contains(HASH) && !dbg.contains("SECRET123") && !dbg.contains("private-wallet"),
        "{dbg}"
    );
    let checksum = ipn.signed_fields().sign(&secret());
    assert_eq!(format!("{checksum:?}"), "Checksum([redacted])");
}

#[test]
fn owned_copies_outlive_the_body() {
    let ipn = {
        let body = format!("{SIGNED}&hash={HASH}&toValues[0][value]=a%20b");
        parse(&body)
            .unwrap()
            .verify(&secret())
            .unwrap()
            .into_owned()
    };
    assert_eq!(ipn.to_values().next().unwrap().value(), "a b");
    let json = serde_json::to_value(&ipn).unwrap();
    assert_eq!(json["newStatus"], "inProgress");
    assert_eq!(json["toValues"][0]["value"], "a b");
}

#[test]
fn unbounded_indices_never_overflow() {
    // `toValues[<20 digits>]` is not an index; a push after the largest
    // index must not overflow either.
    let body = format!(
        "{SIGNED}&hash={HASH}&toValues[999999999999999999][key]=a&toValues[][key]=b&toValues[99999999999999999999][key]=c"
    );
    let ipn = parse(&body).unwrap().verify(&secret()).unwrap();
    let v = ipn.to_values();
    assert!(!v.is_structured());
    assert_eq!(v.len(), 2);
    let json = br#"{"orderUID":1,"orderId":"x","newStatus":"new","inAmount":1,"outAmount":1,
        "xml_from":"A","xml_to":"B","timestamp":1,"toValues":[{"key":"wallet"}]}"#;
    let ipn = UnverifiedIpn::parse_json(json, &IpnFormat::default()).unwrap();
    assert_eq!(ipn.order_uid_raw(), Some("1"));
}

/// Thousands of distinct well-formed checksums (a request rewritten in
/// transit; kept without a quadratic search for repeats) never hide the
/// genuine one, wherever it stands among them: an added value never loses a
/// genuine notification.
#[test]
fn thousands_of_checksum_candidates_never_hide_the_genuine_one() {
    for genuine_first in [true, false] {
        let body = if genuine_first {
            format!("{SIGNED}&hash={HASH}")
        } else {
            SIGNED.to_owned()
        };
        let mut ipn = parse(&body).unwrap();
        for i in 0..6_000u32 {
            assert!(ipn.add_checksum(format!("{i:064x}")));
        }
        ipn.add_checksum(HASH.to_ascii_uppercase());
        assert!(ipn.verify(&secret()).is_ok());
    }
}
