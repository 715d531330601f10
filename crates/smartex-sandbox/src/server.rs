//! The HTTP side: the accept loop, routing, and response helpers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::api::{self, Call};
use crate::engine::Inner;

/// A response with a body in memory.
pub(crate) type Resp = Response<Full<Bytes>>;

/// Where the API lives under the site.
pub(crate) const API_PREFIX: &str = "/service/api/v1";

/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// A response with `status`, `content_type` and `body`.
pub(crate) fn respond(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON response.
pub(crate) fn json(status: u16, value: &serde_json::Value) -> Resp {
    respond(status, "application/json; charset=utf-8", value.to_string())
}

/// The HTML error page a reverse proxy shows (nginx's, for `502 Bad Gateway`).
pub(crate) fn error_page(status: u16) -> Resp {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    respond(code.as_u16(), "text/html", body)
}

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let conn_inner = Arc::clone(&inner);
        inner.spawn(async move {
            let service = service_fn(move |req| {
                let inner = Arc::clone(&conn_inner);
                async move { Ok::<_, Infallible>(route(inner, req).await) }
            });
            // A client that goes away mid-request is its own business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(inner: Arc<Inner>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return respond(413, "text/plain", "request body too large or unreadable"),
    };
    let path = parts.uri.path();
    if let Some(method) = path.strip_prefix(API_PREFIX)
        && (method.is_empty() || method.starts_with('/'))
    {
        let call = Call {
            method: method.trim_matches('/'),
            http: &parts.method,
            headers: &parts.headers,
            query: parts.uri.query(),
            body: &body,
        };
        return api::handle(&inner, call).await;
    }
    if inner.settings.admin
        && let Some(rest) = path.strip_prefix("/_sandbox")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        if !crate::admin::authorized(&inner, &parts.headers) {
            return crate::admin::unauthorized();
        }
        return crate::admin::handle(&inner, &parts.method, rest, &body).await;
    }
    crate::admin::page(&inner, &parts.method, path)
}
