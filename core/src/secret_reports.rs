//! Reports of leaked client secrets, in the format of GitHub's secret
//! scanning partner programme: a JSON array of `{token, type, url, source}`
//! signed with ECDSA P-256 / SHA-256 by a key the operator configures (the
//! JSON document GitHub publishes its keys in, saved to a file). A report
//! of a real secret retires its client at once, with where it was found as
//! the reason its owners see; the answer labels each report true or false
//! positive, as the programme's feedback format asks.

use std::collections::HashMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::clients::Clients;
use crate::error::{Error, Result};
use crate::store;

/// The `type` our client secrets are registered under.
pub const SECRET_TYPE: &str = "portcullis_client_secret";
/// Reports per request, at most.
pub const REPORTS_MAX: usize = 100;
/// How much of the reported location the reason keeps.
const WHERE_MAX: usize = 200;

/// DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey,
/// prime256v1, then the 66-byte BIT STRING of an uncompressed point).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The keys reports may be signed with, by key identifier.
#[derive(Clone)]
pub struct ReportKeys {
    /// Uncompressed P-256 points, as ring takes them.
    keys: HashMap<String, Vec<u8>>,
}

impl std::fmt::Debug for ReportKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportKeys")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
struct KeysDocument {
    public_keys: Vec<PublishedKey>,
}

#[derive(Deserialize)]
struct PublishedKey {
    key_identifier: String,
    key: String,
}

/// The point of a PEM P-256 public key.
fn p256_point(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    let der = B64.decode(body).ok()?;
    let point = der.strip_prefix(&P256_SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 0x04).then(|| point.to_vec())
}

impl ReportKeys {
    /// From the document at `https://api.github.com/meta/public_keys/secret_scanning`.
    pub fn from_json(text: &str) -> Result<Self> {
        let doc: KeysDocument = serde_json::from_str(text).map_err(|e| {
            Error::Setup(format!(
                "the secret-report keys are not the JSON document GitHub publishes ({e})"
            ))
        })?;
        let mut keys = HashMap::new();
        for k in doc.public_keys {
            let point = p256_point(&k.key).ok_or_else(|| {
                Error::Setup(format!(
                    "secret-report key {} is not a PEM P-256 public key",
                    k.key_identifier
                ))
            })?;
            keys.insert(k.key_identifier, point);
        }
        if keys.is_empty() {
            return Err(Error::Setup(
                "the secret-report key file holds no keys".into(),
            ));
        }
        Ok(Self { keys })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Setup(format!("{}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| Error::Setup(format!("{}: {e}", path.display())))
    }

    /// Whether `body` was signed by the key `key_id` names.
    pub fn verify(&self, key_id: &str, signature_b64: &str, body: &[u8]) -> bool {
        let (Some(point), Ok(signature)) =
            (self.keys.get(key_id), B64.decode(signature_b64.trim()))
        else {
            return false;
        };
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
            .verify(body, &signature)
            .is_ok()
    }
}

/// One reported match.
#[derive(Clone, Deserialize)]
pub struct Reported {
    pub token: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

impl std::fmt::Debug for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reported")
            .field("token", &"..")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .finish()
    }
}

/// The programme's feedback for one report.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    pub token_raw: String,
    pub token_type: String,
    pub label: &'static str,
}

impl std::fmt::Debug for Feedback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feedback")
            .field("label", &self.label)
            .finish()
    }
}

impl Clients {
    /// Acts on one reported secret: a secret of a client retires that
    /// client at once (if it still works) and is a true positive; anything
    /// else is a false positive. Never logs the secret.
    pub async fn secret_reported(&self, report: &Reported) -> Result<Feedback> {
        let feedback = |label| Feedback {
            token_raw: report.token.clone(),
            token_type: report.kind.clone(),
            label,
        };
        if report.kind != SECRET_TYPE {
            return Ok(feedback("false_positive"));
        }
        let hash = hex::encode(self.master.secret_hash(&report.token));
        let Some(row) = store::clients::by_secret_hash(&self.db, &hash).await? else {
            return Ok(feedback("false_positive"));
        };
        if row.disabled_at.is_some() {
            tracing::info!(client_id = %row.id, "a leaked secret of a client already off was reported");
            return Ok(feedback("true_positive"));
        }
        let found_at: String = report
            .url
            .as_deref()
            .unwrap_or("an unnamed place")
            .chars()
            .filter(|c| !c.is_control())
            .take(WHERE_MAX)
            .collect();
        let shown = format!("Secret reported leaked by secret scanning, found at {found_at}");
        let now = self.clock.now();
        let event = audit::Event {
            account_id: &row.account_id,
            actor: audit::Actor::System,
            action: "client.secret_reported",
            target_kind: "client",
            target_id: &row.id,
            project_id: Some(&row.project_id),
            client_ip: None,
            detail: shown.clone(),
        };
        if self.disable_client_row(&row, now, &shown, event).await? {
            tracing::warn!(client_id = %row.id, "client retired: its secret was reported leaked");
        }
        Ok(feedback("true_positive"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's own published example: its key, payload and signature.
    const GITHUB_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq\nkCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==\n-----END PUBLIC KEY-----";
    const GITHUB_KEY_ID: &str = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a";
    const PAYLOAD: &[u8] = br#"[{"token":"some_token","type":"some_type","url":"some_url"}]"#;
    const SIGNATURE: &str = "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=";

    fn keys() -> ReportKeys {
        let doc = serde_json::json!({ "public_keys": [
            { "key_identifier": GITHUB_KEY_ID, "key": GITHUB_KEY, "is_current": true }
        ] });
        ReportKeys::from_json(&doc.to_string()).unwrap()
    }

    #[test]
    fn githubs_published_example_verifies() {
        assert!(keys().verify(GITHUB_KEY_ID, SIGNATURE, PAYLOAD));
    }

    #[test]
    fn anything_changed_does_not() {
        let k = keys();
        let mut body = PAYLOAD.to_vec();
        body[10] ^= 1;
        assert!(!k.verify(GITHUB_KEY_ID, SIGNATURE, &body));
        assert!(!k.verify("another-key", SIGNATURE, PAYLOAD));
        assert!(!k.verify(GITHUB_KEY_ID, "not base64!", PAYLOAD));
        assert!(!k.verify(GITHUB_KEY_ID, "", PAYLOAD));
    }

    #[test]
    fn a_key_file_that_is_not_githubs_document_is_refused() {
        assert!(ReportKeys::from_json("{}").is_err());
        assert!(ReportKeys::from_json(r#"{"public_keys": []}"#).is_err());
        let rsa_ish = serde_json::json!({ "public_keys": [{ "key_identifier": "x", "key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }] });
        assert!(ReportKeys::from_json(&rsa_ish.to_string()).is_err());
    }

    #[test]
    fn debug_never_shows_a_reported_secret() {
        let r = Reported {
            token: "pcs_secret".into(),
            kind: SECRET_TYPE.into(),
            url: None,
            source: None,
        };
        assert!(!format!("{r:?}").contains("pcs_secret"));
    }
}
