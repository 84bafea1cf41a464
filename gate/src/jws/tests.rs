use super::*;
use serde_json::json;

/// RFC 7638 §3.1's example key and its thumbprint.
#[test]
fn the_rfc_7638_example_thumbprint() {
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    let key = PublicJwk::from_jwk(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!((key.alg(), key.kid()), (JwsAlg::RS256, Some("2011-04-29")));
}

/// RFC 8037 Appendix A.3: the Ed25519 example's thumbprint.
#[test]
fn the_rfc_8037_example_thumbprint() {
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
    let key = PublicJwk::from_jwk(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert_eq!(key.alg(), JwsAlg::EdDSA);
}

#[test]
fn private_symmetric_weak_and_mismatched_keys_are_refused() {
    let ed = json!({ "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
    let mut private = ed.clone();
    private["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    let mut wrong_alg = ed.clone();
    wrong_alg["alg"] = json!("ES256");
    let mut enc = ed.clone();
    enc["use"] = json!("enc");
    let small_rsa = json!({ "kty": "RSA", "e": "AQAB", "n": B64URL.encode([0xC5u8; 128]) });
    let off_curve = json!({ "kty": "EC", "crv": "P-256",
            "x": B64URL.encode([1u8; 32]), "y": B64URL.encode([2u8; 32]) });
    assert!(PublicJwk::from_jwk(&off_curve)
        .unwrap()
        .check_usable()
        .is_err());
    for bad in [
        private,
        wrong_alg,
        enc,
        small_rsa,
        json!({ "kty": "oct", "k": "c2VjcmV0" }),
        json!({ "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA" }),
        json!({ "kty": "RSA" }),
        json!("not an object"),
    ] {
        assert!(PublicJwk::from_jwk(&bad).is_err(), "{bad}");
    }
}

#[test]
fn a_header_cannot_choose_the_algorithm_or_be_critical() {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    use signature::KeyPair;
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519",
            "x": B64URL.encode(pair.public_key().as_ref()) });
    let key = PublicJwk::from_jwk(&jwk).unwrap();
    let sign = |header: Value| {
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(b"{}")
        );
        format!("{input}.{}", B64URL.encode(pair.sign(input.as_bytes())))
    };
    let good = sign(json!({ "alg": "EdDSA" }));
    assert!(CompactJws::parse(&good).unwrap().verified_by(&key));
    for alg in ["none", "HS256", "ES256"] {
        let token = sign(json!({ "alg": alg }));
        assert!(
            !CompactJws::parse(&token).unwrap().verified_by(&key),
            "{alg}"
        );
    }
    let critical = sign(json!({ "alg": "EdDSA", "crit": ["exp"], "exp": 1 }));
    assert_eq!(CompactJws::parse(&critical).err(), Some(BadJws::Critical));
    let (head, _) = good.rsplit_once('.').unwrap();
    assert!(!CompactJws::parse(&format!("{head}.AAAA"))
        .unwrap()
        .verified_by(&key));
}
