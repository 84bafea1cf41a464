//! Storage is the lower layer: no module under `src/store/` imports a
//! domain module. It may use the database, errors, the clock, ids and the
//! shared shapes of `model`; the domain calls it, never the reverse.

#![allow(clippy::expect_used)]

use std::path::Path;

/// What storage may reach of this crate.
const ALLOWED: &[&str] = &[
    "store",
    "db",
    "error",
    "clock",
    "model",
    "Error",
    "Result",
    "debug_fields",
];

/// Every `.rs` file under `dir`, folders included.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn storage_imports_no_domain_module() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store"),
        &mut files,
    );
    assert!(files.len() > 10, "src/store holds {} files", files.len());
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ALLOWED.contains(&module.as_str()) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "storage reaches up into the domain:\n{}",
        found.join("\n")
    );
}
