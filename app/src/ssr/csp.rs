//! Content-Security-Policy for rendered pages. Leptos puts a fresh nonce on
//! its hydration script; the policy allows that script and nothing inline.

use http::{header, HeaderValue};
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use super::state::AppState;

/// `'wasm-unsafe-eval'` lets the page compile its own WebAssembly; it does not
/// allow `eval` of JavaScript.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Context for rendering a page: the shared state, the lazy islands' files
/// named for preloading, and the page's CSP header built from this
/// render's nonce.
pub fn provide_page_context(state: AppState) {
    provide_context(state);
    provide_context(super::lazy_islands::Preloaded::default());
    if let (Some(nonce), Some(res)) = (use_nonce(), use_context::<ResponseOptions>()) {
        if let Ok(value) = HeaderValue::from_str(&page_csp(&nonce)) {
            res.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}
