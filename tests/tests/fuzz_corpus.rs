//! Replays every committed fuzz corpus file (tests/fuzz/corpus/TARGET/) through the
//! fuzz targets' own entry points and invariants, on stable: CI needs no nightly to
//! keep what fuzzing found fixed.

use std::path::PathBuf;

use vaultless_tests::fuzzing;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

#[test]
fn every_corpus_file_keeps_every_invariant() {
    let mut total = 0;
    for target in fuzzing::TARGETS {
        let dir = corpus(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 3,
            "{target}: only {} corpus files",
            files.len()
        );
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| fuzzing::run(target, &data));
            assert!(
                outcome.is_ok(),
                "{target}: {} breaks an invariant",
                file.display()
            );
        }
        total += files.len();
    }
    eprintln!("replayed {total} corpus files");
}
