//! The frame decoder on arbitrary bytes: `Frame::parse`, validation, the JSON serialisation
//! every consumer prints, and re-emitting what was decoded. None of it may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use v6probe_common::wire::Frame;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::parse(data) else {
        return;
    };
    let violations = frame.validate();
    let _ = serde_json::to_string(&frame);
    let _ = serde_json::to_string(&violations);
    let mut buf = vec![0u8; frame.buffer_len()];
    if frame.emit(&mut buf).is_ok() {
        if let Ok(again) = Frame::parse(&buf) {
            let _ = again.validate();
        }
    }
});
