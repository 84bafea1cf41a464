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

use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, RngAlgorithm, TestRng, TestRunner};
use reqwest::{Client, Method};
use serde_json::{Map, Value};

use crate::harness::*;

/// Generated valid requests per operation; each breaking mutation of one
/// of them is sent too.
const VALID_PER_OP: usize = 24;

mod broken;
mod fixtures;
mod rules;
mod values;

use broken::broken_requests;
use fixtures::{setup, Fixtures};
use rules::*;
use values::*;

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
            // One of the documented media types (an export offers two),
            // compared without parameters (`text/csv; charset=utf-8`).
            let essence = a
                .content_type
                .as_deref()
                .and_then(|c| c.split(';').next())
                .map(str::trim);
            let Some((ct, media)) = content
                .as_object()
                .unwrap()
                .iter()
                .find(|(ct, _)| Some(ct.as_str()) == essence)
            else {
                return Err(format!(
                    "content type {:?}, documented {:?}: {}",
                    a.content_type,
                    content.as_object().unwrap().keys().collect::<Vec<_>>(),
                    what()
                ));
            };
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
        31,
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
