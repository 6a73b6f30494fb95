//! One test binary per crate: linking each test file on its own cost minutes of the suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod batch;
mod damage;
mod store;
