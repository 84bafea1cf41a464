//! Security headers on every kind of response.

use crate::harness::*;

fn assert_hardened(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "same-origin", "{what}");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("'unsafe-eval'"), "{what}: {csp}");
}

#[tokio::test]
async fn every_response_is_hardened() {
    let s = TestServer::start().await;
    let b = s.browser();
    assert_hardened(&b.get(s.url("/healthz")).send().await.unwrap(), "healthz");
    assert_hardened(&b.get(s.url("/login")).send().await.unwrap(), "login page");
    assert_hardened(&b.get(s.url("/projects")).send().await.unwrap(), "redirect");
    assert_hardened(
        &s.post(&b, "me", &[] as &[(&str, &str)]).await,
        "server fn error",
    );
    assert_hardened(&s.sign_up(&b, "Acme", "ada@example.com").await, "sign-up");
    assert_hardened(
        &b.get(s.url("/projects")).send().await.unwrap(),
        "console page",
    );
    assert_hardened(
        &b.get(s.url("/pkg/missing.js")).send().await.unwrap(),
        "missing asset",
    );
}

#[tokio::test]
async fn page_csp_allows_only_the_nonced_hydration_script() {
    let s = TestServer::start().await;
    let res = s.browser().get(s.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("nonce in CSP")
        .to_owned();
    assert!(nonce.len() >= 16);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "page scripts carry the nonce"
    );
    // Every inline script carries it.
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(tag.contains(&nonce), "script without nonce: <script{tag}>");
    }
    // Idle callbacks get a deadline before the island script asks for one
    // (else a browser that never finds the page idle never hydrates it).
    let deadline = html
        .find("window.requestIdleCallback=function")
        .expect("the deadline script");
    let islands = html.find("idle(()").expect("the island script");
    assert!(deadline < islands, "the deadline script runs first");
    // A new page, a new nonce.
    let again = s.browser().get(s.url("/login")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
}

/// The island bundle goes out gzip-compressed; pages and server-function
/// answers never do (they can hold a secret next to text a visitor chose,
/// which is what compression side channels need).
#[tokio::test]
async fn static_assets_are_compressed_and_pages_are_not() {
    let s = TestServer::start().await;
    let pkg = s.dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let js = "export function hydrate() { return 1; }\n".repeat(200);
    std::fs::write(pkg.join("portcullis.js"), &js).unwrap();
    let b = s.browser();

    let gz = b
        .get(s.url("/pkg/portcullis.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert!(gz.bytes().await.unwrap().len() < js.len() / 10);

    let plain = b.get(s.url("/pkg/portcullis.js")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    // Kept, but checked on each use: unchanged, it costs a 304.
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let modified = plain.headers()["last-modified"].clone();
    assert_eq!(plain.text().await.unwrap(), js);
    let again = b
        .get(s.url("/pkg/portcullis.js"))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    s.sign_up_and_log_in(&b, "Acme", "ada@example.com").await;
    for path in ["/login", "/projects", "/settings"] {
        let page = b
            .get(s.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert!(page.headers().get("content-encoding").is_none(), "{path}");
    }
    let answer = b
        .post(s.url("/api/me"))
        .header("accept-encoding", "gzip")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("content-encoding").is_none());
}
