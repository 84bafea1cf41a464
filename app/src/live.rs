//! An open project page follows changes made anywhere (`/api/project_live`,
//! server-sent events through the change feed): one `EventSource` per
//! page, shared by every island that listens.
//!
//! The server ends each stream every few minutes and the browser opens it
//! again by itself; each time a stream opens (the first time too: the page
//! was drawn a moment before) counts as `project`, since changes may have
//! passed meanwhile. A stream the server refused (too many tabs, a restart, a
//! proxy's 502) is not opened again by the browser: this module tries again
//! with a growing wait, after a quiet fetch shows the session still holds
//! (signed out, it stops).

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
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::set_timeout;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{Event, EventSource};

    use crate::error::ConsoleError;

    type Listeners = Rc<RefCell<Vec<(&'static str, Rc<dyn Fn()>)>>>;

    /// The page's stream and who listens to it.
    #[derive(Clone)]
    struct Page {
        project_id: Rc<str>,
        listeners: Listeners,
        /// The wait before trying a refused stream again.
        wait: Rc<Cell<Duration>>,
        /// The stream has opened (and told its listeners so) at least once.
        opened: Rc<Cell<bool>>,
    }

    const FIRST_WAIT: Duration = Duration::from_secs(5);
    const LONGEST_WAIT: Duration = Duration::from_secs(60);

    thread_local! {
        static PAGE: RefCell<Option<Page>> = const { RefCell::new(None) };
    }

    pub fn listen(project_id: &str, events: &[&'static str], on: impl Fn() + 'static) {
        let page = PAGE.with(|page| {
            let mut page = page.borrow_mut();
            match &*page {
                Some(p) if &*p.project_id == project_id => p.clone(),
                _ => {
                    let p = Page {
                        project_id: project_id.into(),
                        listeners: Listeners::default(),
                        wait: Rc::new(Cell::new(FIRST_WAIT)),
                        opened: Rc::default(),
                    };
                    *page = Some(p.clone());
                    open(p.clone());
                    p
                }
            }
        });
        let on: Rc<dyn Fn()> = Rc::new(on);
        page.listeners
            .borrow_mut()
            .extend(events.iter().map(|e| (*e, on.clone())));
        // An island that hydrates after the stream opened missed that
        // `project`: it fetches now.
        if page.opened.get() && events.contains(&"project") {
            on();
        }
    }

    fn tell(page: &Page, event: &str) {
        // Copied out first: a listener may itself listen.
        let heard: Vec<Rc<dyn Fn()>> = page
            .listeners
            .borrow()
            .iter()
            .filter(|(e, _)| *e == event)
            .map(|(_, on)| on.clone())
            .collect();
        for on in heard {
            on();
        }
    }

    fn open(page: Page) {
        let url = format!(
            "/api/project_live?id={}",
            crate::urlencode::query_value(&page.project_id)
        );
        let Ok(source) = EventSource::new(&url) else {
            return;
        };
        for name in ["clients", "usage", "project"] {
            let page = page.clone();
            on(&source, name, move || tell(&page, name));
        }
        // The browser's own `open`, at each (re)connection: what changed
        // since the page was drawn, or while the stream was away, was not
        // heard, so the page fetches once.
        {
            let page = page.clone();
            on(&source, "open", move || {
                page.wait.set(FIRST_WAIT);
                page.opened.set(true);
                tell(&page, "project");
            });
        }
        let closed = source.clone();
        on(&source, "error", move || {
            // Still connecting: the browser tries again by itself.
            if closed.ready_state() == EventSource::CLOSED {
                retry_later(page.clone());
            }
        });
    }

    fn retry_later(page: Page) {
        let wait = page.wait.get();
        page.wait.set((wait * 2).min(LONGEST_WAIT));
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    let id = page.project_id.to_string();
                    match crate::projects::project_refresh(id).await {
                        // Signed out, the project gone, or no longer
                        // allowed to see it: stop.
                        Err(
                            ConsoleError::Unauthenticated
                            | ConsoleError::NotFound
                            | ConsoleError::Forbidden
                            | ConsoleError::SecondFactorRequired,
                        ) => {}
                        _ => open(page),
                    }
                });
            },
            wait,
        );
    }

    fn on(source: &EventSource, name: &str, f: impl Fn() + 'static) {
        let heard = Closure::<dyn Fn(Event)>::new(move |_: Event| f());
        let _ = source.add_event_listener_with_callback(name, heard.as_ref().unchecked_ref());
        // Lives as long as the page, as the stream does.
        heard.forget();
    }
}
