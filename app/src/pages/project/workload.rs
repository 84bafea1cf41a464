//! The workload identity part of the console: the fields of a trust (with
//! presets for the platforms partners use) in the new-client form, and the
//! panel that changes a workload client's trust.

use leptos::prelude::*;

use super::clients::ClientList;
use crate::pages::form::{last_error, on_success, FormError};
use crate::projects::{SetClientWorkload, WorkloadFields};

/// A platform: its value, label, the issuer filled in (empty where it is
/// the partner's own), a hint, and the claims usually pinned with an
/// example value each.
type Preset = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const PRESETS: &[Preset] = &[
    (
        "github_actions",
        "GitHub Actions",
        "https://token.actions.githubusercontent.com",
        "GitHub's issuer; for GitHub Enterprise with a unique issuer, add /<enterprise>.",
        &[
            ("repository", "acme/payments-sync"),
            ("ref", "refs/heads/main"),
            ("environment", "production"),
            (
                "job_workflow_ref",
                "acme/payments-sync/.github/workflows/deploy.yml@refs/heads/main",
            ),
        ],
    ),
    (
        "gitlab_ci",
        "GitLab CI",
        "https://gitlab.com",
        "gitlab.com, or your GitLab's URL.",
        &[
            ("project_path", "acme/payments-sync"),
            ("ref", "main"),
            ("ref_type", "branch"),
            ("environment", "production"),
        ],
    ),
    (
        "kubernetes",
        "Kubernetes service account",
        "",
        "The cluster's service-account issuer (kubectl get --raw /.well-known/openid-configuration), or leave it and paste the cluster's JWK Set (kubectl get --raw /openid/v1/jwks).",
        &[("sub", "system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT")],
    ),
    (
        "spiffe",
        "SPIFFE JWT-SVID",
        "",
        "Your SPIRE OIDC discovery provider, or leave it and paste the trust bundle's JWK Set.",
        &[("sub", "spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT")],
    ),
    (
        "custom",
        "Another OpenID issuer",
        "",
        "An issuer with OpenID discovery, or paste its JWK Set.",
        &[("sub", "")],
    ),
];

const ROWS: usize = 4;

/// The fields of a trust being typed.
#[derive(Clone, Copy)]
pub(super) struct WorkloadForm {
    preset: RwSignal<&'static str>,
    issuer: RwSignal<String>,
    jwks: RwSignal<String>,
    audience: RwSignal<String>,
    claims: [RwSignal<String>; ROWS],
    values: [RwSignal<String>; ROWS],
    /// The example value of each row, as its placeholder.
    examples: [RwSignal<&'static str>; ROWS],
}

impl WorkloadForm {
    /// A form on the GitHub Actions preset, asking for `audience` (this
    /// server's issuer identifier, the usual choice).
    pub(super) fn new(audience: String) -> Self {
        let form = Self {
            preset: RwSignal::new(PRESETS[0].0),
            issuer: RwSignal::new(String::new()),
            jwks: RwSignal::new(String::new()),
            audience: RwSignal::new(audience),
            claims: std::array::from_fn(|_| RwSignal::new(String::new())),
            values: std::array::from_fn(|_| RwSignal::new(String::new())),
            examples: std::array::from_fn(|_| RwSignal::new("")),
        };
        form.apply(PRESETS[0].0);
        form
    }

    /// Fills in a preset's issuer and claim names; values are the
    /// partner's to type.
    fn apply(&self, preset: &str) {
        let Some(p) = PRESETS.iter().find(|p| p.0 == preset) else {
            return;
        };
        self.preset.set(p.0);
        self.issuer.set(p.2.to_owned());
        for i in 0..ROWS {
            let (claim, example) = p.4.get(i).copied().unwrap_or(("", ""));
            self.claims[i].set(claim.to_owned());
            self.values[i].set(String::new());
            self.examples[i].set(example);
        }
    }

    pub(super) fn fields(&self) -> WorkloadFields {
        WorkloadFields {
            preset: self.preset.get_untracked().to_owned(),
            issuer: self.issuer.get_untracked(),
            jwks: self.jwks.get_untracked(),
            audience: self.audience.get_untracked(),
            claims: self.claims.iter().map(|s| s.get_untracked()).collect(),
            values: self.values.iter().map(|s| s.get_untracked()).collect(),
        }
    }
}

#[component]
pub(super) fn WorkloadTrustFields(form: WorkloadForm, id_prefix: &'static str) -> impl IntoView {
    let id = move |name: &str| format!("{id_prefix}-{name}");
    let hint = move || {
        PRESETS
            .iter()
            .find(|p| p.0 == form.preset.get())
            .map_or("", |p| p.3)
    };
    view! {
        <p class="hint">"The workload signs in with the token its platform gives it: no secret and no key to leak. Portcullis checks the platform's signature, the issuer, the audience, the token's life and every condition below."</p>
        <div class="field">
            <label for=id("preset")>"Platform"</label>
            <select id=id("preset") prop:value=move || form.preset.get()
                on:change=move |ev| form.apply(&event_target_value(&ev)) data-test-id="workload-preset">
                {PRESETS.iter().map(|p| view! { <option value=p.0>{p.1}</option> }).collect_view()}
            </select>
        </div>
        <div class="field">
            <label for=id("issuer")>"Issuer"</label>
            <input id=id("issuer") type="url" prop:value=move || form.issuer.get()
                on:input=move |ev| form.issuer.set(event_target_value(&ev)) data-test-id="workload-issuer" />
            <p class="hint">{hint}</p>
        </div>
        <div class="field">
            <label for=id("jwks")>"Its JWK Set " <span class="muted">"(only without discovery)"</span></label>
            <textarea id=id("jwks") rows="3" prop:value=move || form.jwks.get()
                on:input=move |ev| form.jwks.set(event_target_value(&ev)) data-test-id="workload-jwks"></textarea>
        </div>
        <div class="field">
            <label for=id("audience")>"Audience the workload asks for"</label>
            <input id=id("audience") type="text" required prop:value=move || form.audience.get()
                on:input=move |ev| form.audience.set(event_target_value(&ev)) data-test-id="workload-audience" />
        </div>
        <fieldset class="field">
            <legend>"Conditions: every one must match (exact, or * for any run of characters)"</legend>
            {(0..ROWS).map(|i| view! {
                <div class="condition">
                    <input type="text" aria-label=format!("Claim {}", i + 1) placeholder="claim"
                        prop:value=move || form.claims[i].get()
                        on:input=move |ev| form.claims[i].set(event_target_value(&ev))
                        data-test-id=format!("workload-claim-{i}") />
                    " = "
                    <input type="text" aria-label=format!("Value {}", i + 1)
                        placeholder=move || form.examples[i].get()
                        prop:value=move || form.values[i].get()
                        on:input=move |ev| form.values[i].set(event_target_value(&ev))
                        data-test-id=format!("workload-value-{i}") />
                </div>
            }).collect_view()}
            <p class="hint">"Rows without a value are skipped. On GitHub or GitLab.com, name your repository or its owner: anyone can get a token from those issuers."</p>
        </fieldset>
    }
}

/// Changes a workload client's trust.
#[component]
pub(super) fn WorkloadPanel(client_id: String, audience: String) -> impl IntoView {
    let list = expect_context::<ClientList>();
    let action = ServerAction::<SetClientWorkload>::new();
    let error = last_error(action);
    let form = WorkloadForm::new(audience);
    on_success(action, move |_| list.refresh());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(SetClientWorkload {
            client_id: client_id.clone(),
            workload: form.fields(),
        });
    };
    view! {
        <form class="panel" on:submit=submit data-test-id="workload-form">
            <h4>"Change what this client trusts"</h4>
            <p class="hint">"The new trust replaces the old at once on every node; tokens already issued stay good until they expire."</p>
            <FormError error />
            <WorkloadTrustFields form id_prefix="change-workload" />
            <button type="submit" class="button" disabled=move || action.pending().get() data-test-id="save-workload">"Save trust"</button>
        </form>
    }
}
