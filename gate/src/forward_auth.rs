//! The gate as a forward-auth service for a reverse proxy: nginx
//! `auth_request`, Traefik ForwardAuth, Envoy's HTTP `ext_authz`. The proxy
//! asks about each request; a routes file says which scope each method and
//! path pattern needs. The answer is 200 with who is calling in response
//! headers the proxy can pass on, or the gate's 401 / 403 / 429 / 503.
//!
//! The original request is read from `X-Original-Method` / `X-Original-URI`
//! (nginx, as configured in the README), `X-Forwarded-Method` /
//! `X-Forwarded-Uri` (Traefik), or else the request itself (Envoy).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;

use crate::errors::Refusal;
use crate::metrics::Outcome;
use crate::{ratelimit_headers, Gate};

pub const CLIENT_ID_HEADER: &str = "x-portcullis-client-id";
pub const PROJECT_ID_HEADER: &str = "x-portcullis-project-id";
pub const ACCOUNT_ID_HEADER: &str = "x-portcullis-account-id";
pub const SCOPE_HEADER: &str = "x-portcullis-scope";

/// Which scope each route needs.
pub struct Routes {
    /// Per method ("*" for any), a path router whose value is the scope.
    by_method: HashMap<String, matchit::Router<Arc<str>>>,
    count: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    #[error("cannot read the routes file {path}: {error}")]
    Read { path: String, error: String },
    #[error("the routes file {path} is not valid: {error}")]
    Parse { path: String, error: String },
    #[error("route {index} ({method} {pattern}): {error}")]
    Route {
        index: usize,
        method: String,
        pattern: String,
        error: String,
    },
    #[error("the routes file lists no route: every call would be refused")]
    Empty,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "route", default)]
    routes: Vec<RouteLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteLine {
    /// An HTTP method, or "*" for any.
    method: String,
    /// A path pattern: `/applications/{id}`, `/files/{*rest}`.
    path: String,
    scope: String,
}

impl Routes {
    pub fn load(path: &Path) -> Result<Self, RoutesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RoutesError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Self::parse(&text).map_err(|e| match e {
            RoutesError::Parse { error, .. } => RoutesError::Parse {
                path: path.display().to_string(),
                error,
            },
            other => other,
        })
    }

    /// Routes from the text of a routes file (TOML, `[[route]]` tables with
    /// `method`, `path` and `scope`).
    pub fn parse(text: &str) -> Result<Self, RoutesError> {
        let file: File = toml::from_str(text).map_err(|e| RoutesError::Parse {
            path: String::new(),
            error: e.to_string(),
        })?;
        let mut by_method: HashMap<String, matchit::Router<Arc<str>>> = HashMap::new();
        for (i, r) in file.routes.iter().enumerate() {
            let bad = |error: String| RoutesError::Route {
                index: i + 1,
                method: r.method.clone(),
                pattern: r.path.clone(),
                error,
            };
            let method = r.method.trim().to_ascii_uppercase();
            if method != "*" && Method::from_bytes(method.as_bytes()).is_err() {
                return Err(bad("not an HTTP method".into()));
            }
            if !r.path.starts_with('/') {
                return Err(bad("the path must start with /".into()));
            }
            if r.scope.is_empty() || r.scope.contains(' ') {
                return Err(bad("name exactly one scope".into()));
            }
            by_method
                .entry(method)
                .or_default()
                .insert(r.path.clone(), Arc::from(r.scope.as_str()))
                .map_err(|e| bad(e.to_string()))?;
        }
        if file.routes.is_empty() {
            return Err(RoutesError::Empty);
        }
        Ok(Self {
            by_method,
            count: file.routes.len(),
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The scope `method path` needs; `None` if no route matches.
    pub fn scope_for(&self, method: &str, path: &str) -> Option<Arc<str>> {
        let exact = self.by_method.get(&method.to_ascii_uppercase());
        let any = self.by_method.get("*");
        [exact, any]
            .into_iter()
            .flatten()
            .find_map(|r| r.at(path).ok().map(|m| m.value.clone()))
    }
}

/// The original request's method and URI, as the proxy passes them on.
fn original(headers: &HeaderMap, method: &Method, uri: &Uri) -> (String, Uri) {
    let header = |names: [&str; 2]| {
        names
            .into_iter()
            .find_map(|n| headers.get(n).and_then(|v| v.to_str().ok()))
    };
    let method = header(["x-original-method", "x-forwarded-method"])
        .map_or_else(|| method.as_str().to_owned(), str::to_owned);
    let uri = header(["x-original-uri", "x-forwarded-uri"])
        .and_then(|u| u.parse::<Uri>().ok())
        .unwrap_or_else(|| uri.clone());
    (method, uri)
}

#[derive(Clone)]
struct Service {
    gate: Gate,
    routes: Arc<Routes>,
}

/// The forward-auth service: every path answers the proxy's question, but
/// `GET /healthz` (the process is up) and `GET /readyz` (it has read the
/// issuer's feed and heard from it within its bound: 503 otherwise), for
/// the orchestrator's probes.
pub fn router(gate: Gate, routes: Routes) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(ready))
        .fallback(check)
        .with_state(Service {
            gate,
            routes: Arc::new(routes),
        })
}

async fn ready(State(s): State<Service>) -> Response {
    let current = s.gate.is_current();
    let body = serde_json::json!({
        "ready": current,
        "failing": if current { vec![] } else { vec!["feed"] },
        "position": s.gate.position(),
        "silent_secs": s.gate.silent_for().map(|d| d.as_secs()),
    });
    let status = if current {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn check(State(s): State<Service>, req: Request) -> Response {
    let (method, uri) = original(req.headers(), req.method(), req.uri());
    let admitted = match s.gate.admit_request(req.headers(), &method, &uri).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let Some(scope) = s.routes.scope_for(&method, uri.path()) else {
        // Fail closed: a route nobody described is open to no token.
        s.gate.settle(&admitted, Outcome::Forbidden);
        let mut res = (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": "insufficient_scope",
                "error_description": format!("{method} {} is not open to any token (no route in the gate's routes file)", uri.path()),
            })),
        )
            .into_response();
        if let Some(d) = &admitted.decision {
            ratelimit_headers::apply(res.headers_mut(), d);
        }
        return res;
    };
    if !admitted.claims.has_scope(&scope) {
        s.gate.settle(&admitted, Outcome::Forbidden);
        let mut res =
            Refusal::InsufficientScope(scope.to_string()).into_response_with_realm(s.gate.realm());
        if let Some(d) = &admitted.decision {
            ratelimit_headers::apply(res.headers_mut(), d);
        }
        return res;
    }
    s.gate.settle(&admitted, Outcome::Allowed);
    let mut res = StatusCode::OK.into_response();
    let h = res.headers_mut();
    let c = &admitted.claims;
    for (name, value) in [
        (CLIENT_ID_HEADER, c.client_id.as_str()),
        (PROJECT_ID_HEADER, c.project_id.as_str()),
        (ACCOUNT_ID_HEADER, c.account_id.as_str()),
        (SCOPE_HEADER, c.scope.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    if let Some(d) = &admitted.decision {
        ratelimit_headers::apply(h, d);
    }
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FILE: &str = r#"
[[route]]
method = "GET"
path = "/partner/v1/applications/{id}"
scope = "applications:read"

[[route]]
method = "post"
path = "/partner/v1/applications"
scope = "applications:write"

[[route]]
method = "*"
path = "/files/{*rest}"
scope = "files:any"
"#;

    #[test]
    fn routes_map_method_and_pattern_to_a_scope() {
        let r = Routes::parse(FILE).unwrap();
        assert_eq!(r.len(), 3);
        let scope = |m, p| r.scope_for(m, p).map(|s| s.to_string());
        assert_eq!(
            scope("GET", "/partner/v1/applications/app_1").as_deref(),
            Some("applications:read")
        );
        assert_eq!(
            scope("POST", "/partner/v1/applications").as_deref(),
            Some("applications:write")
        );
        assert_eq!(scope("DELETE", "/files/a/b").as_deref(), Some("files:any"));
        assert_eq!(scope("DELETE", "/partner/v1/applications/app_1"), None);
        assert_eq!(scope("GET", "/partner/v1/other"), None);
    }

    #[test]
    fn a_bad_routes_file_says_which_line() {
        let err = |text: &str| Routes::parse(text).err().unwrap().to_string();
        assert!(err("").contains("no route"));
        assert!(
            err("[[route]]\nmethod = \"GE T\"\npath = \"/a\"\nscope = \"s\"").contains("route 1")
        );
        assert!(
            err("[[route]]\nmethod = \"GET\"\npath = \"a\"\nscope = \"s\"")
                .contains("start with /")
        );
        assert!(
            err("[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscope = \"s t\"")
                .contains("one scope")
        );
        assert!(
            err("[[route]]\nmethod = \"GET\"\npath = \"/a\"\nscope = \"s\"\nextra = 1")
                .contains("not valid")
        );
    }

    #[test]
    fn the_original_request_comes_from_the_proxy_headers() {
        let mut h = HeaderMap::new();
        let own: Uri = "/auth".parse().unwrap();
        assert_eq!(original(&h, &Method::GET, &own).1.path(), "/auth");
        h.insert("x-forwarded-method", HeaderValue::from_static("DELETE"));
        h.insert("x-forwarded-uri", HeaderValue::from_static("/x/y?z=1"));
        let (m, u) = original(&h, &Method::GET, &own);
        assert_eq!((m.as_str(), u.path()), ("DELETE", "/x/y"));
        h.insert("x-original-uri", HeaderValue::from_static("/n"));
        assert_eq!(original(&h, &Method::GET, &own).1.path(), "/n");
    }
}
