//! The catalog is the only list of stores: a `crates/store-*` crate that no
//! catalog line builds (through this crate's dependencies) fails here.

use std::path::Path;

#[test]
fn every_store_crate_is_in_the_catalog() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(here.join("Cargo.toml")).expect("Cargo.toml");
    let source = std::fs::read_to_string(here.join("src/lib.rs")).expect("src/lib.rs");
    let crates = here.parent().expect("crates/");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(crates).expect("crates/ lists") {
        let name = entry.expect("a folder entry").file_name();
        let name = name.to_string_lossy();
        // The suite every store passes is not a store.
        if !name.starts_with("store-") || name == "store-conformance" || name == "store-catalog" {
            continue;
        }
        let path = name.replace('-', "_");
        let depended = manifest.lines().any(|l| l.starts_with(&format!("{name}.")));
        let listed = source.contains(&format!("({path}::"));
        if !(depended && listed) {
            missing.push(name.into_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "store crates with no catalog line (add one to for_each_store! in crates/catalog/src/lib.rs \
         and a dependency to crates/catalog/Cargo.toml): {missing:?}"
    );
}
