//! Security headers on every kind of response.

use crate::support::*;

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
    // A new page, a new nonce.
    let again = s.browser().get(s.url("/login")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
}
