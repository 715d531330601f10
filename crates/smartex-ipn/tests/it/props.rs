//! Property tests: sign → verify across encodings, field orders and checksum
//! places; any single change to a signed field, the checksum or the secret is
//! refused; arbitrary requests never panic.

use proptest::prelude::*;
use smartex_core::checksum::SignedFields;
use smartex_ipn::{ChecksumLocation, Config, ContentTypes, Error, IpnRequest, IpnSecret, Receiver};

/// One notification's values, as text.
#[derive(Clone, Debug)]
struct Values {
    order_uid: String,
    signed: [String; 7], // orderId, newStatus, inAmount, outAmount, xml_from, xml_to, timestamp
    to_values: Vec<[String; 3]>,
}

const SIGNED_NAMES: [&str; 7] = [
    "orderId",
    "newStatus",
    "inAmount",
    "outAmount",
    "xml_from",
    "xml_to",
    "timestamp",
];

impl Values {
    fn fields(&self) -> SignedFields<'_> {
        let s = &self.signed;
        SignedFields {
            order_id: &s[0],
            new_status: &s[1],
            in_amount: &s[2],
            out_amount: &s[3],
            xml_from: &s[4],
            xml_to: &s[5],
            timestamp: &s[6],
        }
    }
}

/// Free text: printable ASCII with every form-significant character, and
/// some non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,12}", "[a-z &=%+\\[\\]#?;:é€😀Ж]{0,10}",]
}

fn values() -> impl Strategy<Value = Values> {
    let status = prop_oneof![
        prop::sample::select(vec![
            "new",
            "waitPayment",
            "errorPayment",
            "inProgress",
            "inProgressPayout",
            "errorPayout",
            "hold",
            "done",
            "returned",
            "deleted",
        ])
        .prop_map(String::from),
        text(),
    ];
    let amount = prop_oneof!["[0-9]{1,7}(\\.[0-9]{1,8})?", "[0-9]e-[0-9]", text()];
    (
        "[0-9]{1,11}",
        (
            "[0-9a-f]{24}",
            status,
            amount.clone(),
            amount,
            "[A-Z0-9]{2,10}",
            "[A-Z0-9]{2,10}",
        ),
        (1_500_000_000_000u64..2_000_000_000_000).prop_map(|t| t.to_string()),
        prop::collection::vec(("[a-zA-Z]{1,8}", text(), text()), 0..4),
    )
        .prop_map(|(uid, (id, st, ina, outa, from, to), ts, tv)| Values {
            order_uid: uid,
            signed: [id, st, ina, outa, from, to, ts],
            to_values: tv.into_iter().map(|(k, n, v)| [k, n, v]).collect(),
        })
}

fn secret() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{1,40}", "[a-zA-Z0-9: Ж€😀]{1,20}"]
}

/// How a sender spells the body.
#[derive(Clone, Copy, Debug)]
struct Spelling {
    encode_brackets: bool,
    plus_for_space: bool,
    lower_hex_escapes: bool,
    push_brackets: bool, // toValues[][key] instead of toValues[0][key]
    upper_checksum: bool,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                encode_brackets,
                plus_for_space,
                lower_hex_escapes,
                push_brackets,
                upper_checksum,
            )| {
                Spelling {
                    encode_brackets,
                    plus_for_space,
                    lower_hex_escapes,
                    push_brackets,
                    upper_checksum,
                }
            },
        )
}

/// Where the checksum travels.
#[derive(Clone, Copy, Debug)]
enum Place {
    Body,
    Query,
    Header,
    Supplied,
}

fn encode(s: &str, sp: Spelling) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b' ' if sp.plus_for_space => out.push('+'),
            _ if sp.lower_hex_escapes => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn key(root: &str, segments: &[&str], sp: Spelling) -> String {
    let mut k = encode(root, sp);
    for seg in segments {
        if sp.encode_brackets {
            k.push_str(&format!("%5B{}%5D", encode(seg, sp)));
        } else {
            k.push_str(&format!("[{}]", encode(seg, sp)));
        }
    }
    k
}

/// The form body's pairs (unordered), the checksum among them when `Body`.
fn form_pairs(v: &Values, checksum: Option<&str>, sp: Spelling) -> Vec<String> {
    let mut pairs = vec![format!("orderUID={}", encode(&v.order_uid, sp))];
    for (name, value) in SIGNED_NAMES.iter().zip(&v.signed) {
        pairs.push(format!("{}={}", encode(name, sp), encode(value, sp)));
    }
    if let Some(c) = checksum {
        pairs.push(format!("hash={c}"));
    }
    pairs
}

/// `toValues` pairs stay in order relative to each other (an entry's fields
/// and entries' order are how `qs` groups them with `[]`).
fn to_value_pairs(v: &Values, sp: Spelling) -> Vec<String> {
    let mut out = Vec::new();
    for (i, entry) in v.to_values.iter().enumerate() {
        let index = i.to_string();
        for (sub, val) in ["key", "name", "value"].iter().zip(entry) {
            let idx = if sp.push_brackets { "" } else { index.as_str() };
            out.push(format!(
                "{}={}",
                key("toValues", &[idx, sub], sp),
                encode(val, sp)
            ));
        }
    }
    out
}

fn json_body(v: &Values, checksum: Option<&str>, order: &[usize]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let mut members: Vec<String> = vec![format!("\"orderUID\":{}", q(&v.order_uid))];
    for (name, value) in SIGNED_NAMES.iter().zip(&v.signed) {
        members.push(format!("{}:{}", q(name), q(value)));
    }
    let tv: Vec<String> = v
        .to_values
        .iter()
        .map(|[k, n, val]| {
            format!(
                "{{\"key\":{},\"name\":{},\"value\":{}}}",
                q(k),
                q(n),
                q(val)
            )
        })
        .collect();
    members.push(format!("\"toValues\":[{}]", tv.join(",")));
    if let Some(c) = checksum {
        members.push(format!("\"hash\":{}", q(c)));
    }
    let ordered: Vec<&String> = order.iter().filter_map(|&i| members.get(i)).collect();
    let rest = members.iter().filter(|m| !ordered.contains(m));
    let all: Vec<&String> = ordered.iter().copied().chain(rest).collect();
    format!(
        "{{{}}}",
        all.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    )
}

fn receiver() -> Receiver {
    Receiver::with_config(
        Config::default()
            .checksum_in([
                ChecksumLocation::body_field("hash"),
                ChecksumLocation::query_param("hash"),
                ChecksumLocation::header("X-Hash"),
            ])
            .allow_json()
            .danger_accept_any_timestamp(),
    )
    .without_replay_guard()
}

/// Builds the body for `v` and runs it through a receiver with `verify_with`.
fn run(
    v: &Values,
    checksum: &str,
    secret: &IpnSecret,
    sp: Spelling,
    place: Place,
    json: bool,
    order: &[usize],
) -> Result<smartex_ipn::VerifiedIpn<'static>, Error> {
    let in_body = matches!(place, Place::Body).then_some(checksum);
    let (body, ct) = if json {
        (json_body(v, in_body, order), "application/json")
    } else {
        let mut pairs = form_pairs(v, in_body, sp);
        // Shuffle the scalar pairs by `order`, then interleave the toValues
        // block at a position from `order` too.
        let mut shuffled: Vec<String> = order
            .iter()
            .filter_map(|&i| pairs.get(i).cloned())
            .collect();
        pairs.retain(|p| !shuffled.contains(p));
        shuffled.extend(pairs);
        let at = order.first().copied().unwrap_or(0) % (shuffled.len() + 1);
        let tail = shuffled.split_off(at);
        shuffled.extend(to_value_pairs(v, sp));
        shuffled.extend(tail);
        (shuffled.join("&"), "application/x-www-form-urlencoded")
    };
    let query = format!("a=1&hash={checksum}");
    let headers = [("X-Hash", checksum)];
    let mut request = IpnRequest::new("POST", body.as_bytes()).content_type(ct);
    request = match place {
        Place::Body => request,
        Place::Query => request.query(&query),
        Place::Header => request.headers(&headers),
        Place::Supplied => request.checksum(checksum),
    };
    receiver()
        .receive(&request, secret, smartex_ipn::UnixMillis::from_millis(0))
        .map(|n| n.into_owned())
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Body),
        Just(Place::Query),
        Just(Place::Header),
        Just(Place::Supplied)
    ]
}

fn order() -> impl Strategy<Value = Vec<usize>> {
    Just((0..10).collect::<Vec<usize>>()).prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn signed_bodies_verify_in_every_spelling(
        v in values(), s in secret(), sp in spelling(), place in place(),
        json in any::<bool>(), order in order(),
    ) {
        let secret = IpnSecret::new(s).unwrap();
        let mut checksum = v.fields().sign(&secret).to_hex().as_str().to_owned();
        if sp.upper_checksum {
            checksum = checksum.to_uppercase();
        }
        let n = run(&v, &checksum, &secret, sp, place, json, &order)
            .map_err(|e| TestCaseError::fail(format!("refused: {e}")))?;
        let got = n.signed_fields();
        prop_assert_eq!(got, v.fields());
        prop_assert_eq!(n.order_uid_raw(), Some(v.order_uid.as_str()));
        let tv: Vec<[String; 3]> = n
            .to_values()
            .map(|t| [t.key().to_owned(), t.name().to_owned(), t.value().to_owned()])
            .collect();
        prop_assert_eq!(tv, v.to_values.clone());
    }

    #[test]
    fn any_single_change_is_refused(
        v in values(), s in secret(), sp in spelling(), place in place(),
        json in any::<bool>(), order in order(),
        which in 0usize..9, change in "[ -~é]{1,3}", digit in 0usize..64,
    ) {
        let secret = IpnSecret::new(s.clone()).unwrap();
        let good = v.fields().sign(&secret).to_hex().as_str().to_owned();
        let mut v2 = v.clone();
        let mut checksum = good.clone();
        let mut used = secret.clone();
        match which {
            0..=6 => {
                // Append to, or replace, one signed value.
                let old = v2.signed[which].clone();
                v2.signed[which] = if change.len() % 2 == 0 { format!("{old}{change}") } else { change.clone() };
                prop_assume!(v2.signed[which] != old);
            }
            7 => {
                // One hex digit of the checksum.
                let mut bytes = checksum.into_bytes();
                bytes[digit] = if bytes[digit] == b'0' { b'1' } else { b'0' };
                checksum = String::from_utf8(bytes).unwrap();
            }
            _ => {
                // Another secret.
                let other = format!("{s}{change}");
                used = IpnSecret::new(other).unwrap();
            }
        }
        let result = run(&v2, &checksum, &used, sp, place, json, &order);
        prop_assert!(matches!(result, Err(Error::BadChecksum)), "{:?}", result.map(|_| ()));
    }

    #[test]
    fn arbitrary_requests_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..400),
        form_like in prop::collection::vec(("[a-zA-Z%\\[\\]]{0,12}", "[ -~]{0,20}"), 0..14),
        use_form_like in any::<bool>(),
        query in "[ -~]{0,60}",
        header in prop::collection::vec(any::<u8>(), 0..80),
        ct in prop::sample::select(vec![
            "application/x-www-form-urlencoded", "application/json", "text/plain",
            "application/x-www-form-urlencoded; charset=latin1", "",
        ]),
        method in prop::sample::select(vec!["POST", "GET", "post"]),
        missing_ct in any::<bool>(),
        now in any::<u64>(),
    ) {
        let body = if use_form_like {
            form_like.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&").into_bytes()
        } else {
            body
        };
        let headers: [(&str, &[u8]); 1] = [("X-Hash", &header)];
        let mut request = IpnRequest::new(method, &body).query(&query).headers(&headers);
        if !missing_ct {
            request = request.content_type(ct);
        }
        let r = Receiver::with_config(
            Config::default()
                .checksum_in([
                    ChecksumLocation::body_field("hash"),
                    ChecksumLocation::query_param("hash"),
                    ChecksumLocation::header("X-Hash"),
                ])
                .content_types(ContentTypes { form: true, json: true, missing_as_form: true }),
        );
        let secret = IpnSecret::new("SECRET123").unwrap();
        if let Err(e) = r.receive(&request, &secret, smartex_ipn::UnixMillis::from_millis(now)) {
            let status = e.answer().status;
            prop_assert!(matches!(status, 200 | 400 | 401 | 404 | 405 | 413 | 415 | 422), "{e:?}");
            prop_assert!(!e.to_string().contains("SECRET123"));
        }
    }
}
