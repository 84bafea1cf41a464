//! Each API's storage (`store.rs`) is the lower layer: of its own API it
//! imports only the shared shapes in `model.rs`, never the domain module.

use std::path::Path;

#[test]
fn storage_imports_no_domain_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for api in ["partner", "transactions"] {
        let path = src.join(api).join("store.rs");
        let text = std::fs::read_to_string(&path).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let reaches_up = code.contains("super::") && !code.contains("super::model");
            let reaches_crate = code.contains("crate::");
            if reaches_up || reaches_crate {
                found.push(format!("{}:{}: {}", path.display(), n + 1, code));
            }
        }
    }
    assert!(
        found.is_empty(),
        "storage reaches up into the domain:\n{}",
        found.join("\n")
    );
}
