//! The document's `x-rules` (what a schema alone cannot say: one field
//! before another, a time in the future, a key of a given kind), kept by
//! a generated body or broken on purpose.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

use super::values::*;

/// Makes a generated body keep its `x-rules`.
pub(super) fn keep_rules(schema: &Value, body: &mut Value, now: i64, runner: &mut TestRunner) {
    for rule in rules(schema) {
        let field = rule["field"].as_str().unwrap();
        // Of the field and `other`, keep the field (with a placeholder the
        // field's own rule replaces) and drop the other.
        if let "at-most-one" | "exactly-one" = rule["rule"].as_str().unwrap() {
            let other = rule["other"].as_str().unwrap();
            if rule["rule"] == "exactly-one" && body.get(field).is_none() {
                body[field] = json!("");
            }
            if body.get(field).is_some() {
                body.as_object_mut().unwrap().remove(other);
            }
            continue;
        }
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
            "public-key" => body[field] = sample(runner, &public_key()),
            "workload" => {
                assert_eq!(rule["private_targets"], false, "the test server's setting");
                let audience = rule["audience"].as_str().unwrap();
                body[field] = workload_sample(sample(runner, &(0u32..1000).boxed()), audience);
            }
            // The whole body is the trust.
            "workload-trust" => {
                assert_eq!(rule["private_targets"], false, "the test server's setting");
                let audience = rule["audience"].as_str().unwrap();
                *body = workload_sample(sample(runner, &(0u32..1000).boxed()), audience);
            }
            // No URL this test could serve is one the test server may
            // fetch (it allows public https only): go without.
            "jwks-uri" => {
                assert_eq!(rule["private_targets"], false, "the test server's setting");
                body.as_object_mut().unwrap().remove(field);
            }
            other => panic!("the contract test does not know the rule {other:?}"),
        }
    }
}

/// Each way to break a body's `x-rules` (the schema allows all of them).
pub(super) fn break_rules(schema: &Value, good: &Value, now: i64) -> Vec<(String, Value)> {
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
            "at-most-one" | "exactly-one" => {
                let other = rule["other"].as_str().unwrap();
                let mut both = good.clone();
                let audience = rules(schema)
                    .iter()
                    .find_map(|r| r["audience"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let some = |name: &str| match name {
                    "public_keys" => json!(ED25519),
                    "workload" => workload_sample(7, &audience),
                    _ => json!("https://keys.example.com/jwks.json"),
                };
                both[field] = some(field);
                both[other] = some(other);
                out.push((format!("both {field} and {other}"), both));
                if rule["rule"] == "exactly-one" {
                    let mut neither = good.clone();
                    neither.as_object_mut().unwrap().remove(field);
                    neither.as_object_mut().unwrap().remove(other);
                    out.push((format!("neither {field} nor {other}"), neither));
                }
            }
            "jwks-uri" => {
                for url in [
                    "http://keys.example.com/jwks.json",
                    "keys.example.com/jwks.json",
                    "https://localhost/jwks.json",
                    "https://10.0.0.7/jwks.json",
                    "https://169.254.169.254/latest",
                    "https://[::1]/jwks.json",
                ] {
                    let mut b = good.clone();
                    b[field] = json!(url);
                    b.as_object_mut().unwrap().remove("public_keys");
                    out.push((format!("{field}: {url}"), b));
                }
            }
            "workload" | "workload-trust" => {
                let whole = rule["rule"] == "workload-trust";
                // Broken in a body that is otherwise a good workload client.
                let mut base = good.clone();
                if !whole {
                    let b = base.as_object_mut().unwrap();
                    b.remove("public_keys");
                    b.remove("jwks_uri");
                }
                let trust = if whole {
                    good.clone()
                } else {
                    good.get("workload")
                        .cloned()
                        .unwrap_or_else(|| workload_sample(3, rule["audience"].as_str().unwrap()))
                };
                let mut cases: Vec<(&str, Value)> = Vec::new();
                let with_trust = |f: &dyn Fn(&mut Value)| {
                    let mut t = trust.clone();
                    f(&mut t);
                    t
                };
                cases.push(("no condition", with_trust(&|t| t["conditions"] = json!({}))));
                cases.push((
                    "a condition of *",
                    with_trust(&|t| t["conditions"] = json!({ "sub": "*" })),
                ));
                cases.push((
                    "a bad claim name",
                    with_trust(&|t| t["conditions"] = json!({ "s b": "x" })),
                ));
                cases.push((
                    "neither issuer nor keys",
                    with_trust(&|t| {
                        t.as_object_mut().unwrap().remove("jwks");
                        t["issuer"] = json!("");
                    }),
                ));
                cases.push((
                    "an issuer on a private address",
                    with_trust(&|t| {
                        t.as_object_mut().unwrap().remove("jwks");
                        t["issuer"] = json!("https://10.0.0.7/issuer");
                    }),
                ));
                cases.push((
                    "a JWK Set without a usable key",
                    with_trust(&|t| {
                        t["jwks"] = json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] });
                    }),
                ));
                cases.push((
                    "GitHub without a repository",
                    with_trust(&|t| {
                        t["issuer"] = json!("https://token.actions.githubusercontent.com");
                        t["conditions"] = json!({ "ref": "refs/heads/main" });
                    }),
                ));
                cases.push((
                    "the audience of another service",
                    with_trust(&|t| t["audience"] = json!("sts.amazonaws.com")),
                ));
                cases.push((
                    "a prefix of an owner's name on GitHub",
                    with_trust(&|t| {
                        t["issuer"] = json!("https://token.actions.githubusercontent.com");
                        t["conditions"] = json!({ "repository": "acme*" });
                    }),
                ));
                cases.push((
                    "an unknown preset",
                    with_trust(&|t| t["preset"] = json!("jenkins")),
                ));
                for (what, t) in cases {
                    let b = if whole {
                        t
                    } else {
                        let mut b = base.clone();
                        b["workload"] = t;
                        b
                    };
                    out.push((format!("{field}: {what}"), b));
                }
            }
            "public-key" => {
                let mut private = serde_json::from_str::<Value>(ED25519).unwrap();
                private["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
                for (what, key) in [
                    ("a private key", private.to_string()),
                    (
                        "a symmetric key",
                        r#"{"kty":"oct","k":"c2VjcmV0"}"#.to_owned(),
                    ),
                    (
                        "a P-384 key",
                        r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#.to_owned(),
                    ),
                    (
                        "a 1024-bit RSA key",
                        json!({ "kty": "RSA", "e": "AQAB", "n": "xQ".repeat(85) }).to_string(),
                    ),
                    ("the same key twice", format!("[{ED25519},{ED25519}]")),
                    ("three keys", format!("[{ED25519},{RSA},{P256}]")),
                    (
                        "a PEM private key",
                        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".to_owned(),
                    ),
                    ("no key", "hello".to_owned()),
                ] {
                    out.push((format!("{field}: {what}"), with(json!(key))));
                }
            }
            other => panic!("the contract test does not know the rule {other:?}"),
        }
    }
    out
}
