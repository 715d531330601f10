//! The sandbox checks the API-key hash as the platform's Express server does
//! (`express_peer` proves that rebuild against real Express): every signed call
//! of the client, in every encoding and with every verb the sandbox serves, is
//! accepted, amounts in any spelling included.

use smartex_core::request::{CreateOrder, GetRoutes, OrderViewKind};
use smartex_core::{ApiKey, ApiSecret, CurrencyCode};
use smartex_http::{ApiKeyAuth, ClientBuilder, Encoding, Verb};
use smartex_sandbox::{Sandbox, SandboxConfig, Schedule, TEST_API_KEY, TEST_API_SECRET};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_accepts_every_signed_call_in_every_mode() {
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .test_api_key()
            .require_api_key(true),
    )
    .await
    .unwrap();
    let route = sb.route_by_xml("ETH", "WMZ").unwrap();
    let auth = ApiKeyAuth::new(
        ApiKey::new(TEST_API_KEY).unwrap(),
        ApiSecret::new(TEST_API_SECRET).unwrap(),
    );
    let amounts = ["0.50", "1E-1", "2.10", "1.0e1"];
    for (n, (encoding, reads_with_get)) in [
        (Encoding::Json, false),
        (Encoding::Form, false),
        (Encoding::Json, true),
        (Encoding::Form, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut builder = ClientBuilder::new(sb.site_url())
            .api_key(auth.clone())
            .encoding(encoding);
        if reads_with_get {
            builder = builder
                .reads_with_get()
                .verb("public/exchanger/order/update-status", Verb::Put);
        }
        let client = builder.build_with(crate::transport()).unwrap();
        let ctx = format!("{encoding:?}, reads with GET: {reads_with_get}");

        let routes = client.routes(&GetRoutes::default()).await;
        assert!(!routes.unwrap().routes.is_empty(), "{ctx}");
        let id = smartex_core::ObjectId::parse("id", &route.id).unwrap();
        client.route(id).await.unwrap();
        let xml = |s: &str| CurrencyCode::parse("xml", s).unwrap();
        client.route_by_xml(xml("ETH"), xml("WMZ")).await.unwrap();
        let order = CreateOrder::builder()
            .route_id(route.id.clone())
            .amount(amounts[n])
            .agreement(true)
            .to_value("wallet", "Z123456789012")
            .build()
            .unwrap();
        let created = client
            .create_order(&order)
            .await
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        client
            .get_order(created.uid(), created.secret(), OrderViewKind::Order)
            .await
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        client
            .mark_paid(created.uid(), created.secret())
            .await
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    }
}
