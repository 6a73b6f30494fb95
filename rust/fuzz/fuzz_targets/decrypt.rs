//! Wire decode and decrypt into a fixed session; see `wac1_fuzz::decrypt_input`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wac1_fuzz::decrypt_input(data);
});
