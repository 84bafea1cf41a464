use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use super::*;

const ISSUER: &str = "https://issuer.example";

/// An ES256 key pair and its JWK Set entry.
fn key(kid: &str) -> (EcdsaKeyPair, Value) {
    let rng = SystemRandom::new();
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({ "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..]) });
    (pair, jwk)
}

fn claims() -> Value {
    json!({ "iss": ISSUER, "sub": "pcl_1", "client_id": "pcl_1", "aud": "https://issuer.example/partner/v1",
            "iat": 1_000, "exp": 1_900, "jti": "tok_1", "scope": "applications:read decisions:read",
            "account_id": "acc_1", "project_id": "prj_1" })
}

fn sign(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", B64URL.encode(sig.as_ref()))
}

fn header(kid: &str) -> Value {
    json!({ "alg": "ES256", "typ": "at+jwt", "kid": kid })
}

fn keys(jwks: Value) -> KeySet {
    KeySet::from_jwks(&jwks).unwrap()
}

#[test]
fn a_token_signed_by_a_published_key_verifies() {
    let (pair, jwk) = key("k1");
    let set = keys(json!({ "keys": [jwk] }));
    let c = verify(&sign(&pair, &header("k1"), &claims()), &set, ISSUER).unwrap();
    assert_eq!((c.jti.as_str(), c.exp), ("tok_1", 1_900));
    assert!(c.has_scope("decisions:read"));
    assert!(
        !c.has_scope("decisions"),
        "scopes match whole, never by prefix"
    );
}

#[test]
fn a_critical_header_is_refused() {
    let (pair, jwk) = key("k1");
    let set = keys(json!({ "keys": [jwk] }));
    let mut h = header("k1");
    h["crit"] = json!(["exp"]);
    h["exp"] = json!(1);
    assert_eq!(
        verify(&sign(&pair, &h, &claims()), &set, ISSUER).err(),
        Some(Rejected::Malformed)
    );
}

#[test]
fn what_is_refused_and_why() {
    let (pair, jwk) = key("k1");
    let (other, _) = key("k1");
    let set = keys(json!({ "keys": [jwk] }));
    let good = sign(&pair, &header("k1"), &claims());
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("https://elsewhere.example");
    let (h, rest) = good.split_once('.').unwrap();
    let (_, s) = rest.rsplit_once('.').unwrap();
    let mut more = claims();
    more["scope"] = json!("applications:read applications:write");
    let swapped = format!("{h}.{}.{s}", B64URL.encode(more.to_string()));
    for (token, why) in [
        (String::new(), Rejected::Malformed),
        ("a.b".into(), Rejected::Malformed),
        ("a.b.c.d".into(), Rejected::Malformed),
        ("!!.??.##".into(), Rejected::Malformed),
        (swapped, Rejected::BadSignature),
        (
            sign(&other, &header("k1"), &claims()),
            Rejected::BadSignature,
        ),
        (
            sign(&pair, &header("k1"), &wrong_iss),
            Rejected::BadSignature,
        ),
        (
            sign(&pair, &json!({ "alg": "ES256", "kid": "k1" }), &claims()),
            Rejected::BadSignature,
        ),
        (
            sign(
                &pair,
                &json!({ "alg": "ES256", "typ": "JWT", "kid": "k1" }),
                &claims(),
            ),
            Rejected::BadSignature,
        ),
        (
            sign(
                &pair,
                &json!({ "alg": "ES256", "typ": "at+jwt" }),
                &claims(),
            ),
            Rejected::BadSignature,
        ),
        (
            sign(
                &pair,
                &json!({ "alg": "none", "typ": "at+jwt", "kid": "k1" }),
                &claims(),
            ),
            Rejected::BadSignature,
        ),
        (
            sign(
                &pair,
                &json!({ "alg": "RS256", "typ": "at+jwt", "kid": "k1" }),
                &claims(),
            ),
            Rejected::BadSignature,
        ),
        (sign(&pair, &header("k2"), &claims()), Rejected::UnknownKey),
    ] {
        assert_eq!(verify(&token, &set, ISSUER).unwrap_err(), why, "{token}");
    }
}

#[test]
fn time_checks_have_their_leeway_and_no_more() {
    let c: Claims = serde_json::from_value(claims()).unwrap();
    assert_eq!(check_time(&c, 1_899, 0), Ok(()));
    assert_eq!(check_time(&c, 1_900, 0), Err(Rejected::Expired));
    assert_eq!(check_time(&c, 1_904, 5), Ok(()));
    assert_eq!(check_time(&c, 1_905, 5), Err(Rejected::Expired));
    // Issued ahead of this clock: up to the leeway only.
    assert_eq!(check_time(&c, 1_000 - CLOCK_LEEWAY_SECS, 0), Ok(()));
    assert_eq!(
        check_time(&c, 1_000 - CLOCK_LEEWAY_SECS - 1, 0),
        Err(Rejected::NotYetValid)
    );
    let mut later = c.clone();
    later.nbf = Some(1_500);
    assert_eq!(check_time(&later, 1_400, 0), Err(Rejected::NotYetValid));
    assert_eq!(check_time(&later, 1_470, 0), Ok(()));
}

#[test]
fn a_jwk_set_keeps_the_keys_it_can_use() {
    let (_, jwk) = key("k1");
    let set = keys(json!({ "keys": [
            jwk,
            { "kty": "oct", "kid": "sym", "alg": "HS256", "k": "c2VjcmV0" },
            { "kty": "EC", "kid": "no-x", "alg": "ES256", "y": "AA" },
            { "kty": "EC", "alg": "ES256", "x": "AA", "y": "AA" },
        ] }));
    assert_eq!(set.len(), 1);
    // The key's type, curve and use must fit its algorithm.
    let (_, good) = key("k2");
    for (member, value) in [("kty", "RSA"), ("crv", "P-384"), ("use", "enc")] {
        let mut bad = good.clone();
        bad[member] = json!(value);
        assert!(VerifyingKey::from_jwk(&bad).is_err(), "{member}: {value}");
    }
    let mut no_crv = good.clone();
    no_crv.as_object_mut().unwrap().remove("crv");
    assert!(VerifyingKey::from_jwk(&no_crv).is_err());
    assert!(VerifyingKey::from_jwk(&good).is_ok());
    assert!(set.get("k1").is_some_and(|k| k.alg == Alg::ES256));
    assert!(KeySet::from_jwks(&json!({ "key": [] })).is_err());
    assert!(keys(json!({ "keys": [] })).is_empty());
}
