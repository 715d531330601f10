//! The amounts of an order, and the one comparison a business step needs:
//! did the signed change carry what was expected?
//!
//! An IPN signs `inAmount`, `outAmount`, `xml_from` and `xml_to`; the create
//! answer and `order/get` carry the order's `inAmount` and `outAmount`. They
//! are kept as the exact text received ([`Amounts`]), and compared as exact
//! decimals ([`Amount::cmp_value`]) — never through a float. On
//! floating-rate routes the platform may recalculate the amounts while the
//! order is `new` or `waitPayment`, so a difference is not always fraud; the
//! SDK never hides it ([`AmountCheck`]) and the merchant chooses what to
//! accept.

use alloc::string::String;
use core::cmp::Ordering;

use crate::types::Amount;

/// The amounts and currencies of an order as one party stated them, each as
/// the exact text received (`None` where that party said nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// What the customer pays (`inAmount`), in `from`.
    pub in_amount: Option<String>,
    /// What the customer receives (`outAmount`), in `to`.
    pub out_amount: Option<String>,
    /// The currency paid in (`xml_from` in an IPN).
    pub from: Option<String>,
    /// The currency paid out (`xml_to` in an IPN).
    pub to: Option<String>,
}

impl Amounts {
    /// Whether nothing at all was stated.
    pub fn is_empty(&self) -> bool {
        self.in_amount.is_none()
            && self.out_amount.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }
}

/// How the amounts of a change compare with what was expected — the answer a
/// business step reads before it ships. See [`AmountCheck::compare`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AmountCheck {
    /// The same currencies and the same amounts as expected.
    Equal,
    /// The customer pays what was expected, but the amount paid out differs:
    /// the rate was recalculated (floating-rate routes, while `new` or
    /// `waitPayment`).
    Recalculated,
    /// The customer pays less than expected: an underpayment.
    Less,
    /// The customer pays more than expected.
    More,
    /// A currency differs from the one expected.
    DifferentCurrency,
    /// Nothing to compare: no expectation was recorded, or an amount is not
    /// a readable decimal. Look at the texts.
    Unknown,
}

impl AmountCheck {
    /// Compares the `actual` amounts of a change with the `expected` ones
    /// (what the platform answered at create, or what the merchant asked
    /// for): currencies first, then what the customer pays, then what they
    /// receive.
    ///
    /// ```
    /// use smartex_core::amounts::{AmountCheck, Amounts};
    /// let of = |i: &str, o: &str| Amounts { in_amount: Some(i.into()), out_amount: Some(o.into()), from: Some("ETH".into()), to: Some("WMZ".into()) };
    /// let expected = of("2", "317.42");
    /// assert_eq!(AmountCheck::compare(&expected, &of("2.000", "317.42")), AmountCheck::Equal);
    /// assert_eq!(AmountCheck::compare(&expected, &of("2", "316.90")), AmountCheck::Recalculated);
    /// assert_eq!(AmountCheck::compare(&expected, &of("0.00000001", "317.42")), AmountCheck::Less);
    /// assert_eq!(AmountCheck::compare(&expected, &of("2e0", "317.42")), AmountCheck::Equal);
    /// ```
    pub fn compare(expected: &Amounts, actual: &Amounts) -> AmountCheck {
        let differs =
            |e: &Option<String>, a: &Option<String>| matches!((e, a), (Some(e), Some(a)) if e != a);
        if differs(&expected.from, &actual.from) || differs(&expected.to, &actual.to) {
            return AmountCheck::DifferentCurrency;
        }
        let (Some(expected_in), Some(actual_in)) = (
            decimal(expected.in_amount.as_deref()),
            decimal(actual.in_amount.as_deref()),
        ) else {
            return AmountCheck::Unknown;
        };
        match actual_in.cmp_value(&expected_in) {
            Ordering::Less => return AmountCheck::Less,
            Ordering::Greater => return AmountCheck::More,
            Ordering::Equal => {}
        }
        match (
            decimal(expected.out_amount.as_deref()),
            decimal(actual.out_amount.as_deref()),
        ) {
            (Some(e), Some(a)) if a.cmp_value(&e) == Ordering::Equal => AmountCheck::Equal,
            (Some(_), Some(_)) => AmountCheck::Recalculated,
            // What the customer pays matches; the payout side was not stated.
            _ => AmountCheck::Equal,
        }
    }

    /// Whether the customer paid at least what was expected, in the
    /// expected currency (`Equal`, `Recalculated` or `More`).
    pub fn is_paid_in_full(self) -> bool {
        matches!(
            self,
            AmountCheck::Equal | AmountCheck::Recalculated | AmountCheck::More
        )
    }

    /// A stable lower-case name, for logs, JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            AmountCheck::Equal => "equal",
            AmountCheck::Recalculated => "recalculated",
            AmountCheck::Less => "less",
            AmountCheck::More => "more",
            AmountCheck::DifferentCurrency => "different_currency",
            AmountCheck::Unknown => "unknown",
        }
    }
}

impl core::fmt::Display for AmountCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn decimal(text: Option<&str>) -> Option<Amount> {
    Amount::parse("amount", text?).ok()
}

/// A decimal as sign, significant digits (no leading or trailing zeros) and
/// the power of ten of the last digit: `-3.140e2` is (true, "314", 0).
struct Parts<'a> {
    negative: bool,
    /// The integer and fraction digits, as two slices read in turn.
    digits: (&'a [u8], &'a [u8]),
    exponent: i128,
}

impl<'a> Parts<'a> {
    /// Splits a valid JSON number (what [`Amount`] holds).
    fn of(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, bytes),
        };
        let (mantissa, exp) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, &b""[..]),
        };
        // The exponent saturates: an amount's text is bounded, and a value
        // beyond i64 is compared by its sign and magnitude all the same.
        let (exp_negative, exp_digits) = match exp.split_first() {
            Some((b'-', d)) => (true, d),
            Some((b'+', d)) => (false, d),
            _ => (false, exp),
        };
        let exp_value = exp_digits.iter().fold(0i128, |n, d| {
            n.saturating_mul(10).saturating_add(i128::from(d - b'0'))
        });
        let exp_value = if exp_negative { -exp_value } else { exp_value };
        // Leading zeros of the integer part, trailing zeros of the fraction
        // (then of the integer part, when the fraction is all zeros).
        let int = trim_start_zeros(int);
        let mut frac_len = frac.len();
        while frac_len > 0 && frac[frac_len - 1] == b'0' {
            frac_len -= 1;
        }
        let frac = &frac[..frac_len];
        let (int, frac, shift) = if int.is_empty() {
            // 0.00314: the digits start inside the fraction.
            let lead = frac.iter().take_while(|&&d| d == b'0').count();
            (&frac[lead..], &b""[..], -(frac.len() as i128))
        } else if frac.is_empty() {
            let mut end = int.len();
            while end > 0 && int[end - 1] == b'0' {
                end -= 1;
            }
            (&int[..end], &b""[..], (int.len() - end) as i128)
        } else {
            (int, frac, -(frac.len() as i128))
        };
        Self {
            negative,
            digits: (int, frac),
            exponent: exp_value.saturating_add(shift),
        }
    }

    fn len(&self) -> usize {
        self.digits.0.len() + self.digits.1.len()
    }

    fn is_zero(&self) -> bool {
        self.len() == 0
    }

    fn digit(&self, i: usize) -> u8 {
        let (a, b) = self.digits;
        if i < a.len() {
            a[i]
        } else {
            b.get(i - a.len()).copied().unwrap_or(b'0')
        }
    }

    /// Compares magnitudes.
    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        // The power of ten of the leading digit decides first.
        let lead = |p: &Self| (p.len() as i128).saturating_add(p.exponent);
        match lead(self).cmp(&lead(other)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        for i in 0..self.len().max(other.len()) {
            match self.digit(i).cmp(&other.digit(i)) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

fn trim_start_zeros(d: &[u8]) -> &[u8] {
    let lead = d.iter().take_while(|&&b| b == b'0').count();
    &d[lead..]
}

impl Amount {
    /// Compares the decimal values exactly (`2`, `2.0` and `2e0` are equal;
    /// `-0` equals `0`), never through a float.
    ///
    /// ```
    /// use core::cmp::Ordering;
    /// use smartex_core::Amount;
    /// let a = |s: &str| s.parse::<Amount>().unwrap();
    /// assert_eq!(a("317.42").cmp_value(&a("317.420")), Ordering::Equal);
    /// assert_eq!(a("0.00000001").cmp_value(&a("2")), Ordering::Less);
    /// assert_eq!(a("1e3").cmp_value(&a("999.9999")), Ordering::Greater);
    /// assert_eq!(a("-1").cmp_value(&a("0")), Ordering::Less);
    /// ```
    pub fn cmp_value(&self, other: &Amount) -> Ordering {
        let (a, b) = (Parts::of(self.as_str()), Parts::of(other.as_str()));
        match (a.is_zero(), b.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if b.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if a.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            (false, false) => {}
        }
        match (a.negative, b.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => a.cmp_magnitude(&b),
            (true, true) => b.cmp_magnitude(&a),
        }
    }
}

#[cfg(test)]
mod tests {
    // Tests fail loudly by design.
    #![allow(clippy::panic)]
    use super::*;

    fn a(s: &str) -> Amount {
        Amount::parse("t", s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn equal_values_in_every_spelling() {
        for (x, y) in [
            ("2", "2.0"),
            ("2", "2e0"),
            ("200", "2e2"),
            ("0.02", "2e-2"),
            ("0", "-0"),
            ("0", "0.000"),
            ("317.42", "31742e-2"),
            ("1.5", "15E-1"),
            ("100", "1.00e2"),
        ] {
            assert_eq!(a(x).cmp_value(&a(y)), Ordering::Equal, "{x} {y}");
            assert_eq!(a(y).cmp_value(&a(x)), Ordering::Equal, "{y} {x}");
        }
    }

    #[test]
    fn ordered_values() {
        let ascending = [
            "-1e10",
            "-2",
            "-1.5",
            "-0.001",
            "0",
            "0.00000001",
            "0.5",
            "0.51",
            "1",
            "1.0000001",
            "2",
            "10",
            "99.99",
            "100",
            "1e3",
        ];
        for (i, x) in ascending.iter().enumerate() {
            for (j, y) in ascending.iter().enumerate() {
                assert_eq!(a(x).cmp_value(&a(y)), i.cmp(&j), "{x} {y}");
            }
        }
    }

    #[test]
    fn extreme_exponents_do_not_overflow() {
        assert_eq!(
            a("1e-99999999999999999999").cmp_value(&a("0")),
            Ordering::Greater
        );
        assert_eq!(
            a("1e99999999999999999999").cmp_value(&a("9e99")),
            Ordering::Greater
        );
    }
}
