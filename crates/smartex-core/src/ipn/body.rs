//! The sender's side: a signed form body, as the platform would send it.

use alloc::string::String;

use super::field;
use crate::checksum::SignedFields;
use crate::secret::IpnSecret;

/// Builds a signed form body, as the platform would send it. For tests, the
/// sandbox and the `smartex ipn sign` command.
///
/// ```
/// use smartex_core::checksum::SignedFields;
/// use smartex_core::ipn::{IpnBody, IpnFormat, UnverifiedIpn};
/// use smartex_core::IpnSecret;
/// let secret = IpnSecret::new("s3cret")?;
/// let body = IpnBody {
///     order_uid: "42",
///     signed: SignedFields {
///         order_id: "5d8e6002b80b7b4cd75a6424", new_status: "done", in_amount: "1",
///         out_amount: "2.5", xml_from: "BTC", xml_to: "USDT", timestamp: "1700000000000",
///     },
///     to_values: &[("wallet", "Wallet", "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb")],
/// }
/// .to_form(&secret, "hash");
/// let ipn = UnverifiedIpn::parse_form(body.as_bytes(), &IpnFormat::default())?.verify(&secret)?;
/// assert_eq!(ipn.status_raw(), "done");
/// # Ok::<(), smartex_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct IpnBody<'a> {
    /// `orderUID` (not signed).
    pub order_uid: &'a str,
    /// The seven signed values.
    pub signed: SignedFields<'a>,
    /// `toValues` as (key, name, value) (not signed).
    pub to_values: &'a [(&'a str, &'a str, &'a str)],
}

impl IpnBody<'_> {
    /// The signed values.
    pub fn signed_fields(&self) -> SignedFields<'_> {
        self.signed
    }

    /// The form body in the platform's spelling (`qs` defaults: brackets
    /// percent-encoded, indices), signed with `secret`, the checksum in the field
    /// `checksum_field`.
    pub fn to_form(&self, secret: &IpnSecret, checksum_field: &str) -> String {
        let f = &self.signed;
        let mut w = crate::form::FormWriter::default();
        w.field(field::ORDER_UID, self.order_uid);
        w.field(field::ORDER_ID, f.order_id);
        w.field(field::NEW_STATUS, f.new_status);
        w.field(field::IN_AMOUNT, f.in_amount);
        w.field(field::OUT_AMOUNT, f.out_amount);
        w.field(field::XML_FROM, f.xml_from);
        w.field(field::XML_TO, f.xml_to);
        w.field(field::TIMESTAMP, f.timestamp);
        for (i, (key, name, value)) in self.to_values.iter().enumerate() {
            // `qs` percent-encodes the brackets by default; so do we.
            for (sub, v) in [("key", key), ("name", name), ("value", value)] {
                w.field(&alloc::format!("toValues[{i}][{sub}]"), v);
            }
        }
        w.field(checksum_field, self.signed.sign(secret).to_hex().as_str());
        w.finish()
    }
}
