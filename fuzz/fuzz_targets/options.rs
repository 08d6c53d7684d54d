//! The NDP option walk on arbitrary bytes: the zero-copy walker, the owned parse of every
//! option, its serialisation, and emit -> parse of what was read. None of it may panic, and an
//! option read from bytes must emit into exactly `buffer_len` bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use v6probe_common::wire::{ndisc_option::OptionIter, NdpOption, Options};

fuzz_target!(|data: &[u8]| {
    for item in OptionIter::new(data) {
        let Ok(view) = item else { break };
        let opt = NdpOption::parse(&view);
        let _ = serde_json::to_string(&opt);
        let _ = opt.quoted();
        let mut buf = vec![0xa5u8; opt.buffer_len()];
        let n = opt.emit(&mut buf).expect("emit into buffer_len bytes");
        assert_eq!(
            n,
            buf.len(),
            "emit wrote a different length than buffer_len"
        );
    }
    let opts = Options::parse(data);
    let _ = serde_json::to_string(&opts);
    let mut buf = vec![0u8; opts.buffer_len()];
    let _ = opts.emit(&mut buf);
});
