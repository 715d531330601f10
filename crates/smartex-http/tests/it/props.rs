//! Properties of request encoding, over an in-memory transport that captures
//! the request (the wire tests above use a real server; these need thousands
//! of cases).

use std::sync::Mutex;

use proptest::prelude::*;
use smartex_core::auth::express_signature;
use smartex_core::form::{Limits, Node, decode_tree};
use smartex_core::js::{Body, exact_js_number};
use smartex_core::request::{ApiCall, CreateOrder, GetOrder, OrderViewKind};
use smartex_core::{ApiKey, ApiSecret, Lang, OrderSecret, OrderUid};
use smartex_http::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use smartex_http::{ApiKeyAuth, ClientBuilder, Encoding, Verb};

/// Captures the last request; answers with a fixed order view.
#[derive(Default)]
struct Capture(Mutex<Option<HttpRequest>>);

impl Transport for &'static Capture {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        *self.0.lock().unwrap() = Some(request);
        let body = br#"{"success":true,"data":{"order":{"_id":"5d8e6002b80b7b4cd75a6424","uid":1,"status":"new"},
            "_id":"5d8e6002b80b7b4cd75a6424","uid":1,"secret":"s"}}"#;
        Ok(HttpResponse::new(200, vec![], body.to_vec()))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn lang() -> impl Strategy<Value = Lang> {
    prop::sample::select(vec!["en", "ru", "ua", "de", "kk"])
        .prop_map(|l| Lang::parse("lang", l).unwrap())
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop::sample::select(vec![Encoding::Json, Encoding::Form])
}

fn verb() -> impl Strategy<Value = Verb> {
    prop::sample::select(vec![Verb::Get, Verb::Post, Verb::Put])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the mode, the client sends exactly the core's encoding of the
    /// parameters (with `time` first when signed), at the right URL, signs
    /// what an Express server makes of those bytes, and the bytes decode back
    /// to the parameters.
    #[test]
    fn get_order_is_encoded_and_signed_exactly(
        uid in 1u64..=99_999_999_999,
        secret in "[A-Za-z0-9_.~ +&=%/-]{1,50}",
        lang in lang(),
        encoding in encoding(),
        verb in verb(),
        signed in any::<bool>(),
        time in 1u64..=smartex_http::auth::MAX_SAFE_INTEGER,
        payment in any::<bool>(),
    ) {
        let capture: &'static Capture = Box::leak(Box::default());
        let mut builder = ClientBuilder::new("https://www.smartexpay.com")
            .lang(lang)
            .encoding(encoding)
            .verb(GetOrder::PATH, verb);
        if signed {
            let auth = ApiKeyAuth::new(ApiKey::new("K").unwrap(), ApiSecret::new("S3CR3T").unwrap());
            builder = builder.api_key(auth).clock(crate::clock_at(time));
        }
        let client = builder.build_with(capture).unwrap();
        let uid = OrderUid::new(uid).unwrap();
        let order_secret = OrderSecret::new(secret.clone()).unwrap();
        let view = if payment { OrderViewKind::Payment } else { OrderViewKind::Order };
        runtime().block_on(client.get_order(uid, &order_secret, view)).unwrap();
        let request = capture.0.lock().unwrap().take().unwrap();

        let core = GetOrder::new(uid, order_secret.clone()).view(view);
        let effective = if verb == Verb::Get { Encoding::Form } else { encoding };
        let params = match effective {
            Encoding::Json => core.to_json(),
            _ => core.to_form(),
        };
        let expected = match (signed, effective) {
            (false, _) => params,
            (true, Encoding::Json) => smartex_core::auth::json_with_time(&params, time),
            (true, _) => smartex_core::auth::form_with_time(&params, time),
        };
        let root = "https://www.smartexpay.com/service/api/v1/public/exchanger/order/get/";
        prop_assert_eq!(request.verb, verb);
        prop_assert_eq!(request.header("lang"), Some(lang.as_str()));
        prop_assert!(request.idempotent);
        let sent: &str = if verb == Verb::Get {
            prop_assert!(request.body.is_empty());
            prop_assert_eq!(request.header("content-type"), None);
            let (url, query) = request.url.split_once('?').unwrap();
            prop_assert_eq!(url, root);
            query
        } else {
            prop_assert_eq!(&request.url, root);
            prop_assert_eq!(request.header("content-type"), Some(effective.content_type()));
            std::str::from_utf8(&request.body).unwrap()
        };
        prop_assert_eq!(sent, expected.as_str());
        if signed {
            let secret = ApiSecret::new("S3CR3T").unwrap();
            let (query, body) = if verb == Verb::Get {
                (Some(sent), Body::None)
            } else {
                (None, Body::from_content_type(request.header("content-type"), &request.body))
            };
            let hash = express_signature(query, body, &secret).unwrap();
            prop_assert_eq!(request.header("hash"), Some(hash.as_str()));
            prop_assert_eq!(request.header("apikey"), Some("K"));
        } else {
            prop_assert_eq!(request.header("hash"), None);
        }

        // The bytes decode back to the parameters.
        let (uid_back, secret_back, time_back) = match effective {
            Encoding::Json => {
                let v: serde_json::Value = serde_json::from_str(sent).unwrap();
                (v["orderUID"].as_u64().unwrap().to_string(), v["orderSecret"].as_str().unwrap().to_owned(),
                 v.get("time").map(|t| t.as_u64().unwrap()))
            }
            _ => {
                let tree = decode_tree(sent.as_bytes(), &Limits::default()).unwrap();
                let text = |k: &str| tree.get(k).and_then(Node::as_str).map(str::to_owned);
                (text("orderUID").unwrap(), text("orderSecret").unwrap(),
                 text("time").map(|t| t.parse().unwrap()))
            }
        };
        prop_assert_eq!(uid_back, uid.get().to_string());
        prop_assert_eq!(secret_back, secret);
        prop_assert_eq!(time_back, signed.then_some(time));
    }

    /// A create-order body is the core's encoding, byte for byte, in both
    /// encodings, and the form body keeps every list entry in order.
    #[test]
    fn create_order_body_is_the_core_encoding(
        amount in "-?[1-9][0-9]{0,8}(\\.[0-9]{1,8})?",
        values in prop::collection::vec(("[a-zA-Z][a-zA-Z0-9_]{0,15}", "[^\u{0}-\u{1f}]{1,40}"), 0..4),
        encoding in encoding(),
    ) {
        let mut b = CreateOrder::builder()
            .route_id("5d8e6002b80b7b4cd75a6424")
            .amount(amount.clone())
            .agreement(true);
        for (k, v) in &values {
            b = b.to_value(k.clone(), v.clone());
        }
        // Refused exactly when a JavaScript number cannot hold the amount.
        let Ok(order) = b.build() else {
            prop_assert!(exact_js_number(&amount).is_none(), "{} refused", amount);
            return Ok(());
        };
        prop_assert!(exact_js_number(&amount).is_some());
        let capture: &'static Capture = Box::leak(Box::default());
        let client = ClientBuilder::new("https://www.smartexpay.com")
            .encoding(encoding)
            .build_with(capture)
            .unwrap();
        runtime().block_on(client.create_order(&order)).unwrap();
        let request = capture.0.lock().unwrap().take().unwrap();
        prop_assert!(!request.idempotent);
        prop_assert_eq!(request.verb, Verb::Post);
        let expected = match encoding {
            Encoding::Json => order.to_json(),
            _ => order.to_form(),
        };
        prop_assert_eq!(std::str::from_utf8(&request.body).unwrap(), expected.as_str());
        if encoding == Encoding::Form {
            let tree = decode_tree(&request.body, &Limits::default()).unwrap();
            for (i, (k, v)) in values.iter().enumerate() {
                let entry = tree.get("toValues").and_then(|l| l.index(i)).unwrap();
                prop_assert_eq!(entry.get("key").and_then(Node::as_str), Some(k.as_str()));
                prop_assert_eq!(entry.get("value").and_then(Node::as_str), Some(v.as_str()));
            }
        }
    }
}
