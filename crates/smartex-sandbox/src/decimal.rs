//! Exact decimal arithmetic for amounts and rates: enough to compute an order's
//! amounts from a route's rate without floating-point noise.

use core::cmp::Ordering;

/// The largest scale (digits after the point) kept.
const MAX_SCALE: u32 = 30;

/// `mant / 10^scale`, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dec {
    mant: i128,
    scale: u32,
}

/// How to drop digits when rounding to fewer decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Towards zero.
    Down,
    /// Away from zero (any non-zero dropped digit rounds up).
    Up,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Dec {
    pub(crate) const ZERO: Dec = Dec { mant: 0, scale: 0 };
    pub(crate) const ONE: Dec = Dec { mant: 1, scale: 0 };

    /// `mant / 10^scale`, normalized, rounded towards zero past [`MAX_SCALE`]
    /// decimals (an `Option` like every other constructor here).
    pub(crate) fn new(mant: i128, scale: u32) -> Option<Dec> {
        Dec { mant, scale }.normalize().fit()
    }

    /// Parses the JSON-number grammar (`-1.5`, `2e3`, `0.05`). `None` if the text is
    /// not a number or does not fit (more than about 30 significant digits).
    pub(crate) fn parse(s: &str) -> Option<Dec> {
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (neg, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (digits.contains('.') && frac.is_empty()) {
            return None;
        }
        let mut mant: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mant = mant.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exp);
        if scale < 0 {
            mant = mant.checked_mul(pow10(u32::try_from(-scale).ok()?)?)?;
            scale = 0;
        }
        let scale = u32::try_from(scale).ok()?;
        let d = Dec {
            mant: if neg { -mant } else { mant },
            scale,
        };
        d.normalize().fit()
    }

    /// Drops trailing zeros after the point. A non-zero `i128` has at most 38
    /// of them, so the loop is short; zero (whatever its scale, which parsing
    /// `0e-2147483648` makes 2^31) is [`Dec::ZERO`] at once.
    fn normalize(mut self) -> Dec {
        if self.mant == 0 {
            return Dec::ZERO;
        }
        while self.scale > 0 && self.mant % 10 == 0 {
            self.mant /= 10;
            self.scale -= 1;
        }
        self
    }

    /// Keeps at most [`MAX_SCALE`] decimals (rounding towards zero past that).
    fn fit(self) -> Option<Dec> {
        if self.scale <= MAX_SCALE {
            Some(self)
        } else {
            Some(self.round(MAX_SCALE, Rounding::Down))
        }
    }

    pub(crate) fn is_zero(self) -> bool {
        self.mant == 0
    }

    pub(crate) fn is_negative(self) -> bool {
        self.mant < 0
    }

    pub(crate) fn abs(self) -> Dec {
        Dec {
            mant: self.mant.abs(),
            scale: self.scale,
        }
    }

    /// Rounds to `decimals` digits after the point.
    pub(crate) fn round(self, decimals: u32, mode: Rounding) -> Dec {
        if self.scale <= decimals {
            return self;
        }
        let Some(div) = pow10(self.scale - decimals) else {
            // More than 38 digits dropped: whatever is left rounds to zero or one unit.
            return Dec::ZERO;
        };
        let q = self.mant / div;
        let r = self.mant % div;
        let q = match mode {
            Rounding::Down => q,
            Rounding::Up if r > 0 => q + 1,
            Rounding::Up if r < 0 => q - 1,
            Rounding::Up => q,
        };
        Dec {
            mant: q,
            scale: decimals,
        }
        .normalize()
    }

    /// `self × other`, exactly; `None` on overflow.
    pub(crate) fn mul(self, other: Dec) -> Option<Dec> {
        let d = Dec {
            mant: self.mant.checked_mul(other.mant)?,
            scale: self.scale + other.scale,
        };
        d.normalize().fit()
    }

    /// `self ÷ other` rounded to `decimals` digits; `None` on overflow or a zero divisor.
    pub(crate) fn div(self, other: Dec, decimals: u32, mode: Rounding) -> Option<Dec> {
        if other.mant == 0 {
            return None;
        }
        // self.mant·10^k / other.mant has scale self.scale + k − other.scale: pick k
        // so that the quotient has exactly `decimals` digits after the point; the
        // remainder decides the rounding.
        let target = decimals;
        let k = i64::from(target) + i64::from(other.scale) - i64::from(self.scale);
        let (num, den) = if k >= 0 {
            (
                self.mant.checked_mul(pow10(u32::try_from(k).ok()?)?)?,
                other.mant,
            )
        } else {
            (
                self.mant,
                other.mant.checked_mul(pow10(u32::try_from(-k).ok()?)?)?,
            )
        };
        let q = num / den;
        let r = num % den;
        let q = match mode {
            Rounding::Down => q,
            Rounding::Up if r != 0 && (r < 0) == (den < 0) => q + 1,
            Rounding::Up if r != 0 => q - 1,
            Rounding::Up => q,
        };
        Some(
            Dec {
                mant: q,
                scale: target,
            }
            .normalize(),
        )
    }

    fn aligned(self, other: Dec) -> Option<(i128, i128)> {
        let scale = self.scale.max(other.scale);
        let a = self.mant.checked_mul(pow10(scale - self.scale)?)?;
        let b = other.mant.checked_mul(pow10(scale - other.scale)?)?;
        Some((a, b))
    }

    /// Compares; values too far apart to align compare by sign and magnitude of scale.
    pub(crate) fn compare(self, other: Dec) -> Ordering {
        match self.aligned(other) {
            Some((a, b)) => a.cmp(&b),
            // Only reachable with ~38-digit values; the one with more integer
            // digits is the larger in magnitude.
            None => self.mant.signum().cmp(&other.mant.signum()).then_with(|| {
                let ord = other.scale.cmp(&self.scale);
                if self.mant < 0 { ord.reverse() } else { ord }
            }),
        }
    }
}

impl core::fmt::Display for Dec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let digits = self.mant.unsigned_abs().to_string();
        if self.mant < 0 {
            f.write_str("-")?;
        }
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() <= scale {
            f.write_str("0.")?;
            for _ in digits.len()..scale {
                f.write_str("0")?;
            }
            f.write_str(&digits)
        } else {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test inputs are fixed and valid.
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_normalized() {
        for (input, out) in [
            ("0", "0"),
            ("0.050", "0.05"),
            ("-1.5", "-1.5"),
            ("2e3", "2000"),
            ("5e-2", "0.05"),
            ("1.25E+1", "12.5"),
            ("0.00000016", "0.00000016"),
            ("158.71", "158.71"),
        ] {
            assert_eq!(d(input).to_string(), out, "{input}");
        }
        for bad in ["", "-", "1.", ".5", "1,5", "abc", "1e", "1e999999999999"] {
            assert!(Dec::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_zero_with_a_huge_negative_exponent_parses_at_once() {
        // Network input (`amount` of order/create): the scale is 2^31 and the
        // mantissa zero, which once took 2^31 steps to normalize.
        for input in ["0e-2147483648", "-0.0e-2147483647", "0E-2147483648"] {
            let zero = Dec::parse(input).unwrap();
            assert!(zero.is_zero(), "{input}");
            assert_eq!(zero.to_string(), "0", "{input}");
        }
    }

    #[test]
    fn multiplies_and_rounds() {
        assert_eq!(d("2").mul(d("158.71")).unwrap().to_string(), "317.42");
        let out = d("0.05").mul(d("65000.5")).unwrap();
        assert_eq!(out.to_string(), "3250.025");
        assert_eq!(out.round(2, Rounding::Down).to_string(), "3250.02");
        assert_eq!(out.round(2, Rounding::Up).to_string(), "3250.03");
        assert_eq!(d("-1.001").round(2, Rounding::Up).to_string(), "-1.01");
    }

    #[test]
    fn divides_with_rounding() {
        assert_eq!(
            d("100").div(d("3"), 4, Rounding::Down).unwrap().to_string(),
            "33.3333"
        );
        assert_eq!(
            d("100").div(d("3"), 4, Rounding::Up).unwrap().to_string(),
            "33.3334"
        );
        assert_eq!(
            d("317.42")
                .div(d("158.71"), 8, Rounding::Up)
                .unwrap()
                .to_string(),
            "2"
        );
        assert!(d("1").div(Dec::ZERO, 2, Rounding::Down).is_none());
    }

    #[test]
    fn builds_from_parts() {
        assert_eq!(Dec::new(10_250, 4).unwrap().to_string(), "1.025");
        assert_eq!(Dec::new(9_800, 4).unwrap().to_string(), "0.98");
        assert_eq!(Dec::new(1, 0).unwrap(), Dec::ONE);
    }

    #[test]
    fn compares_across_scales() {
        assert_eq!(d("0.5").compare(d("0.50")), Ordering::Equal);
        assert_eq!(d("0.0005").compare(d("0.001")), Ordering::Less);
        assert_eq!(d("-2").compare(d("1")), Ordering::Less);
        assert!(d("0").is_zero() && d("-0.1").is_negative() && !d("0.1").abs().is_negative());
    }
}
