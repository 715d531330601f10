//! Conversions from and to the [`http`] crate's types (feature `http`).

use crate::answer::Answer;
use crate::request::{Headers, IpnRequest};

impl Headers for http::HeaderMap {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for value in self.get_all(name) {
            f(value.as_bytes());
        }
    }
}

impl<'a> IpnRequest<'a> {
    /// The request's method, query string, headers (hence content type) and
    /// body.
    ///
    /// ```
    /// use smartex_ipn::IpnRequest;
    /// let request = http::Request::post("/ipn?shop=1")
    ///     .header("content-type", "application/x-www-form-urlencoded")
    ///     .body(b"orderUID=1".to_vec())?;
    /// let ipn_request = IpnRequest::from_http(&request);
    /// assert_eq!(ipn_request.query_string(), Some("shop=1"));
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn from_http<B: AsRef<[u8]>>(request: &'a http::Request<B>) -> Self {
        Self::from_parts_inner(
            request.method(),
            request.uri(),
            request.headers(),
            request.body().as_ref(),
        )
    }

    /// The same from a request split into parts and a collected body (what
    /// axum's and hyper's body APIs give).
    pub fn from_http_parts(parts: &'a http::request::Parts, body: &'a [u8]) -> Self {
        Self::from_parts_inner(&parts.method, &parts.uri, &parts.headers, body)
    }

    fn from_parts_inner(
        method: &'a http::Method,
        uri: &'a http::Uri,
        headers: &'a http::HeaderMap,
        body: &'a [u8],
    ) -> Self {
        let request = IpnRequest::new(method.as_str(), body).headers(headers);
        match uri.query() {
            Some(q) => request.query(q),
            None => request,
        }
    }
}

impl<'a, B: AsRef<[u8]>> From<&'a http::Request<B>> for IpnRequest<'a> {
    fn from(request: &'a http::Request<B>) -> Self {
        IpnRequest::from_http(request)
    }
}

impl Answer {
    /// The answer as an `http::Response` with a `text/plain` body (and
    /// `Allow` for a 405). Map the body into your framework's type:
    /// `answer.to_http_response().map(axum::body::Body::from)`.
    ///
    /// ```
    /// let response = smartex_ipn::Answer::OK.to_http_response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(*response.body(), "OK");
    /// ```
    pub fn to_http_response(&self) -> http::Response<&'static str> {
        let mut response = http::Response::new(self.body);
        // Every status an Answer holds is a valid one (they are constants of
        // this crate); the fallback keeps library code free of panics.
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Some(allow) = self.allow_header()
            && let Ok(value) = http::HeaderValue::from_str(&allow)
        {
            response.headers_mut().insert(http::header::ALLOW, value);
        }
        response
    }
}

impl From<Answer> for http::Response<&'static str> {
    fn from(answer: Answer) -> Self {
        answer.to_http_response()
    }
}
