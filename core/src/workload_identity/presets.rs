//! The platforms the console knows: their issuer, and the claims a partner
//! usually pins. A preset only fills the form; the trust is what is stored.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    GithubActions,
    GitlabCi,
    Kubernetes,
    Spiffe,
    Custom,
}

/// A preset as the console offers it.
pub struct PresetForm {
    pub preset: Preset,
    /// Filled in for the partner; empty where it is their own.
    pub issuer: &'static str,
    pub issuer_hint: &'static str,
    /// Claim name and an example value, one condition row each.
    pub conditions: &'static [(&'static str, &'static str)],
}

pub const FORMS: &[PresetForm] = &[
    PresetForm {
        preset: Preset::GithubActions,
        issuer: GITHUB_ISSUER,
        issuer_hint: "GitHub's issuer (GitHub Enterprise: add /<enterprise>)",
        conditions: &[
            ("repository", "acme/payments-sync"),
            ("ref", "refs/heads/main"),
            ("environment", "production"),
            (
                "job_workflow_ref",
                "acme/payments-sync/.github/workflows/deploy.yml@refs/heads/main",
            ),
        ],
    },
    PresetForm {
        preset: Preset::GitlabCi,
        issuer: GITLAB_ISSUER,
        issuer_hint: "gitlab.com, or your GitLab's URL",
        conditions: &[
            ("project_path", "acme/payments-sync"),
            ("ref", "main"),
            ("ref_type", "branch"),
            ("environment", "production"),
        ],
    },
    PresetForm {
        preset: Preset::Kubernetes,
        issuer: "",
        issuer_hint: "the cluster's service-account issuer (kubectl get --raw /.well-known/openid-configuration), or paste its JWK Set (kubectl get --raw /openid/v1/jwks)",
        conditions: &[("sub", "system:serviceaccount:payments:sync")],
    },
    PresetForm {
        preset: Preset::Spiffe,
        issuer: "",
        issuer_hint: "your SPIRE OIDC discovery provider, or paste the trust bundle's JWK Set",
        conditions: &[("sub", "spiffe://acme.example/ns/payments/sa/sync")],
    },
    PresetForm {
        preset: Preset::Custom,
        issuer: "",
        issuer_hint: "an OpenID issuer URL, or paste a JWK Set",
        conditions: &[("sub", "")],
    },
];

impl Preset {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.trim() {
            "github_actions" => Preset::GithubActions,
            "gitlab_ci" => Preset::GitlabCi,
            "kubernetes" => Preset::Kubernetes,
            "spiffe" => Preset::Spiffe,
            "custom" | "" => Preset::Custom,
            _ => {
                return Err(Error::invalid(
                    "workload_preset",
                    "Choose github_actions, gitlab_ci, kubernetes, spiffe or custom.",
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::GithubActions => "github_actions",
            Preset::GitlabCi => "gitlab_ci",
            Preset::Kubernetes => "kubernetes",
            Preset::Spiffe => "spiffe",
            Preset::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::GithubActions => "GitHub Actions",
            Preset::GitlabCi => "GitLab CI",
            Preset::Kubernetes => "Kubernetes service account",
            Preset::Spiffe => "SPIFFE JWT-SVID",
            Preset::Custom => "Workload",
        }
    }

    pub fn form(self) -> &'static PresetForm {
        FORMS
            .iter()
            .find(|f| f.preset == self)
            .unwrap_or(&FORMS[FORMS.len() - 1])
    }
}

/// An issuer that gives tokens to anyone with an account on its platform.
pub(super) struct SharedIssuer {
    pub platform: &'static str,
    /// Claims that name a repository or its owner there.
    pub claims: &'static [&'static str],
    /// How its `sub` begins before the repository's owner.
    pub sub_prefix: &'static str,
}

pub(super) fn shared_issuer(issuer: &str) -> Option<SharedIssuer> {
    let issuer = issuer.trim_end_matches('/');
    if issuer == GITHUB_ISSUER || issuer.starts_with(&format!("{GITHUB_ISSUER}/")) {
        Some(SharedIssuer {
            platform: "GitHub",
            claims: &[
                "repository",
                "repository_owner",
                "repository_id",
                "repository_owner_id",
            ],
            sub_prefix: "repo:",
        })
    } else if issuer == GITLAB_ISSUER {
        Some(SharedIssuer {
            platform: "GitLab.com",
            claims: &[
                "project_path",
                "namespace_path",
                "project_id",
                "namespace_id",
            ],
            sub_prefix: "project_path:",
        })
    } else {
        None
    }
}
