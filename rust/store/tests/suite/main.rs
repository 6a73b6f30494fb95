//! One test binary per crate: linking each test file on its own cost minutes of the suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod alloc_spy;
mod batch;
mod common;
mod damage;
mod failures;
mod kdf;
mod lifecycle;
mod poison;
mod rollback;
mod store;
