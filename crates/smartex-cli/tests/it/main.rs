//! Integration tests of the `smartex` command and of the whole flow over
//! real loopback HTTP.

// Tests assert by unwrapping and panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
