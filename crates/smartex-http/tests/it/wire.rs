//! What each call puts on the wire: method, path (with its trailing slash),
//! headers and body bytes, as snapshots, in every encoding and verb mode.

use smartex_core::request::{CreateOrder, GetRoutes, OrderViewKind};
use smartex_core::{
    ApiKey, ApiSecret, CurrencyCode, Lang, ObjectId, OrderSecret, OrderStatus, OrderUid,
};
use smartex_http::{ApiKeyAuth, Client, ClientBuilder, Encoding, ReqwestTransport};

use crate::server::{TestServer, platform};
use crate::{API_SECRET, IPN_SECRET, ORDER_SECRET, make_client};

fn order() -> CreateOrder {
    CreateOrder::builder()
        .route_id("5d8e6002b80b7b4cd75a6424")
        .amount("0.05")
        .agreement(true)
        .from_value("email", "buyer@shop.example")
        .to_value("wallet", "Z123456789012")
        .to_value("memo", "a&b=c d+é")
        .lang("en")
        .client_callback_url("https://shop.example/back?order=7")
        .ipn_url("https://shop.example/ipn")
        .ipn_secret(IPN_SECRET)
        .build()
        .unwrap()
}

/// Every named method once, in a fixed order.
async fn exercise(client: &Client<ReqwestTransport>) {
    let created = client.create_order(&order()).await.unwrap();
    assert_eq!(created.uid().get(), 1409);
    assert_eq!(created.secret().expose(), ORDER_SECRET);
    assert_eq!(created.request_id(), Some("1742774343407-ATmqdjI"));
    let uid = created.uid();
    let secret = created.secret().clone();
    let view = client
        .get_order(uid, &secret, OrderViewKind::Order)
        .await
        .unwrap();
    assert_eq!(view.order.status, OrderStatus::WaitPayment);
    client
        .get_order(uid, &secret, OrderViewKind::Payment)
        .await
        .unwrap();
    client
        .update_status(uid, &secret, OrderStatus::Deleted, Some(&OrderStatus::New))
        .await
        .unwrap();
    client.mark_paid(uid, &secret).await.unwrap();
    let routes = client
        .routes(&GetRoutes {
            from_currency_id: Some(ObjectId::parse("from", "5d8e6002b80b7b4cd75a6401").unwrap()),
            to_currency_id: None,
        })
        .await
        .unwrap();
    assert_eq!(routes.routes.len(), 1);
    let route = client
        .route(ObjectId::parse("id", "5d8e6002b80b7b4cd75a6424").unwrap())
        .await
        .unwrap();
    assert_eq!(route.route.fields[0].id, "wallet");
    client
        .route_by_xml(
            CurrencyCode::parse("xmlIn", "BTC").unwrap(),
            CurrencyCode::parse("xmlOut", "WMZ").unwrap(),
        )
        .await
        .unwrap();
}

async fn wire(configure: impl FnOnce(ClientBuilder) -> ClientBuilder) -> String {
    let server = TestServer::start(platform).await;
    let client = make_client(&server, configure);
    exercise(&client).await;
    let requests = server.requests();
    assert_eq!(requests.len(), 8, "one request per call, no retries");
    for r in &requests {
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("smartex/", env!("CARGO_PKG_VERSION")))
        );
    }
    requests
        .iter()
        .map(|r| r.render())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The key, with the client's clock standing at a fixed instant.
fn fixed_key(builder: ClientBuilder) -> ClientBuilder {
    let auth = ApiKeyAuth::new(
        ApiKey::new("EF04794F718A3FC8C6DFA0B").unwrap(),
        ApiSecret::new(API_SECRET).unwrap(),
    );
    builder
        .api_key(auth)
        .clock(crate::clock_at(1_742_774_343_407))
}

#[tokio::test]
async fn json_encoding() {
    insta::assert_snapshot!(wire(|b| b).await);
}

#[tokio::test]
async fn form_encoding() {
    insta::assert_snapshot!(wire(|b| b.encoding(Encoding::Form).lang(Lang::RU)).await);
}

#[tokio::test]
async fn reads_with_get_and_update_with_put() {
    insta::assert_snapshot!(
        wire(|b| b.reads_with_get().verb(
            "public/exchanger/order/update-status",
            smartex_http::Verb::Put
        ))
        .await
    );
}

#[tokio::test]
async fn api_key_json() {
    insta::assert_snapshot!(wire(fixed_key).await);
}

#[tokio::test]
async fn api_key_form_and_get() {
    insta::assert_snapshot!(wire(|b| fixed_key(b).encoding(Encoding::Form).reads_with_get()).await);
}

#[tokio::test]
async fn api_root_override_and_user_agent() {
    let server = TestServer::start(platform).await;
    let root = format!("{}/gateway/v1", server.site());
    let client = make_client(&server, |b| b.api_root(root).user_agent("shop/2.1"));
    let secret = OrderSecret::new(ORDER_SECRET).unwrap();
    client
        .get_order(OrderUid::new(1409).unwrap(), &secret, OrderViewKind::Order)
        .await
        .unwrap_err(); // the stand-in platform only knows /service/api/v1/
    let request = &server.requests()[0];
    assert_eq!(request.path, "/gateway/v1/public/exchanger/order/get/");
    assert_eq!(request.header("user-agent"), Some("shop/2.1"));

    let client = make_client(&server, |b| b.trailing_slash(false).reads_with_get());
    client
        .get_order(OrderUid::new(1409).unwrap(), &secret, OrderViewKind::Order)
        .await
        .unwrap_err(); // the stand-in platform wants the trailing slash
    let request = &server.requests()[1];
    assert_eq!(
        request.path,
        format!(
            "/service/api/v1/public/exchanger/order/get?orderUID=1409&orderSecret={ORDER_SECRET}&type=order"
        )
    );
}

#[tokio::test]
async fn created_order_page_urls() {
    let server = TestServer::start(platform).await;
    let client = make_client(&server, |b| b.lang(Lang::RU));
    let created = client.create_order(&order()).await.unwrap();
    let site = server.site();
    assert_eq!(
        created.payment_page(),
        format!("{site}/ru/payment/1409/{ORDER_SECRET}")
    );
    assert_eq!(
        created.order_page(),
        format!("{site}/ru/order/1409/{ORDER_SECRET}")
    );
    assert_eq!(
        created.payment_page_in(Lang::EN),
        format!("{site}/en/payment/1409/{ORDER_SECRET}")
    );
    assert_eq!(
        client.payment_page(created.uid(), created.secret()),
        created.payment_page()
    );
    // Deref to the platform's data.
    assert_eq!(
        created.out_amount.as_ref().map(|a| a.as_str()),
        Some("317.42")
    );
    // The secret never prints.
    crate::assert_no_secret(&format!("{created:?}"));
}

#[test]
fn bad_site_is_refused() {
    let err = ClientBuilder::new("ftp://example.com")
        .build_with(crate::transport())
        .unwrap_err();
    assert_eq!(err.kind(), smartex_http::ErrorKind::Invalid);
    let err = ClientBuilder::new("https://example.com")
        .api_root("https://example.com/api?x=1")
        .build_with(crate::transport())
        .unwrap_err();
    assert_eq!(err.kind(), smartex_http::ErrorKind::Invalid);
}
