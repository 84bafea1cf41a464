//! The project's rule for unused clients: a plain form (the server
//! answers with a redirect back here), shown to those who may change it;
//! others read the rule.

use leptos::prelude::*;
use server_fn::ServerFn;

use crate::pages::projects_list::DormancySelect;
use crate::projects::SetProjectDormancy;

#[component]
pub(super) fn DormancyCard(
    id: String,
    days: Option<i64>,
    account: Option<i64>,
    editable: bool,
) -> impl IntoView {
    let rule = match days.or(account) {
        None | Some(0) => "Unused clients are never retired.".to_owned(),
        Some(d) => format!(
            "Clients unused for {d} days are retired{}; a client.dormant webhook and a notice on the client come seven days before, and a use cancels it.",
            if days.is_none() { " (the account's rule)" } else { "" }
        ),
    };
    view! {
        <section class="card" data-test-id="project-dormancy">
            <h2>"Unused clients"</h2>
            <p data-test-id="dormancy-rule">{rule}</p>
            {editable.then(|| view! {
                <form method="post" action=SetProjectDormancy::url()>
                    <input type="hidden" name="id" value=id />
                    <label for="project-dormancy">"Retire clients unused for"</label>
                    <DormancySelect id="project-dormancy" days follows=Some(account) />
                    <button type="submit" class="button small" data-test-id="project-dormancy-save">"Save"</button>
                </form>
            })}
        </section>
    }
}
