//! The IPN (instant payment notification) model, verified before trusted.
//!
//! The platform POSTs a form body once per status change. Parsing yields an
//! [`UnverifiedIpn`] that exposes only what is needed to find the secret (the
//! order's id and uid); only [`UnverifiedIpn::verify`] yields a [`VerifiedIpn`]
//! with the status, amounts, currencies and `toValues`.
//!
//! The checksum covers seven values: `orderId`, `newStatus`, `inAmount`,
//! `outAmount`, `xml_from`, `xml_to` and `timestamp`. It does **not** cover
//! `orderUID`, `toValues` or any other field: whoever holds one genuine
//! notification can change those and it still verifies. So find (and update)
//! the order by `orderId`, and treat `toValues` as information, never as an
//! instruction (where to pay out, say).
//!
//! # What may cost a notification
//!
//! The platform sends each notification once, so refusing a genuine one loses
//! it. Only what the checksum covers can therefore refuse a body:
//!
//! - the seven signed fields are strict: one missing, given twice (even with
//!   the same value), nested (`newStatus[x]=…`) or not decodable is refused,
//!   naming the field;
//! - the checksum field may appear more than once: every distinct value is a
//!   candidate and the body verifies if one of them matches (see
//!   [`UnverifiedIpn::verify_any`]);
//! - everything else — `orderUID`, `toValues` and unknown fields, in any
//!   shape, repeated, nested to any depth, with any index, badly escaped or
//!   not UTF-8 — never refuses a body. It is kept as raw decoded pairs
//!   ([`VerifiedIpn::unsigned_pairs`]); `toValues` is also offered as a
//!   best-effort structured view ([`VerifiedIpn::to_values`]) that says when
//!   the sender's spelling could not be structured.
//!
//! Only the body's pair count ([`Limits::max_pairs`]) bounds the rest; the
//! other [`Limits`] apply to the general form decoder, not here.
//!
//! Values are kept exactly as received: the checksum covers the raw text, and
//! a typed view (an [`Amount`](crate::Amount), an
//! [`OrderUid`](crate::OrderUid)) that fails to parse never makes a correctly
//! signed notification unreadable — the raw text is always there.
//!
//! ```
//! use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
//! use smartex_core::{IpnSecret, OrderStatus};
//! let body = b"orderUID=104857&orderId=5d8e6002b80b7b4cd75a6424&newStatus=inProgress\
//! &inAmount=2&outAmount=317.42&xml_from=ETH&xml_to=WMZ&timestamp=1571328406072\
//! &toValues%5B0%5D%5Bkey%5D=wallet&toValues%5B0%5D%5Bvalue%5D=Z123\
//! &hash=af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48";
//! let ipn = UnverifiedIpn::parse_form(body, &IpnFormat::default())?;
//! assert_eq!(ipn.order_id()?.as_str(), "5d8e6002b80b7b4cd75a6424"); // look the secret up by this
//! let ipn = ipn.verify(&IpnSecret::new("SECRET123")?)?;
//! assert_eq!(ipn.status(), OrderStatus::InProgress);
//! assert_eq!(ipn.out_amount()?.as_str(), "317.42");
//! let to_values = ipn.to_values();
//! assert!(to_values.is_structured());
//! assert_eq!(to_values.entries()[0].value(), "Z123");
//! # Ok::<(), smartex_core::Error>(())
//! ```

mod body;
mod candidates;
mod fields;
mod form;
mod json;
mod key;
mod signed;
mod to_values;
mod unsigned;
mod unverified;
mod verified;

use crate::form::Limits;

pub use body::IpnBody;
pub use to_values::{ToValue, ToValues};
pub use unsigned::UnsignedPairs;
pub use unverified::UnverifiedIpn;
pub use verified::VerifiedIpn;

/// How an IPN body is laid out: where the checksum is, and the decoder's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpnFormat<'n> {
    /// The body field that carries the checksum (default `hash`), or `None` when
    /// the checksum comes from elsewhere (a header, a query parameter) and the
    /// caller adds it with [`UnverifiedIpn::add_checksum`]. The docs never
    /// name it; see `API-NOTES` in the repository's docs.
    pub checksum_field: Option<&'n str>,
    /// Bounds of the form decoder. Only [`Limits::max_pairs`] applies to a
    /// notification: the shape of unsigned fields is never a reason to refuse.
    pub limits: Limits,
}

impl Default for IpnFormat<'_> {
    fn default() -> Self {
        Self {
            checksum_field: Some("hash"),
            limits: Limits::default(),
        }
    }
}

/// The wire names of the nine documented fields.
pub mod field {
    /// `orderUID`.
    pub const ORDER_UID: &str = "orderUID";
    /// `orderId`.
    pub const ORDER_ID: &str = "orderId";
    /// `newStatus`.
    pub const NEW_STATUS: &str = "newStatus";
    /// `inAmount`.
    pub const IN_AMOUNT: &str = "inAmount";
    /// `outAmount`.
    pub const OUT_AMOUNT: &str = "outAmount";
    /// `xml_from`.
    pub const XML_FROM: &str = "xml_from";
    /// `xml_to`.
    pub const XML_TO: &str = "xml_to";
    /// `timestamp`.
    pub const TIMESTAMP: &str = "timestamp";
    /// `toValues`.
    pub const TO_VALUES: &str = "toValues";
}

/// The shape a signed field must have.
const SIGNED_SHAPE: &str = "a single value";
