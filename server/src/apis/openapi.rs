//! The OpenAPI 3.1 document: the OAuth endpoints and every operation of the
//! reference APIs, each with the scope it needs.

use portcullis_core::catalogue::Api;
use serde_json::{json, Map, Value};

use portcullis_contract::Operation;

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// Path parameters: those the operation checks carry their schema; the
/// rest are ids (any non-empty string; an unknown one is 404).
fn path_params(op: &Operation) -> Vec<Value> {
    op.path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| match op.doc.path.iter().find(|p| p.name == name) {
            Some(p) => json!({ "name": name, "in": "path", "required": true, "description": p.description, "schema": p.schema }),
            None => json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "minLength": 1 } }),
        })
        .collect()
}

fn operation(api: &Api, op: &Operation) -> Value {
    let mut params = path_params(op);
    params.extend(op.doc.query.iter().map(|p| {
        json!({ "name": p.name, "in": "query", "required": p.required, "description": p.description, "schema": p.schema })
    }));
    let mut responses = Map::new();
    let success = match &op.doc.returns {
        Some(schema) => {
            json!({ "description": "success", "content": { "application/json": { "schema": schema } } })
        }
        None => json!({ "description": "done; no body" }),
    };
    responses.insert(op.doc.success.to_string(), success);
    responses.insert(
        "400".into(),
        error_response(if op.doc.body.is_some() {
            "malformed request: a body that is not JSON or not sent as application/json, or a malformed Authorization header"
        } else {
            "malformed request: a malformed Authorization header"
        }),
    );
    responses.insert(
        "401".into(),
        error_response("no token, or an invalid, expired, revoked or foreign token"),
    );
    responses.insert(
        "403".into(),
        error_response(&format!(
            "the token lacks the {} scope (insufficient_scope)",
            op.scope
        )),
    );
    if op.path.contains('{') {
        responses.insert("404".into(), error_response("no such item in this project"));
    }
    if let Some(when) = op.doc.conflict {
        responses.insert("409".into(), error_response(when));
    }
    if op.doc.body.is_some() {
        responses.insert(
            "413".into(),
            json!({ "description": "the body is over 64 KiB", "content": { "text/plain": { "schema": { "type": "string" } } } }),
        );
    }
    if op.doc.checks_input() {
        responses.insert(
            "422".into(),
            error_response("the request breaks its schema; `field` names what is wrong"),
        );
    }
    responses.insert(
        "429".into(),
        error_response("the project's rate limit is exhausted; see Retry-After"),
    );
    responses.insert(
        "503".into(),
        error_response("no database connection came free in time; see Retry-After"),
    );
    let mut out = json!({
        "operationId": format!("{}_{}_{}", api.id, op.verb.as_str(), op.path.trim_matches('/').replace(['/', '{', '}', '-'], "_")),
        "summary": op.doc.summary,
        "tags": [api.name],
        "security": [{ "portcullis": [op.scope] }],
        "x-required-scope": op.scope,
        "parameters": params,
        "responses": responses,
    });
    if let Some(schema) = &op.doc.body {
        out["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    out
}

fn form(properties: Value, required: &[&str]) -> Value {
    json!({ "required": true, "content": { "application/x-www-form-urlencoded": { "schema": {
        "type": "object", "required": required, "properties": properties } } } })
}

pub fn document(
    issuer: &str,
    endpoints: &str,
    apis: &[(Api, Vec<Operation>)],
    vocabulary: &super::manage_doc::Vocabulary,
) -> Value {
    let mut paths = Map::new();
    let mut scopes = Map::new();
    for (api, ops) in apis {
        for scope in &api.scopes {
            scopes.insert(scope.name.clone(), json!(scope.description));
        }
        for op in ops {
            let full = format!("{}{}", api.base_path, op.path);
            let entry = paths.entry(full).or_insert_with(|| json!({}));
            entry[op.verb.as_str()] = operation(api, op);
        }
    }
    for scope in portcullis_core::manage::api().scopes {
        scopes.insert(scope.name, json!(scope.description));
    }
    for (path, item) in super::manage_doc::paths(portcullis_core::manage::BASE_PATH, vocabulary) {
        paths.insert(path, item);
    }
    let client_auth = json!([{ "clientBasic": [] }, {}]);
    paths.insert("/oauth/token".into(), json!({ "post": {
        "operationId": "oauth_token", "summary": "Client credentials grant (RFC 6749 §4.4): a token with exactly the named scopes",
        "tags": ["OAuth"], "security": client_auth,
        "requestBody": form(json!({
            "grant_type": { "const": "client_credentials" },
            "scope": { "type": "string", "description": "space-separated; required, each granted to the client" },
            "client_id": { "type": "string", "description": "client_secret_post only" },
            "client_secret": { "type": "string", "description": "client_secret_post only" } }), &["grant_type", "scope"]),
        "responses": {
            "200": { "description": "the token", "content": { "application/json": { "schema": { "type": "object",
                "required": ["access_token", "token_type", "expires_in", "scope"],
                "properties": { "access_token": { "type": "string" }, "token_type": { "const": "Bearer" },
                    "expires_in": { "type": "integer" }, "scope": { "type": "string" } } } } } },
            "400": { "description": "invalid_request, invalid_scope or unsupported_grant_type (RFC 6749 §5.2)" },
            "401": { "description": "invalid_client" },
            "429": { "description": "the project's rate limit, or too many failed client authentications from this address" } } } }));
    paths.insert("/oauth/introspect".into(), json!({ "post": {
        "operationId": "oauth_introspect", "summary": "Token introspection (RFC 7662), for tokens of the caller's own project",
        "tags": ["OAuth"], "security": client_auth,
        "requestBody": form(json!({ "token": { "type": "string" }, "token_type_hint": { "type": "string" } }), &["token"]),
        "responses": { "200": { "description": "{\"active\": true, claims…} or exactly {\"active\": false}" },
            "401": { "description": "invalid_client" } } } }));
    paths.insert("/oauth/revoke".into(), json!({ "post": {
        "operationId": "oauth_revoke", "summary": "Token revocation (RFC 7009) by the token's own client",
        "tags": ["OAuth"], "security": client_auth,
        "requestBody": form(json!({ "token": { "type": "string" }, "token_type_hint": { "type": "string" } }), &["token"]),
        "responses": { "200": { "description": "revoked, or not a token of this client (the same answer)" },
            "401": { "description": "invalid_client" } } } }));
    paths.insert("/oauth/secret-reports".into(), json!({ "post": {
        "operationId": "oauth_secret_reports",
        "summary": "Leaked-secret reports in the format of GitHub's secret scanning partner programme; a reported live client secret retires its client at once",
        "tags": ["OAuth"], "security": [],
        "parameters": [
            { "name": "Github-Public-Key-Identifier", "in": "header", "required": true, "schema": { "type": "string" } },
            { "name": "Github-Public-Key-Signature", "in": "header", "required": true, "description": "base64 ECDSA P-256 SHA-256 signature of the raw body", "schema": { "type": "string" } }
        ],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "array", "maxItems": 100, "items": {
            "type": "object", "required": ["token", "type"],
            "properties": { "token": { "type": "string" }, "type": { "type": "string", "description": "portcullis_client_secret" },
                "url": { "type": "string" }, "source": { "type": "string" } } } } } } },
        "responses": {
            "200": { "description": "one label per report", "content": { "application/json": { "schema": { "type": "array", "items": {
                "type": "object", "required": ["token_raw", "token_type", "label"],
                "properties": { "token_raw": { "type": "string" }, "token_type": { "type": "string" },
                    "label": { "enum": ["true_positive", "false_positive"] } } } } } } },
            "400": error_response("not a JSON array of reports, or more than 100"),
            "401": error_response("not signed by a configured key"),
            "404": error_response("secret reports are not configured on this server"),
            "503": error_response("a report could not be acted on; send it again") } } }));
    paths.insert("/.well-known/jwks.json".into(), json!({ "get": {
        "operationId": "jwks", "summary": "The public keys that verify access tokens", "tags": ["OAuth"], "security": [],
        "responses": { "200": { "description": "a JWK Set" } } } }));
    paths.insert("/.well-known/oauth-authorization-server".into(), json!({ "get": {
        "operationId": "metadata", "summary": "Authorization server metadata (RFC 8414)", "tags": ["OAuth"], "security": [],
        "responses": { "200": { "description": "the metadata document" } } } }));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Portcullis",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("Tokens are issued by {issuer}. Each operation names the one scope it needs (x-required-scope). {}", super::manage_doc::X_RULES),
        },
        "servers": [{ "url": endpoints }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "portcullis": { "type": "oauth2", "flows": { "clientCredentials": {
                    "tokenUrl": format!("{endpoints}/oauth/token"), "scopes": scopes } } },
                "clientBasic": { "type": "http", "scheme": "basic" }
            },
            "schemas": { "Error": { "type": "object", "required": ["error"], "properties": {
                "error": { "type": "string" }, "error_description": { "type": "string" },
                "message": { "type": "string" }, "field": { "type": "string" }, "scope": { "type": "string" } } } }
        }
    })
}
