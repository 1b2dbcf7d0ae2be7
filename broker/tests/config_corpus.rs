//! Replays the config fuzz corpus (`fuzz/corpus/config/`) on stable: no input may panic the
//! config lexer, parser or option mapping, and loading gives the same verdict twice.

use std::path::Path;

use rnats_broker::config::{apply_map, parse_str};
use rnats_broker::options::Options;

#[test]
fn config_corpus_loads_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read input");
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        n += 1;
        let env = |name: &str| (name == "FUZZ_VAR").then(|| "4222".to_string());
        let first = parse_str(text, "fuzz.conf", &env);
        let second = parse_str(text, "fuzz.conf", &env);
        assert_eq!(first.is_ok(), second.is_ok(), "{}", path.display());
        if let Ok(map) = first {
            let a =
                apply_map("fuzz.conf", &map, &mut Options::default()).map_err(|e| e.to_string());
            let b =
                apply_map("fuzz.conf", &map, &mut Options::default()).map_err(|e| e.to_string());
            assert_eq!(a.is_ok(), b.is_ok(), "{}", path.display());
        }
    }
    assert!(n >= 20, "a real corpus ({n} inputs)");
}
