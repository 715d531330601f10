//! `smartex order create | get | mark-paid`.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use smartex_core::form::FormWriter;
use smartex_core::request::{ApiCall, CreateOrder, GetOrder, OrderViewKind};
use smartex_core::{ApiKey, ApiSecret, OrderSecret};
use smartex_http::{ApiKeyAuth, Client, ClientBuilder, ReqwestTransport, WatchEnd, WatchOptions};

use crate::cli::{CreateArgs, GetArgs, Hidden, MarkPaidArgs, OrderRef, SiteArgs, ViewArg};
use crate::exit::{Error, Exit};
use crate::term::Printer;

/// The API client for `site`: its API key if given, no proxy for loopback.
pub(crate) fn client(site: &SiteArgs) -> Result<Client<ReqwestTransport>, Error> {
    let timeout = Duration::from_secs(site.timeout_secs.max(1));
    let mut builder = ClientBuilder::new(&site.site)
        .lang(site.lang)
        .timeout(timeout);
    if let Some(root) = &site.api_root {
        builder = builder.api_root(root.clone());
    }
    match (&site.api_key, &site.api_secret) {
        (Some(key), Some(secret)) => {
            let key = ApiKey::new(key.0.clone()).map_err(|_| {
                Error::usage("the API key (--api-key or SMARTEX_API_KEY) must be printable ASCII")
            })?;
            let secret = ApiSecret::new(secret.0.clone()).map_err(|_| {
                Error::usage(format!(
                    "the API secret (--api-secret or SMARTEX_API_SECRET) must be 1 to {} characters",
                    ApiSecret::MAX_LEN
                ))
            })?;
            builder = builder.api_key(ApiKeyAuth::new(key, secret));
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(Error::usage(
                "an API key needs its secret: set SMARTEX_API_SECRET (or --api-secret)",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::usage(
                "an API secret needs its key: set SMARTEX_API_KEY (or --api-key)",
            ));
        }
    }
    let target = site.api_root.as_deref().unwrap_or(&site.site);
    // The transport's own backstop, a little above the client's timeout
    // (saturating: --timeout-secs may be as large as u64 allows).
    let backstop = timeout.saturating_add(Duration::from_secs(5));
    let transport = crate::post::transport_for(target, backstop)?;
    Ok(builder.build_with(transport)?)
}

/// `2 ETH → 317.42 WMZ` from the amounts and a route object's
/// `from.xml`/`to.xml` (codes left out when the platform does not send them).
fn amounts(
    route: Option<&Value>,
    in_amount: Option<&smartex_core::Amount>,
    out_amount: Option<&smartex_core::Amount>,
) -> String {
    let code = |side: &str| {
        route
            .and_then(|r| r.get(side))
            .and_then(|s| s.get("xml"))
            .and_then(Value::as_str)
            .map(|c| format!(" {c}"))
            .unwrap_or_default()
    };
    let amount = |a: Option<&smartex_core::Amount>| {
        a.map_or_else(|| "?".to_owned(), |a| a.as_str().to_owned())
    };
    format!(
        "{}{} → {}{}",
        amount(in_amount),
        code("from"),
        amount(out_amount),
        code("to")
    )
}

/// The order's secret, checked without repeating it.
fn order_secret(secret: &Hidden) -> Result<OrderSecret, Error> {
    OrderSecret::new(secret.0.clone()).map_err(|_| {
        Error::usage(format!(
            "the order secret (--order-secret or SMARTEX_ORDER_SECRET) must be 1 to {} characters",
            OrderSecret::MAX_LEN
        ))
    })
}

/// The uid and secret of `order`.
pub(crate) fn order_ref(order: &OrderRef) -> Result<(smartex_core::OrderUid, OrderSecret), Error> {
    Ok((order.uid, order_secret(&order.order_secret)?))
}

/// Splits `KEY=VALUE` entries of `option`.
fn pairs(option: &str, entries: &[String]) -> Result<Vec<(String, String)>, Error> {
    entries
        .iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(Error::usage(format!("{option} must be KEY=VALUE"))),
        })
        .collect()
}

/// `smartex order create`.
pub(crate) fn create(args: &CreateArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let client = client(&args.site)?;
    let mut builder = CreateOrder::builder()
        .amount(args.amount.clone())
        .agreement(true)
        .lang(args.site.lang.as_str());
    for (k, v) in pairs("--from-value", &args.from_values)? {
        builder = builder.from_value(k, v);
    }
    for (k, v) in pairs("--to-value", &args.to_values)? {
        builder = builder.to_value(k, v);
    }
    for (k, v) in pairs("--route-value", &args.route_values)? {
        builder = builder.route_value(k, v);
    }
    if let Some(url) = &args.ipn_url {
        builder = builder.ipn_url(url.clone());
        // The secret is sent only with a URL to sign for.
        if let Some(secret) = &args.ipn_secret {
            builder = builder.ipn_secret(secret.0.clone());
        }
    }
    if let Some(url) = &args.callback_url {
        builder = builder.client_callback_url(url.clone());
    }
    if let Some(email) = &args.email {
        builder = builder.email(email.clone());
    }
    if let Some(partner) = &args.partner {
        builder = builder.partner(partner.clone());
    }
    crate::block_on(async {
        let route_id = match (&args.route, &args.xml_from, &args.xml_to) {
            (Some(route), _, _) => *route,
            (None, Some(from), Some(to)) => {
                p.waiting("route/get/one/by-xml …");
                client
                    .route_by_xml(from.clone(), to.clone())
                    .await?
                    .route
                    .route_id
            }
            _ => return Err(Error::usage("give --route, or --xml-from and --xml-to")),
        };
        let order = builder.route_id(route_id.as_str()).build()?;
        p.waiting("order/create …");
        let created = client.create_order(&order).await.map_err(create_failed)?;
        p.done_waiting();
        let status = created
            .status
            .as_ref()
            .map_or("new", smartex_core::OrderStatus::as_str);
        let amount = |a: &Option<smartex_core::Amount>| {
            a.as_ref()
                .map_or("?", smartex_core::Amount::as_str)
                .to_owned()
        };
        if args.json {
            p.line(
                json!({
                    "id": created.id().as_str(),
                    "uid": created.uid().get(),
                    "secret": created.secret().expose(),
                    "status": status,
                    "inAmount": amount(&created.in_amount),
                    "outAmount": amount(&created.out_amount),
                    "paymentPage": created.payment_page(),
                    "orderPage": created.order_page(),
                    "requestId": created.request_id(),
                })
                .to_string(),
            );
        } else {
            let s = p.style();
            p.line(s.ok(&format!("order {} created", created.uid())));
            p.line(format!("  id            {}", created.id()));
            p.line(format!("  status        {status}"));
            p.line(format!(
                "  amounts       {}",
                amounts(
                    created.route.as_ref(),
                    created.in_amount.as_ref(),
                    created.out_amount.as_ref()
                )
            ));
            p.line(format!(
                "  order secret  {}  {}",
                created.secret().expose(),
                s.dim("(keep it: with the uid it opens the order; SMARTEX_ORDER_SECRET)")
            ));
            p.line(format!("  payment page  {}", created.payment_page()));
            p.line(format!("  order page    {}", created.order_page()));
            if let Some(id) = created.request_id() {
                p.line(format!("  request id    {id}"));
            }
        }
        Ok(Exit::Ok)
    })?
}

/// The error of a failed `order/create`. The client already calls every
/// failure that may have come after the order was made ambiguous (a timeout, a
/// broken connection, a 5xx other than 503, a success status without the
/// envelope), and an ambiguous error exits 5, so that a script never blindly
/// creates a second order.
fn create_failed(e: smartex_http::Error) -> Error {
    e.into()
}

/// Any method, with its `data` as raw JSON (what `--json` prints).
#[derive(Serialize)]
#[serde(transparent)]
struct Raw<M>(M);

impl<M: ApiCall> ApiCall for Raw<M> {
    const PATH: &'static str = M::PATH;
    const IDEMPOTENT: bool = M::IDEMPOTENT;
    type Output = Value;

    fn write_form(&self, form: &mut FormWriter) {
        self.0.write_form(form);
    }

    fn to_json(&self) -> String {
        self.0.to_json()
    }
}

/// `smartex order get`.
pub(crate) fn get(args: &GetArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let client = client(&args.site)?;
    let (uid, secret) = order_ref(&args.order)?;
    let view = match args.view {
        ViewArg::Order => OrderViewKind::Order,
        ViewArg::Payment => OrderViewKind::Payment,
    };
    crate::block_on(async {
        if args.watch {
            return watch(args, p, &client, uid, &secret, view).await;
        }
        p.waiting("order/get …");
        if args.json {
            let reply = client
                .call(&Raw(GetOrder::new(uid, secret).view(view)))
                .await?;
            p.done_waiting();
            let text = serde_json::to_string_pretty(&reply.data)
                .map_err(|e| Error::unavailable(format!("cannot write JSON: {e}")))?;
            p.line(text);
            return Ok(Exit::Ok);
        }
        let order = client.get_order(uid, &secret, view).await?.order;
        p.done_waiting();
        let s = p.style();
        p.line(format!(
            "order {}: {}",
            order.uid,
            s.bold(order.status.as_str())
        ));
        p.line(format!("  id        {}", order.id));
        p.line(format!(
            "  amounts   {}",
            amounts(
                order.route.as_ref(),
                order.in_amount.as_ref(),
                order.out_amount.as_ref()
            )
        ));
        if let Some(created) = &order.created_at {
            p.line(format!("  created   {created}"));
        }
        if let Some(expires) = &order.expires_at {
            p.line(format!("  expires   {expires}"));
        }
        Ok(Exit::Ok)
    })?
}

/// `smartex order get --watch`.
async fn watch(
    args: &GetArgs,
    p: &Printer<'_>,
    client: &Client<ReqwestTransport>,
    uid: smartex_core::OrderUid,
    secret: &OrderSecret,
    view: OrderViewKind,
) -> Result<Exit, Error> {
    let first = Duration::from_millis(args.poll_ms.max(10));
    let options = WatchOptions::default()
        .deadline(Duration::from_secs(args.watch_secs))
        .intervals(first, first * 24)
        .view(view);
    let mut watch = client.watch_order(uid, secret, options);
    let s = p.style();
    p.waiting(format!("watching order {uid} …"));
    while let Some(change) = watch.next().await {
        let change = change?;
        let word = crate::receiver::decision_word(&change.decision);
        if args.json {
            p.line(
                json!({"uid": uid.get(), "status": change.status.as_str(), "decision": word})
                    .to_string(),
            );
        } else {
            let status = if change.status.is_final() {
                s.bold(change.status.as_str())
            } else {
                change.status.as_str().to_owned()
            };
            let note = if word == "applied" {
                String::new()
            } else {
                s.warn(&format!(
                    "  ({word}: not in the usual lifecycle; look at it)"
                ))
            };
            p.line(format!(
                "{}  order {uid}: {status}{note}",
                super::ipn::utc(crate::now_ms())
            ));
        }
    }
    p.done_waiting();
    match watch.end() {
        WatchEnd::Final => Ok(Exit::Ok),
        _ => {
            let last = watch
                .known()
                .map_or("unknown", |k| k.status.as_str())
                .to_owned();
            Err(Error::check(format!(
                "order {uid} is still {last} after {} s (not final)",
                args.watch_secs
            )))
        }
    }
}

/// `smartex order mark-paid`.
pub(crate) fn mark_paid(args: &MarkPaidArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let client = client(&args.site)?;
    let (uid, secret) = order_ref(&args.order)?;
    crate::block_on(async {
        p.waiting("order/update-status …");
        let data = client.mark_paid(uid, &secret).await?;
        p.done_waiting();
        if args.json {
            p.line(serde_json::to_string(&data).unwrap_or_default());
        } else {
            let status = data
                .new_status
                .as_ref()
                .map_or("inProgress", |s| s.as_str());
            p.line(
                p.style()
                    .ok(&format!("order {uid} marked paid: now {status}")),
            );
        }
        Ok(Exit::Ok)
    })?
}
