//! How the sandbox's IPN sender spells a notification's form body: as the
//! platform's `qs.stringify` does, or as other Node HTTP clients and
//! encoders write the nested `toValues` list by default. The signed fields
//! and the checksum are the same in every spelling; only `toValues` (which
//! the checksum does not cover) changes shape, so a receiver that refuses
//! one of them would lose a genuine notification.

use smartex_core::IpnSecret;
use smartex_core::form::FormWriter;
use smartex_core::ipn::IpnBody;

use crate::rng::Rng;

/// A Node sender's spelling of an IPN body. The examples show `toValues`
/// for one entry `{key: "wallet", name: "Wallet", value: "T9y"}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpnSpelling {
    /// `qs.stringify` defaults, what the platform sends:
    /// `toValues%5B0%5D%5Bkey%5D=wallet`.
    #[default]
    Qs,
    /// `qs` with `arrayFormat: 'brackets'`: `toValues%5B%5D%5Bkey%5D=wallet`.
    QsBrackets,
    /// `qs` with `allowDots: true`: `toValues%5B0%5D.key=wallet`.
    QsAllowDots,
    /// `qs` with `indices: false` (or `arrayFormat: 'repeat'`):
    /// `toValues%5Bkey%5D=wallet`.
    QsNoIndices,
    /// `new URLSearchParams(obj)` (`fetch`, `got`'s `form`): each entry is
    /// `String(object)`, `toValues=%5Bobject+Object%5D`; an empty list is
    /// `toValues=`.
    UrlSearchParams,
    /// Node's `querystring.stringify`: an object entry is an empty string,
    /// `toValues=`, once per entry.
    Querystring,
    /// One of the above, picked at random for each notification.
    Random,
}

impl IpnSpelling {
    /// Every concrete spelling (not [`Random`](Self::Random)).
    pub const ALL: [IpnSpelling; 6] = [
        IpnSpelling::Qs,
        IpnSpelling::QsBrackets,
        IpnSpelling::QsAllowDots,
        IpnSpelling::QsNoIndices,
        IpnSpelling::UrlSearchParams,
        IpnSpelling::Querystring,
    ];

    /// The name used in configuration and logs (`qs`, `url-search-params`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            IpnSpelling::Qs => "qs",
            IpnSpelling::QsBrackets => "qs-brackets",
            IpnSpelling::QsAllowDots => "qs-allow-dots",
            IpnSpelling::QsNoIndices => "qs-no-indices",
            IpnSpelling::UrlSearchParams => "url-search-params",
            IpnSpelling::Querystring => "querystring",
            IpnSpelling::Random => "random",
        }
    }

    /// The spelling named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(name: &str) -> Option<IpnSpelling> {
        Self::ALL
            .into_iter()
            .chain([IpnSpelling::Random])
            .find(|s| s.as_str() == name)
    }

    /// The body of `ipn` in this spelling, signed with `secret`, the checksum
    /// in the field `checksum_field`. [`Random`](Self::Random) picks with `rng`.
    pub(crate) fn form(
        self,
        ipn: &IpnBody<'_>,
        secret: &IpnSecret,
        checksum_field: &str,
        rng: &mut Rng,
    ) -> String {
        let spelling = match self {
            IpnSpelling::Random => {
                // The modulo bias over 6 of 2^64 values is irrelevant here.
                Self::ALL[(rng.next_u64() % Self::ALL.len() as u64) as usize]
            }
            other => other,
        };
        if spelling == IpnSpelling::Qs {
            return ipn.to_form(secret, checksum_field);
        }
        let f = &ipn.signed;
        let mut w = FormWriter::default();
        w.field("orderUID", ipn.order_uid);
        for (name, value) in [
            ("orderId", f.order_id),
            ("newStatus", f.new_status),
            ("inAmount", f.in_amount),
            ("outAmount", f.out_amount),
            ("xml_from", f.xml_from),
            ("xml_to", f.xml_to),
            ("timestamp", f.timestamp),
        ] {
            w.field(name, value);
        }
        let entries = ipn.to_values;
        match spelling {
            IpnSpelling::UrlSearchParams => {
                let joined = vec!["[object Object]"; entries.len()].join(",");
                w.field("toValues", &joined);
            }
            IpnSpelling::Querystring => {
                for _ in entries {
                    w.field("toValues", "");
                }
            }
            _ => {
                for (i, (key, name, value)) in entries.iter().enumerate() {
                    for (attr, v) in [("key", key), ("name", name), ("value", value)] {
                        let field = match spelling {
                            IpnSpelling::QsBrackets => format!("toValues[][{attr}]"),
                            IpnSpelling::QsAllowDots => format!("toValues[{i}].{attr}"),
                            IpnSpelling::QsNoIndices => format!("toValues[{attr}]"),
                            _ => format!("toValues[{i}][{attr}]"),
                        };
                        w.field(&field, v);
                    }
                }
            }
        }
        w.field(checksum_field, ipn.signed.sign(secret).to_hex().as_str());
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use smartex_core::checksum::SignedFields;
    use smartex_core::ipn::{IpnFormat, UnverifiedIpn};

    /// Every spelling verifies with the same signed values; the structured
    /// ones read the same `toValues`, the others say they could not.
    #[test]
    fn every_spelling_verifies() {
        let secret = IpnSecret::new("s").unwrap();
        let ipn = IpnBody {
            order_uid: "1001",
            signed: SignedFields {
                order_id: "5d8e6002b80b7b4cd75a6424",
                new_status: "done",
                in_amount: "0.05",
                out_amount: "3250",
                xml_from: "BTC",
                xml_to: "USDTTRC20",
                timestamp: "1700000000000",
            },
            to_values: &[("wallet", "Wallet", "T9y a&b"), ("email", "E-mail", "a@b")],
        };
        let mut rng = Rng::from_os().unwrap();
        for spelling in IpnSpelling::ALL.into_iter().chain([IpnSpelling::Random]) {
            let body = spelling.form(&ipn, &secret, "hash", &mut rng);
            let v = UnverifiedIpn::parse_form(body.as_bytes(), &IpnFormat::default())
                .unwrap()
                .verify(&secret)
                .unwrap();
            assert_eq!(v.signed_fields(), ipn.signed, "{spelling:?}");
            let tv = v.to_values();
            match spelling {
                IpnSpelling::UrlSearchParams | IpnSpelling::Querystring => {
                    assert!(!tv.is_structured(), "{spelling:?}: {body}")
                }
                IpnSpelling::Random => {}
                _ => {
                    assert!(tv.is_structured(), "{spelling:?}: {body}");
                    let got: Vec<_> = tv.map(|e| e.value().to_owned()).collect();
                    assert_eq!(got, ["T9y a&b", "a@b"], "{spelling:?}: {body}");
                }
            }
            assert_eq!(IpnSpelling::parse(spelling.as_str()), Some(spelling));
        }
    }
}
