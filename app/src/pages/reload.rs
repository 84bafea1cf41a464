//! After a change, an island asks the server for the page again: the page's
//! static parts are server-rendered, so the server shows the new state.

use leptos::prelude::*;

/// Loads the current page again. The readiness mark is cleared first, so
/// whoever waits for `<body data-hydrated>` waits for the new page.
pub fn reload_page() {
    if let Some(body) = document().body() {
        let _ = body.remove_attribute(crate::HYDRATED_MARK);
    }
    let _ = window().location().reload();
}
