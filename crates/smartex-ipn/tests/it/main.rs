//! Integration tests of smartex-ipn.
