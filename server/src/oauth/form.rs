//! The form-encoded body of an OAuth request, and the client's credentials
//! from it or from HTTP Basic (RFC 6749 §2.3.1).

use std::borrow::Cow;
use std::collections::HashMap;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::error::OAuthError;

/// Parameters, each at most once (RFC 6749 §3.2). `Debug` shows their
/// names only: values include secrets and tokens.
#[derive(Default)]
pub struct Params(HashMap<String, String>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_tuple("Params").field(&names).finish()
    }
}

impl Params {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::InvalidRequest(
                "send the parameters as application/x-www-form-urlencoded".into(),
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            // An empty value counts as absent (RFC 6749 §3.1).
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::InvalidRequest(format!(
                    "the {name} parameter is repeated"
                )));
            }
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("the {name} parameter is missing")))
    }
}

/// A client's claimed identity, not yet checked.
pub enum Credentials {
    /// `client_secret_basic` or `client_secret_post` (RFC 6749 §2.3.1).
    Secret {
        client_id: String,
        secret: String,
        /// The client used HTTP Basic: failures are answered with a challenge.
        via_header: bool,
    },
    /// `private_key_jwt` (RFC 7523 §2.2): `client_id` is optional, the
    /// assertion's `sub` names the client. A workload identity client
    /// sends its platform's token and names itself in `client_id`.
    Assertion {
        client_id: Option<String>,
        kind: portcullis_core::client_assertion::AssertionKind,
        assertion: String,
    },
}

impl Credentials {
    pub fn via_header(&self) -> bool {
        matches!(
            self,
            Credentials::Secret {
                via_header: true,
                ..
            }
        )
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Secret {
                client_id,
                via_header,
                ..
            } => f
                .debug_struct("Secret")
                .field("client_id", client_id)
                .field("via_header", via_header)
                .finish_non_exhaustive(),
            Credentials::Assertion { client_id, .. } => f
                .debug_struct("Assertion")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// Exactly one method (RFC 6749 §2.3): `client_secret_basic`,
/// `client_secret_post` or `private_key_jwt`.
pub fn credentials(headers: &HeaderMap, params: &Params) -> Result<Credentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(parse_basic(value.as_bytes())?),
        None => None,
    };
    let one_method = || {
        OAuthError::InvalidRequest(
            "use one client authentication method: HTTP Basic, client_secret in the body, or a client_assertion"
                .into(),
        )
    };
    if let Some(kind) = params.get("client_assertion_type") {
        use portcullis_core::client_assertion::{AssertionKind, JWT_BEARER, JWT_SPIFFE};
        // RFC 7521 §4.2: the type names the assertion format.
        let Some(kind) = AssertionKind::parse(kind) else {
            return Err(OAuthError::InvalidRequest(format!(
                "client_assertion_type must be {JWT_BEARER} (or {JWT_SPIFFE} for a SPIFFE workload)"
            )));
        };
        if basic.is_some() || params.get("client_secret").is_some() {
            return Err(one_method());
        }
        let assertion = params.require("client_assertion")?;
        return Ok(Credentials::Assertion {
            client_id: params.get("client_id").map(str::to_owned),
            kind,
            assertion: assertion.to_owned(),
        });
    }
    if params.get("client_assertion").is_some() {
        return Err(OAuthError::InvalidRequest(
            "the client_assertion_type parameter is missing".into(),
        ));
    }
    match basic {
        Some((client_id, secret)) => {
            if params.get("client_secret").is_some() {
                return Err(one_method());
            }
            if params.get("client_id").is_some_and(|id| id != client_id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id in the body differs from the one in the Authorization header".into(),
                ));
            }
            Ok(Credentials::Secret {
                client_id,
                secret,
                via_header: true,
            })
        }
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => Ok(Credentials::Secret {
                client_id: id.to_owned(),
                secret: secret.to_owned(),
                via_header: false,
            }),
            // No credentials at all: challenge for Basic, the method we prefer.
            _ => Err(OAuthError::InvalidClient { via_header: true }),
        },
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`. The id and secret
/// are form-urlencoded before base64 (RFC 6749 §2.3.1), so the split is at
/// the first raw ':' and each half is then decoded (`+` is a space).
pub fn parse_basic(value: &[u8]) -> Result<(String, String), OAuthError> {
    let malformed = || {
        OAuthError::InvalidRequest(
            "the Authorization header must be Basic base64(client_id:client_secret)".into(),
        )
    };
    let value = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, rest) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidRequest(
            "only HTTP Basic client authentication is accepted in the Authorization header".into(),
        ));
    }
    let decoded = B64.decode(rest.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((
        form_decode(id).ok_or_else(malformed)?,
        form_decode(secret).ok_or_else(malformed)?,
    ))
}

/// application/x-www-form-urlencoded decoding of one value; `None` when the
/// result is not UTF-8.
fn form_decode(s: &str) -> Option<String> {
    let plus_as_space: Cow<str> = if s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    };
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", B64.encode(raw))
    }

    #[test]
    fn debug_shows_parameter_names_not_values() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let p = Params::parse(&headers, b"client_id=pcl_1&client_secret=pcs_topsecret").unwrap();
        let printed = format!("{p:?}");
        assert_eq!(printed, r#"Params(["client_id", "client_secret"])"#);
    }

    #[test]
    fn basic_credentials_are_split_then_form_decoded() {
        // A secret that contains + % : = must be sent encoded.
        let (id, secret) = parse_basic(basic("pcl_1:a%2Bb%25c%3Ad%3De").as_bytes()).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("pcl_1", "a+b%c:d=e"));
        // A raw '+' means a space; a raw ':' after the first belongs to the secret.
        let (_, secret) = parse_basic(basic("pcl_1:a+b:c").as_bytes()).unwrap();
        assert_eq!(secret, "a b:c");
        // An id containing an encoded ':' is split correctly.
        let (id, _) = parse_basic(basic("a%3Ab:s").as_bytes()).unwrap();
        assert_eq!(id, "a:b");
        assert!(
            parse_basic(b"basic   cGNsOnM=").is_ok(),
            "scheme is case-insensitive"
        );
        for bad in [
            "Bearer x".to_owned(),
            "Basic".to_owned(),
            "Basic !!!".to_owned(),
            basic("no-colon"),
            basic("a:%ff"),
        ] {
            assert!(parse_basic(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
