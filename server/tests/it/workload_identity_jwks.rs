//! Workload identity with a pasted JWK Set: a Kubernetes service account
//! token and a SPIFFE JWT-SVID (the IETF SPIFFE client-authentication
//! draft) sign in without a discovery document to fetch.

use reqwest::Client;
use serde_json::json;

use crate::harness::TestServer;
use crate::private_key_jwt::{with_assertion, TestKey};
use crate::workload_identity::{workload_client, GRANT, SCOPE};

const JWT_SPIFFE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";

#[tokio::test]
async fn kubernetes_and_spiffe_workloads_use_a_pasted_jwk_set() {
    let s = TestServer::start().await;
    let owner = s.owner("k8s@example.com").await;
    let project = s.create_project(&owner, "Cluster", "partner").await;
    let cluster = TestKey::es256(Some("cluster-1"));
    let cluster_jwks = json!({ "keys": [cluster.jwk] }).to_string();
    let k8s_issuer = "https://kubernetes.default.svc.cluster.local";
    // A path under this server's issuer: the audience names it.
    let aud = format!("{}/workloads", s.base);
    let (status, made) = workload_client(
        &s,
        &owner,
        &project,
        &[
            ("preset", "kubernetes"),
            ("issuer", k8s_issuer),
            ("jwks", &cluster_jwks),
            ("audience", aud.as_str()),
        ],
        &[("sub", "system:serviceaccount:payments:*")],
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let id = made["client"]["id"].as_str().unwrap().to_owned();
    let now = s.clock_now();
    // A projected service-account token (TokenRequest API), an hour long.
    let projected = |namespace: &str| {
        json!({ "iss": k8s_issuer, "aud": [aud],
            "sub": format!("system:serviceaccount:{namespace}:sync"),
            "kubernetes.io": { "namespace": namespace, "serviceaccount": { "name": "sync", "uid": "5e1f" },
                "pod": { "name": "sync-7d9", "uid": "a3c0" } },
            "iat": now, "nbf": now, "exp": now + 3600, "jti": "k8s-1" })
    };
    let token_url = s.url("/oauth/token");
    let (status, body) = with_assertion(
        &token_url,
        Some(&id),
        &cluster.sign(&projected("payments")),
        &[GRANT, SCOPE],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = with_assertion(
        &token_url,
        Some(&id),
        &cluster.sign(&projected("billing")),
        &[GRANT, SCOPE],
    )
    .await;
    assert_eq!(status, 401, "another namespace's service account");

    // A SPIFFE JWT-SVID: no iss needed with a pasted trust bundle, sent
    // with draft-ietf-oauth-spiffe-client-auth's assertion type.
    let bundle = TestKey::es256(Some("spire-1"));
    let mut svid_key = bundle.jwk.clone();
    svid_key["use"] = json!("jwt-svid");
    let bundle_json =
        json!({ "spiffe_sequence": 7, "spiffe_refresh_hint": 300, "keys": [svid_key] }).to_string();
    let (status, made) = workload_client(
        &s,
        &owner,
        &project,
        &[
            ("preset", "spiffe"),
            // As SPIRE's trust bundle endpoint serves it.
            ("jwks", &bundle_json),
            ("audience", aud.as_str()),
        ],
        &[("sub", "spiffe://acme.example/ns/payments/sa/sync")],
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let spiffe_id = made["client"]["id"].as_str().unwrap().to_owned();
    let svid = bundle.sign(&json!({ "sub": "spiffe://acme.example/ns/payments/sa/sync",
        "aud": [aud], "exp": now + 300, "iat": now }));
    let post = |kind: &'static str, client: String, token: String| {
        let url = token_url.clone();
        async move {
            Client::new()
                .post(&url)
                .form(&[
                    ("client_assertion_type", kind),
                    ("client_assertion", &token),
                    ("client_id", &client),
                    GRANT,
                    SCOPE,
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post(JWT_SPIFFE, spiffe_id.clone(), svid.clone()).await, 200);
    // The SVID of another workload of the trust domain is refused.
    let other = bundle.sign(
        &json!({ "sub": "spiffe://acme.example/ns/payments/sa/admin",
        "aud": [aud], "exp": now + 300, "iat": now }),
    );
    assert_eq!(post(JWT_SPIFFE, spiffe_id.clone(), other).await, 401);
    // jwt-spiffe is for SPIFFE trusts only.
    assert_eq!(
        post(JWT_SPIFFE, id.clone(), cluster.sign(&projected("payments"))).await,
        401
    );
    // jwt-spiffe is for workload clients only.
    let signer = TestKey::es256(Some("k"));
    let keyed = s.create_project(&owner, "Keyed", "partner").await;
    let key_client = crate::private_key_jwt::key_client(
        &s,
        &owner,
        &keyed,
        &["applications:read"],
        &signer.jwk.to_string(),
    )
    .await;
    let key_id = key_client["client"]["id"].as_str().unwrap().to_owned();
    let assertion = signer.sign(&crate::private_key_jwt::claims(&key_id, &s.base, now));
    assert_eq!(post(JWT_SPIFFE, key_id, assertion).await, 401);
    // A workload client holds nothing to rotate.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_rotate",
            &[("client_id".to_owned(), id.clone())],
        )
        .await;
    assert_eq!(status, 409, "{body}");
}
