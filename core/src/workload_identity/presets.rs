//! The platforms a trust can name (the console's presets fill its form;
//! the trust is what is stored), and the issuers anyone can get tokens from.

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

impl Preset {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "github_actions" => Preset::GithubActions,
            "gitlab_ci" => Preset::GitlabCi,
            "kubernetes" => Preset::Kubernetes,
            "spiffe" => Preset::Spiffe,
            "custom" => Preset::Custom,
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
}

/// An issuer that gives tokens to anyone with an account on its platform.
pub(super) struct SharedIssuer {
    pub platform: &'static str,
    /// Claims naming an account or repository by id or exact name: pinned
    /// only when matched exactly.
    pub exact_claims: &'static [&'static str],
    /// Claims of the form `owner/…`: pinned when the text before any `*`
    /// holds the owner and its `/`.
    pub path_claims: &'static [&'static str],
    /// How its `sub` begins before an `owner/…` path (empty: no such sub).
    pub sub_prefix: &'static str,
}

pub(super) fn shared_issuer(issuer: &str) -> Option<SharedIssuer> {
    let issuer = issuer.trim_end_matches('/');
    let github = issuer == GITHUB_ISSUER || issuer.starts_with(&format!("{GITHUB_ISSUER}/"));
    Some(match issuer {
        _ if github => SharedIssuer {
            platform: "GitHub",
            exact_claims: &["repository_owner", "repository_owner_id", "repository_id"],
            path_claims: &["repository", "job_workflow_ref"],
            sub_prefix: "repo:",
        },
        GITLAB_ISSUER => SharedIssuer {
            platform: "GitLab.com",
            exact_claims: &["namespace_path", "namespace_id", "project_id"],
            path_claims: &["project_path"],
            sub_prefix: "project_path:",
        },
        "https://accounts.google.com" | "accounts.google.com" => SharedIssuer {
            platform: "Google",
            exact_claims: &["sub", "email"],
            path_claims: &[],
            sub_prefix: "",
        },
        "https://app.terraform.io" => SharedIssuer {
            platform: "HCP Terraform",
            exact_claims: &["terraform_organization_id", "terraform_organization_name"],
            path_claims: &[],
            sub_prefix: "",
        },
        "https://agent.buildkite.com" => SharedIssuer {
            platform: "Buildkite",
            exact_claims: &["organization_id", "organization_slug"],
            path_claims: &[],
            sub_prefix: "",
        },
        _ => return None,
    })
}
