//! Properties: round-trips, single mutations, tracker invariants, no panics.

use proptest::prelude::*;
use smartex_core::IpnSecret;
use smartex_core::OrderStatus;
use smartex_core::checksum::SignedFields;
use smartex_core::form::{self, FormWriter, Limits, Node};
use smartex_core::ipn::{IpnBody, IpnFormat, UnverifiedIpn};
use smartex_core::status::{Decision, StatusEvent, Tracker};

/// Names that are not list indices and carry no brackets (a bracket in a name is
/// structure in the `qs` convention).
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_ .~\\-éж]{0,12}"
}

/// Any Unicode text, including `&`, `=`, `%`, `+`, brackets and emoji.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[&=%+\\[\\] a-z🔑é]{0,16}"]
}

#[derive(Debug, Clone)]
enum Shape {
    Value(String),
    List(Vec<Vec<(String, String)>>),
    Map(Vec<(String, String)>),
}

fn unique<T: Clone>(items: Vec<(String, T)>) -> Vec<(String, T)> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        text().prop_map(Shape::Value),
        prop::collection::vec(
            prop::collection::vec((name(), text()), 1..4).prop_map(unique),
            1..5
        )
        .prop_map(Shape::List),
        prop::collection::vec((name(), text()), 1..4).prop_map(|v| Shape::Map(unique(v))),
    ]
}

/// Form bodies built from the pieces the decoders branch on (brackets plain and
/// encoded, pushes, indices up to "no limit", escapes, the IPN's own names), so
/// that random input reaches nested keys and the IPN builder, not only the
/// first "missing field" or "not UTF-8" error that random bytes stop at.
fn form_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "&",
        "=",
        "[",
        "]",
        "%5B",
        "%5d",
        "%",
        "+",
        "%C3",
        "%A9",
        "[]",
        "[0]",
        "[1]",
        "[9999999999]",
        "[key]",
        "[value]",
        "[name]",
        "toValues",
        "hash",
        "orderId",
        "newStatus",
        "x",
        "1",
    ]);
    let signed = "orderUID=1&orderId=5d8e6002b80b7b4cd75a6424&newStatus=new&inAmount=1\
        &outAmount=2&xml_from=A&xml_to=B&timestamp=1&";
    (prop::bool::ANY, prop::collection::vec(piece, 0..40)).prop_map(move |(with_signed, pieces)| {
        let prefix = if with_signed { signed } else { "" };
        format!("{prefix}{}", pieces.concat())
    })
}

/// Limits from tight to none at all.
fn limits() -> impl Strategy<Value = Limits> {
    (
        prop_oneof![Just(usize::MAX), 0usize..300],
        prop_oneof![Just(usize::MAX), 0usize..6],
        prop_oneof![Just(usize::MAX), 0usize..120],
    )
        .prop_map(|(max_pairs, max_depth, max_index)| Limits {
            max_pairs,
            max_depth,
            max_index,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_form_like_bodies(body in form_like(), limits in limits()) {
        let _ = form::decode_tree(body.as_bytes(), &limits);
        let format = IpnFormat { limits, ..IpnFormat::default() };
        if let Ok(ipn) = UnverifiedIpn::parse_form(body.as_bytes(), &format) {
            let _ = (ipn.order_id(), ipn.order_uid(), ipn.has_checksum());
            let _ = ipn.verify(&IpnSecret::new("k").unwrap());
        }
        let json = format!(r#"{{"toValues":[{{"key":"{}"}}],"orderUID":1}}"#, body.replace(['"', '\\'], ""));
        let _ = UnverifiedIpn::parse_json(json.as_bytes(), &format);
    }

    #[test]
    fn form_round_trip(fields in prop::collection::vec((name(), shape()), 0..8).prop_map(unique)) {
        let mut w = FormWriter::default();
        for (n, s) in &fields {
            match s {
                Shape::Value(v) => w.field(n, v),
                Shape::List(items) => for (i, entry) in items.iter().enumerate() {
                    for (k, v) in entry { w.list_entry(n, i, k, v); }
                },
                Shape::Map(entries) => for (k, v) in entries { w.map_entry(n, k, v); },
            }
        }
        let body = w.finish();
        let limits = Limits { max_pairs: 10_000, ..Limits::default() };
        let tree = form::decode_tree(body.as_bytes(), &limits).unwrap();
        prop_assert_eq!(tree.len(), fields.len());
        for ((n, s), (got_name, got)) in fields.iter().zip(tree.iter()) {
            prop_assert_eq!(n.as_str(), got_name);
            match (s, got) {
                (Shape::Value(v), Node::Value(g)) => prop_assert_eq!(v, g),
                (Shape::List(items), Node::List(g)) => {
                    prop_assert_eq!(items.len(), g.len());
                    for (entry, node) in items.iter().zip(g) {
                        let Node::Map(m) = node else { return Err(TestCaseError::fail(format!("{node:?} is not a map"))) };
                        prop_assert_eq!(m.len(), entry.len(), "no more and no fewer names");
                        for (k, v) in entry { prop_assert_eq!(node.get(k).and_then(Node::as_str), Some(v.as_str())); }
                    }
                }
                (Shape::Map(entries), Node::Map(g)) => {
                    prop_assert_eq!(g.len(), entries.len(), "no more and no fewer names");
                    for (k, v) in entries { prop_assert_eq!(g.get(k).and_then(Node::as_str), Some(v.as_str())); }
                }
                (s, g) => prop_assert!(false, "{s:?} decoded as {g:?}"),
            }
        }
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = form::decode_tree(&bytes, &Limits::default());
        let _ = UnverifiedIpn::parse_form(&bytes, &IpnFormat::default()).map(|i| i.verify(&IpnSecret::new("k").unwrap()));
        let _ = UnverifiedIpn::parse_json(&bytes, &IpnFormat::default());
        let _ = smartex_core::response::decode::<serde_json::Value>(&bytes);
        let _ = smartex_core::pages::CallbackStatus::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn sign_verify_round_trip_and_single_mutations_fail(
        values in prop::array::uniform7("[^\u{0}]{0,24}"),
        secret in "[^\u{0}]{1,40}",
        which in 0usize..7,
        mutation in "[^\u{0}]{0,4}",
    ) {
        let secret = IpnSecret::new(secret).unwrap();
        let [order_id, new_status, in_amount, out_amount, xml_from, xml_to, timestamp] = &values;
        let to_values = [("wallet", "W", "v&=+%")];
        let body = IpnBody { order_uid: "1", signed: smartex_core::checksum::SignedFields { order_id, new_status, in_amount, out_amount, xml_from, xml_to, timestamp }, to_values: &to_values };
        let form_body = body.to_form(&secret, "hash");
        let ipn = UnverifiedIpn::parse_form(form_body.as_bytes(), &IpnFormat::default()).unwrap();
        let ipn = ipn.verify(&secret).unwrap();
        prop_assert_eq!(ipn.signed_fields(), body.signed_fields());

        // Change one signed value (appending keeps it different), keep the checksum.
        let checksum = body.signed_fields().sign(&secret).to_string();
        let mut mutated = values.clone();
        mutated[which].push_str(if mutation.is_empty() { "x" } else { &mutation });
        let f = SignedFields {
            order_id: &mutated[0], new_status: &mutated[1], in_amount: &mutated[2], out_amount: &mutated[3],
            xml_from: &mutated[4], xml_to: &mutated[5], timestamp: &mutated[6],
        };
        prop_assert!(f.verify(&secret, &checksum).is_err());
        // A wrong secret fails too.
        let other = IpnSecret::new(format!("{}!", secret.expose())).unwrap();
        prop_assert!(body.signed_fields().verify(&other, &checksum).is_err());
    }

    #[test]
    fn any_changed_checksum_digit_fails(pos in 0usize..64, digit in 0u8..16) {
        let f = SignedFields {
            order_id: "5d8e6002b80b7b4cd75a6424", new_status: "inProgress", in_amount: "2",
            out_amount: "317.42", xml_from: "ETH", xml_to: "WMZ", timestamp: "1571328406072",
        };
        let secret = IpnSecret::new("SECRET123").unwrap();
        let mut hex: Vec<u8> = f.sign(&secret).to_string().into_bytes();
        let new = b"0123456789abcdef"[usize::from(digit)];
        prop_assume!(hex[pos] != new);
        hex[pos] = new;
        prop_assert!(f.verify(&secret, std::str::from_utf8(&hex).unwrap()).is_err());
    }

    #[test]
    fn status_strings_round_trip(s in any::<String>()) {
        let status = OrderStatus::parse(&s);
        prop_assert_eq!(status.as_str(), s.as_str());
        prop_assert_eq!(OrderStatus::parse(status.as_str()), status);
    }

    #[test]
    fn tracker_invariants(events in prop::collection::vec((0usize..11, prop::option::of(0u64..50)), 1..40)) {
        let all: Vec<OrderStatus> = OrderStatus::KNOWN.iter().cloned().chain([OrderStatus::Unknown("x".into())]).collect();
        let mut t = Tracker::default();
        for (i, at) in events {
            let event = StatusEvent { status: all[i].clone(), at: at.map(smartex_core::time::UnixMillis::from_millis), source: smartex_core::status::Source::Ipn };
            let was_final = t.known().is_some_and(|k| k.status.is_final());
            let before = t.clone();
            let decision = t.apply(&event);
            if decision != Decision::Apply {
                // A later duplicate may move the known time forward, never the status.
                prop_assert_eq!(t.known().map(|k| &k.status), before.known().map(|k| &k.status), "only Apply changes the status");
                // A superseded change is recorded as the newest signed one.
                if decision != Decision::Duplicate && decision != Decision::Superseded {
                    prop_assert_eq!(&t, &before, "only Apply, Duplicate and Superseded change the tracker");
                }
            }
            if was_final {
                prop_assert!(t.known().is_some_and(|k| k.status.is_final()), "a final status stayed final");
                prop_assert_eq!(t.known().map(|k| &k.status), before.known().map(|k| &k.status));
            }
            // Replaying the event just seen is a duplicate when it was applied.
            if decision == Decision::Apply {
                prop_assert_eq!(t.clone().apply(&event), Decision::Duplicate);
            }
            let older = before.known().zip(at).is_some_and(|(k, at)| k.at.map(smartex_core::time::UnixMillis::as_millis).is_some_and(|last| at < last));
            // Older than the current status: never made current (history at most).
            if older && before.known().is_some_and(|k| k.status != event.status) {
                prop_assert!(matches!(decision, Decision::Stale | Decision::Superseded), "{:?}", decision);
            }
        }
    }
}

/// A pair the checksum does not cover, in any shape: a root that is not a
/// signed name (`toValues`, `orderUID`, unknown, badly escaped), then any
/// brackets, dots, escapes and indices, and any bytes but `&` as its value.
fn unsigned_pair() -> impl Strategy<Value = Vec<u8>> {
    let root = prop::sample::select(vec![
        "toValues",
        "orderUID",
        "extra",
        "",
        "x%ZZ",
        "%FF",
        "to%56alues",
        "orderUIDs",
        "hash2",
    ]);
    let piece = prop::sample::select(vec![
        "[",
        "]",
        "%5B",
        "%5d",
        ".",
        "0",
        "1",
        "99999999999999999999",
        "key",
        "value",
        "name",
        "+",
        "%",
        "%2",
        "%20",
        "%C3%A9",
        "[object Object]",
        "=",
        "",
    ]);
    let value = prop::collection::vec(any::<u8>().prop_filter("no &", |b| *b != b'&'), 0..12);
    (
        root,
        prop::collection::vec(piece, 0..8),
        prop::option::of(value),
    )
        .prop_map(|(root, pieces, value)| {
            let mut pair = root.as_bytes().to_vec();
            for p in pieces {
                pair.extend_from_slice(p.as_bytes());
            }
            if let Some(v) = value {
                pair.push(b'=');
                pair.extend(v);
            }
            pair
        })
}

proptest! {
    /// Refuse only what the checksum covers: a body whose signed fields verify
    /// stays accepted, with the same signed values and checksum, whatever
    /// unsigned pairs are added, repeated and placed anywhere.
    #[test]
    fn unsigned_additions_never_change_a_verified_notification(
        values in prop::array::uniform7("[^\u{0}]{0,16}"),
        junk in prop::collection::vec((unsigned_pair(), 0usize..10, 1usize..3), 0..12),
        checksum_repeated in any::<bool>(),
    ) {
        let secret = IpnSecret::new("s3cret").unwrap();
        let [order_id, new_status, in_amount, out_amount, xml_from, xml_to, timestamp] = &values;
        let signed = SignedFields { order_id, new_status, in_amount, out_amount, xml_from, xml_to, timestamp };
        let checksum = signed.sign(&secret).to_string();
        let mut pairs: Vec<Vec<u8>> = [
            ("orderId", order_id), ("newStatus", new_status), ("inAmount", in_amount),
            ("outAmount", out_amount), ("xml_from", xml_from), ("xml_to", xml_to), ("timestamp", timestamp),
        ]
        .iter()
        .map(|(k, v)| {
            let mut w = FormWriter::default();
            w.field(k, v);
            w.finish().into_bytes()
        })
        .collect();
        pairs.push(format!("hash={checksum}").into_bytes());
        if checksum_repeated {
            pairs.push(b"hash=0000".to_vec());
        }
        for (pair, at, times) in junk {
            for _ in 0..times {
                let at = at.min(pairs.len());
                pairs.insert(at, pair.clone());
            }
        }
        let body = pairs.join(&b'&');
        let format = IpnFormat { limits: Limits { max_pairs: 1000, ..Limits::default() }, ..IpnFormat::default() };
        let ipn = UnverifiedIpn::parse_form(&body, &format).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&body))
        });
        let ipn = ipn.verify(&secret).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
        prop_assert_eq!(ipn.signed_fields(), signed);
        prop_assert_eq!(ipn.checksum().to_string(), checksum);
        // Every unsigned view reads without failing.
        let _ = (ipn.to_values().count(), ipn.extra().count(), ipn.unsigned_pairs().count(), ipn.order_uid());
    }
}
