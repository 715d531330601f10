//! `application/x-www-form-urlencoded` in the `qs` convention (Node's `qs`, PHP).
//!
//! Nested values are written with brackets: `toValues[0][key]=wallet`. A Node
//! sender may spell the same body several ways, and the decoder accepts all of
//! them: brackets plain or percent-encoded (`%5B0%5D`), indices or empty brackets
//! (`toValues[][key]`), `+` or `%20` for a space, fields in any order, UTF-8
//! values with `&`, `=`, `%` and `+` escaped inside.
//!
//! Decoding is lazy and borrows: [`Pairs`] walks the body and hands out
//! [`Key`]s and [`Encoded`] values that point into it; a value is unescaped
//! only when asked, and only allocates when it contains an escape. Every decoder
//! is bounded by [`Limits`].
//!
//! ```
//! use smartex_core::form::{self, Limits, Node};
//! let tree = form::decode_tree(b"a=1&toValues%5B0%5D%5Bkey%5D=wallet&toValues[0][value]=Z+1", &Limits::default())?;
//! assert_eq!(tree.get("a").and_then(Node::as_str), Some("1"));
//! let first = tree.get("toValues").and_then(|v| v.index(0)).unwrap();
//! assert_eq!(first.get("value").and_then(Node::as_str), Some("Z 1"));
//! # Ok::<(), smartex_core::Error>(())
//! ```

mod decode;
mod encode;
mod tree;

pub use decode::{Encoded, Key, Pairs, Segment, Segments};
pub use encode::{FormWriter, encode_component};
pub use tree::{Map, Node, decode_tree};

/// Bounds on what the decoder accepts. Past a bound it returns
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded), never a partial result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most `name=value` pairs in one body (default 256).
    pub max_pairs: usize,
    /// Most bracket segments after the root name (default 4: `a[0][b]` has 2).
    pub max_depth: usize,
    /// Largest array index (default 100).
    pub max_index: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pairs: 256,
            max_depth: 4,
            max_index: 100,
        }
    }
}
