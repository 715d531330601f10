//! JavaScript values as far as `JSON.stringify` can tell them apart, with
//! JavaScript's own order of object keys.

use alloc::string::String;
use alloc::vec::Vec;

use super::number::{number_text, write_number};

/// A JavaScript string, held as `JSON.stringify` writes it without the quotes.
///
/// The escaped form keeps what a Rust `String` cannot (a lone surrogate from a
/// JSON `"\ud800"`), and it is all this module ever does with a string: compare
/// it with another (escaping is one-to-one) and write it out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct JsStr(pub(crate) String);

impl JsStr {
    /// The escaped form of the Unicode text `s`.
    pub(crate) fn from_text(s: &str) -> Self {
        let mut out = String::with_capacity(s.len());
        escape_into(s, &mut out);
        JsStr(out)
    }

    pub(crate) fn escaped(&self) -> &str {
        &self.0
    }

    /// Whether the key is an array index (`"0"`, `"17"`, below 2³² − 1), which
    /// JavaScript orders before every other key of an object.
    fn array_index(&self) -> Option<u32> {
        let s = self.0.as_bytes();
        if s.is_empty() || s.len() > 10 || (s[0] == b'0' && s.len() > 1) {
            return None;
        }
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: u64 = self.0.parse().ok()?;
        u32::try_from(n).ok().filter(|&n| n != u32::MAX)
    }
}

/// `JSON.stringify`'s escaping of a string's characters (ES2019, "well-formed"):
/// `"` `\` and the C0 controls; everything else, U+2028 and DEL included, as is.
pub(crate) fn escape_into(s: &str, out: &mut String) {
    // Most text needs no escape at all: copy it in one go.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => push_u_escape(c as u32, out),
            c => out.push(c),
        }
    }
}

/// `\u00xx` with lowercase hex digits, as V8 writes it.
pub(crate) fn push_u_escape(unit: u32, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[((unit >> shift) & 0xf) as usize]));
    }
}

/// A JavaScript value (what `JSON.parse` and `qs.parse` build).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(JsStr),
    Array(Array),
    Object(Object),
}

/// An array; `None` is a hole (`qs` builds sparse arrays, then compacts them).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Array {
    pub(crate) items: Vec<Option<Value>>,
    /// `qs`'s "conflict" mark (the highest index used by a conflict pair).
    pub(crate) conflict: Option<f64>,
}

/// An object: keys in creation order, with the marks `qs` keeps beside its
/// objects in side channels.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Object {
    entries: Vec<(JsStr, Value)>,
    /// `qs`'s "overflow" mark: an array past `arrayLimit` turned into an object,
    /// with its highest index.
    pub(crate) overflow: Option<f64>,
    /// `qs`'s "conflict" mark.
    pub(crate) conflict: Option<f64>,
}

impl Object {
    /// `obj[key] = value`: replaces in place (the key keeps its position) or
    /// appends.
    pub(crate) fn set(&mut self, key: JsStr, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Takes the value of `key` out (for an in-place update), leaving `Null`.
    pub(crate) fn take(&mut self, key: &JsStr) -> Option<Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| core::mem::replace(v, Value::Null))
    }

    /// The keys in JavaScript's order (`Object.keys`): array indices ascending,
    /// then the other keys in creation order.
    pub(crate) fn keys(&self) -> Vec<JsStr> {
        self.order()
            .into_iter()
            .map(|i| self.entries[i].0.clone())
            .collect()
    }

    fn order(&self) -> Vec<usize> {
        let mut indices: Vec<(u32, usize)> = Vec::new();
        let mut others: Vec<usize> = Vec::new();
        for (i, (k, _)) in self.entries.iter().enumerate() {
            match k.array_index() {
                Some(n) => indices.push((n, i)),
                None => others.push(i),
            }
        }
        indices.sort_unstable();
        indices.into_iter().map(|(_, i)| i).chain(others).collect()
    }

    /// `arrayToObject`: the array's present items under their index.
    pub(crate) fn from_array(items: Vec<Option<Value>>) -> Self {
        let mut obj = Object::default();
        for (i, item) in items.into_iter().enumerate() {
            if let Some(v) = item {
                obj.entries.push((JsStr(alloc::format!("{i}")), v));
            }
        }
        obj
    }

    /// Appends without looking for the key (the caller knows it is new).
    pub(crate) fn push_new(&mut self, key: JsStr, value: Value) {
        self.entries.push((key, value));
    }

    /// Mutable access to every value (order irrelevant).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The entries in JavaScript's key order, consuming the object.
    pub(crate) fn into_ordered(self) -> Vec<(JsStr, Value)> {
        let order = self.order();
        let mut slots: Vec<Option<(JsStr, Value)>> = self.entries.into_iter().map(Some).collect();
        order.into_iter().filter_map(|i| slots[i].take()).collect()
    }
}

/// `String(key)` of an integer index, as `qs` makes keys from numbers.
pub(crate) fn index_key(n: f64) -> JsStr {
    JsStr(number_text(n))
}

/// `JSON.stringify(value)` for the values `JSON.parse` and `qs` produce (no
/// `undefined`, functions or `toJSON`): holes in arrays are written `null`.
pub(crate) fn stringify(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(*n, out),
        Value::String(s) => {
            out.push('"');
            out.push_str(s.escaped());
            out.push('"');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    Some(v) => stringify(v, out),
                    None => out.push_str("null"),
                }
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (n, i) in o.order().into_iter().enumerate() {
                let (k, v) = &o.entries[i];
                if n > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(k.escaped());
                out.push_str("\":");
                stringify(v, out);
            }
            out.push('}');
        }
    }
}
