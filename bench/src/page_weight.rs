//! What a browser downloads to open the console: the page, then the island
//! bundle (JavaScript glue and WebAssembly) it names and the modules that
//! glue imports. Every console page starts with the same bundle, so the
//! log-in page, a visitor's first, stands for all; a page with lazy islands
//! then loads their code (`scripts/page-weight` lists each island's).
//! Budget: 350 KB of gzip-compressed wasm + JS.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use crate::http::request;

const BUDGET_BYTES: usize = 350 * 1000;

/// One download: bytes on the wire with gzip accepted, and without.
struct Transfer {
    path: String,
    gzip: usize,
    raw: usize,
}

async fn fetch(addr: &str, path: &str, gzip: bool) -> Result<(usize, Bytes), String> {
    let mut req = Request::get(path).header("host", addr);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let req = req
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let (status, headers, body) = request(addr, req).await?;
    if !status.is_success() {
        return Err(format!("GET {path}: {status}"));
    }
    let encoded = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    if gzip && path.starts_with("/pkg/") && !encoded {
        return Err(format!("GET {path}: not compressed"));
    }
    Ok((body.len(), body))
}

async fn transfer(addr: &str, path: &str) -> Result<Transfer, String> {
    Ok(Transfer {
        path: path.to_owned(),
        gzip: fetch(addr, path, true).await?.0,
        raw: fetch(addr, path, false).await?.0,
    })
}

/// The `/pkg/…` files a page links, in order, without repeats.
fn linked_assets(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let href = part.split('"').next().unwrap_or_default();
        if href.starts_with("/pkg/") && !found.iter().any(|f| f == href) {
            found.push(href.to_owned());
        }
    }
    found
}

/// The modules a (minified) script imports statically from beside it, as
/// `/pkg/…` paths: `import{…}from"./x.js"`. A browser fetches them before
/// the script runs.
fn static_imports(js: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sep in ["from\"./", "from \"./"] {
        for part in js.split(sep).skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            let path = format!("/pkg/{name}");
            if name.ends_with(".js") && !name.contains('/') && !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

pub async fn report(addr: &str) -> Result<(), String> {
    let (html_len, html) = fetch(addr, "/login", true).await?;
    let html = String::from_utf8_lossy(&html);
    let mut assets = linked_assets(&html);
    let mut bundle = Vec::new();
    let mut other = Vec::new();
    let mut next = 0;
    while next < assets.len() {
        let path = assets[next].clone();
        next += 1;
        if path.ends_with(".js") {
            let (_, js) = fetch(addr, &path, false).await?;
            for import in static_imports(&String::from_utf8_lossy(&js)) {
                if !assets.contains(&import) {
                    assets.push(import);
                }
            }
        }
        let t = transfer(addr, &path).await?;
        if path.ends_with(".wasm") || path.ends_with(".js") {
            bundle.push(t);
        } else {
            other.push(t);
        }
    }
    if !bundle.iter().any(|t| t.path.ends_with(".wasm")) {
        return Err("the log-in page links no wasm bundle: is target/site a release build?".into());
    }
    println!("first page load (/login, release build)");
    println!("{:<34} {:>12} {:>12}", "file", "gzip bytes", "raw bytes");
    println!("{:<34} {:>12} {:>12}", "/login (HTML)", "-", html_len);
    for t in bundle.iter().chain(&other) {
        println!("{:<34} {:>12} {:>12}", t.path, t.gzip, t.raw);
    }
    let gz: usize = bundle.iter().map(|t| t.gzip).sum();
    let raw: usize = bundle.iter().map(|t| t.raw).sum();
    println!(
        "wasm + JS: {:.1} KB gzip ({:.1} KB raw); budget 350 KB gzip: {}\n",
        gz as f64 / 1000.0,
        raw as f64 / 1000.0,
        if gz <= BUDGET_BYTES { "met" } else { "MISSED" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{linked_assets, static_imports};

    #[test]
    fn follows_the_glue_s_static_imports() {
        let js = r#"import{initSync as a}from"./portcullis.js";import*as b from "./__wasm_split.__.js";import("./lazy.js");from"../up.js""#;
        assert_eq!(
            static_imports(js),
            ["/pkg/portcullis.js", "/pkg/__wasm_split.__.js"]
        );
    }

    #[test]
    fn finds_each_linked_asset_once() {
        let html = r#"<link rel="modulepreload" href="/pkg/portcullis.js"><link rel="preload" href="/pkg/portcullis.wasm"><link href="/pkg/portcullis.js"><a href="/signup">"#;
        assert_eq!(
            linked_assets(html),
            ["/pkg/portcullis.js", "/pkg/portcullis.wasm"]
        );
    }
}
