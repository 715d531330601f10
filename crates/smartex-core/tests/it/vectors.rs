//! The published test vectors and our own, as data files read in a loop.

use serde_json::Value;
use smartex_core::checksum::SignedFields;
use smartex_core::{ApiSecret, IpnSecret, auth};

use crate::data;

#[test]
fn ipn_checksum_vectors() {
    let file: Value = serde_json::from_str(&data("ipn-checksum.json")).unwrap();
    let vectors = file["ipn_checksum"].as_array().unwrap();
    assert!(vectors.len() >= 4, "the docs' vector and our own");
    for v in vectors {
        let f = &v["fields"];
        let s = |k: &str| f[k].as_str().unwrap();
        let fields = SignedFields {
            order_id: s("orderId"),
            new_status: s("newStatus"),
            in_amount: s("inAmount"),
            out_amount: s("outAmount"),
            xml_from: s("xml_from"),
            xml_to: s("xml_to"),
            timestamp: s("timestamp"),
        };
        let secret = IpnSecret::new(v["secret"].as_str().unwrap()).unwrap();
        let name = v["name"].as_str().unwrap();
        assert_eq!(
            fields.signing_string(&secret),
            v["signing_string"].as_str().unwrap(),
            "{name}"
        );
        let expected = v["checksum"].as_str().unwrap();
        assert_eq!(fields.sign(&secret).to_string(), expected, "{name}");
        fields.verify(&secret, expected).unwrap();
        fields.verify(&secret, &expected.to_uppercase()).unwrap();
    }
}

#[test]
fn the_docs_vector_is_in_the_file() {
    let file = data("ipn-checksum.json");
    assert!(file.contains("af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48"));
    let file = data("api-signature.json");
    assert!(file.contains("ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7"));
}

#[test]
fn api_signature_vectors() {
    let file: Value = serde_json::from_str(&data("api-signature.json")).unwrap();
    let vectors = file["api_signature"].as_array().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let secret = ApiSecret::new(v["secret"].as_str().unwrap()).unwrap();
        let body = v["body"].as_str().unwrap();
        assert_eq!(
            auth::request_signature(body.as_bytes(), &secret).as_str(),
            v["hash"].as_str().unwrap(),
            "{}",
            v["name"]
        );
    }
}

#[test]
fn published_api_example_is_reproduced_by_json_with_time() {
    // The profile page's params put `time` first as a number.
    let body = auth::json_with_time(r#"{"param1":"val1"}"#, 123456789);
    assert_eq!(body, r#"{"time":123456789,"param1":"val1"}"#);
    let secret = ApiSecret::new("97aab8410868ba7c1824f490999607c0ce46a3de").unwrap();
    assert_eq!(
        auth::request_signature(body.as_bytes(), &secret).as_str(),
        "ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7"
    );
}

#[test]
fn sample_body_verifies() {
    let body = crate::sample_body();
    assert_eq!(body.len(), 440);
    let ipn = smartex_core::ipn::UnverifiedIpn::parse_form(&body, &Default::default()).unwrap();
    let ipn = ipn.verify(&IpnSecret::new("SECRET123").unwrap()).unwrap();
    assert_eq!(ipn.to_values().count(), 2);
    let email = ipn.to_values().nth(1).unwrap();
    assert_eq!(email.value(), "customer.name@example.com");
}

#[test]
fn constant_time_equality_still_compares() {
    use smartex_core::checksum::Checksum;
    use smartex_core::{OrderSecret, secret::IpnSecret as S};
    let docs = "af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48";
    let a = Checksum::parse_hex("hash", docs).unwrap();
    let b = Checksum::parse_hex("hash", docs.to_uppercase()).unwrap();
    let c = Checksum::parse_hex("hash", docs.replace('a', "b")).unwrap();
    assert!(a == b && a != c);
    assert!(a.to_hex() == b.to_hex() && a.to_hex() != c.to_hex());
    assert_eq!(S::new("SECRET123").unwrap(), S::new("SECRET123").unwrap());
    assert_ne!(S::new("SECRET123").unwrap(), S::new("SECRET124").unwrap());
    assert_ne!(S::new("SECRET123").unwrap(), S::new("SECRET1234").unwrap());
    assert_ne!(
        OrderSecret::new("dGqw").unwrap(),
        OrderSecret::new("dGq").unwrap()
    );
}
