//! Numbers as JavaScript writes them (`Number.prototype.toString`, which
//! `JSON.stringify` uses), and the check that an amount's decimal text survives
//! the trip through a JavaScript number.

use alloc::string::String;

/// Appends `n` as `JSON.stringify` writes a number: `Number.prototype.toString`
/// for finite values (`2.1`, `100`, `1e-7`, `1.5e+300`), `null` for NaN and the
/// infinities; `-0` is written `0`.
///
/// ```
/// use smartex_core::js::write_number;
/// let mut s = String::new();
/// for n in [2.10, 100.0, 1e-7, 0.1 + 0.2, 1e21, 123456789012345680000.0, -0.0] {
///     write_number(n, &mut s);
///     s.push(' ');
/// }
/// assert_eq!(s, "2.1 100 1e-7 0.30000000000000004 1e+21 123456789012345680000 0 ");
/// ```
pub fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    // ryu-js implements ECMAScript's Number::toString (shortest round-trip
    // digits, JavaScript's thresholds for exponent notation); -0 is "0" there.
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format_finite(n));
}

/// `n` written as [`write_number`] writes it.
pub fn number_text(n: f64) -> String {
    let mut s = String::new();
    write_number(n, &mut s);
    s
}

/// The JSON-number text `text` as a JavaScript server reads and writes it back
/// (`JSON.stringify(JSON.parse(text))`), if that is the same decimal value as
/// `text`; `None` if the value would change on the way (more significant digits
/// than a double keeps, or out of its range).
///
/// `text` must follow the JSON number grammar (an [`Amount`](crate::Amount) does).
///
/// ```
/// use smartex_core::js::exact_js_number;
/// assert_eq!(exact_js_number("2.10").as_deref(), Some("2.1"));
/// assert_eq!(exact_js_number("100.0").as_deref(), Some("100"));
/// assert_eq!(exact_js_number("1E-7").as_deref(), Some("1e-7"));
/// assert_eq!(exact_js_number("-0.00").as_deref(), Some("0"));
/// assert_eq!(exact_js_number("0.123456789012345678"), None); // JS keeps …568
/// assert_eq!(exact_js_number("1e400"), None); // Infinity
/// ```
pub fn exact_js_number(text: &str) -> Option<String> {
    let n: f64 = text.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    let written = number_text(n);
    (Decimal::parse(text)? == Decimal::parse(&written)?).then_some(written)
}

/// A decimal number reduced to sign, significant digits and exponent, to compare
/// two spellings of one value (`2.10` = `2.1` = `21e-1`).
#[derive(Debug, PartialEq, Eq)]
struct Decimal<'a> {
    negative: bool,
    /// Significant digits without leading or trailing zeros, in pieces (the
    /// integer part and the fraction) so nothing is copied; empty for zero.
    digits: DigitRun<'a>,
    /// The power of ten of the digit just after the last significant one.
    exponent: i64,
}

/// The significant digits of a decimal, split around the point.
#[derive(Debug)]
struct DigitRun<'a>(&'a [u8], &'a [u8]);

impl DigitRun<'_> {
    fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().chain(self.1.iter()).copied()
    }
}

impl PartialEq for DigitRun<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for DigitRun<'_> {}

impl<'a> Decimal<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let b = text.as_bytes();
        let (negative, b) = match b.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, b),
        };
        let (mantissa, exp) = match b.iter().position(|c| matches!(c, b'e' | b'E')) {
            Some(i) => {
                let e = core::str::from_utf8(&b[i + 1..]).ok()?;
                let e = e.strip_prefix('+').unwrap_or(e);
                // An exponent too long for i64 is far outside a double's range.
                (&b[..i], e.parse::<i64>().ok()?)
            }
            None => (b, 0),
        };
        let (int, frac) = match mantissa.iter().position(|&c| c == b'.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, &[][..]),
        };
        if !int.iter().chain(frac).all(u8::is_ascii_digit) {
            return None;
        }
        // Trim leading zeros (from the integer part, then the fraction) and
        // trailing zeros (from the fraction, then the integer part).
        let lead_int = int.iter().take_while(|&&c| c == b'0').count();
        let int = &int[lead_int..];
        let (int, frac, frac_len) = if int.is_empty() {
            let lead = frac.iter().take_while(|&&c| c == b'0').count();
            (int, &frac[lead..], frac.len())
        } else {
            (int, frac, frac.len())
        };
        let frac_trail = frac.iter().rev().take_while(|&&c| c == b'0').count();
        let frac_kept = &frac[..frac.len() - frac_trail];
        let (int, frac, int_trail) = if frac_kept.is_empty() {
            let int_trail = int.iter().rev().take_while(|&&c| c == b'0').count();
            (&int[..int.len() - int_trail], frac_kept, int_trail)
        } else {
            (int, frac_kept, 0)
        };
        if int.is_empty() && frac.is_empty() {
            // Zero, in any spelling, of either sign and with any exponent.
            return Some(Decimal {
                negative: false,
                digits: DigitRun(&[], &[]),
                exponent: 0,
            });
        }
        // Checked: the text's exponent may be anywhere in i64 ("1.5e-9223372036854775808"
        // is valid JSON). A sum outside i64 is a value no double comes near, so
        // `None` ("the value would change") is the right answer for it.
        let exponent = exp
            .checked_sub(i64::try_from(frac_len).ok()?)?
            .checked_add(i64::try_from(frac_trail).ok()?)?
            .checked_add(i64::try_from(int_trail).ok()?)?;
        Some(Decimal {
            negative,
            digits: DigitRun(int, frac),
            exponent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Decimal, exact_js_number, number_text};

    #[track_caller]
    fn same(a: &str, b: &str, expect: bool) {
        assert_eq!(
            Decimal::parse(a) == Decimal::parse(b),
            expect,
            "{a} vs {b}: {:?} {:?}",
            Decimal::parse(a),
            Decimal::parse(b)
        );
    }

    #[test]
    fn decimals_compare_by_value() {
        same("2.10", "2.1", true);
        same("100.0", "100", true);
        same("100", "1e2", true);
        same("1E-7", "1e-7", true);
        same("0.0000001", "1e-7", true);
        same("-0.5", "-5e-1", true);
        same("0", "-0.000e9", true);
        same("10", "1", false);
        same("0.5", "-0.5", false);
        same("120", "12", false);
        same("1.02", "1.2", false);
        same("0.123456789012345678", "0.12345678901234568", false);
    }

    #[test]
    fn javascript_spelling() {
        for (n, s) in [
            (1.0, "1"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "null"),
            (f64::NEG_INFINITY, "null"),
        ] {
            assert_eq!(number_text(n), s);
        }
    }

    #[test]
    fn exactness() {
        assert_eq!(exact_js_number("317.42").as_deref(), Some("317.42"));
        assert_eq!(exact_js_number("-0.05").as_deref(), Some("-0.05"));
        assert_eq!(exact_js_number("9007199254740993"), None);
        assert_eq!(
            exact_js_number("9007199254740992").as_deref(),
            Some("9007199254740992")
        );
        assert_eq!(exact_js_number("1e-400"), None); // underflows to 0
    }

    /// Found by the `js_number` fuzz target: an exponent at the edge of i64
    /// made the exponent arithmetic overflow (a panic in debug builds).
    #[test]
    fn exponents_at_the_edge_of_i64() {
        for text in [
            "1.5e-9223372036854775808",
            "-1.5e-9223372036854775808",
            "0.15e-9223372036854775808",
            "10e9223372036854775807",
            "1.0e9223372036854775807",
        ] {
            assert_eq!(exact_js_number(text), None, "{text}");
            // Also straight through the parser: `exact_js_number` returns
            // early for the infinite ones, before parsing their text.
            let _ = Decimal::parse(text);
        }
        for text in [
            "0.0e-9223372036854775808",
            "-0.000e9223372036854775807",
            "00e-9223372036854775808",
        ] {
            assert_eq!(exact_js_number(text).as_deref(), Some("0"), "{text}");
        }
    }
}
