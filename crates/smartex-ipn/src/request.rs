//! An incoming HTTP request as plain data, from any framework or none.

/// Read access to a request's headers, by name.
///
/// Implemented for `()` (no headers), for slices and arrays of
/// `(name, value)` pairs, and — with the `http` feature — for
/// `http::HeaderMap`. Any framework's header map is a few lines away:
///
/// ```
/// use smartex_ipn::Headers;
/// struct MyHeaders(Vec<(String, Vec<u8>)>);
/// impl Headers for MyHeaders {
///     fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
///         for (n, v) in &self.0 {
///             if n.eq_ignore_ascii_case(name) {
///                 f(v);
///             }
///         }
///     }
/// }
/// ```
pub trait Headers {
    /// Calls `f` with every value of the header `name` (matched ASCII
    /// case-insensitively), in the order received.
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8]));
}

impl Headers for () {
    fn for_each(&self, _name: &str, _f: &mut dyn FnMut(&[u8])) {}
}

impl<N: AsRef<str>, V: AsRef<[u8]>> Headers for [(N, V)] {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for (n, v) in self {
            if n.as_ref().eq_ignore_ascii_case(name) {
                f(v.as_ref());
            }
        }
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>, const K: usize> Headers for [(N, V); K] {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        self.as_slice().for_each(name, f);
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(N, V)> {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        self.as_slice().for_each(name, f);
    }
}

impl<H: Headers + ?Sized> Headers for &H {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        (**self).for_each(name, f);
    }
}

/// An incoming request, as plain data: method, content type, query string,
/// headers and the raw body bytes, exactly as received.
///
/// ```
/// use smartex_ipn::IpnRequest;
/// let headers = [("X-Hash", "af3acf94")];
/// let request = IpnRequest::new("POST", b"orderUID=1&orderId=5d8e6002b80b7b4cd75a6424")
///     .content_type("application/x-www-form-urlencoded")
///     .query("shop=1")
///     .headers(&headers);
/// assert_eq!(request.method(), "POST");
/// ```
#[derive(Clone, Copy)]
pub struct IpnRequest<'a> {
    method: &'a str,
    content_type: Option<&'a [u8]>,
    query: Option<&'a str>,
    headers: &'a (dyn Headers + Sync),
    body: &'a [u8],
    checksum: Option<&'a str>,
}

impl<'a> IpnRequest<'a> {
    /// A request with this method (`"POST"`) and raw body; no content type,
    /// query string or headers until set.
    pub fn new(method: &'a str, body: &'a [u8]) -> Self {
        Self {
            method,
            content_type: None,
            query: None,
            headers: &(),
            body,
            checksum: None,
        }
    }

    /// Sets the `Content-Type` header's value.
    #[must_use]
    pub fn content_type(mut self, value: &'a str) -> Self {
        self.content_type = Some(value.as_bytes());
        self
    }

    /// Sets the `Content-Type` header's value as raw bytes (header values need
    /// not be UTF-8).
    #[must_use]
    pub fn content_type_bytes(mut self, value: &'a [u8]) -> Self {
        self.content_type = Some(value);
        self
    }

    /// Sets the query string of the request URL (after `?`, without it).
    #[must_use]
    pub fn query(mut self, query: &'a str) -> Self {
        self.query = Some(query);
        self
    }

    /// Sets the headers. The `Content-Type` is read from them too, unless set
    /// with [`content_type`](Self::content_type). (`Sync` keeps the request
    /// `Send`, so a handler may hold it across an `.await`.)
    #[must_use]
    pub fn headers(mut self, headers: &'a (dyn Headers + Sync)) -> Self {
        self.headers = headers;
        self
    }

    /// Supplies a checksum found by the caller (e.g. in a path segment or a
    /// header the framework has already consumed). It counts as one more place:
    /// if another configured place holds a different checksum, the request is
    /// refused.
    #[must_use]
    pub fn checksum(mut self, checksum: &'a str) -> Self {
        self.checksum = Some(checksum);
        self
    }

    /// The method.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The query string, if any.
    pub fn query_string(&self) -> Option<&'a str> {
        self.query
    }

    /// The raw body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The headers.
    pub fn header_source(&self) -> &'a (dyn Headers + Sync) {
        self.headers
    }

    /// The caller-supplied checksum, if any.
    pub fn supplied_checksum(&self) -> Option<&'a str> {
        self.checksum
    }

    /// Calls `f` with the content type: the one set explicitly, else every
    /// `Content-Type` header value.
    pub(crate) fn content_types(&self, f: &mut dyn FnMut(&[u8])) {
        match self.content_type {
            Some(ct) => f(ct),
            None => self.headers.for_each("content-type", f),
        }
    }
}

impl core::fmt::Debug for IpnRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The body holds personal data and a checksum; show only its size.
        f.debug_struct("IpnRequest")
            .field("method", &self.method)
            .field(
                "content_type",
                &self.content_type.map(String::from_utf8_lossy),
            )
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}
