//! The capture reader on arbitrary bytes, as `decode` and `monitor --pcap` use it: every frame
//! read is decoded, its `packet` line serialised and its text line escaped (timestamps
//! formatted); every error names an offset inside the input. None of it may panic or loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use v6probe::{capture::CaptureReader, term};

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CaptureReader::new(data) else {
        return;
    };
    // Each item consumes at least one record header: there cannot be more items than bytes.
    let mut items = 0usize;
    for item in reader {
        items += 1;
        assert!(items <= data.len(), "more items than input bytes");
        match item {
            Ok(frame) => {
                assert!(frame.offset < data.len() as u64);
                let _ = v6probe::output::rfc3339_nanos(frame.ts);
                match frame.decode() {
                    Ok(p) => {
                        let _ = serde_json::to_string(&p);
                        let line = term::escape(&p.text()).into_owned();
                        assert!(!line.chars().any(char::is_control), "{line:?}");
                    }
                    Err(s) => {
                        let _ = serde_json::to_string(&s);
                    }
                }
            }
            Err(e) => {
                if let Some(o) = e.offset() {
                    assert!(o <= data.len() as u64, "{e}");
                }
                let _ = term::escape(&e.to_string());
            }
        }
    }
});
