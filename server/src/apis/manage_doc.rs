//! The management API's part of `/openapi.json`. Request schemas are
//! derived from the bodies the handlers read (`crate::manage::bodies`,
//! whose fields carry core's rules), with the catalogue's words filled in;
//! the few rules JSON Schema cannot state are in each body's `x-rules` (see
//! `X_RULES`), and the contract test (`server/tests/it/contract.rs`)
//! honours them.

use portcullis_contract::fields::date_schema;
use portcullis_contract::operations::{answer_schema, request_schema};
use portcullis_core::audit::{CURSOR_PATTERN, FILTER_MAX};
use portcullis_core::validate::line_schema;
use portcullis_core::webhooks;
use portcullis_core::Catalogue;
use serde_json::{json, Map, Value};

/// What the document says of `x-rules`, once, in the API's description.
pub const X_RULES: &str = "A request body's `x-rules` lists rules JSON Schema cannot state, each \
    `{rule, field, …}`: `not-below` (the field is at least `other`), `within-secs-of-now` (an epoch \
    time at most `secs` after now; earlier times mean now), `webhook-target` (a URL as the WHATWG URL \
    Standard parses it: https, or http too when `private_targets`; \
    a host; no user name, password or fragment; unless `private_targets`, no loopback, private, \
    link-local, shared or reserved address and no host named localhost or ending in .localhost, \
    .local or .internal), `public-key` (one or two public signing keys as a JWK, a JWK Set or PEM: \
    EC P-256 (ES256), RSA of 2048 to 8192 bits (RS256) or Ed25519 (EdDSA); never a private or \
    symmetric key), `at-most-one` / `exactly-one` (of the field and `other`), `jwks-uri` (a URL as \
    for `webhook-target`, with `private_targets` the operator's setting for key fetches, that \
    answers a JWK Set with at least one such key when it is set), `workload` / `workload-trust` (the \
    field, or the whole body, is a workload identity trust: an issuer this server may fetch from as for \
    `jwks-uri`, or a JWK Set with such a key; an `audience` that is `audience` or starts with it and `/`; \
    at least one condition that is more than `*`, and on GitHub's or GitLab.com's issuer one that names \
    the repository's owner). Breaking one is a 422 naming the field.";

/// The words of the account's world the request schemas use.
pub struct Vocabulary {
    pub api_ids: Vec<String>,
    pub scopes: Vec<String>,
    /// The operator allows plain http and private addresses for webhooks.
    pub private_targets: bool,
    /// … and for key clients' `jwks_uri`.
    pub private_key_fetch: bool,
    /// This server's issuer identifier: what a workload trust's audience
    /// must name.
    pub issuer: String,
}

impl Vocabulary {
    pub fn new(
        catalogue: &Catalogue,
        targets: webhooks::Targets,
        key_targets: webhooks::Targets,
        issuer: &str,
    ) -> Self {
        Self {
            api_ids: catalogue.apis().iter().map(|a| a.id.clone()).collect(),
            scopes: catalogue.scope_names().map(str::to_owned).collect(),
            private_targets: targets == webhooks::Targets::AnyHttp,
            private_key_fetch: key_targets == webhooks::Targets::AnyHttp,
            issuer: issuer.to_owned(),
        }
    }
}

pub(crate) fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

pub(crate) fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

const EVENT_TYPES: [&str; 8] = [
    "client.created",
    "client.rotated",
    "client.keys_changed",
    "client.retired",
    "client.revoked",
    "client.expired",
    "client.secret_reported",
    "project.rate_limited",
];

/// An answer's schema, derived from the type the handler sends
/// (`crate::manage::answers`), with the event types filled in.
pub(crate) fn answer<T: schemars::JsonSchema>() -> Value {
    let mut schema = answer_schema::<T>();
    with_event_types(&mut schema);
    schema
}

fn with_event_types(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                if let Some(events) = props.get_mut("events") {
                    events["items"] = json!({ "enum": EVENT_TYPES });
                }
                if let Some(kind) = props.get_mut("event_type") {
                    kind["enum"] = json!(EVENT_TYPES);
                }
            }
            map.values_mut().for_each(with_event_types);
        }
        Value::Array(items) => items.iter_mut().for_each(with_event_types),
        _ => {}
    }
}

/// A request body derived from the type its handler reads
/// (`crate::manage::bodies`), with the catalogue's words filled in and the
/// `x-rules` JSON Schema cannot state.
pub(crate) fn body<T: schemars::JsonSchema>(v: &Vocabulary, rules: Value) -> Value {
    let mut schema = request_schema::<T>();
    let props = &mut schema["properties"];
    if props.get("api_id").is_some() {
        props["api_id"]["enum"] = json!(v.api_ids);
    }
    if props.get("scopes").is_some() {
        props["scopes"]["items"] = json!({ "enum": v.scopes });
    }
    if props.get("events").is_some() {
        props["events"]["items"] = json!({ "enum": EVENT_TYPES });
    }
    if props.get("url").is_some() {
        // What a schema can say of a target; the `webhook-target` rule
        // says the rest (public addresses, no credentials or fragment).
        props["url"]["format"] = json!("uri");
        props["url"]["pattern"] = json!(if v.private_targets {
            "^https?://"
        } else {
            "^https://"
        });
    }
    if rules.as_array().is_some_and(|r| !r.is_empty()) {
        schema["x-rules"] = rules;
    }
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

/// A body that may be left out.
pub(crate) fn optional(mut request: Value) -> Value {
    request["required"] = json!(false);
    request
}

pub(crate) fn no_rules() -> Value {
    json!([])
}

pub(crate) fn key_rules(v: &Vocabulary, exactly_one: bool) -> Value {
    let mut rules = vec![
        json!({ "rule": if exactly_one { "exactly-one" } else { "at-most-one" }, "field": "public_keys", "other": "jwks_uri" }),
        json!({ "rule": "public-key", "field": "public_keys" }),
        json!({ "rule": "jwks-uri", "field": "jwks_uri", "private_targets": v.private_key_fetch }),
    ];
    if !exactly_one {
        rules.push(json!({ "rule": "at-most-one", "field": "public_keys", "other": "workload" }));
        rules.push(json!({ "rule": "at-most-one", "field": "jwks_uri", "other": "workload" }));
        rules.push(json!({ "rule": "workload", "field": "workload", "private_targets": v.private_key_fetch, "audience": v.issuer }));
    }
    Value::Array(rules)
}

pub(crate) fn endpoint_rules(v: &Vocabulary) -> Value {
    json!([{ "rule": "webhook-target", "field": "url", "private_targets": v.private_targets }])
}

/// An evidence file's JSON form: whose it is, the dates it covers, when
/// it was made, its rows (objects with `columns`), their count, and
/// `complete` (absent from a download cut short).
pub(crate) fn evidence_file(columns: &[&str]) -> Value {
    json!({ "type": "object", "required": ["kind", "account", "range", "generated_at", "entries", "count", "complete"],
        "properties": {
            "kind": { "enum": ["audit_log", "daily_usage"] },
            "account": { "type": "object", "required": ["id", "name"], "properties": { "id": { "type": "string" }, "name": { "type": "string" } } },
            "range": { "type": "object", "required": ["from", "to"], "properties": { "from": nullable("string"), "to": nullable("string") } },
            "generated_at": { "type": "string", "format": "date-time" },
            "entries": { "type": "array", "items": { "type": "object", "required": columns } },
            "count": { "type": "integer", "minimum": 0 },
            "complete": { "const": true } } })
}

/// A request body that works, for the document's readers (and checked to
/// work by the contract test).
fn example(verb: &str, path: &str, v: &Vocabulary) -> Option<Value> {
    Some(match (verb, path) {
        ("post", "/projects") => {
            json!({ "name": "Nightly export", "api_id": "partner", "token_ttl_secs": 900 })
        }
        ("post", "/projects/{id}") => {
            json!({ "description": "Exports decisions to the data warehouse at 02:00." })
        }
        ("post", "/projects/{id}/rate-limit") => json!({ "per_sec": 50, "burst": 100 }),
        ("post", "/projects/{id}/keys-only") => json!({ "keys_only": true }),
        ("post", "/projects/{id}/dormancy") => json!({ "dormant_after_days": 90 }),
        ("post", "/projects/{id}/quota") => json!({ "daily_token_quota": 50000 }),
        ("post", "/projects/{id}/clients") => {
            json!({ "name": "Load test", "scopes": ["applications:read"], "expires_in_hours": 24 })
        }
        ("post", "/clients/{id}/narrow") => json!({ "scopes": ["applications:read"] }),
        ("post", "/clients/{id}/keys") => json!({ "public_keys": concat!(
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"2026-12","#,
            r#""x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#) }),
        ("post", "/clients/{id}/workload") => json!({ "preset": "kubernetes",
            "issuer": "https://kubernetes.default.svc.cluster.local",
            "jwks": { "keys": [{ "kty": "OKP", "crv": "Ed25519", "kid": "cluster-2026",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }] },
            "audience": v.issuer,
            "conditions": { "sub": "system:serviceaccount:payments:sync" } }),
        ("post", "/webhooks") => json!({ "url": "https://hooks.example.com/portcullis",
            "events": ["client.revoked", "client.secret_reported"], "description": "Security on-call" }),
        ("post", "/webhooks/{id}") => json!({ "events": ["client.revoked"] }),
        _ => return None,
    })
}

/// The management API's paths, keyed by full path.
pub fn paths(base_path: &str, v: &Vocabulary) -> Map<String, Value> {
    let mut paths = Map::new();
    let cursor = json!({ "type": "string", "pattern": CURSOR_PATTERN });
    for op in crate::manage::operations::operations() {
        let verb = op.method.to_ascii_lowercase();
        // The role table says which scope; an operation missing from it
        // needs one no token has.
        let scope = portcullis_core::access::table::manage_scope(op.method, op.path)
            .unwrap_or("manage:(not in the role table)");
        let mut params = Vec::new();
        for id in ["id", "message_id"] {
            if op.path.contains(&format!("{{{id}}}")) {
                params.push(json!({ "name": id, "in": "path", "required": true, "description": "another account's id answers 404, as a missing one does",
                    "schema": { "type": "string", "minLength": 1 } }));
            }
        }
        if verb == "post" {
            params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "the first success for this key and request is kept 24 h and sent again (Idempotent-Replayed: true)",
                "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" } }));
        }
        if op.path == "/webhooks/{id}/deliveries" {
            params.push(json!({ "name": "before", "in": "query", "required": false, "description": "the `next` of the previous page", "schema": cursor }));
        }
        if op.path.ends_with("/export") {
            params.push(json!({ "name": "format", "in": "query", "required": false, "description": "json (the default) or csv", "schema": { "enum": ["json", "csv"] } }));
        }
        if op.path == "/usage/export" {
            for (name, description) in [
                ("from", "UTC, within the last 30 days"),
                ("to", "UTC, inclusive, today at the latest"),
            ] {
                params.push(json!({ "name": name, "in": "query", "required": false, "description": description, "schema": date_schema() }));
            }
        }
        if op.path == "/audit" || op.path == "/audit/export" {
            let line = line_schema(FILTER_MAX);
            for (name, description, schema) in [
                ("actor", "an email or management client label", &line),
                (
                    "action",
                    "",
                    &json!({ "enum": portcullis_core::audit::ACTIONS }),
                ),
                ("project_id", "", &line),
                ("from", "UTC", &date_schema()),
                ("to", "UTC, inclusive", &date_schema()),
                ("before", "the `next` of the previous page", &cursor),
            ] {
                if name == "before" && op.path != "/audit" {
                    continue;
                }
                params.push(json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema }));
            }
        }
        let mut responses = Map::new();
        responses.insert(
            op.success.to_string(),
            match op.returns.map(|schema| schema()) {
                Some(schema) if op.path.ends_with("/export") => json!({ "description": "the file, as an attachment",
                    "content": { "application/json": { "schema": schema }, "text/csv": { "schema": { "type": "string" } } } }),
                Some(schema) => json!({ "description": "success", "content": { "application/json": { "schema": schema } } }),
                None => json!({ "description": "done; no body" }),
            },
        );
        responses.insert(
            "400".into(),
            error(
                "malformed request: a body that is not JSON, or a malformed Authorization header",
            ),
        );
        responses.insert(
            "401".into(),
            error("no token, or an invalid, expired, revoked or foreign token"),
        );
        responses.insert(
            "403".into(),
            error(&format!(
                "the token lacks {} (insufficient_scope), or a management client may not do this",
                scope
            )),
        );
        if op.path.contains('{') {
            responses.insert("404".into(), error("no such item in this account"));
        }
        if verb != "get" {
            responses.insert("409".into(), error("conflicts with the state of the account or item (a name taken, a retired client, an archived or full project, a turned-off endpoint), or a request with this Idempotency-Key is still running"));
        }
        responses.insert(
            "422".into(),
            error("a field or parameter breaks its schema or an `x-rules` rule, or an Idempotency-Key is used again with another request; `field` names it"),
        );
        responses.insert(
            "429".into(),
            error("the management project's rate limit is exhausted; see Retry-After"),
        );
        let mut doc = json!({
            "operationId": format!("manage_{}_{}", verb, op.path.trim_matches('/').replace(['/', '{', '}', '-'], "_")),
            "summary": op.summary, "tags": ["Management API"],
            "security": [{ "portcullis": [scope] }], "x-required-scope": scope, "x-management": true,
            "parameters": params, "responses": responses,
        });
        if let Some(mut r) = op.request.map(|request| request(v)) {
            if let Some(e) = example(&verb, op.path, v) {
                r["content"]["application/json"]["example"] = e;
            }
            doc["requestBody"] = r;
        }
        let full = format!("{base_path}{}", op.path);
        let entry = paths.entry(full).or_insert_with(|| json!({}));
        entry[verb] = doc;
    }
    paths
}
