//! Small pieces the project pages share: a copy button, a timestamp, a
//! status badge and the scope checklist.

use leptos::either::Either;
use leptos::prelude::*;

use crate::projects::ScopeGroup;

/// Copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(default = "Copy")] label: &'static str,
    #[prop(optional)] test_id: Option<&'static str>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let value = text.get_untracked();
        let clipboard = window().navigator().clipboard();
        // The promise settles on its own; a refusal leaves the text selectable.
        let _ = clipboard.write_text(&value);
        copied.set(true);
    };
    view! {
        <button type="button" class="button small" on:click=copy data-test-id=test_id>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}

/// A UTC time, or a word when there is none.
#[component]
pub fn When(at: Option<i64>, #[prop(default = "Never")] none: &'static str) -> impl IntoView {
    match at {
        Some(t) => Either::Left(
            view! { <time datetime=portcullis_calendar::rfc3339(t)>{portcullis_calendar::date_time(t)}</time> },
        ),
        None => Either::Right(view! { <span class="muted">{none}</span> }),
    }
}

#[component]
pub fn StatusBadge(status: crate::projects::ClientStatus) -> impl IntoView {
    use crate::projects::ClientStatus;
    let (class, text) = match status {
        ClientStatus::Active => ("badge ok", "Active"),
        ClientStatus::Disabled => ("badge bad", "Disabled"),
        ClientStatus::Expired => ("badge muted", "Expired"),
        ClientStatus::ProjectArchived => ("badge muted", "Project archived"),
    };
    view! { <span class=class data-test-id="client-status">{text}</span> }
}

/// The scope checklist: grouped by resource, each scope with its meaning,
/// destructive ones marked. Only scopes in `offer` are shown (all when
/// `None`); `selected` holds what is ticked.
#[component]
pub fn ScopeChecklist(
    groups: Vec<ScopeGroup>,
    selected: RwSignal<Vec<String>>,
    /// Prefix for element ids, unique per checklist on the page.
    id_prefix: String,
    #[prop(optional)] offer: Option<Vec<String>>,
) -> impl IntoView {
    let groups: Vec<ScopeGroup> = groups
        .into_iter()
        .map(|mut g| {
            if let Some(offer) = &offer {
                g.scopes.retain(|s| offer.contains(&s.name));
            }
            g
        })
        .filter(|g| !g.scopes.is_empty())
        .collect();
    view! {
        <div class="checklist" data-test-id="scope-checklist">
            {groups
                .into_iter()
                .map(|group| {
                    view! {
                        <fieldset class="scope-group">
                            <legend>{group.name.clone()}</legend>
                            {group
                                .scopes
                                .into_iter()
                                .map(|scope| {
                                    let id = format!("{id_prefix}-{}", scope.name.replace(':', "-"));
                                    let name = scope.name.clone();
                                    let checked = {
                                        let name = name.clone();
                                        move || selected.with(|s| s.contains(&name))
                                    };
                                    let toggle = {
                                        let name = name.clone();
                                        move |ev: leptos::ev::Event| {
                                            let on = event_target_checked(&ev);
                                            selected.update(|s| {
                                                s.retain(|x| *x != name);
                                                if on {
                                                    s.push(name.clone());
                                                }
                                            });
                                        }
                                    };
                                    view! {
                                        <div class="scope" class:destructive=scope.destructive>
                                            <input
                                                type="checkbox"
                                                id=id.clone()
                                                value=name.clone()
                                                prop:checked=checked
                                                on:change=toggle
                                                data-test-id=format!("scope-{name}")
                                            />
                                            <label for=id>
                                                <code>{name.clone()}</code>
                                                {scope
                                                    .destructive
                                                    .then(|| {
                                                        view! {
                                                            <span class="badge bad">"Destructive"</span>
                                                        }
                                                    })}
                                                <span class="scope-description">
                                                    {scope.description.clone()}
                                                </span>
                                            </label>
                                        </div>
                                    }
                                })
                                .collect_view()}
                        </fieldset>
                    }
                })
                .collect_view()}
        </div>
    }
}
