//! An open project page follows changes made anywhere (`/api/project_live`,
//! server-sent events through the change feed): one `EventSource` per
//! page, shared by every island that listens. The browser opens it again
//! by itself when the server ends a stream (every few minutes, to check
//! the session afresh); a refusal (signed out) ends it for good.

/// Calls `on` when the project's stream names one of `events` (`clients`,
/// `usage`, `project`). On the server: nothing.
pub fn listen(project_id: &str, events: &[&'static str], on: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    browser::listen(project_id, events, on);
    #[cfg(not(feature = "hydrate"))]
    let _ = (project_id, events, on);
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{EventSource, MessageEvent};

    thread_local! {
        /// The page's stream, by project.
        static OPEN: RefCell<Option<(String, EventSource)>> = const { RefCell::new(None) };
    }

    pub fn listen(project_id: &str, events: &[&'static str], on: impl Fn() + 'static) {
        let Some(source) = OPEN.with(|open| {
            let mut open = open.borrow_mut();
            match &*open {
                Some((p, s)) if p == project_id => Some(s.clone()),
                _ => {
                    let url = format!(
                        "/api/project_live?id={}",
                        crate::urlencode::query_value(project_id)
                    );
                    let s = EventSource::new(&url).ok()?;
                    *open = Some((project_id.to_owned(), s.clone()));
                    Some(s)
                }
            }
        }) else {
            return;
        };
        let on = Rc::new(on);
        for name in events {
            let on = on.clone();
            let heard = Closure::<dyn Fn(MessageEvent)>::new(move |_: MessageEvent| on());
            let _ = source.add_event_listener_with_callback(name, heard.as_ref().unchecked_ref());
            // Lives as long as the page, as the stream does.
            heard.forget();
        }
    }
}
