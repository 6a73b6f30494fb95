//! `from_bytes` of every serialized object; see `wac1_fuzz::from_bytes_input`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wac1_fuzz::from_bytes_input(data);
});
