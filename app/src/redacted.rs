//! A form value that must never reach a log line or a `Debug` print: a
//! password or a one-time invitation token. Server functions derive
//! `Debug` for their arguments, so those arguments use this type.

use serde::{Deserialize, Serialize};

/// On the wire, the plain string it holds; in `Debug`, only its type.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(pub String);

impl Redacted {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<String> for Redacted {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redacted(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{LogIn, SignUp};
    use crate::gate_credentials::NewGateCredential;
    use crate::projects::{NewClient, TestToken};
    use crate::team::Join;

    #[test]
    fn nothing_secret_reaches_debug() {
        let secret = "correct horse battery staple";
        let printed = [
            format!(
                "{:?}",
                LogIn {
                    email: "a@b.c".into(),
                    password: Redacted(secret.into()),
                    next: String::new()
                }
            ),
            format!(
                "{:?}",
                SignUp {
                    account_name: "A".into(),
                    email: "a@b.c".into(),
                    password: Redacted(secret.into())
                }
            ),
            format!(
                "{:?}",
                Join {
                    token: Redacted(secret.into()),
                    email: "a@b.c".into(),
                    password: Redacted(secret.into())
                }
            ),
            format!(
                "{:?}",
                NewGateCredential {
                    id: "gate_1".into(),
                    api_id: "partner".into(),
                    secret: secret.into()
                }
            ),
            format!(
                "{:?}",
                NewClient {
                    client: crate::projects::ClientInfo {
                        id: "pcl_1".into(),
                        name: "C".into(),
                        scopes: vec![],
                        created_at: 0,
                        last_used_at: None,
                        status: crate::projects::ClientStatus::Active,
                        disabled_reason: None,
                        expires_at: None,
                        retire_at: None,
                        minted_last_5m: 0,
                        minted_last_hour: 0,
                        reuse_warning: None,
                        ends_soon: None,
                        dormant_notice: None,
                        keys: None,
                        jwks_uri: None,
                        workload: None,
                        last_workload: None,
                        cut_off: None,
                    },
                    client_secret: Some(secret.into())
                }
            ),
            format!(
                "{:?}",
                TestToken {
                    access_token: secret.into(),
                    expires_in: 60,
                    scope: "a".into(),
                    header_json: String::new(),
                    claims_json: String::new()
                }
            ),
        ];
        for p in &printed {
            assert!(!p.contains(secret), "{p}");
        }
        let form: LogIn =
            serde_json::from_str(r#"{"email":"a@b.c","password":"pw","next":""}"#).unwrap();
        assert_eq!(
            form.password.expose(),
            "pw",
            "the wire form is a plain string"
        );
    }
}
