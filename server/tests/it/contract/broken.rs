//! Requests the document forbids, made from a valid one: each broken
//! field of the body and the query, one at a time.

use serde_json::{json, Value};

use super::rules::*;
use super::values::*;
use super::{Op, RawBody, Request};

/// Every way to break `good`'s body and query that the document forbids.
pub(super) fn broken_requests(op: &Op, good: &Request, now: i64) -> Vec<(String, Request)> {
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
