//! The site: its API root, the payment and order pages, and the client's return
//! to `clientCallbackUrl`.
//!
//! ```
//! use smartex_core::pages::Site;
//! use smartex_core::{Lang, OrderSecret, OrderUid};
//! let site = Site::new("https://www.smartexpay.com/")?;
//! assert_eq!(site.api_root(), "https://www.smartexpay.com/service/api/v1/");
//! let uid = OrderUid::new(1409)?;
//! let secret = OrderSecret::new("dGqwF2M2eBPaSN1G5ljMS1cb")?;
//! assert_eq!(
//!     site.payment_page(Lang::EN, uid, &secret),
//!     "https://www.smartexpay.com/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb",
//! );
//! # Ok::<(), smartex_core::Error>(())
//! ```

use alloc::string::String;

use crate::error::{Error, Problem, Result};
use crate::form::{Limits, Pairs, encode_component};
use crate::secret::OrderSecret;
use crate::types::{Lang, OrderUid};

/// Refuses a URL that would carry secrets in clear text: it must be
/// `https://`, or `http://` to a loopback host (`localhost`, `127.0.0.0/8`,
/// `[::1]`: a sandbox or a proxy on the same machine). An `order/create`
/// carries the order's `ipnSecret`, every keyed call the API key's hash, and
/// an IPN the checksum; over plain HTTP anyone on the path reads them.
///
/// ```
/// use smartex_core::pages::check_secure;
/// assert!(check_secure("site", "https://www.smartexpay.com").is_ok());
/// assert!(check_secure("site", "http://127.0.0.1:8080").is_ok());
/// assert!(check_secure("ipnUrl", "http://[::1]:9/ipn").is_ok());
/// assert!(check_secure("site", "http://www.smartexpay.com").is_err());
/// assert!(check_secure("ipnUrl", "http://localhost.evil.example/ipn").is_err());
/// assert!(check_secure("site", "http://127.0.0.1.evil.example").is_err());
/// assert!(check_secure("site", "http://127.+1.0.1").is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidField`] naming `field`.
pub fn check_secure(field: &'static str, url: &str) -> Result<()> {
    let scheme_end = url.find("://").unwrap_or(0);
    let (scheme, rest) = (&url[..scheme_end], url.get(scheme_end + 3..).unwrap_or(""));
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if scheme.eq_ignore_ascii_case("http") && is_loopback(authority_host(rest)) {
        return Ok(());
    }
    Err(Error::invalid(
        field,
        Problem::Rule(
            "must be https (plain http only to a loopback host, or with the danger_allow_plain_http opt-in)",
        ),
    ))
}

/// The host of `authority[/path…]`: without user info and port; an IPv6
/// literal keeps its brackets.
fn authority_host(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if host_port.starts_with('[') {
        return host_port.split_inclusive(']').next().unwrap_or(host_port);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    // 127.0.0.0/8, as four decimal octets.
    let octet = |o: &str| o.bytes().all(|b| b.is_ascii_digit()) && o.parse::<u8>().is_ok();
    let mut parts = host.split('.');
    parts.next() == Some("127") && parts.clone().count() == 3 && parts.all(octet)
}

/// A site of the platform (`https://www.smartexpay.com`), without a trailing
/// slash, query or fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site(String);

impl Site {
    /// Checks and normalises a site URL: absolute http(s), no query or fragment;
    /// trailing slashes are dropped (so joining never makes `//`).
    ///
    /// # Errors
    /// [`Error::InvalidField`] naming `site`.
    pub fn new(url: &str) -> Result<Self> {
        crate::request::check_url("site", url).or_else(|e| match e {
            // A site URL may be longer than an ipnUrl; only the length rule is relaxed.
            Error::InvalidField {
                problem: Problem::TooLong { .. },
                ..
            } if url.len() <= 2048 => Ok(()),
            other => Err(other),
        })?;
        if url.contains(['?', '#']) {
            return Err(Error::invalid(
                "site",
                Problem::Rule("must not have a query or fragment"),
            ));
        }
        Ok(Self(String::from(url.trim_end_matches('/'))))
    }

    /// The site URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The API root the platform's web app calls: `{site}/service/api/v1/`.
    pub fn api_root(&self) -> String {
        alloc::format!("{}/service/api/v1/", self.0)
    }

    fn page(&self, kind: &str, lang: Lang, uid: OrderUid, secret: &OrderSecret) -> String {
        let mut url = alloc::format!("{}/{}/{}/{}/", self.0, lang, kind, uid);
        encode_component(secret.expose(), &mut url);
        url
    }

    /// The payment page: `{site}/{lang}/payment/{uid}/{secret}`. The secret is
    /// percent-encoded as a path segment. The URL carries the order secret: send
    /// it to the client, not to logs.
    pub fn payment_page(&self, lang: Lang, uid: OrderUid, secret: &OrderSecret) -> String {
        self.page("payment", lang, uid, secret)
    }

    /// The order page: `{site}/{lang}/order/{uid}/{secret}`.
    pub fn order_page(&self, lang: Lang, uid: OrderUid, secret: &OrderSecret) -> String {
        self.page("order", lang, uid, secret)
    }
}

impl core::str::FromStr for Site {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl core::fmt::Display for Site {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the client came back to `clientCallbackUrl`.
///
/// This is what the client's browser says, not what the platform says: use it to
/// choose the page to show, never to mark an order paid (wait for the verified
/// IPN, or ask `order/get`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackStatus {
    /// `?status=success`.
    Success,
    /// `?status=error`.
    Error,
}

impl CallbackStatus {
    /// Reads `status` from a callback URL or its query string.
    ///
    /// ```
    /// use smartex_core::pages::CallbackStatus;
    /// assert_eq!(CallbackStatus::parse("https://shop.example/back?order=7&status=success")?, CallbackStatus::Success);
    /// assert_eq!(CallbackStatus::parse("status=error")?, CallbackStatus::Error);
    /// assert!(CallbackStatus::parse("https://shop.example/back").is_err());
    /// # Ok::<(), smartex_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingField`] or [`Error::InvalidField`] naming `status`;
    /// [`Error::DuplicateField`] if it is given twice.
    pub fn parse(url_or_query: &str) -> Result<Self> {
        let query = match url_or_query.split_once('?') {
            Some((_, q)) => q,
            None if url_or_query.contains("://") => "",
            None => url_or_query,
        };
        let query = query.split('#').next().unwrap_or_default();
        let mut found = None;
        for pair in Pairs::new(query.as_bytes(), Limits::default()) {
            let (key, value) = pair?;
            if key.depth() == 0 && key.root()? == "status" {
                if found.is_some() {
                    return Err(Error::DuplicateField {
                        field: "status".into(),
                    });
                }
                found = Some(match &*value.decode("status")? {
                    "success" => CallbackStatus::Success,
                    "error" => CallbackStatus::Error,
                    _ => {
                        return Err(Error::invalid(
                            "status",
                            Problem::NotOneOf {
                                expected: &["success", "error"],
                            },
                        ));
                    }
                });
            }
        }
        found.ok_or_else(|| Error::missing("status"))
    }
}
