//! Fuzz target for the config loader: no file content may panic the lexer, the parser or the
//! option mapping, and loading is deterministic. `broker/tests/config_corpus.rs` replays the
//! corpus on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rnats_broker::config::{apply_map, parse_str};
use rnats_broker::options::Options;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| (name == "FUZZ_VAR").then(|| "4222".to_string());
    let first = parse_str(text, "fuzz.conf", &env);
    let second = parse_str(text, "fuzz.conf", &env);
    assert_eq!(first.is_ok(), second.is_ok(), "parsing is deterministic");
    if let Ok(map) = first {
        let mut opts = Options::default();
        let applied = apply_map("fuzz.conf", &map, &mut opts).map_err(|e| e.to_string());
        let mut again = Options::default();
        let applied_again = apply_map("fuzz.conf", &map, &mut again).map_err(|e| e.to_string());
        assert_eq!(applied.is_ok(), applied_again.is_ok());
        if let Err(e) = &applied {
            assert!(!e.is_empty(), "errors have a text");
        }
    }
});
