//! Writes man/<tool>.1 for every tool; scripts/gen-man runs it.

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../man");
    std::fs::create_dir_all(&dir)?;
    for (name, page) in vaultless_tests::man::pages() {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
