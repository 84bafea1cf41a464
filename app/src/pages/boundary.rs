//! Where an island's view type ends.
//!
//! On the server, a page's view type nests every component in it, and deep
//! ones overflow the compiler (trait solving for the `Send` futures that
//! resolve a page's async parts, and layout computation in release builds),
//! so pages and islands erase their types there. In the browser bundle erasure
//! is costly instead: `AnyView` keeps every rendering path of the view it
//! holds, so each erased island view adds them all (pages are compiled for
//! the browser too, though never rendered there: erased, their rendering
//! paths would be built all the same). Same HTML either way.

use leptos::prelude::*;

/// The view, type-erased on the server and left as it is in the browser.
#[cfg(feature = "ssr")]
pub fn erased_on_server(view: impl IntoView + 'static) -> impl IntoView {
    view.into_any()
}

/// The view, type-erased on the server and left as it is in the browser.
#[cfg(not(feature = "ssr"))]
pub fn erased_on_server(view: impl IntoView + 'static) -> impl IntoView {
    view
}
