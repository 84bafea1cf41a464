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
