//! Opening tampered and arbitrary vault blobs; see `wac1_fuzz::vault::open_vault_input`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wac1_fuzz::vault::open_vault_input(data);
});
