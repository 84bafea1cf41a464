//! `/openapi.json` is an exact contract for the reference APIs and the
//! management API. Requests are
//! generated from the document itself (property-based: random values from
//! each schema, then every way to break one), sent to a real server, and
//! the answers checked against the document:
//! - a request the schema allows is never refused as malformed (400/422);
//! - a request the schema forbids is always refused (400/422) and changes
//!   nothing;
//! - every answer's status is listed for the operation, with the content
//!   type and body schema the document gives.
//!
//! A body's `x-rules` (rules JSON Schema cannot state, described in the
//! document's `info`) are honoured: valid requests keep them, and each is
//! broken on purpose too.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as Cases, RngAlgorithm, TestRng, TestRunner};
use reqwest::{Client, Method};
use serde_json::{json, Map, Value};

use crate::harness::*;

/// Generated valid requests per operation; each breaking mutation of one
/// of them is sent too.
const VALID_PER_OP: usize = 24;

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the document holds a broken schema ({e}): {schema}"))
}

/// Values `schema` allows (the subset of JSON Schema the document uses; a
/// keyword this does not know fails the test, so the two stay in step).
fn valid(schema: &Value) -> BoxedStrategy<Value> {
    for key in schema.as_object().into_iter().flat_map(|o| o.keys()) {
        assert!(
            [
                "type",
                "const",
                "enum",
                "minimum",
                "maximum",
                "minLength",
                "maxLength",
                "pattern",
                "format",
                "properties",
                "required",
                "additionalProperties",
                "items",
                "minItems",
                "not",
                "description",
                "x-rules",
            ]
            .contains(&key.as_str()),
            "the contract test does not generate `{key}`: {schema}"
        );
    }
    if let Some(c) = schema.get("const") {
        return Just(c.clone()).boxed();
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return proptest::sample::select(e.clone()).boxed();
    }
    match schema["type"].as_str() {
        Some("object") => object(schema),
        Some("string") => string(schema),
        Some("integer") => {
            let min = schema["minimum"].as_i64().unwrap_or(-(1 << 53) + 1);
            let max = schema["maximum"].as_i64().unwrap_or((1 << 53) - 1);
            prop_oneof![Just(min), Just(max), min..=max]
                .prop_map(Value::from)
                .boxed()
        }
        Some("boolean") => any::<bool>().prop_map(Value::from).boxed(),
        Some("array") => {
            let min = schema["minItems"].as_u64().unwrap_or(0) as usize;
            proptest::collection::vec(valid(&schema["items"]), min..=min + 3)
                .prop_map(Value::from)
                .boxed()
        }
        other => panic!("the contract test does not generate type {other:?}: {schema}"),
    }
}

fn string(schema: &Value) -> BoxedStrategy<Value> {
    let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
    let max = schema["maxLength"].as_u64().map_or(48, |m| m as usize);
    if schema["format"] == "date" {
        return (1900i64..2100, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| {
                let s = format!("{y:04}-{m:02}-{d:02}");
                portcullis_core::calendar::parse_date(&s).map(|_| Value::from(s))
            })
            .boxed();
    }
    // Generated strings are whole, so anchors add nothing (and the
    // generator does not take them).
    let pattern = schema["pattern"].as_str().unwrap_or("(?s:.)*");
    let pattern = pattern.strip_prefix('^').unwrap_or(pattern);
    let pattern = pattern.strip_suffix('$').unwrap_or(pattern);
    proptest::string::string_regex(pattern)
        .unwrap_or_else(|e| panic!("cannot generate from {pattern}: {e}"))
        .prop_filter("the length allowed", move |s| {
            (min..=max).contains(&s.chars().count())
        })
        .prop_map(Value::from)
        .boxed()
}

fn object(schema: &Value) -> BoxedStrategy<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let name = name.clone();
            if required.contains(&name.as_str()) {
                valid(s).prop_map(move |v| Some((name.clone(), v))).boxed()
            } else {
                proptest::option::of(valid(s))
                    .prop_map(move |v| v.map(|v| (name.clone(), v)))
                    .boxed()
            }
        })
        .collect();
    fields
        .prop_map(|f| Value::Object(f.into_iter().flatten().collect()))
        .boxed()
}

/// Every way this suite breaks a valid object: each required field gone,
/// an unknown field, and for each field a wrong type, null, and each bound
/// crossed. Only those the schema really forbids are kept.
fn broken(schema: &Value, good: &Value) -> Vec<(String, Value)> {
    let check = validator(schema);
    let mut out: Vec<(String, Value)> = Vec::new();
    let with = |name: &str, v: Value| {
        let mut b = good.clone();
        b[name] = v;
        b
    };
    for name in schema["required"].as_array().into_iter().flatten() {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(name.as_str().unwrap());
        out.push((format!("without {name}"), b));
    }
    out.push(("an unknown field".into(), with("unexpected", json!(1))));
    out.push(("an array body".into(), json!([good])));
    for (name, s) in schema["properties"].as_object().into_iter().flatten() {
        out.push((format!("{name}: null"), with(name, Value::Null)));
        match s["type"].as_str() {
            Some("integer") => {
                out.push((format!("{name}: a string"), with(name, json!("12"))));
                out.push((format!("{name}: a fraction"), with(name, json!(150.5))));
                out.push((format!("{name}: too big for i64"), with(name, json!(1e30))));
                if let Some(min) = s["minimum"].as_i64() {
                    out.push((format!("{name} below minimum"), with(name, json!(min - 1))));
                }
                if let Some(max) = s["maximum"].as_i64() {
                    out.push((format!("{name} above maximum"), with(name, json!(max + 1))));
                }
                out.push((format!("{name}: zero"), with(name, json!(0))));
            }
            Some("string") => {
                out.push((format!("{name}: a number"), with(name, json!(7))));
                if let Some(max) = s["maxLength"].as_u64() {
                    let long = "x".repeat(max as usize + 1);
                    out.push((format!("{name} too long"), with(name, json!(long))));
                }
                for odd in [
                    "",
                    " ",
                    "  padded  ",
                    "a\u{0}b",
                    "tab\there",
                    "\u{85}",
                    "lower",
                    "é",
                    "2021-02-30",
                    "../x",
                ] {
                    out.push((format!("{name}: {odd:?}"), with(name, json!(odd))));
                }
            }
            Some("array") => {
                out.push((format!("{name}: a string"), with(name, json!("x"))));
                out.push((format!("{name}: empty"), with(name, json!([]))));
                out.push((
                    format!("{name}: an unknown item"),
                    with(name, json!(["nope"])),
                ));
                out.push((format!("{name}: a number item"), with(name, json!([7]))));
            }
            _ => {}
        }
    }
    out.retain(|(_, b)| !check.is_valid(b));
    out
}

/// The document's `x-rules` for a body schema.
fn rules(schema: &Value) -> Vec<Value> {
    schema["x-rules"].as_array().cloned().unwrap_or_default()
}

/// A webhook target the `webhook-target` rule allows (public https; the
/// test server does not allow private targets).
fn public_url() -> BoxedStrategy<Value> {
    proptest::string::string_regex(
        "https://[a-z][a-z0-9-]{0,12}(\\.[a-z][a-z0-9-]{0,12}){0,2}\\.example\\.com(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]{0,12}){0,3}(\\?[a-z]{1,5}=[a-z0-9]{0,5})?",
    )
    .unwrap()
    .prop_map(Value::from)
    .boxed()
}

/// Makes a generated body keep its `x-rules`.
fn keep_rules(schema: &Value, body: &mut Value, now: i64, runner: &mut TestRunner) {
    for rule in rules(schema) {
        let field = rule["field"].as_str().unwrap();
        if body.get(field).is_none() {
            continue;
        }
        match rule["rule"].as_str().unwrap() {
            "not-below" => {
                let other = body[rule["other"].as_str().unwrap()].clone();
                if body[field].as_i64() < other.as_i64() {
                    body[field] = other;
                }
            }
            "within-secs-of-now" => {
                let secs = rule["secs"].as_i64().unwrap();
                let at = body[field].as_i64().unwrap();
                if at > now + secs {
                    body[field] = json!(now + at.rem_euclid(secs));
                }
            }
            "webhook-target" => {
                assert_eq!(rule["private_targets"], false, "the test server's setting");
                body[field] = sample(runner, &public_url());
            }
            other => panic!("the contract test does not know the rule {other:?}"),
        }
    }
}

/// Each way to break a body's `x-rules` (the schema allows all of them).
fn break_rules(schema: &Value, good: &Value, now: i64) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for rule in rules(schema) {
        let field = rule["field"].as_str().unwrap();
        let with = |v: Value| {
            let mut b = good.clone();
            b[field] = v;
            b
        };
        match rule["rule"].as_str().unwrap() {
            "not-below" => {
                let other = rule["other"].as_str().unwrap();
                let min = schema["properties"][field]["minimum"].as_i64().unwrap();
                if let Some(o) = good[other].as_i64().filter(|o| *o > min) {
                    out.push((format!("{field} below {other}"), with(json!(o - 1))));
                }
            }
            "within-secs-of-now" => {
                let secs = rule["secs"].as_i64().unwrap();
                out.push((
                    format!("{field} too far ahead"),
                    with(json!(now + secs + 3600)),
                ));
            }
            "webhook-target" => {
                for url in [
                    "http://hooks.example.com/in",
                    "ftp://hooks.example.com/in",
                    "hooks.example.com/in",
                    "https://",
                    "https://localhost/in",
                    "https://hooks.internal/in",
                    "https://10.0.0.7/in",
                    "https://169.254.169.254/latest",
                    "https://[::1]/in",
                    "https://user:pw@hooks.example.com/in",
                    "https://hooks.example.com/in#part",
                ] {
                    out.push((format!("{field}: {url}"), with(json!(url))));
                }
            }
            other => panic!("the contract test does not know the rule {other:?}"),
        }
    }
    out
}

/// One documented operation.
struct Op {
    method: Method,
    path: String,
    scope: String,
    management: bool,
    params: Vec<Value>,
    body: Option<Value>,
    /// The document's example body, if it gives one.
    example: Option<Value>,
    body_required: bool,
    responses: Map<String, Value>,
}

fn operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            let Some(scope) = op["x-required-scope"].as_str() else {
                continue; // OAuth endpoints: covered by their own tests.
            };
            ops.push(Op {
                method: verb.to_uppercase().parse().unwrap(),
                path: path.clone(),
                scope: scope.into(),
                management: op["x-management"] == true,
                params: op["parameters"].as_array().cloned().unwrap_or_default(),
                body: op["requestBody"]["content"]["application/json"]
                    .get("schema")
                    .cloned(),
                example: op["requestBody"]["content"]["application/json"]
                    .get("example")
                    .cloned(),
                body_required: op["requestBody"]["required"] == true,
                responses: op["responses"].as_object().unwrap().clone(),
            });
        }
    }
    ops
}

/// Ids that exist, by path parameter, for the requests that need a real
/// item (a broken body must be refused before anything is looked up, but
/// a real item makes sure the body is what is judged).
struct Fixtures {
    ids: HashMap<&'static str, String>,
}

impl Fixtures {
    fn id(&self, path: &str, param: &str) -> Option<String> {
        let key = match path.strip_prefix("/manage/v1") {
            Some(p) => match (p, param) {
                (_, "message_id") => "message",
                ("/projects/{id}/archive", _) => "project to archive",
                (p, _) if p.starts_with("/projects/") => "project",
                ("/clients/{id}/retire" | "/clients/{id}", _) => "client to retire",
                (p, _) if p.starts_with("/clients/") => "client",
                _ => "endpoint",
            },
            None => match param {
                "user_id" => "user",
                "split_id" => "split",
                _ if path.contains("/applications/") => "application",
                _ if path.contains("/categories/") => "category",
                _ => "transaction",
            },
        };
        self.ids.get(key).cloned()
    }
}

struct Api {
    token: String,
}

async fn post_json(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let res = Client::new()
        .post(s.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{path}");
    res.json().await.unwrap()
}

async fn setup(s: &TestServer) -> (HashMap<String, Api>, Fixtures) {
    let owner = s.owner("contract@example.com").await;
    let mut apis = HashMap::new();
    let all = |api: &str| -> Vec<String> {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes.toml"))
            .unwrap();
        let catalogue: toml::Value = toml::from_str(&doc).unwrap();
        catalogue["api"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"].as_str() == Some(api))
            .unwrap()["scope"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sc| sc["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (api, base) in [("partner", "/partner/v1"), ("caas", "/caas/v1")] {
        let scopes = all(api);
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let (project, creds) = s.api_client(&owner, api, api, &refs).await;
        s.set_rate_limit(&owner, &project, 100_000, 100_000).await;
        let token = s.access_token(&creds, &scopes.join(" ")).await;
        apis.insert(base.to_owned(), Api { token });
    }
    let p = &apis["/partner/v1"].token;
    let c = &apis["/caas/v1"].token;
    let app = post_json(
        s,
        p,
        "/partner/v1/applications",
        json!({ "applicant_name": "Ada", "amount_cents": 10_000, "term_months": 12, "annual_income_cents": 10_000_000 }),
    )
    .await;
    let txn = post_json(
        s,
        c,
        "/caas/v1/transactions",
        json!({ "user_id": "user-1", "account_id": "acc-1", "amount_cents": -100_000, "currency": "EUR", "description": "Grocer", "booked_on": "2026-01-02" }),
    )
    .await;
    let txn_id = txn["id"].as_str().unwrap().to_owned();
    let split = post_json(
        s,
        c,
        &format!("/caas/v1/transactions/{txn_id}/splits"),
        json!({ "amount_cents": 10 }),
    )
    .await;
    let category = post_json(s, c, "/caas/v1/categories", json!({ "name": "Pets" })).await;
    let mut ids = HashMap::new();
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    ids.insert("application", id(&app));
    ids.insert("transaction", txn_id);
    ids.insert("split", id(&split));
    ids.insert("category", id(&category));
    ids.insert("user", "user-1".to_owned());
    manage_fixtures(s, &owner, &mut apis, &mut ids).await;
    (apis, Fixtures { ids })
}

/// A management client with every `manage:*` scope, and the items its
/// operations act on: projects, live clients, a webhook endpoint with a
/// message in its log.
async fn manage_fixtures(
    s: &TestServer,
    owner: &Owner,
    apis: &mut HashMap<String, Api>,
    ids: &mut HashMap<&'static str, String>,
) {
    let scopes: Vec<String> = portcullis_core::manage::api()
        .scopes
        .into_iter()
        .map(|sc| sc.name)
        .collect();
    let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let (project, creds) = s.api_client(owner, "Pipeline", "manage", &refs).await;
    s.set_rate_limit(owner, &project, 100_000, 100_000).await;
    let token = s.access_token(&creds, &scopes.join(" ")).await;
    let made = |method: Method, path: &str, body: Value| {
        let token = token.clone();
        let path = path.to_owned();
        async move {
            let (status, v) = manage_call(&s.base, &token, method, &path, Some(body)).await;
            assert!([200, 201].contains(&status), "{path}: {status} {v}");
            v
        }
    };
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let endpoint = made(
        Method::POST,
        "/webhooks",
        json!({ "url": "https://hooks.example.com/in", "events": ["client.created"] }),
    )
    .await;
    ids.insert("endpoint", id(&endpoint["endpoint"]));
    for (key, name) in [
        ("project", "Intake"),
        ("project to archive", "Old intake"),
        ("retiring project", "Retiring intake"),
    ] {
        let p = made(
            Method::POST,
            "/projects",
            json!({ "name": name, "api_id": "partner" }),
        )
        .await;
        ids.insert(key, id(&p));
    }
    for (key, project) in [
        ("client", "project"),
        ("client to retire", "retiring project"),
    ] {
        let c = made(
            Method::POST,
            &format!("/projects/{}/clients", ids[project]),
            json!({ "name": key, "scopes": ["applications:read", "applications:write"] }),
        )
        .await;
        ids.insert(key, id(&c["client"]));
    }
    let (_, log) = manage_call(
        &s.base,
        &token,
        Method::GET,
        &format!("/webhooks/{}/deliveries", ids["endpoint"]),
        None,
    )
    .await;
    ids.insert("message", id(&log["deliveries"][0]));
    apis.insert("/manage/v1".to_owned(), Api { token });
}

/// A request to send: path with parameters filled in, query, headers,
/// body.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<RawBody>,
}

#[derive(Debug, Clone)]
enum RawBody {
    Json(Value),
    /// Not JSON at all, or not declared as JSON.
    Raw(&'static str, &'static str),
}

fn sample<T: std::fmt::Debug>(runner: &mut TestRunner, s: &BoxedStrategy<T>) -> T {
    s.new_tree(runner).unwrap().current()
}

fn param_schema(p: &Value) -> &Value {
    &p["schema"]
}

/// What a valid request needs besides its operation: the ids that exist,
/// the server's clock, and a count that keeps Idempotency-Keys apart.
struct Ctx<'a> {
    fx: &'a Fixtures,
    now: i64,
    keys: std::cell::Cell<u64>,
}

/// A valid request for `op`: real ids in the path (or, now and then,
/// generated ones), each optional query parameter present or not.
fn valid_request(op: &Op, cx: &Ctx, runner: &mut TestRunner, real_ids: bool) -> Request {
    let fx = cx.fx;
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in &op.params {
        let name = p["name"].as_str().unwrap();
        let generated = sample(runner, &valid(param_schema(p)));
        let text = match &generated {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match p["in"].as_str() {
            Some("path") => {
                let value = fx.id(&op.path, name).filter(|_| real_ids).unwrap_or(text);
                let encoded: String =
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                path = path.replace(&format!("{{{name}}}"), &encoded.replace('+', "%20"));
            }
            Some("query") => {
                let required = p["required"].as_bool().unwrap_or(false);
                if required || sample(runner, &any::<bool>().boxed()) {
                    query.push((name.to_owned(), text));
                }
            }
            // Idempotency-Key: a key names one request, so each is new.
            Some("header") => {
                assert_eq!(name, "Idempotency-Key");
                if sample(runner, &any::<bool>().boxed()) {
                    cx.keys.set(cx.keys.get() + 1);
                    let key: String = format!("{}-{text}", cx.keys.get())
                        .chars()
                        .take(255)
                        .collect();
                    headers.push((name.to_owned(), key));
                }
            }
            other => panic!("parameter in {other:?}"),
        }
    }
    let body = op.body.as_ref().map(|schema| {
        let check = validator(schema);
        let strategy = valid(schema);
        loop {
            let mut b = sample(runner, &strategy);
            keep_rules(schema, &mut b, cx.now, runner);
            if check.is_valid(&b) {
                break RawBody::Json(b);
            }
        }
    });
    Request {
        path,
        query,
        headers,
        body,
    }
}

/// Every way to break `good`'s body and query that the document forbids.
fn broken_requests(op: &Op, good: &Request, now: i64) -> Vec<(String, Request)> {
    let mut out = Vec::new();
    if let (Some(schema), Some(RawBody::Json(body))) = (&op.body, &good.body) {
        let mut all = broken(schema, body);
        all.extend(break_rules(schema, body, now));
        for (why, b) in all {
            out.push((
                why,
                Request {
                    body: Some(RawBody::Json(b)),
                    ..good.clone()
                },
            ));
        }
        for (why, raw) in [
            (
                "a body that is not JSON",
                RawBody::Raw("application/json", "{\"amount"),
            ),
            ("a body not declared JSON", RawBody::Raw("text/plain", "{}")),
        ] {
            out.push((
                why.into(),
                Request {
                    body: Some(raw),
                    ..good.clone()
                },
            ));
        }
    }
    if op.params.iter().any(|p| p["in"] == "header") {
        for key in ["", "a key", "é", &"k".repeat(256)] {
            let headers = vec![("Idempotency-Key".to_owned(), key.to_owned())];
            out.push((
                format!("Idempotency-Key: {key:.20?}"),
                Request {
                    headers,
                    ..good.clone()
                },
            ));
        }
    }
    for p in op.params.iter().filter(|p| p["in"] == "query") {
        let name = p["name"].as_str().unwrap();
        let check = validator(param_schema(p));
        let without: Vec<(String, String)> = good
            .query
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect();
        if p["required"].as_bool().unwrap_or(false) {
            out.push((
                format!("without {name}"),
                Request {
                    query: without.clone(),
                    ..good.clone()
                },
            ));
        }
        for odd in ["", "0", "-1", "abc", "1.5", "100000", " 5", "a b", "../x"] {
            let as_json = odd
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| json!(odd));
            let as_text_ok = p["schema"]["type"] == "string" && check.is_valid(&json!(odd));
            if check.is_valid(&as_json) || as_text_ok {
                continue;
            }
            let mut query = without.clone();
            query.push((name.to_owned(), odd.to_owned()));
            out.push((
                format!("{name}={odd:?}"),
                Request {
                    query,
                    ..good.clone()
                },
            ));
        }
    }
    out
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    body: String,
}

async fn send(s: &TestServer, op: &Op, token: &str, r: &Request) -> Answer {
    let mut req = Client::new()
        .request(op.method.clone(), s.url(&r.path))
        .bearer_auth(token)
        .query(&r.query);
    for (name, value) in &r.headers {
        // Raw bytes: a value outside visible ASCII is sent as it is.
        let value = reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap();
        req = req.header(name.as_str(), value);
    }
    req = match &r.body {
        Some(RawBody::Json(v)) => req.json(v),
        Some(RawBody::Raw(ct, text)) => req.header("content-type", *ct).body(*text),
        None => req,
    };
    let res = req.send().await.unwrap();
    Answer {
        status: res.status().as_u16(),
        content_type: res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: res.text().await.unwrap(),
    }
}

/// The answer is one the document lists for `op`, in its shape.
fn check_documented(op: &Op, r: &Request, a: &Answer, doc: &Value) -> Result<(), String> {
    let what = || {
        format!(
            "{} {} {:?} -> {} {}",
            op.method, op.path, r, a.status, a.body
        )
    };
    let Some(response) = op.responses.get(&a.status.to_string()) else {
        if a.status == 413 {
            return Err(format!("413 for a body under the limit: {}", what()));
        }
        return Err(format!("undocumented status: {}", what()));
    };
    match response.get("content") {
        None => {
            if !a.body.is_empty() {
                return Err(format!("documented without a body, got one: {}", what()));
            }
        }
        Some(content) => {
            let (ct, media) = content.as_object().unwrap().iter().next().unwrap();
            if a.content_type.as_deref() != Some(ct.as_str()) {
                return Err(format!(
                    "content type {:?}, documented {ct}: {}",
                    a.content_type,
                    what()
                ));
            }
            if ct != "application/json" {
                return Ok(());
            }
            let body: Value =
                serde_json::from_str(&a.body).map_err(|e| format!("not JSON ({e}): {}", what()))?;
            let mut schema = media["schema"].clone();
            // Resolve the document's shared schemas for the validator.
            schema["$defs"] = doc["components"]["schemas"].clone();
            let text = schema
                .to_string()
                .replace("#/components/schemas/", "#/$defs/");
            let schema: Value = serde_json::from_str(&text).unwrap();
            let check = validator(&schema);
            let error = check.iter_errors(&body).next().map(|e| e.to_string());
            if let Some(e) = error {
                return Err(format!(
                    "body breaks the documented schema ({e}): {}",
                    what()
                ));
            }
        }
    }
    Ok(())
}

/// The rows management requests write: a refused one writes none.
async fn manage_rows(s: &TestServer) -> i64 {
    let mut n = 0;
    for t in [
        "projects",
        "clients",
        "audit_events",
        "webhook_endpoints",
        "webhook_messages",
    ] {
        n += s.count(t).await;
    }
    n
}

#[tokio::test]
async fn every_api_answers_exactly_as_its_document_says() {
    let s = TestServer::start().await;
    let (apis, fixtures) = setup(&s).await;
    let doc: Value = Client::new()
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops = operations(&doc);
    assert_eq!(
        ops.iter().filter(|op| !op.management).count(),
        19,
        "every reference operation is documented"
    );
    assert_eq!(
        ops.iter().filter(|op| op.management).count(),
        23,
        "every management operation is documented"
    );
    let cx = Ctx {
        fx: &fixtures,
        now: s.clock_now(),
        keys: std::cell::Cell::new(0),
    };
    // A fixed seed: a failure is the same failure on the next run.
    let mut runner = TestRunner::new_with_rng(
        Cases::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let token_for = |op: &Op| -> String {
        let base = apis
            .keys()
            .find(|b| op.path.starts_with(b.as_str()))
            .unwrap();
        assert!(!op.scope.is_empty());
        apis[base].token.clone()
    };
    let mut failures = Vec::new();

    // First what must be refused: it must change nothing, so the items the
    // valid requests below use are all still there.
    let rows = s.api_rows().await + manage_rows(&s).await;
    for op in &ops {
        let token = token_for(op);
        let good = valid_request(op, &cx, &mut runner, true);
        for (why, bad) in broken_requests(op, &good, cx.now) {
            let a = send(&s, op, &token, &bad).await;
            if ![400, 422].contains(&a.status) {
                failures.push(format!(
                    "forbidden ({why}) but answered {}: {} {} {:?} {}",
                    a.status, op.method, op.path, bad, a.body
                ));
            } else if let Err(e) = check_documented(op, &bad, &a, &doc) {
                failures.push(e);
            }
        }
    }
    let after = s.api_rows().await + manage_rows(&s).await;
    if after != rows {
        failures.push(format!("refused requests changed {} rows", after - rows));
    }

    // The management API's operations each succeed as documented: with its
    // example body (or none) on the fixtures. Deletions come last below.
    for op in ops
        .iter()
        .filter(|op| op.management && op.method != Method::DELETE)
    {
        if op.body_required && op.example.is_none() {
            failures.push(format!("{} {}: no example body", op.method, op.path));
            continue;
        }
        let mut r = valid_request(op, &cx, &mut runner, true);
        r.query.clear();
        r.headers.clear();
        r.body = op.example.clone().map(RawBody::Json);
        let a = send(&s, op, &token_for(op), &r).await;
        let success = op
            .responses
            .keys()
            .filter(|k| k.starts_with('2'))
            .min()
            .unwrap();
        if a.status.to_string() != *success {
            failures.push(format!(
                "the documented example did not succeed: {} {} {:?} -> {} {}",
                op.method, op.path, r, a.status, a.body
            ));
        } else if let Err(e) = check_documented(op, &r, &a, &doc) {
            failures.push(e);
        }
    }

    // Then what the schema allows: never refused as malformed. Deletions
    // last, once each with a real id, then again (404).
    let allowed = |op: &Op, r: &Request, a: &Answer| -> Option<String> {
        if [400, 422].contains(&a.status) {
            return Some(format!(
                "allowed but refused: {} {} {:?} -> {} {}",
                op.method, op.path, r, a.status, a.body
            ));
        }
        check_documented(op, r, a, &doc).err()
    };
    let (deletions, others): (Vec<&Op>, Vec<&Op>) =
        ops.iter().partition(|op| op.method == Method::DELETE);
    for op in others {
        let token = token_for(op);
        for i in 0..VALID_PER_OP {
            let r = valid_request(op, &cx, &mut runner, i % 4 != 3);
            let a = send(&s, op, &token, &r).await;
            failures.extend(allowed(op, &r, &a));
        }
    }
    for op in deletions {
        let token = token_for(op);
        for real in [true, true, false] {
            let r = valid_request(op, &cx, &mut runner, real);
            let a = send(&s, op, &token, &r).await;
            failures.extend(allowed(op, &r, &a));
        }
    }
    // The gate's own answers are documented too.
    for op in &ops {
        let r = valid_request(op, &cx, &mut runner, true);
        for token in ["", "not-a-token"] {
            let a = send(&s, op, token, &r).await;
            if let Err(e) = check_documented(op, &r, &a, &doc) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} contract mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
