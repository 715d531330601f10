//! The `qs` form codec: every spelling a Node sender produces, and the bounds.

use serde_json::{Map as JsonMap, Value};
use smartex_core::form::{self, Limits, Node};
use smartex_core::{Error, Limit};

use crate::data;

fn to_json(node: &Node) -> Value {
    match node {
        Node::Value(s) => Value::String(s.clone()),
        Node::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Node::Map(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_owned(), to_json(v)))
                .collect::<JsonMap<_, _>>(),
        ),
    }
}

#[test]
fn every_qs_spelling_decodes_to_what_was_stringified() {
    // Bodies written by real `qs.stringify`, and the objects `qs.parse` made of
    // them — except for the `arrayFormat: 'brackets'` spellings, which `qs.parse`
    // itself cannot read back (the file keeps its reading under `qs_parse`).
    let file: Value = serde_json::from_str(&data("form-spellings.json")).unwrap();
    let cases = file["spellings"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let body = case["body"].as_str().unwrap();
        let tree = form::decode_tree(body.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        let got = Value::Object(
            tree.iter()
                .map(|(k, v)| (k.to_owned(), to_json(v)))
                .collect(),
        );
        assert_eq!(got, case["expect"], "{}", case["name"]);
    }
}

#[track_caller]
fn check_err(body: &str, limits: Limits, expect: impl Fn(&Error) -> bool) {
    match form::decode_tree(body.as_bytes(), &limits) {
        Ok(tree) => panic!("{body:?} decoded to {tree:?}"),
        Err(e) => assert!(expect(&e), "{body:?}: unexpected error {e:?}"),
    }
}

#[test]
fn malformed_and_out_of_bounds_bodies_are_typed_errors() {
    let d = Limits::default();
    check_err(
        "a=1&a=2",
        d,
        |e| matches!(e, Error::DuplicateField { field } if field == "a"),
    );
    check_err(
        "a[0]=1&a[0]=2",
        d,
        |e| matches!(e, Error::DuplicateField { field } if field == "a[0]"),
    );
    check_err("a=1&a[0]=2", d, |e| matches!(e, Error::InvalidField { .. }));
    check_err(
        "a[0]=1&a[x]=2",
        d,
        |e| matches!(e, Error::InvalidField { field, .. } if field == "a[x]"),
    );
    check_err("a[b=1", d, |e| matches!(e, Error::MalformedKey { .. }));
    check_err("a[b]c=1", d, |e| matches!(e, Error::MalformedKey { .. }));
    check_err("[b]=1", d, |e| matches!(e, Error::MalformedKey { .. }));
    check_err(
        "a=%zz",
        d,
        |e| matches!(e, Error::InvalidField { field, .. } if field == "a"),
    );
    check_err("a=%C3", d, |e| {
        e.to_string() == "field `a` is not valid UTF-8"
    });
    check_err("a=%", d, |e| matches!(e, Error::InvalidField { .. }));
    let few = Limits { max_pairs: 2, ..d };
    check_err("a=1&b=2&c=3", few, |e| {
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::Pairs,
                max: 2
            }
        )
    });
    check_err("a[1][2][3][4][5]=1", d, |e| {
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::Depth,
                ..
            }
        )
    });
    check_err("a[101]=1", d, |e| {
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::ArrayIndex,
                ..
            }
        )
    });
    check_err("a[99999999999999999999]=1", d, |e| {
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::ArrayIndex,
                ..
            }
        )
    });
}

#[test]
fn bracket_push_groups_objects_like_qs_brackets_format() {
    let body = "t[][key]=a&t[][value]=1&t[][key]=b&t[][value]=2";
    let tree = form::decode_tree(body.as_bytes(), &Limits::default()).unwrap();
    let list = tree.get("t").and_then(Node::as_list).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].get("key").and_then(Node::as_str), Some("b"));
    assert_eq!(list[1].get("value").and_then(Node::as_str), Some("2"));
}

#[test]
fn order_of_first_appearance_is_kept() {
    let tree = form::decode_tree(b"z=1&a=2&m=3", &Limits::default()).unwrap();
    let names: Vec<_> = tree.iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["z", "a", "m"]);
}

#[test]
fn plain_values_are_borrowed_not_copied() {
    use std::borrow::Cow;
    let body = b"a=plain&b=needs%20work&c=plus+sign";
    let values: Vec<_> = form::Pairs::new(body, Limits::default())
        .map(|p| p.unwrap().1.decode("v").unwrap())
        .collect();
    assert!(matches!(values[0], Cow::Borrowed("plain")));
    assert!(matches!(&values[1], Cow::Owned(s) if s == "needs work"));
    assert!(matches!(&values[2], Cow::Owned(s) if s == "plus sign"));
}

#[test]
fn validate_agrees_with_decode_across_chunk_boundaries() {
    // Multi-byte characters straddling the 64-byte internal chunk.
    for pad in 0..70 {
        let mut raw = "x".repeat(pad);
        raw.push_str("%F0%9F%94%91%C3%A9");
        let enc = form::Encoded::new(&raw);
        assert!(enc.validate("v").is_ok(), "pad {pad}");
        let mut bad = "y".repeat(pad);
        bad.push_str("%F0%9F%94");
        let enc = form::Encoded::new(&bad);
        assert!(enc.validate("v").is_err(), "pad {pad}");
        assert!(enc.decode("v").is_err(), "pad {pad}");
    }
}

#[test]
fn writer_output_decodes_back() {
    let mut w = form::FormWriter::default();
    w.field("amount", "-0.5");
    w.list_entry("toValues", 0, "value", "a&b=c+d %");
    w.map_entry("extraData", "ref", "ü");
    let body = w.finish();
    assert_eq!(
        body,
        "amount=-0.5&toValues[0][value]=a%26b%3Dc%2Bd%20%25&extraData[ref]=%C3%BC"
    );
    let tree = form::decode_tree(body.as_bytes(), &Limits::default()).unwrap();
    let v = tree
        .get("toValues")
        .and_then(|t| t.index(0))
        .and_then(|e| e.get("value"));
    assert_eq!(v.and_then(Node::as_str), Some("a&b=c+d %"));
}

#[test]
fn remembered_and_walked_segments_agree() {
    // Deeper than the four segments a key remembers, in both bracket spellings.
    let limits = Limits {
        max_depth: 8,
        ..Limits::default()
    };
    for raw in [
        "a[0][b][]%5Bc%5D[d][e][7]",
        "a%5B0%5D%5Bb%5D%5B%5D%5Bc%5D%5Bd%5D%5Be%5D%5B7%5D",
    ] {
        let key = form::Key::parse(raw, &limits).unwrap();
        assert_eq!(key.depth(), 7);
        let walked: Vec<String> = key
            .segments()
            .map(|s| s.decode().unwrap().into_owned())
            .collect();
        assert_eq!(walked, ["0", "b", "", "c", "d", "e", "7"]);
        for (i, text) in walked.iter().enumerate() {
            assert_eq!(key.segment(i).unwrap().decode().unwrap(), text.as_str());
        }
        assert!(key.segment(7).is_none());
    }
}

#[test]
fn unbounded_index_limit_never_overflows() {
    // `max_index: usize::MAX` turns the index bound off; an index of ten or
    // more digits is then `usize::MAX`, and a push after it must be refused,
    // not overflow.
    let open = Limits {
        max_index: usize::MAX,
        ..Limits::default()
    };
    check_err("a[9999999999]=1&a[]=2", open, |e| {
        matches!(e, Error::DuplicateField { .. })
    });
    let tree = form::decode_tree(b"a[9999999999]=1&b[]=2", &open).unwrap();
    assert_eq!(
        tree.get("a")
            .and_then(|a| a.index(0))
            .and_then(Node::as_str),
        Some("1")
    );
}

#[test]
fn pairs_debug_shows_no_body_text() {
    let mut pairs = form::Pairs::new(
        b"orderUID=1&toValues[0][value]=private-wallet&hash=af3acf947e6f0e0f",
        Limits::default(),
    );
    pairs.next().unwrap().unwrap();
    let dbg = format!("{pairs:?}");
    assert!(dbg.contains("rest_len"), "{dbg}");
    assert!(
        !dbg.contains("private-wallet") && !dbg.contains("af3acf947e6f0e0f"),
        "{dbg}"
    );
}
