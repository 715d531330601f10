//! Compatibility with the platform's language: IPN bodies made by Node's
//! `qs.stringify` and signed with Node's `crypto` exactly as the docs'
//! JavaScript does (`tools/node/gen-ipn.js`: random values, random
//! `toValues`, every `qs` spelling) must all verify through smartex-ipn;
//! every mutant of a signed field, the checksum or the secret must be refused
//! as a bad checksum; every change to unsigned fields must still verify.
//!
//! Needs Node.js ≥ 20 with npm (`tools/node/ensure.sh` installs `qs`). Without
//! `node` the test FAILS, saying how to install it — unless
//! `SMARTEX_ALLOW_NO_NODE=1` is set, in which case it prints a loud SKIPPED
//! line and passes.

use std::process::Command;

use serde_json::Value;

use crate::node::{node_dir, node_ready};
use smartex_ipn::{Config, Error, IpnRequest, IpnSecret, Receiver};

fn generate(args: &[&str]) -> Vec<Value> {
    let out = Command::new("node")
        .arg("gen-ipn.js")
        .args(args)
        .current_dir(node_dir())
        .output()
        .expect("run gen-ipn.js");
    assert!(
        out.status.success(),
        "gen-ipn.js {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!cases.is_empty(), "gen-ipn.js {args:?} produced no case");
    cases
}

#[derive(Default, Debug)]
struct Tally {
    bodies: usize,
    mutants: usize,
    unsigned: usize,
    spellings: std::collections::BTreeMap<String, usize>,
}

fn check_case(receiver: &Receiver, case: &Value, tally: &mut Tally) {
    let id = &case["id"];
    let secret = IpnSecret::new(case["secret"].as_str().unwrap()).unwrap();
    let receive = |body: &str| {
        let request = IpnRequest::new("POST", body.as_bytes())
            .content_type("application/x-www-form-urlencoded");
        receiver
            .receive(&request, &secret, smartex_ipn::UnixMillis::from_millis(0))
            .map(|n| n.into_owned())
    };
    let body = case["body"].as_str().unwrap();
    let ipn = receive(body).unwrap_or_else(|e| panic!("case {id}: body refused: {e}\n{body}"));

    // The signed values come back exactly as Node sent them.
    let fields = &case["fields"];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(
        ipn.order_uid_raw(),
        Some(text(&fields["orderUID"]).as_str()),
        "case {id}"
    );
    assert_eq!(ipn.order_id_raw(), text(&fields["orderId"]), "case {id}");
    assert_eq!(ipn.status_raw(), text(&fields["newStatus"]), "case {id}");
    assert_eq!(ipn.in_amount_raw(), text(&fields["inAmount"]), "case {id}");
    assert_eq!(
        ipn.out_amount_raw(),
        text(&fields["outAmount"]),
        "case {id}"
    );
    assert_eq!(ipn.timestamp_raw(), text(&fields["timestamp"]), "case {id}");
    let signed = ipn.signed_fields();
    assert_eq!(
        (signed.xml_from, signed.xml_to),
        (
            text(&fields["xml_from"]).as_str(),
            text(&fields["xml_to"]).as_str()
        ),
        "case {id}"
    );
    // And so do the requisites, in every spelling (qs itself cannot read back
    // the `brackets` spelling; this decoder can).
    let got: Vec<[String; 3]> = ipn
        .to_values()
        .map(|v| {
            [
                v.key().to_owned(),
                v.name().to_owned(),
                v.value().to_owned(),
            ]
        })
        .collect();
    let want: Vec<[String; 3]> = fields["toValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| [text(&v["key"]), text(&v["name"]), text(&v["value"])])
        .collect();
    assert_eq!(got, want, "case {id}: toValues ({})", case["spelling"]);
    tally.bodies += 1;
    *tally.spellings.entry(text(&case["spelling"])).or_default() += 1;

    for m in case["mutants"].as_array().unwrap() {
        let what = &m["what"];
        let result = receive(m["body"].as_str().unwrap());
        assert_eq!(
            result.as_ref().err(),
            Some(&Error::BadChecksum),
            "case {id}: mutant {what} must be refused as a bad checksum"
        );
        tally.mutants += 1;
    }
    for u in case["unsigned_changes"].as_array().unwrap() {
        let what = &u["what"];
        if let Err(e) = receive(u["body"].as_str().unwrap()) {
            panic!("case {id}: unsigned change {what} must still verify, got {e}");
        }
        tally.unsigned += 1;
    }
}

#[test]
fn node_signed_bodies_verify_and_mutants_are_refused() {
    if !node_ready("node_compat", "the Node.js compatibility test") {
        return;
    }
    // The generated timestamps span 2019–2030 and mutants repeat the original
    // (order, status, timestamp), so neither the window nor the replay guard
    // applies here: only decoding and the checksum are under test.
    let receiver = Receiver::with_config(Config::default().danger_accept_any_timestamp())
        .without_replay_guard();
    let mut tally = Tally::default();
    for case in generate(&["--seed", "20240601", "--count", "300"]) {
        check_case(&receiver, &case, &mut tally);
    }
    for case in generate(&["--seed", "7", "--count", "60", "--exotic-amounts"]) {
        check_case(&receiver, &case, &mut tally);
    }
    assert_eq!(tally.bodies, 360);
    assert!(tally.mutants >= 360 * 10, "{tally:?}");
    assert!(tally.unsigned >= 360, "{tally:?}");
    assert_eq!(tally.spellings.len(), 5, "every qs spelling: {tally:?}");
    eprintln!("node_compat: {tally:?}");
}
