//! Derived per-order IPN secrets: the known-answer vectors, and the property
//! that makes a forged reference useless.

use serde_json::Value;
use smartex_core::checksum::SignedFields;
use smartex_core::derived::{IpnUrlTemplate, MasterKey, MasterKeys, Reference};

use crate::data;

#[test]
fn derived_secret_vectors() {
    let file: Value = serde_json::from_str(&data("derived-secrets.json")).unwrap();
    let vectors = file["derived_secrets"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap();
        let key = MasterKey::from_hex(s("key_id"), s("master_key_hex")).unwrap();
        let reference = Reference::new(s("reference")).unwrap();
        assert_eq!(
            key.ipn_secret(&reference).expose(),
            s("ipn_secret"),
            "{}",
            s("reference")
        );
        let template =
            IpnUrlTemplate::with_param(s("base_url").to_owned(), s("param").to_owned()).unwrap();
        let url = template.url_for(&reference).unwrap();
        assert_eq!(url, s("ipn_url"));
        assert!(url.chars().count() <= 200);
        let (_, query) = url.split_once('?').unwrap();
        assert_eq!(template.reference_from_query(query).unwrap(), reference);
    }
}

fn fields<'a>(order_id: &'a str, status: &'a str) -> SignedFields<'a> {
    SignedFields {
        order_id,
        new_status: status,
        in_amount: "2",
        out_amount: "317.42",
        xml_from: "ETH",
        xml_to: "WMZ",
        timestamp: "1571328406072",
    }
}

#[test]
fn only_the_reference_the_platform_signed_for_verifies() {
    let keys = MasterKeys::new(MasterKey::new("k2", [2u8; 32]).unwrap())
        .with_previous(MasterKey::new("k1", [1u8; 32]).unwrap());
    let ours = Reference::new("order-1").unwrap();
    // The platform signs with the secret we gave it at create (old key here).
    let given = keys.get("k1").unwrap().ipn_secret(&ours);
    let signed = fields("5d8e6002b80b7b4cd75a6424", "done");
    let checksum = signed.sign(&given).to_string();

    // At receipt, the secrets of every key for the reference in the query.
    let verifies = |reference: &Reference| {
        keys.ipn_secrets(reference)
            .iter()
            .any(|s| signed.verify(s, &checksum).is_ok())
    };
    assert!(verifies(&ours));
    // The same genuine notification under another reference does not verify.
    assert!(!verifies(&Reference::new("order-2").unwrap()));
    // A notification signed with a secret guessed without the master key does not.
    let guessed = smartex_core::IpnSecret::new("order-1").unwrap();
    let forged = signed.sign(&guessed).to_string();
    assert!(
        !keys
            .ipn_secrets(&ours)
            .iter()
            .any(|s| signed.verify(s, &forged).is_ok())
    );
    // Nor does one signed with another merchant's master key.
    let other = MasterKey::new("k1", [3u8; 32]).unwrap().ipn_secret(&ours);
    let forged = signed.sign(&other).to_string();
    assert!(!verifies_with(&keys, &ours, &signed, &forged));
}

fn verifies_with(keys: &MasterKeys, r: &Reference, f: &SignedFields<'_>, checksum: &str) -> bool {
    keys.ipn_secrets(r)
        .iter()
        .any(|s| f.verify(s, checksum).is_ok())
}
