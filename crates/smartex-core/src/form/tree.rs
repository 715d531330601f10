//! Decoding a whole body into ordered, nested values.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Limits, Pairs, Segment};
use crate::error::{Error, Problem, Result};

/// A decoded form value: text, a list, or a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A value.
    Value(String),
    /// A list, in index order (`a[0]`, `a[1]`, or `a[]` pushes).
    List(Vec<Node>),
    /// Named children, in the order they first appeared.
    Map(Map),
}

impl Node {
    /// The text, if this is a value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Value(s) => Some(s),
            _ => None,
        }
    }

    /// A named child, if this is a map.
    pub fn get(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Map(map) => map.get(name),
            _ => None,
        }
    }

    /// The `i`-th element, if this is a list.
    pub fn index(&self, i: usize) -> Option<&Node> {
        match self {
            Node::List(list) => list.get(i),
            _ => None,
        }
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Node]> {
        match self {
            Node::List(list) => Some(list),
            _ => None,
        }
    }
}

/// Named values in the order they first appeared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Map(Vec<(String, Node)>);

impl Map {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// While building, lists keep their indices (a sender may write `a[1]` before
/// `a[0]`); they are sorted and compacted at the end, as `qs` does.
enum Build {
    Value(String),
    List(Vec<(usize, Build)>),
    Map(Vec<(String, Build)>),
}

/// Decodes a whole body into a [`Map`], keeping the order of first appearance.
///
/// A name given twice is an error ([`Error::DuplicateField`]) rather than "first
/// wins" or "last wins": in a signed message the two readings could differ.
/// `[]` appends: `a[]=x&a[]=y` is a list of two; with a name after it
/// (`a[][key]=1&a[][value]=2&a[][key]=3`), the name goes to the last element
/// unless that element already has it, in which case a new element starts — the
/// reading that reproduces what `qs.stringify(…, {arrayFormat: 'brackets'})` wrote.
///
/// # Errors
/// Malformed keys or values, duplicates, a name used both as a value and as a
/// list or map, and any bound of `limits`.
pub fn decode_tree(body: &[u8], limits: &Limits) -> Result<Map> {
    let mut root: Vec<(String, Build)> = Vec::new();
    for pair in Pairs::new(body, *limits) {
        let (key, value) = pair?;
        let name = key.root()?.into_owned();
        let path: Vec<Segment<'_>> = key.segments().collect();
        let field = || -> Cow<'static, str> { Cow::Owned(key.display_lossy()) };
        let value = value.decode_with(|p| Error::InvalidField {
            field: field(),
            problem: p,
        })?;
        insert_named(&mut root, name, &path, value.into_owned(), &field)?;
    }
    Ok(Map(root.into_iter().map(|(k, v)| (k, finish(v))).collect()))
}

fn insert_named(
    map: &mut Vec<(String, Build)>,
    name: String,
    path: &[Segment<'_>],
    value: String,
    field: &dyn Fn() -> Cow<'static, str>,
) -> Result<()> {
    match map.iter_mut().find(|(k, _)| *k == name) {
        Some((_, node)) => insert_into(node, path, value, field),
        None => {
            let node = new_node(path, value, field)?;
            map.push((name, node));
            Ok(())
        }
    }
}

fn new_node(
    path: &[Segment<'_>],
    value: String,
    field: &dyn Fn() -> Cow<'static, str>,
) -> Result<Build> {
    let mut node = match path.first() {
        None => return Ok(Build::Value(value)),
        Some(seg) if seg.is_push() || seg.index().is_some() => Build::List(Vec::new()),
        Some(_) => Build::Map(Vec::new()),
    };
    insert_into(&mut node, path, value, field)?;
    Ok(node)
}

fn insert_into(
    node: &mut Build,
    path: &[Segment<'_>],
    value: String,
    field: &dyn Fn() -> Cow<'static, str>,
) -> Result<()> {
    let Some((seg, rest)) = path.split_first() else {
        // A value where something already stands: a duplicate, or a name used
        // both as a value and as a container.
        return Err(match node {
            Build::Value(_) => Error::DuplicateField { field: field() },
            _ => Error::InvalidField {
                field: field(),
                problem: Problem::WrongShape {
                    expected: "a list or map",
                },
            },
        });
    };
    let shape_err = |expected| Error::InvalidField {
        field: field(),
        problem: Problem::WrongShape { expected },
    };
    match node {
        Build::Value(_) => Err(shape_err("a value")),
        Build::List(items) => {
            let index = if seg.is_push() {
                // Saturating: limits may allow any index, up to `usize::MAX`.
                let next = items
                    .iter()
                    .map(|(i, _)| i.saturating_add(1))
                    .max()
                    .unwrap_or(0);
                // `[][name]`: fill the last element while it lacks that name.
                let joins_last = match (rest, items.last()) {
                    ([name], Some((last, Build::Map(entries))))
                        if name.index().is_none() && !name.is_push() =>
                    {
                        let name = name.decode()?;
                        (!entries.iter().any(|(k, _)| *k == *name)).then_some(*last)
                    }
                    _ => None,
                };
                joins_last.unwrap_or(next)
            } else {
                match seg.index() {
                    Some(i) => i,
                    None => return Err(shape_err("a list index")),
                }
            };
            match items.iter_mut().find(|(i, _)| *i == index) {
                Some((_, child)) => insert_into(child, rest, value, field),
                None => {
                    items.push((index, new_node(rest, value, field)?));
                    Ok(())
                }
            }
        }
        Build::Map(entries) => {
            if seg.is_push() {
                return Err(shape_err("a map key"));
            }
            let name = seg.decode()?.into_owned();
            insert_named(entries, name, rest, value, field)
        }
    }
}

fn finish(node: Build) -> Node {
    match node {
        Build::Value(v) => Node::Value(v),
        Build::List(mut items) => {
            items.sort_by_key(|(i, _)| *i);
            Node::List(items.into_iter().map(|(_, n)| finish(n)).collect())
        }
        Build::Map(entries) => Node::Map(Map(entries
            .into_iter()
            .map(|(k, v)| (k, finish(v)))
            .collect())),
    }
}
