//! Every island reports itself (`crate::island_hydrated("Name")` as its
//! first statement, with its own name): the page's `data-hydrated` mark
//! waits for the last one, and the server names a lazy island's files for
//! preloading by that name. An island that forgot would mark the page too
//! early (or never), so browser tests and people's tools would act on a
//! page whose controls are not live yet.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
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
fn every_island_reports_its_hydration() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let (mut islands, mut missing) = (0, Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        for (at, _) in text.match_indices("\n#[island") {
            islands += 1;
            let rest = &text[at..];
            let body = rest
                .find("impl IntoView {")
                .expect("an island returns a view");
            let first = rest[body + "impl IntoView {".len()..].trim_start();
            let name = rest["\n".len()..]
                .split("fn ")
                .nth(1)
                .and_then(|s| s.split(['(', '<']).next())
                .expect("an island is a fn");
            if !first.starts_with(&format!("crate::island_hydrated(\"{name}\");")) {
                missing.push(format!("{}: {name}", path.display()));
            }
        }
    }
    assert!(
        islands >= 17,
        "only {islands} islands found: has the attribute changed?"
    );
    assert!(
        missing.is_empty(),
        "islands that never report: {missing:#?}"
    );
}
