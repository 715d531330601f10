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
            .map(|v| (v.key().into_owned(), v.value().into_owned()))
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
fn missing_duplicated_and_malformed_fields_are_named() {
    for (body, field) in [
        (SIGNED.replace("&xml_to=WMZ", ""), "xml_to"),
        (SIGNED.replace("orderUID=104857&", ""), "orderUID"),
    ] {
        match parse(&body) {
            Err(Error::MissingField { field: f }) => assert_eq!(f, field),
            other => panic!("{body}: {other:?}"),
        }
    }
    let dup = format!("{SIGNED}&newStatus=done");
    assert!(matches!(parse(&dup), Err(Error::DuplicateField { field }) if field == "newStatus"));
    let dup_hash = format!("{SIGNED}&hash={HASH}&hash={HASH}");
    assert!(matches!(parse(&dup_hash), Err(Error::DuplicateField { field }) if field == "hash"));
    let dup_tv = format!("{SIGNED}&toValues[0][key]=a&toValues[0][key]=b");
    assert!(
        matches!(parse(&dup_tv), Err(Error::DuplicateField { field }) if field == "toValues[0][key]")
    );
    let nested = SIGNED.replace("newStatus=", "newStatus[x]=");
    assert!(
        matches!(parse(&nested), Err(Error::InvalidField { field, .. }) if field == "newStatus[x]")
    );
    let bad_utf8 = SIGNED.replace("ETH", "%FF");
    assert!(
        matches!(parse(&bad_utf8), Err(Error::InvalidField { field, .. }) if field == "xml_from")
    );
    let scalar_tv = format!("{SIGNED}&toValues=x");
    assert!(
        matches!(parse(&scalar_tv), Err(Error::InvalidField { field, .. }) if field == "toValues")
    );
    let deep_tv = format!("{SIGNED}&toValues[0][a][b]=x");
    assert!(matches!(parse(&deep_tv), Err(Error::MalformedKey { .. })));
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
    assert_eq!(ipn.checksum_in_body(), Some(HASH));
    ipn.verify(&secret()).unwrap();
    // No field: the caller found the checksum in a header.
    let format = IpnFormat {
        checksum_field: None,
        ..Default::default()
    };
    let ipn = UnverifiedIpn::parse_form(SIGNED.as_bytes(), &format).unwrap();
    ipn.verify_checksum(&[secret()], HASH).unwrap();
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
    assert_eq!(ipn.order_uid_raw(), "not-a-number");
    let ipn = ipn.verify(&secret).unwrap();
    assert_eq!(ipn.status(), OrderStatus::Unknown("brandNewStatus".into()));
    assert!(ipn.in_amount().is_err());
    assert_eq!(ipn.in_amount_raw(), "1,5");
    assert_eq!(ipn.out_amount().unwrap().as_str(), "1e-7");
    assert!(ipn.xml_from().is_err());
    assert!(ipn.timestamp_ms().is_err());
    assert_eq!(ipn.event().at_ms, None);
}

#[test]
fn unknown_fields_are_kept_and_unsigned() {
    let body =
        format!("{SIGNED}&hash={HASH}&extraData%5Bref%5D=r%201&future=yes&toValues[0][note]=n");
    let ipn = parse(&body).unwrap().verify(&secret()).unwrap();
    let extra: Vec<_> = ipn.extra().collect();
    assert_eq!(
        extra,
        [
            ("extraData[ref]", "r 1"),
            ("future", "yes"),
            ("toValues[0][note]", "n")
        ]
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
    let dup = r#"{"orderUID":1,"orderUID":2}"#;
    assert!(matches!(
        UnverifiedIpn::parse_json(dup.as_bytes(), &IpnFormat::default()),
        Err(Error::DuplicateField { .. })
    ));
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
fn unbounded_index_limit_never_overflows() {
    // With the index bound off, `toValues[<10+ digits>]` is index `usize::MAX`;
    // a push after it, in a form or a JSON body, must not overflow.
    let format = IpnFormat {
        limits: smartex_core::form::Limits {
            max_index: usize::MAX,
            ..Default::default()
        },
        ..IpnFormat::default()
    };
    let body = format!("{SIGNED}&toValues[9999999999][key]=a&toValues[][key]=b");
    assert!(matches!(
        UnverifiedIpn::parse_form(body.as_bytes(), &format),
        Err(Error::DuplicateField { .. })
    ));
    let body = format!("{SIGNED}&toValues[9999999999][key]=a&toValues[][value]=b");
    let ipn = UnverifiedIpn::parse_form(body.as_bytes(), &format).unwrap();
    assert!(ipn.checksum_in_body().is_none());
    let json = br#"{"orderUID":1,"orderId":"x","newStatus":"new","inAmount":1,"outAmount":1,
        "xml_from":"A","xml_to":"B","timestamp":1,"toValues":[{"key":"wallet"}]}"#;
    let ipn = UnverifiedIpn::parse_json(json, &format).unwrap();
    assert_eq!(ipn.order_uid_raw(), "1");
}
