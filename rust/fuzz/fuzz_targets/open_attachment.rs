//! Opening tampered and arbitrary attachment blobs; see `wac1_fuzz::attachment::open_attachment_input`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wac1_fuzz::attachment::open_attachment_input(data);
});
