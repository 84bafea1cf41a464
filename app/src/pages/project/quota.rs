//! The project's daily token quota and today's use (every node's), with a
//! plain form for those who may change it.

use leptos::prelude::*;
use server_fn::ServerFn;

use crate::projects::SetProjectQuota;

#[component]
pub(super) fn QuotaCard(
    id: String,
    quota: Option<i64>,
    tokens_today: u64,
    editable: bool,
) -> impl IntoView {
    let used = match quota {
        Some(q) => format!("{tokens_today} of {q} tokens minted today (UTC)."),
        None => format!("No daily quota. {tokens_today} tokens minted today (UTC)."),
    };
    view! {
        <section class="card" data-test-id="project-quota">
            <h2>"Daily token quota"</h2>
            <p data-test-id="quota-used">{used}</p>
            <p class="hint">
                "Past the quota the token endpoint answers 429 until 00:00 UTC; owners get project.quota_warning at 80 % and project.quota_exhausted when a token is refused."
            </p>
            {editable.then(|| view! {
                <form method="post" action=SetProjectQuota::url()>
                    <input type="hidden" name="id" value=id />
                    <label for="daily-token-quota">"Tokens a day (empty: no quota)"</label>
                    <input id="daily-token-quota" name="daily_token_quota" type="number" min="1"
                        max="100000000" value=quota.map(|q| q.to_string()).unwrap_or_default()
                        data-test-id="daily-token-quota" />
                    <button type="submit" class="button small" data-test-id="quota-save">"Save"</button>
                </form>
            })}
        </section>
    }
}
