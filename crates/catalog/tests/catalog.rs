//! The catalog is the only list of stores: a `crates/store-*` crate that no
//! catalog line builds (through this crate's dependencies) fails here, and
//! so does one that `cargo bench -p store-NAME` would not bench.

use std::path::{Path, PathBuf};

/// Every store crate's folder name (`store-dense`) and path.
fn store_crates() -> Vec<(String, PathBuf)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crates = here.parent().expect("crates/");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(crates).expect("crates/ lists") {
        let entry = entry.expect("a folder entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        // The suite every store passes is not a store.
        if name.starts_with("store-") && name != "store-conformance" && name != "store-catalog" {
            found.push((name, entry.path()));
        }
    }
    found.sort();
    assert!(found.len() > 5, "store crates: {found:?}");
    found
}

#[test]
fn every_store_crate_is_in_the_catalog() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(here.join("Cargo.toml")).expect("Cargo.toml");
    let source = std::fs::read_to_string(here.join("src/lib.rs")).expect("src/lib.rs");
    let mut missing = Vec::new();
    for (name, _) in store_crates() {
        let path = name.replace('-', "_");
        let depended = manifest.lines().any(|l| l.starts_with(&format!("{name}.")));
        let listed = source.contains(&format!("({path}::"));
        if !(depended && listed && !store_catalog::of_crate(&name).is_empty()) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "store crates with no catalog line (add one to for_each_store! in crates/catalog/src/lib.rs \
         and a dependency to crates/catalog/Cargo.toml): {missing:?}"
    );
}

/// `cargo bench -p store-NAME` benches the crate's stores: `benches/lab.rs`
/// is `storelab::crate_bench!();`, its `[[bench]]` has no libtest harness,
/// the library has no bench of its own, and storelab comes with `micro`.
#[test]
fn every_store_crate_benches_its_stores() {
    let mut missing = Vec::new();
    for (name, path) in store_crates() {
        let bench = std::fs::read_to_string(path.join("benches/lab.rs")).unwrap_or_default();
        let manifest = std::fs::read_to_string(path.join("Cargo.toml")).expect("Cargo.toml");
        let squeezed: String = manifest.split_whitespace().collect();
        let wanted = [
            "[[bench]]name=\"lab\"harness=false",
            "storelab={workspace=true,features=[\"micro\"]}",
        ];
        let mut lacks: Vec<&str> = wanted
            .into_iter()
            .filter(|w| !squeezed.contains(w))
            .collect();
        // The [lib] table, up to the next table, says bench = false.
        let lib = manifest.split("\n[").find(|t| t.starts_with("lib]"));
        if !lib.is_some_and(|t| {
            t.lines()
                .any(|l| l.split_whitespace().collect::<String>() == "bench=false")
        }) {
            lacks.push("[lib] bench = false");
        }
        if !bench.contains("storelab::crate_bench!();") {
            missing.push(format!(
                "{name}: benches/lab.rs is not `storelab::crate_bench!();`"
            ));
        }
        if !lacks.is_empty() {
            missing.push(format!("{name}: Cargo.toml lacks {lacks:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "store crates `cargo bench` would not bench (see crates/store-dense: benches/lab.rs, \
         [lib] bench = false, [[bench]] name = \"lab\" harness = false, storelab with \
         features = [\"micro\"] as a dev-dependency):\n{}",
        missing.join("\n")
    );
}
