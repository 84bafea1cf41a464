//! A client's newest cut-off as staff see it: one sentence, and one line
//! per gate (rendered on the server only; the account's client card shows
//! the sentence alone).

use leptos::prelude::*;

use super::widgets::When;
use crate::reach::CutOffInfo;

#[component]
pub fn CutOffReach(c: CutOffInfo) -> impl IntoView {
    let what = match c.action.as_str() {
        "client.narrow" => "Narrowed",
        "client.retire" => "Retired",
        "client.secret_reported" => "Cut off after a leak report",
        _ => "Revoked",
    };
    let summary = c.summary();
    view! {
        <div class="panel reach" data-test-id="cut-off-reach">
            <p><strong>{what}</strong>" "<When at=Some(c.at) />": "<span data-test-id="cut-off-summary">{summary}</span></p>
            {(!c.gates.is_empty()).then(|| view! {
                <ul>
                    {c.gates.into_iter().map(|g| view! {
                        <li data-test-id="cut-off-gate">{g.label}": "{g.state.describe()}</li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}
