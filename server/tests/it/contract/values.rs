//! Values from the document's schemas: what each allows and every way to
//! break it (the `x-rules` are in `rules.rs`).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

pub(super) fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the document holds a broken schema ({e}): {schema}"))
}

/// Values `schema` allows (the subset of JSON Schema the document uses; a
/// keyword this does not know fails the test, so the two stay in step).
pub(super) fn valid(schema: &Value) -> BoxedStrategy<Value> {
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
    // A nullable value (`"type": [T, "null"]`): null, or a valid T.
    if let Some(types) = schema["type"].as_array() {
        let other: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        if types.len() == 2 && other.len() == 1 {
            let mut inner = schema.clone();
            inner["type"] = other[0].clone();
            return prop_oneof![Just(Value::Null), valid(&inner)].boxed();
        }
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

pub(super) fn string(schema: &Value) -> BoxedStrategy<Value> {
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

pub(super) fn object(schema: &Value) -> BoxedStrategy<Value> {
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
pub(super) fn broken(schema: &Value, good: &Value) -> Vec<(String, Value)> {
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
pub(super) fn rules(schema: &Value) -> Vec<Value> {
    schema["x-rules"].as_array().cloned().unwrap_or_default()
}

/// A webhook target the `webhook-target` rule allows (public https; the
/// test server does not allow private targets).
pub(super) fn public_url() -> BoxedStrategy<Value> {
    proptest::string::string_regex(
        "https://[a-z][a-z0-9-]{0,12}(\\.[a-z][a-z0-9-]{0,12}){0,2}\\.example\\.com(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]{0,12}){0,3}(\\?[a-z]{1,5}=[a-z0-9]{0,5})?",
    )
    .unwrap()
    .prop_map(Value::from)
    .boxed()
}

/// RFC 8037's Ed25519 example and RFC 7638's RSA example: public keys.
pub(super) const ED25519: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
pub(super) const RSA: &str = r#"{"kty":"RSA","e":"AQAB","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#;
/// RFC 7515 A.3's P-256 key, as a JWK and as PEM.
pub(super) const P256: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
/// A P-256 public key as PEM (SubjectPublicKeyInfo): RFC 7515 A.3's key.
const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n-----END PUBLIC KEY-----";

/// Public keys the `public-key` rule allows: one or two, as a JWK, a JWK
/// Set or PEM.
pub(super) fn public_key() -> BoxedStrategy<Value> {
    proptest::sample::select(vec![
        ED25519.to_owned(),
        RSA.to_owned(),
        P256_PEM.to_owned(),
        format!("{{\"keys\":[{ED25519},{RSA}]}}"),
    ])
    .prop_map(Value::from)
    .boxed()
}

/// A workload trust the `workload` rule allows: static keys (nothing this
/// test serves is an issuer the test server may discover), a Kubernetes-
/// or SPIFFE-shaped condition. `n` varies it.
pub(super) fn workload_sample(n: u32, audience: &str) -> Value {
    let key: Value =
        serde_json::from_str(if n.is_multiple_of(2) { ED25519 } else { P256 }).unwrap();
    let (preset, sub) = match n % 3 {
        0 => ("kubernetes", format!("system:serviceaccount:ns{n}:*")),
        1 => ("spiffe", format!("spiffe://acme.example/ns/n{n}/sa/sync")),
        _ => ("custom", format!("job-{n}")),
    };
    json!({ "preset": preset, "issuer": format!("https://issuer{n}.example.com"),
        "jwks": { "keys": [key] }, "audience": audience,
        "conditions": { "sub": sub } })
}

pub(super) fn sample<T: std::fmt::Debug>(runner: &mut TestRunner, s: &BoxedStrategy<T>) -> T {
    s.new_tree(runner).unwrap().current()
}

pub(super) fn param_schema(p: &Value) -> &Value {
    &p["schema"]
}
