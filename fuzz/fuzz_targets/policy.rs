//! The `--policy` loader on arbitrary bytes (UTF-8 check, TOML, validation), then an engine
//! built with the policy. Errors must carry the file name; none of it may panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use v6probe::detect::{Config, Engine, Policy};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.toml");
    match Policy::parse_bytes(data, path) {
        Ok(p) => {
            let _ = Engine::new(Config::default(), Some(p));
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
});
