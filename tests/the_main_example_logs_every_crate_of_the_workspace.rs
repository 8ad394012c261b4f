//! The main example's default log filter (no `RUST_LOG`) names every library
//! crate of the workspace, so a crate added later cannot log into the void.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::path::PathBuf;

#[test]
fn the_default_log_filter_names_every_library_crate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let main = std::fs::read_to_string(root.join("examples/mcp_server/main.rs")).unwrap();
    let start = main.find("const DEFAULT_LOG_FILTER: &str = \"").unwrap() + 34;
    let end = start + main[start..].find("\";").unwrap();
    let filter: String = main[start..end].split("\\\n").map(str::trim).collect();
    let mut crates = vec!["mcp-guard".to_owned()];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let manifest = std::fs::read_to_string(entry.unwrap().path().join("Cargo.toml")).unwrap();
        let name = manifest
            .lines()
            .find_map(|line| line.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap()
            .to_owned();
        let publish = !manifest.contains("publish = false");
        if publish {
            crates.push(name);
        }
    }
    assert!(
        crates.len() >= 8,
        "found the workspace's crates: {crates:?}"
    );
    for name in crates {
        let directive = format!("{}=info", name.replace('-', "_"));
        assert!(
            filter.split(',').any(|part| part == directive),
            "the default log filter {filter:?} misses `{directive}`"
        );
    }
}
