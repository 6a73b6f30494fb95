//! One test binary per crate: linking each test file on its own cost minutes of the suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../../../fuzz/src/lib.rs"]
#[allow(unused)]
mod harness;

mod attachment_download;
mod attachment_rules;
mod attachment_vectors;
mod conversation;
mod fuzz_corpus;
mod prekey_grace;
mod rules;
mod rules_keys;
mod serialization;
mod vectors;
mod wire_codec;
