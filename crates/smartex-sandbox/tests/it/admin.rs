//! The admin endpoint and the sandbox's pages, over HTTP.

use serde_json::json;
use smartex_core::pages::Site;
use smartex_core::{Lang, OrderSecret, OrderStatus, OrderUid};

use crate::*;

#[tokio::test]
async fn orders_can_be_listed_and_driven_over_http() {
    let receiver = Receiver::start("admin-secret").await;
    let sb = manual_sandbox().await;
    let mut body = eth_wmz(json!(2));
    body["ipnUrl"] = json!(receiver.url());
    body["ipnSecret"] = json!("admin-secret");
    let created = create(&sb, body).await;
    let uid = created["uid"].as_u64().unwrap();

    let index = admin(&sb, "GET", "", None).await.json();
    assert_eq!(index["apiRoot"], sb.api_root());
    assert_eq!(index["orders"], 1);
    assert_eq!(index["routes"].as_array().unwrap().len(), 3);

    let list = admin(&sb, "GET", "/orders", None).await.json();
    assert_eq!(list["orders"][0]["uid"], uid);
    assert_eq!(list["orders"][0]["status"], "new");
    let text = admin(&sb, "GET", "/orders", None).await.text();
    assert!(
        !text.contains(created["secret"].as_str().unwrap()),
        "no order secret"
    );
    assert!(!text.contains("admin-secret"), "no IPN secret");

    let t = admin(
        &sb,
        "POST",
        &format!("/orders/{uid}/status"),
        Some(json!({"status": "waitPayment"})),
    )
    .await;
    assert_eq!(t.status, 200);
    let t = t.json();
    assert_eq!(t["from"], "new");
    assert_eq!(t["status"], "waitPayment");
    assert_eq!(t["ipns"][0]["outcome"], "delivered");
    assert_eq!(t["ipns"][0]["detail"]["status"], 200);
    let t = admin(&sb, "POST", &format!("/orders/{uid}/advance"), None)
        .await
        .json();
    assert_eq!(t["status"], "inProgress");
    assert_eq!(receiver.statuses(), ["waitPayment", "inProgress"]);

    let resent = admin(
        &sb,
        "POST",
        &format!("/orders/{uid}/resend"),
        Some(json!({"status": "waitPayment"})),
    )
    .await
    .json();
    assert_eq!(resent["ipns"][0]["kind"], "stale");
    assert_eq!(
        receiver.statuses(),
        ["waitPayment", "inProgress", "waitPayment"]
    );

    let one = admin(&sb, "GET", &format!("/orders/{uid}"), None)
        .await
        .json();
    assert_eq!(one["order"]["status"], "inProgress");
    assert_eq!(one["ipns"].as_array().unwrap().len(), 3);
    let ipns = admin(&sb, "GET", "/ipns", None).await.json();
    assert_eq!(ipns["ipns"].as_array().unwrap().len(), 3);
    assert!(
        ipns["ipns"][0]["body"]
            .as_str()
            .unwrap()
            .contains("newStatus=waitPayment")
    );

    // Errors.
    assert_eq!(admin(&sb, "GET", "/orders/99999", None).await.status, 404);
    assert_eq!(admin(&sb, "GET", "/orders/abc", None).await.status, 400);
    assert_eq!(
        admin(&sb, "POST", &format!("/orders/{uid}/status"), None)
            .await
            .status,
        400
    );
    assert_eq!(
        admin(&sb, "POST", &format!("/orders/{uid}/explode"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        admin(&sb, "POST", "/orders/99999/advance", None)
            .await
            .status,
        404
    );
    let done = admin(
        &sb,
        "POST",
        &format!("/orders/{uid}/status"),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(done.status, 200);
    assert_eq!(
        admin(&sb, "POST", &format!("/orders/{uid}/advance"), None)
            .await
            .status,
        409
    );
    assert_eq!(admin(&sb, "GET", "/nope", None).await.status, 404);
    let not_object = request(
        sb.local_addr(),
        "POST",
        "/_sandbox/maintenance",
        &[],
        b"[1]",
    )
    .await;
    assert_eq!(not_object.status, 400);
}

#[tokio::test]
async fn maintenance_and_faults_can_be_set_over_http() {
    let receiver = Receiver::start("s").await;
    let sb = manual_sandbox().await;
    let on = admin(&sb, "POST", "/maintenance", Some(json!({"enabled": true})))
        .await
        .json();
    assert_eq!(on["maintenance"], true);
    assert!(sb.maintenance());
    let e = call(&sb, "public/exchanger/route/get", &json!({}))
        .await
        .error();
    assert_eq!(
        e["errorCode"].as_u64(),
        Some(smartex_sandbox::codes::MAINTENANCE)
    );
    assert_eq!(
        admin(&sb, "GET", "/maintenance", None).await.json()["maintenance"],
        true
    );
    admin(&sb, "POST", "/maintenance", Some(json!({"enabled": false}))).await;
    assert_eq!(
        admin(&sb, "POST", "/maintenance", Some(json!({})))
            .await
            .status,
        400
    );

    let mut body = eth_wmz(json!(2));
    body["ipnUrl"] = json!(receiver.url());
    body["ipnSecret"] = json!("s");
    let uid = create(&sb, body).await["uid"].as_u64().unwrap();
    let ok = admin(
        &sb,
        "POST",
        "/faults",
        Some(json!({"fault": "dropIpn", "uid": uid})),
    )
    .await;
    assert_eq!(ok.status, 200);
    let t = admin(&sb, "POST", &format!("/orders/{uid}/advance"), None)
        .await
        .json();
    assert_eq!(t["ipns"][0]["outcome"], "dropped");
    admin(
        &sb,
        "POST",
        "/faults",
        Some(json!({"fault": "duplicateIpn", "times": "always"})),
    )
    .await;
    admin(&sb, "DELETE", "/faults", None).await;
    let t = admin(&sb, "POST", &format!("/orders/{uid}/advance"), None)
        .await
        .json();
    assert_eq!(t["ipns"].as_array().unwrap().len(), 1, "cleared");
    assert_eq!(receiver.statuses(), ["inProgress"]);

    admin(
        &sb,
        "POST",
        "/faults",
        Some(json!({"fault": "errorPage", "status": 503, "path": "public/exchanger/route/get"})),
    )
    .await;
    let page = call(&sb, "public/exchanger/route/get", &json!({})).await;
    assert_eq!(page.status, 503);
    assert!(page.text().contains("503 Service Unavailable"));
    admin(&sb, "POST", "/faults", Some(json!({"fault": "errorPageAfterProcessing", "status": 500, "path": "public/exchanger/order/create"}))).await;
    assert_eq!(
        call(&sb, "public/exchanger/order/create", &eth_wmz(json!(2)))
            .await
            .status,
        500
    );
    assert_eq!(sb.orders().len(), 2);

    // The platform's anti-flood answer and its catalogued refusals.
    admin(
        &sb,
        "POST",
        "/faults",
        Some(json!({"fault": "antiFlood", "seconds": 4, "path": "public/exchanger/route/get"})),
    )
    .await;
    let flood = call(&sb, "public/exchanger/route/get", &json!({})).await;
    assert_eq!(flood.error()["errorCode"].as_u64(), Some(5_030_000));
    assert!(flood.error()["message"].as_str().unwrap().contains(" 4 "));
    admin(
        &sb,
        "POST",
        "/faults",
        Some(json!({"fault": "refuse", "code": 6_801_545_277_215_051_u64})),
    )
    .await;
    let refused = call(&sb, "public/exchanger/order/create", &eth_wmz(json!(2))).await;
    assert_eq!(
        refused.error()["errorCode"].as_u64(),
        Some(6_801_545_277_215_051)
    );
    assert_eq!(sb.orders().len(), 2);

    for bad in [
        json!({}),
        json!({"fault": "explode"}),
        json!({"fault": "refuse"}),
        json!({"fault": "refuse", "code": 1}),
        json!({"fault": "antiFlood", "seconds": "x"}),
        json!({"fault": "delayIpn"}),
        json!({"fault": "stall"}),
        json!({"fault": "dropIpn", "times": 0}),
        json!({"fault": "dropIpn", "uid": "x"}),
    ] {
        assert_eq!(
            admin(&sb, "POST", "/faults", Some(bad.clone()))
                .await
                .status,
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_admin_endpoint_can_be_turned_off() {
    let sb = Sandbox::start(SandboxConfig::default().admin_endpoint(false))
        .await
        .unwrap();
    assert_eq!(admin(&sb, "GET", "/orders", None).await.status, 404);
}

#[tokio::test]
async fn payment_and_order_pages_show_the_order_to_its_secret_holder() {
    let sb = manual_sandbox().await;
    let created = create(&sb, eth_wmz(json!(2))).await;
    let uid = OrderUid::new(created["uid"].as_u64().unwrap()).unwrap();
    let secret = OrderSecret::new(created["secret"].as_str().unwrap()).unwrap();
    let site = Site::new(sb.site_url()).unwrap();
    assert_eq!(site.api_root(), sb.api_root());
    for url in [
        site.payment_page(Lang::EN, uid, &secret),
        site.order_page(Lang::RU, uid, &secret),
    ] {
        let path = url.strip_prefix(sb.site_url()).unwrap();
        let page = request(sb.local_addr(), "GET", path, &[], b"").await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.content_type.starts_with("text/html"));
        assert!(page.text().contains(&format!("#{uid}")));
        assert!(page.text().contains("<strong id=\"status\">new</strong>"));
    }
    sb.advance(uid).await.unwrap();
    let page = request(
        sb.local_addr(),
        "GET",
        &format!("/en/payment/{uid}/{}", secret.expose()),
        &[],
        b"",
    )
    .await;
    assert!(page.text().contains(OrderStatus::WaitPayment.as_str()));
    let wrong = request(
        sb.local_addr(),
        "GET",
        &format!("/en/payment/{uid}/wrong"),
        &[],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 404);
    let index = request(sb.local_addr(), "GET", "/", &[], b"").await;
    assert!(index.text().contains("/service/api/v1/"));
}

#[tokio::test]
async fn with_an_admin_token_the_admin_endpoint_needs_it_and_the_api_does_not() {
    let sb = Sandbox::start(
        SandboxConfig::default()
            .schedule(Schedule::manual())
            .admin_token("s3cret-token"),
    )
    .await
    .unwrap();
    for (authorization, status) in [
        (None, 401),
        (Some("Bearer wrong"), 401),
        (Some("s3cret-token"), 401),
        (Some("Bearer s3cret-token"), 200),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .map(|value| ("authorization", value))
            .into_iter()
            .collect();
        let answer = request(sb.local_addr(), "GET", "/_sandbox/orders", &headers, b"").await;
        assert_eq!(answer.status, status, "{authorization:?}");
    }
    let faults = request(
        sb.local_addr(),
        "POST",
        "/_sandbox/faults",
        &[("content-type", "application/json")],
        br#"{"fault":"dropIpn"}"#,
    )
    .await;
    assert_eq!(faults.status, 401, "no fault without the token");
    // The API itself is the platform's: no admin token.
    let created = create(&sb, eth_wmz(json!(2))).await;
    assert!(created["uid"].as_u64().is_some());
    assert!(
        !format!("{:?}", SandboxConfig::default().admin_token("s3cret-token")).contains("s3cret")
    );
    sb.shutdown().await;
}
