//! The scope catalogue: which APIs (resource servers) exist and what each of
//! their scopes allows. Read once from `scopes.toml` at start-up; any error
//! stops the server with a message naming the file and line.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

/// The algorithm an API's tokens are signed with (the gate verifies them).
pub use portcullis_gate::token::Alg as SigningAlg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    /// The resource it guards; the console groups the checklist by it.
    pub group: String,
    pub description: String,
    /// Deletes or erases data: marked in the console, never pre-selected.
    pub destructive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Stable key, stored on projects.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Where the API is served; the token audience is the issuer + this.
    pub base_path: String,
    pub signing_alg: SigningAlg,
    pub scopes: Vec<Scope>,
}

impl Api {
    pub fn scope(&self, name: &str) -> Option<&Scope> {
        self.scopes.iter().find(|s| s.name == name)
    }

    /// Scopes by group, groups in the order the file first names them.
    pub fn groups(&self) -> Vec<(&str, Vec<&Scope>)> {
        let mut groups: Vec<(&str, Vec<&Scope>)> = Vec::new();
        for scope in &self.scopes {
            match groups.iter_mut().find(|(g, _)| *g == scope.group) {
                Some((_, scopes)) => scopes.push(scope),
                None => groups.push((&scope.group, vec![scope])),
            }
        }
        groups
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    apis: Vec<Api>,
}

impl Catalogue {
    pub fn apis(&self) -> &[Api] {
        &self.apis
    }

    /// This catalogue with one more API (built-in ones).
    pub(crate) fn plus(mut self, api: Api) -> Self {
        self.apis.push(api);
        self
    }

    pub fn api(&self, id: &str) -> Option<&Api> {
        self.apis.iter().find(|a| a.id == id)
    }

    /// Every scope of every API (names are unique across the catalogue).
    pub fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.apis
            .iter()
            .flat_map(|a| a.scopes.iter().map(|s| s.name.as_str()))
    }

    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogueError {
            file: label.clone(),
            line: None,
            message: format!("cannot read the scope catalogue: {e}"),
        })?;
        Self::parse(&label, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Self, CatalogueError> {
        let at = |span: Option<Range<usize>>, message: String| CatalogueError {
            file: file.to_owned(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let raw: RawFile =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().to_owned()))?;
        if raw.api.is_empty() {
            return Err(at(
                None,
                "no [[api]] entries: at least one API is needed".into(),
            ));
        }

        let mut api_ids = HashSet::new();
        let mut base_paths = HashSet::new();
        let mut scope_names = HashSet::new();
        let mut apis = Vec::with_capacity(raw.api.len());
        for api in raw.api {
            let id = check(
                &api.id,
                &at,
                "api id",
                is_api_id,
                "use 1–32 lowercase letters, digits, '-' or '_', starting with a letter",
            )?;
            if !api_ids.insert(id.clone()) {
                return Err(at(Some(api.id.span()), format!("duplicate api id {id:?}")));
            }
            let base_path = check(&api.base_path, &at, "base_path", is_base_path,
                "use an absolute path like \"/partner/v1\" (lowercase letters, digits, '-', '_', no trailing '/') \
                 outside the console's own paths")?;
            if !base_paths.insert(base_path.clone()) {
                return Err(at(
                    Some(api.base_path.span()),
                    format!("duplicate base_path {base_path:?}"),
                ));
            }
            let name = check(&api.name, &at, "api name", not_blank, "must not be empty")?;
            let description = check(
                &api.description,
                &at,
                "api description",
                not_blank,
                "must not be empty",
            )?;
            if api.scope.is_empty() {
                return Err(at(
                    Some(api.id.span()),
                    format!("api {id:?} has no [[api.scope]] entries"),
                ));
            }
            let mut scopes = Vec::with_capacity(api.scope.len());
            for scope in api.scope {
                let scope_name = check(
                    &scope.name,
                    &at,
                    "scope name",
                    is_scope_token,
                    "use 1–64 characters from a–z, 0–9, ':', '_', '.', '-'",
                )?;
                if !scope_names.insert(scope_name.clone()) {
                    return Err(at(
                        Some(scope.name.span()),
                        format!("duplicate scope {scope_name:?}"),
                    ));
                }
                scopes.push(Scope {
                    group: check(
                        &scope.group,
                        &at,
                        "scope group",
                        not_blank,
                        "must not be empty",
                    )?,
                    description: check(
                        &scope.description,
                        &at,
                        "scope description",
                        not_blank,
                        "must not be empty",
                    )?,
                    destructive: scope.destructive,
                    name: scope_name,
                });
            }
            apis.push(Api {
                id,
                name,
                description,
                base_path,
                signing_alg: api.signing_alg,
                scopes,
            });
        }
        Ok(Catalogue { apis })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CatalogueError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    api: Vec<RawApi>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    id: Spanned<String>,
    name: Spanned<String>,
    description: Spanned<String>,
    base_path: Spanned<String>,
    signing_alg: SigningAlg,
    #[serde(default)]
    scope: Vec<RawScope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    name: Spanned<String>,
    group: Spanned<String>,
    description: Spanned<String>,
    destructive: bool,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

fn check(
    value: &Spanned<String>,
    at: &impl Fn(Option<Range<usize>>, String) -> CatalogueError,
    what: &str,
    ok: fn(&str) -> bool,
    rule: &str,
) -> Result<String, CatalogueError> {
    let v = value.get_ref().trim();
    if ok(v) {
        Ok(v.to_owned())
    } else {
        Err(at(
            Some(value.span()),
            format!("invalid {what} {v:?}: {rule}"),
        ))
    }
}

fn not_blank(s: &str) -> bool {
    !s.is_empty()
}

fn is_api_id(s: &str) -> bool {
    s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Paths the console and the authorization server use themselves.
const RESERVED_PREFIXES: [&str; 11] = [
    "/api",
    "/oauth",
    "/.well-known",
    "/pkg",
    "/healthz",
    "/login",
    "/signup",
    "/projects",
    "/audit",
    "/team",
    "/settings",
];

fn is_base_path(s: &str) -> bool {
    let shape = s.len() > 1
        && s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains("//")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "/-_".contains(c));
    let reserved = RESERVED_PREFIXES
        .iter()
        .any(|p| s == *p || s.starts_with(&format!("{p}/")));
    shape && !reserved
}

/// A subset of RFC 6749's scope-token (no spaces, quotes or backslashes).
fn is_scope_token(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../scopes.toml");

    #[test]
    fn the_shipped_catalogue_loads() {
        let c = Catalogue::parse("scopes.toml", SHIPPED).unwrap();
        let partner = c.api("partner").unwrap();
        assert_eq!(partner.base_path, "/partner/v1");
        assert_eq!(partner.signing_alg, SigningAlg::ES256);
        let names: Vec<_> = partner.scopes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "applications:read",
                "applications:write",
                "decisions:read",
                "payments:provision",
                "identity:check"
            ]
        );

        let caas = c.api("caas").unwrap();
        assert_eq!(caas.base_path, "/caas/v1");
        assert_eq!(caas.scopes.len(), 12);
        let destructive: Vec<_> = caas
            .scopes
            .iter()
            .filter(|s| s.destructive)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            destructive,
            [
                "caas:transactions:delete",
                "caas:transaction_splits:delete",
                "caas:categories:delete",
                "caas:users:delete"
            ]
        );
        assert!(caas.scopes.iter().all(|s| s.name.starts_with("caas:")));
        assert_eq!(
            caas.groups().first().map(|(g, s)| (*g, s.len())),
            Some(("Transactions", 3))
        );
        assert_eq!(c.scope_names().count(), 17);
    }

    fn error(text: &str) -> String {
        Catalogue::parse("scopes.toml", text)
            .unwrap_err()
            .to_string()
    }

    const ONE: &str = r#"
[[api]]
id = "a"
name = "A"
description = "An API."
base_path = "/a/v1"
signing_alg = "ES256"

[[api.scope]]
name = "things:read"
group = "Things"
description = "Read things."
destructive = false
"#;

    #[test]
    fn duplicates_are_named_by_line() {
        let dup_scope = format!("{ONE}\n[[api.scope]]\nname = \"things:read\"\ngroup = \"T\"\ndescription = \"d\"\ndestructive = false\n");
        assert_eq!(
            error(&dup_scope),
            "scopes.toml:16: duplicate scope \"things:read\""
        );

        let second = ONE
            .replace("id = \"a\"", "id = \"b\"")
            .replace("things:read", "other:read");
        assert_eq!(
            error(&format!("{ONE}{second}")),
            "scopes.toml:19: duplicate base_path \"/a/v1\""
        );
        let third = ONE
            .replace("/a/v1", "/b/v1")
            .replace("things:read", "other:read");
        assert_eq!(
            error(&format!("{ONE}{third}")),
            "scopes.toml:16: duplicate api id \"a\""
        );
    }

    #[test]
    fn malformed_entries_are_named_by_line() {
        assert!(error("[[api]]\nid = \"a\"\nname = ").starts_with("scopes.toml:3: "));
        assert!(error(&ONE.replace("ES256", "HS256")).starts_with("scopes.toml:7: unknown variant"));
        assert!(
            error(&ONE.replace("destructive = false", "destructive = false\ncolour = 1"))
                .starts_with("scopes.toml:14: unknown field")
        );
        assert_eq!(
            error(&ONE.replace("things:read", "things read")),
            "scopes.toml:10: invalid scope name \"things read\": use 1–64 characters from a–z, 0–9, ':', '_', '.', '-'"
        );
        assert!(error(&ONE.replace("/a/v1", "/oauth/v1"))
            .starts_with("scopes.toml:6: invalid base_path"));
        assert!(
            error(&ONE.replace("/a/v1", "a/v1")).starts_with("scopes.toml:6: invalid base_path")
        );
        assert!(
            error(&ONE.replace("description = \"Read things.\"", "description = \"  \""))
                .starts_with("scopes.toml:12: invalid scope description")
        );
        assert!(error(&ONE.replace("id = \"a\"", "id = \"A!\""))
            .starts_with("scopes.toml:3: invalid api id"));
        let no_scopes = ONE.split("[[api.scope]]").next().unwrap();
        assert_eq!(
            error(no_scopes),
            "scopes.toml:3: api \"a\" has no [[api.scope]] entries"
        );
        assert_eq!(
            error(""),
            "scopes.toml: no [[api]] entries: at least one API is needed"
        );
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = Catalogue::load(Path::new("/nonexistent/scopes.toml")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("/nonexistent/scopes.toml: cannot read the scope catalogue"));
    }
}
