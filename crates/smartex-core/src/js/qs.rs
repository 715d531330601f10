//! `qs.parse`, ported function by function with the options Express passes:
//! `allowPrototypes: true`, every other option at its default except the
//! limits below. Two versions, as Express 4.22 installs them: 6.16 under
//! `body-parser` 1.20 (`express.urlencoded({extended: true})`) and 6.14 under
//! Express itself (the query parser); `Options::qs_6_14` selects the older
//! behaviour where the two differ for these options. Names follow the
//! JavaScript source (`parseValues`, `parseObject`, `merge`, `combine`,
//! `compact`) so the two can be read side by side.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::number::number_text;
use super::value::{Array, JsStr, Object, Value, index_key};

/// The options of one `qs.parse` call that Express sets or leaves at a value
/// that matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// Indices from this one on make an object instead of an array.
    pub(crate) array_limit: usize,
    /// Bracket groups read as nesting; the rest of the key becomes one segment.
    pub(crate) depth: usize,
    /// Whether a key deeper than `depth` is an error (body-parser: 400).
    pub(crate) strict_depth: bool,
    /// Pairs read; the rest is ignored (Express's query parser) — body-parser
    /// refuses more with 413 before `qs` runs.
    pub(crate) parameter_limit: usize,
    /// `qs` 6.14 (Express's own) rather than 6.16 (body-parser's): keys split
    /// by the regular expression `/(\[[^[\]]*])/`, a string merged into an
    /// object becomes `{…, [string]: true}` (no `strictMerge`), and the array
    /// limit checks of `merge` as 6.14 wrote them.
    pub(crate) qs_6_14: bool,
}

/// A key nested deeper than `depth` with `strict_depth` (`qs` throws a
/// `RangeError`; body-parser answers 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DepthExceeded;

/// `qs.parse(text, options)`.
pub(crate) fn parse(text: &str, o: &Options) -> Result<Object, DepthExceeded> {
    if text.is_empty() {
        return Ok(Object::default());
    }
    let mut temp = parse_values(text, o);
    let mut obj = Value::Object(Object::default());
    for key in temp.keys() {
        let val = temp.take(&key).unwrap_or(Value::Null);
        let new_obj = parse_keys(&key_text(&key), val, o)?;
        obj = merge(obj, new_obj, o);
    }
    compact(&mut obj);
    Ok(match obj {
        Value::Object(obj) => obj,
        // `merge` into an object with an object source returns that object.
        _ => Object::default(),
    })
}

/// The Unicode text of a key that `qs` made (never holds a lone surrogate:
/// `decodeURIComponent` refuses to make one).
fn key_text(key: &JsStr) -> String {
    let s = key.escaped();
    if !s.contains('\\') {
        return String::from(s);
    }
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            _ => {}
        }
    }
    out
}

/// `utils.decode` for UTF-8: `+` is a space, then `decodeURIComponent`, or the
/// text unchanged (spaces for pluses) if that throws (the Qs mode of
/// [`percent`](crate::percent)).
pub(crate) fn decode(s: &str) -> String {
    crate::percent::decode_qs(s.as_bytes()).into_owned()
}

/// `%5B`/`%5D` (any case) turned into brackets, as `parseValues` does to the
/// whole text first.
fn clean_brackets(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut from = 0;
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'%' && b[i + 1] == b'5' {
            let r = match b[i + 2] {
                b'b' | b'B' => Some('['),
                b'd' | b'D' => Some(']'),
                _ => None,
            };
            if let Some(r) = r {
                out.push_str(&s[from..i]);
                out.push(r);
                i += 3;
                from = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[from..]);
    out
}

fn parse_values(text: &str, o: &Options) -> Object {
    let mut obj = Object::default();
    let clean = clean_brackets(text);
    for part in clean.split('&').take(o.parameter_limit) {
        let pos = match part.find("]=") {
            Some(p) => Some(p + 1),
            None => part.find('='),
        };
        let (key, val) = match pos {
            None => (decode(part), String::new()),
            Some(p) => (decode(&part[..p]), decode(&part[p + 1..])),
        };
        let key = JsStr::from_text(&key);
        let val = Value::String(JsStr::from_text(&val));
        match obj.take(&key) {
            // `duplicates: 'combine'`
            Some(existing) => obj.set(key, combine(existing, val, o)),
            None => obj.set(key, val),
        }
    }
    obj
}

/// `[].concat(v)`'s items: an array's (holes kept), or the value itself.
fn concat_items(v: Value) -> Vec<Option<Value>> {
    match v {
        Value::Array(a) => a.items,
        other => vec![Some(other)],
    }
}

fn array(items: Vec<Option<Value>>) -> Value {
    Value::Array(Array {
        items,
        conflict: None,
    })
}

fn overflow(items: Vec<Option<Value>>, max: f64) -> Value {
    let mut obj = Object::from_array(items);
    obj.overflow = Some(max);
    Value::Object(obj)
}

fn len_f64(n: usize) -> f64 {
    // Lengths here are far below 2^53.
    n as f64
}

/// `utils.combine(a, b, arrayLimit)`.
fn combine(a: Value, b: Value, o: &Options) -> Value {
    if let Value::Object(mut obj) = a {
        if let Some(max) = obj.overflow {
            let mut idx = max;
            for v in concat_items(b).into_iter().flatten() {
                idx += 1.0;
                obj.set(index_key(idx), v);
            }
            obj.overflow = Some(idx);
            return Value::Object(obj);
        }
        return combine_plain(Value::Object(obj), b, o);
    }
    combine_plain(a, b, o)
}

fn combine_plain(a: Value, b: Value, o: &Options) -> Value {
    let mut result = concat_items(a);
    result.extend(concat_items(b));
    if result.len() > o.array_limit {
        let max = len_f64(result.len()) - 1.0;
        return overflow(result, max);
    }
    array(result)
}

/// `parseInt(s, 10)` when `String(thatNumber) === s` (a canonical integer).
fn int_key(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: f64 = s.parse().ok()?;
    (number_text(n) == s).then_some(n)
}

/// `splitKeyIntoSegments`.
fn split_key(key: &str, o: &Options) -> Result<Vec<String>, DepthExceeded> {
    if o.depth == 0 {
        return Ok(vec![String::from(key)]);
    }
    if o.qs_6_14 {
        return Ok(split_key_6_14(key, o));
    }
    let b = key.as_bytes();
    let mut segments = Vec::new();
    let first = key.find('[');
    let parent = first.map_or(key, |f| &key[..f]);
    if !parent.is_empty() {
        segments.push(String::from(parent));
    }
    let mut open = first;
    let mut collected = 0;
    while let Some(op) = open {
        if collected >= o.depth {
            break;
        }
        let mut level = 1usize;
        let mut close = None;
        for (i, &c) in b.iter().enumerate().skip(op + 1) {
            if c == b'[' {
                level += 1;
            } else if c == b']' {
                level -= 1;
                if level == 0 {
                    close = Some(i);
                    break;
                }
            }
        }
        let Some(cl) = close else {
            segments.push(alloc::format!("[{}]", &key[op..]));
            return Ok(segments);
        };
        segments.push(String::from(&key[op..=cl]));
        collected += 1;
        open = key[cl + 1..].find('[').map(|i| i + cl + 1);
    }
    if let Some(op) = open {
        if o.strict_depth {
            return Err(DepthExceeded);
        }
        segments.push(alloc::format!("[{}]", &key[op..]));
    }
    Ok(segments)
}

/// The matches of `/(\[[^[\]]*])/g` in `key`, from byte `from` on.
fn next_group(key: &str, from: usize) -> Option<(usize, usize)> {
    let b = key.as_bytes();
    let mut i = from;
    while let Some(open) = b[i..].iter().position(|&c| c == b'[').map(|p| p + i) {
        let mut j = open + 1;
        while j < b.len() && b[j] != b'[' && b[j] != b']' {
            j += 1;
        }
        match b.get(j) {
            Some(b']') => return Some((open, j + 1)),
            Some(_) => i = j, // another `[` first: the match starts there, if any
            None => return None,
        }
    }
    None
}

/// qs 6.14's `splitKeyIntoSegments` (its `depth` is never strict here).
fn split_key_6_14(key: &str, o: &Options) -> Vec<String> {
    let mut segments = Vec::new();
    let first = next_group(key, 0);
    let parent = first.map_or(key, |(start, _)| &key[..start]);
    if !parent.is_empty() {
        segments.push(String::from(parent));
    }
    let mut from = 0;
    let mut collected = 0;
    let mut segment = next_group(key, from);
    while let Some((start, end)) = segment {
        if collected >= o.depth {
            break;
        }
        collected += 1;
        segments.push(String::from(&key[start..end]));
        from = end;
        segment = next_group(key, from);
    }
    if let Some((start, _)) = segment {
        segments.push(alloc::format!("[{}]", &key[start..]));
    }
    segments
}

/// `parseKeys`: `None` is `undefined` (an empty key).
fn parse_keys(key: &str, val: Value, o: &Options) -> Result<Option<Value>, DepthExceeded> {
    if key.is_empty() {
        return Ok(None);
    }
    let chain = split_key(key, o)?;
    Ok(Some(parse_object(&chain, val, o)))
}

/// `parseObject` (with `valuesParsed`: the leaf is already decoded).
fn parse_object(chain: &[String], val: Value, o: &Options) -> Value {
    {
        let mut leaf = val;
        for root in chain.iter().rev() {
            leaf = if root == "[]" {
                match leaf {
                    Value::Object(obj) if obj.overflow.is_some() => Value::Object(obj),
                    other => combine_plain(array(Vec::new()), other, o),
                }
            } else {
                let clean = if root.len() >= 2 && root.starts_with('[') && root.ends_with(']') {
                    &root[1..root.len() - 1]
                } else {
                    root.as_str()
                };
                let index = int_key(clean).filter(|n| *n >= 0.0 && clean.len() != root.len());
                match index {
                    Some(n) if n < len_f64(o.array_limit) => {
                        // n < array_limit: a small whole number.
                        let n = n as usize;
                        let mut items: Vec<Option<Value>> = (0..n).map(|_| None).collect();
                        items.push(Some(leaf));
                        array(items)
                    }
                    Some(n) => {
                        let mut obj = Object::default();
                        obj.push_new(index_key(n), leaf);
                        obj.overflow = Some(n);
                        Value::Object(obj)
                    }
                    None if clean == "__proto__" => Value::Object(Object::default()),
                    None => {
                        let mut obj = Object::default();
                        obj.push_new(JsStr::from_text(clean), leaf);
                        Value::Object(obj)
                    }
                }
            };
        }
        leaf
    }
}

/// `limitedPair`.
fn limited_pair(first: Value, second: Value, o: &Options) -> Value {
    let pair = vec![Some(first), Some(second)];
    if pair.len() > o.array_limit {
        return overflow(pair, 1.0);
    }
    Value::Array(Array {
        items: pair,
        conflict: None,
    })
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// `!value` for what `qs` builds: only the empty string is falsy.
fn falsy(v: &Value) -> bool {
    match v {
        Value::String(s) => s.escaped().is_empty(),
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => *n == 0.0 || n.is_nan(),
        _ => false,
    }
}

/// The entries `Object.keys(source)` visits, in that order.
fn source_entries(source: Value) -> (Vec<(JsStr, Value)>, Option<f64>) {
    match source {
        Value::Object(obj) => {
            let overflow = obj.overflow;
            (obj.into_ordered(), overflow)
        }
        Value::Array(a) => (
            a.items
                .into_iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (index_key(len_f64(i)), v)))
                .collect(),
            None,
        ),
        _ => (Vec::new(), None),
    }
}

/// `utils.merge(target, source, options)` with `strictMerge: true`.
fn merge(target: Value, source: Option<Value>, o: &Options) -> Value {
    let Some(source) = source else {
        return target;
    };
    if falsy(&source) {
        return target;
    }
    if !is_container(&source) {
        return match target {
            Value::Array(mut a) => {
                let next = a.items.len();
                let over = if o.qs_6_14 {
                    next > o.array_limit
                } else {
                    next >= o.array_limit
                };
                if over {
                    let mut items = a.items;
                    items.push(Some(source));
                    return overflow(items, len_f64(next));
                }
                a.items.push(Some(source));
                Value::Array(a)
            }
            Value::Object(mut obj) => {
                if let Some(max) = obj.overflow {
                    let idx = max + 1.0;
                    obj.set(index_key(idx), source);
                    obj.overflow = Some(idx);
                    Value::Object(obj)
                } else if o.qs_6_14 {
                    // `target[source] = true` (allowPrototypes lets any name through).
                    let Value::String(name) = source else {
                        return Value::Object(obj);
                    };
                    obj.set(name, Value::Bool(true));
                    Value::Object(obj)
                } else if let Some(c) = obj.conflict {
                    let idx = c + 1.0;
                    obj.set(index_key(idx), source);
                    obj.conflict = Some(idx);
                    Value::Object(obj)
                } else {
                    match limited_pair(Value::Object(obj), source, o) {
                        Value::Array(mut a) => {
                            a.conflict = Some(1.0);
                            Value::Array(a)
                        }
                        other => other,
                    }
                }
            }
            other => limited_pair(other, source, o),
        };
    }
    if falsy(&target) || !is_container(&target) {
        if let Value::Object(src) = &source
            && let Some(max) = src.overflow
        {
            {
                let mut result = Object::default();
                result.push_new(index_key(0.0), target);
                let (entries, _) = source_entries(source);
                for (k, v) in entries {
                    // parseInt of an arbitrary key: NaN + 1 is NaN, written "NaN".
                    let n = leading_int(k.escaped()).map_or(f64::NAN, |n| n + 1.0);
                    result.set(JsStr(number_text_nan(n)), v);
                }
                result.overflow = Some(max + 1.0);
                return Value::Object(result);
            }
        }
        let mut combined = vec![Some(target)];
        combined.extend(concat_items(source));
        if combined.len() > o.array_limit {
            let max = len_f64(combined.len()) - 1.0;
            return overflow(combined, max);
        }
        return array(combined);
    }
    match (target, source) {
        (Value::Array(mut t), Value::Array(s)) => {
            for (i, item) in s.items.into_iter().enumerate() {
                let Some(item) = item else { continue }; // forEach skips holes
                match t.items.get_mut(i) {
                    Some(slot @ Some(_)) => {
                        let current = slot.take().unwrap_or(Value::Null);
                        if is_container(&current) && is_container(&item) {
                            *slot = Some(merge(current, Some(item), o));
                        } else {
                            *slot = Some(current);
                            t.items.push(Some(item));
                        }
                    }
                    Some(hole) => *hole = Some(item),
                    None => {
                        t.items.resize_with(i, || None);
                        t.items.push(Some(item));
                    }
                }
            }
            if !o.qs_6_14 && t.items.len() > o.array_limit {
                let max = len_f64(t.items.len()) - 1.0;
                return overflow(t.items, max);
            }
            Value::Array(t)
        }
        (target, source) => {
            let mut acc = match target {
                Value::Array(a) => {
                    let len = a.items.len();
                    let conflict = a.conflict;
                    let mut obj = Object::from_array(a.items);
                    if conflict.is_some() {
                        obj.conflict = Some(len_f64(len) - 1.0);
                    }
                    obj
                }
                Value::Object(obj) => obj,
                _ => Object::default(),
            };
            let (entries, source_overflow) = source_entries(source);
            for (key, value) in entries {
                let merged = match acc.take(&key) {
                    Some(existing) => merge(existing, Some(value), o),
                    None => value,
                };
                acc.set(key.clone(), merged);
                if let (Some(max), None) = (source_overflow, acc.overflow) {
                    acc.overflow = Some(if o.qs_6_14 {
                        max
                    } else {
                        max_numeric_index(&acc, max)
                    });
                }
                let key_num = int_key(key.escaped());
                if let (Some(max), Some(n)) = (acc.overflow, key_num)
                    && n >= 0.0
                    && n > max
                {
                    acc.overflow = Some(n);
                }
                if let (Some(c), Some(n)) = (acc.conflict, key_num)
                    && n > c
                {
                    acc.conflict = Some(n);
                }
            }
            Value::Object(acc)
        }
    }
}

/// `String(n)` where `n` may be NaN.
fn number_text_nan(n: f64) -> String {
    if n.is_nan() {
        String::from("NaN")
    } else {
        number_text(n)
    }
}

/// `parseInt(s, 10)`: leading whitespace, a sign, then digits; `None` for NaN.
fn leading_int(s: &str) -> Option<f64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = t.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    let n: f64 = t[..end].parse().ok()?;
    Some(if neg { -n } else { n })
}

/// `maxNumericIndex(obj, min)`.
fn max_numeric_index(obj: &Object, min: f64) -> f64 {
    obj.keys()
        .iter()
        .filter_map(|k| int_key(k.escaped()))
        .fold(min, f64::max)
}

/// `utils.compact`: the holes of every array removed, however deep.
fn compact(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.items.retain(Option::is_some);
            for item in a.items.iter_mut().flatten() {
                compact(item);
            }
        }
        Value::Object(obj) => {
            for item in obj.values_mut() {
                compact(item);
            }
        }
        _ => {}
    }
}
