//! `JSON.parse` with JavaScript's semantics: numbers become doubles, a key
//! given twice keeps its first position and its last value, `\ud800` is a
//! (lone) code unit, `__proto__` is an ordinary key.

use alloc::string::String;
use alloc::vec::Vec;

use super::value::{Array, JsStr, Object, Value, escape_into, push_u_escape};

/// How deep arrays and objects may nest. V8 goes deeper; nothing this SDK
/// sends comes near, and the bound keeps the recursion off the stack's edge.
pub(crate) const MAX_DEPTH: usize = 256;

/// Why a text is not JSON (or too deep to read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    Syntax,
    TooDeep,
}

/// Parses `text` as `JSON.parse` does.
pub(crate) fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(JsonError::Syntax);
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(JsonError::Syntax)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.s.get(self.i) {
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(JsonError::TooDeep);
                }
                self.i += 1;
                let mut obj = Object::default();
                self.ws();
                if self.eat(b'}') {
                    return Ok(Value::Object(obj));
                }
                loop {
                    self.ws();
                    if !self.eat(b'"') {
                        return Err(JsonError::Syntax);
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err(JsonError::Syntax);
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    obj.set(key, v);
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(Value::Object(obj));
                    }
                    if !self.eat(b',') {
                        return Err(JsonError::Syntax);
                    }
                }
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(JsonError::TooDeep);
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']') {
                    return Ok(Value::Array(Array::default()));
                }
                loop {
                    self.ws();
                    items.push(Some(self.value(depth + 1)?));
                    self.ws();
                    if self.eat(b']') {
                        return Ok(Value::Array(Array {
                            items,
                            conflict: None,
                        }));
                    }
                    if !self.eat(b',') {
                        return Err(JsonError::Syntax);
                    }
                }
            }
            Some(b'"') => {
                self.i += 1;
                Ok(Value::String(self.string()?))
            }
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(JsonError::Syntax),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        self.eat(b'-');
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::Syntax),
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(JsonError::Syntax);
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        // Rust's parser rounds correctly, as ECMAScript requires; the grammar
        // was checked above, and it accepts all of it.
        let n: f64 = self.text[start..self.i]
            .parse()
            .map_err(|_| JsonError::Syntax)?;
        Ok(Value::Number(n))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self.s.get(self.i..self.i + 4).ok_or(JsonError::Syntax)?;
        let mut n = 0u32;
        for &c in h {
            let d = char::from(c).to_digit(16).ok_or(JsonError::Syntax)?;
            n = n * 16 + d;
        }
        self.i += 4;
        Ok(n)
    }

    /// The rest of a string after its opening quote, escaped as
    /// `JSON.stringify` writes it.
    fn string(&mut self) -> Result<JsStr, JsonError> {
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.s.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Stopped on an ASCII byte or the end: a char boundary.
            escape_into(&self.text[start..self.i], &mut out);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(JsStr(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let e = *self.s.get(self.i).ok_or(JsonError::Syntax)?;
                    self.i += 1;
                    match e {
                        b'"' => out.push_str("\\\""),
                        b'\\' => out.push_str("\\\\"),
                        b'/' => out.push('/'),
                        b'b' => out.push_str("\\b"),
                        b'f' => out.push_str("\\f"),
                        b'n' => out.push_str("\\n"),
                        b'r' => out.push_str("\\r"),
                        b't' => out.push_str("\\t"),
                        b'u' => {
                            let unit = self.hex4()?;
                            self.unit(unit, &mut out)?;
                        }
                        _ => return Err(JsonError::Syntax),
                    }
                }
                // A raw control character, or the end before the closing quote.
                _ => return Err(JsonError::Syntax),
            }
        }
    }

    /// One `\uXXXX` code unit (pairing a high surrogate with a following
    /// `\uYYYY` low one).
    fn unit(&mut self, unit: u32, out: &mut String) -> Result<(), JsonError> {
        if (0xD800..0xDC00).contains(&unit) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                if let Some(c) = char::from_u32(c) {
                    out.push(c);
                }
                return Ok(());
            }
            self.i = save;
        }
        match char::from_u32(unit) {
            Some(c) => {
                let mut buf = [0u8; 4];
                escape_into(c.encode_utf8(&mut buf), out);
            }
            // A lone surrogate: well-formed JSON.stringify writes it escaped.
            None => push_u_escape(unit, out),
        }
        Ok(())
    }
}
