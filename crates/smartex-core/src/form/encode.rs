//! Encoding requests as the docs' tables spell them: `fromValues[0][key]=…`.

use alloc::string::String;

/// Appends `s` percent-encoded for a form value: everything but the unreserved
/// characters `A–Z a–z 0–9 - . _ ~` is written as `%XX` (UTF-8, uppercase hex);
/// a space is `%20`, which every decoder reads, `+`-aware or not.
///
/// ```
/// let mut out = String::new();
/// smartex_core::form::encode_component("a b&c=d/é", &mut out);
/// assert_eq!(out, "a%20b%26c%3Dd%2F%C3%A9");
/// ```
pub fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

/// Builds a form body field by field, brackets written plainly as in the docs.
///
/// ```
/// use smartex_core::form::FormWriter;
/// let mut w = FormWriter::default();
/// w.field("amount", "2");
/// w.list_entry("toValues", 0, "value", "a&b");
/// assert_eq!(w.finish(), "amount=2&toValues[0][value]=a%26b");
/// ```
#[derive(Clone, Debug, Default)]
pub struct FormWriter {
    out: String,
}

impl FormWriter {
    fn start_pair(&mut self) {
        if !self.out.is_empty() {
            self.out.push('&');
        }
    }

    /// Appends `name=value`.
    pub fn field(&mut self, name: &str, value: &str) {
        self.start_pair();
        encode_component(name, &mut self.out);
        self.out.push('=');
        encode_component(value, &mut self.out);
    }

    /// Appends `list[index][name]=value`.
    pub fn list_entry(&mut self, list: &str, index: usize, name: &str, value: &str) {
        use core::fmt::Write;
        self.start_pair();
        encode_component(list, &mut self.out);
        // Writing to a String cannot fail.
        let _ = write!(self.out, "[{index}][");
        encode_component(name, &mut self.out);
        self.out.push_str("]=");
        encode_component(value, &mut self.out);
    }

    /// Appends `map[name]=value`.
    pub fn map_entry(&mut self, map: &str, name: &str, value: &str) {
        self.start_pair();
        encode_component(map, &mut self.out);
        self.out.push('[');
        encode_component(name, &mut self.out);
        self.out.push_str("]=");
        encode_component(value, &mut self.out);
    }

    /// The body.
    pub fn finish(self) -> String {
        self.out
    }
}
