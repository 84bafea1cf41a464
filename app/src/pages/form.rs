//! Form building blocks shared by every console form: a labelled input
//! with its hint and error state, and the alert for a failed submission.

use leptos::prelude::*;

use crate::error::ConsoleError;

/// The error of the last submission, as an alert screen readers announce.
#[component]
pub fn FormError(error: Signal<Option<ConsoleError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <div class="form-error" role="alert" data-test-id="form-error">
                    {e.to_string()}
                </div>
            }
        })
    }
}

/// A labelled input whose `name` is its `id`. It is marked invalid when the
/// last submission's error names this field.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] minlength: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] test_id: Option<&'static str>,
    #[prop(optional, into)] error: Option<Signal<Option<ConsoleError>>>,
) -> impl IntoView {
    let hint_id = hint.map(|_| format!("{id}-hint"));
    let invalid = move || {
        error
            .and_then(|e| e.get())
            .filter(|e| e.field() == Some(id))
            .map(|_| "true")
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                minlength=minlength
                maxlength=maxlength
                required
                aria-describedby=hint_id.clone()
                aria-invalid=invalid
                data-test-id=test_id.unwrap_or(id)
            />
            {hint.map(|h| view! { <p id=hint_id class="hint">{h}</p> })}
        </div>
    }
}

/// The submit handler of an island's form: reads the form's fields into the
/// server function's arguments and dispatches `action`. The form itself
/// keeps `action=S::url()` and `method="post"`, so it also works before (or
/// without) the bundle.
///
/// Used instead of Leptos' `ActionForm`, whose children are type-erased:
/// each erased view brings every rendering path into the browser bundle.
pub fn submit_to<S>(action: ServerAction<S>) -> impl Fn(leptos::ev::SubmitEvent) + 'static
where
    S: server_fn::ServerFn<Error = ConsoleError>
        + serde::de::DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
    S::Output: Send + Sync + 'static,
{
    use leptos::form::FromFormData;
    move |ev| {
        ev.prevent_default();
        match S::from_event(&ev) {
            Ok(input) => {
                action.dispatch(input);
            }
            Err(e) => action.value().set(Some(Err(ConsoleError::Transport {
                message: format!("The form could not be read: {e}"),
            }))),
        }
    }
}

/// Runs `then` with the answer each time `action` succeeds: refresh a list,
/// show a secret, reload the page.
pub fn on_success<S>(action: ServerAction<S>, then: impl Fn(S::Output) + 'static)
where
    S: server_fn::ServerFn<Error = ConsoleError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(answer)) = action.value().get() {
            then(answer);
        }
    });
}

/// The error of `action`'s last submission, for `FormError`.
pub fn last_error<S>(action: ServerAction<S>) -> Signal<Option<ConsoleError>>
where
    S: server_fn::ServerFn<Error = ConsoleError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}
