//! The `--state` loader on arbitrary bytes: parse, restore into the engine, snapshot, and save
//! what was restored; the saved text must load again. None of it may panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use v6probe::detect::{Config, Engine, State};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.state");
    let Ok(state) = State::parse(data, path) else {
        return;
    };
    let mut engine = Engine::new(Config::default(), None);
    engine.restore(&state);
    let snap = engine.snapshot();
    let text = serde_json::to_vec(&snap).expect("a snapshot serialises");
    let again = State::parse(&text, path).expect("a saved snapshot loads again");
    assert_eq!(again, snap);
    let _ = engine.stats();
});
