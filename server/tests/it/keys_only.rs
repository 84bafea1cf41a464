//! A keys-only project over real HTTP: no secret can be made in it, a
//! secret stops working, and its tokens come only DPoP-bound (RFC 9449
//! §5.2's `dpop_bound_access_tokens`, for the whole project). Assertions
//! and proofs are built with `jsonwebtoken`.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::dpop::proof;
use crate::harness::{client_form, manage_call, TestServer};
use crate::private_key_jwt::{claims, key_client, TestKey, JWT_BEARER};

#[tokio::test]
async fn a_keys_only_project_holds_no_secret_and_mints_only_dpop_bound_tokens() {
    let s = TestServer::start().await;
    let owner = s.owner("keys-only@example.com").await;
    let (project, secret_client) = s
        .api_client(&owner, "Lender feed", "partner", &["applications:read"])
        .await;
    let toggle = |on: bool| {
        vec![
            ("id".to_owned(), project.clone()),
            ("keys_only".to_owned(), on.to_string()),
        ]
    };

    // A live secret blocks the switch, and the answer names it.
    let (status, body) = s
        .call(&owner.browser, "project_keys_only", &toggle(true))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains(&secret_client.id), "{body}");
    let (_, overview) = s
        .call(&owner.browser, "projects", &Vec::<(String, String)>::new())
        .await;
    let row = overview["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == project.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (row["secret_clients"].as_i64(), row["keys_only"].as_bool()),
        (Some(1), Some(false))
    );

    // The move: a key client beside it, then the secret client retired.
    let key = TestKey::es256(Some("lender-1"));
    let made = key_client(
        &s,
        &owner,
        &project,
        &["applications:read"],
        &key.jwk.to_string(),
    )
    .await;
    let key_id = made["client"]["id"].as_str().unwrap().to_owned();
    let (status, body) = s
        .call(
            &owner.browser,
            "client_retire",
            &[("client_id".to_owned(), secret_client.id.clone())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .call(&owner.browser, "project_keys_only", &toggle(true))
        .await;
    assert_eq!(status, 200, "{body}");

    // No secret can be made in it: neither a new client nor a rotation.
    let form = client_form(&project, "Secret", &["applications:read"]);
    let (status, body) = s.call(&owner.browser, "client_create", &form).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("keys only"), "{body}");

    // Its key client gets a token only with a DPoP proof, and it is bound.
    let token_url = s.url("/oauth/token");
    let now = s.clock_now();
    let ask = |dpop: Option<String>| {
        let assertion = key.sign(&claims(&key_id, &s.base, now));
        let (url, id) = (token_url.clone(), key_id.clone());
        async move {
            let mut req = Client::new().post(&url).form(&[
                ("grant_type", "client_credentials"),
                ("scope", "applications:read"),
                ("client_id", id.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.as_str()),
            ]);
            if let Some(p) = dpop {
                req = req.header("DPoP", p);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = ask(None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(
        body["error_description"].as_str().unwrap().contains("DPoP"),
        "{body}"
    );
    let holder = TestKey::es256(None);
    let (status, body) = ask(Some(proof(&holder, "POST", &token_url, None, now))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    // The console cannot mint an unbound test token for it either.
    let (status, body) = s
        .call(
            &owner.browser,
            "client_test_token",
            &[
                ("client_id".to_owned(), key_id.clone()),
                ("scopes[0]".to_owned(), "applications:read".to_owned()),
            ],
        )
        .await;
    assert_ne!(status, 200, "{body}");

    // The management API reads and changes the same setting.
    let (_, manage) = s
        .api_client(
            &owner,
            "Automation",
            "manage",
            &["manage:projects:read", "manage:projects:write"],
        )
        .await;
    let token = s
        .access_token(&manage, "manage:projects:read manage:projects:write")
        .await;
    let (status, answer) = manage_call(
        &s.base,
        &token,
        Method::GET,
        &format!("/projects/{project}"),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["keys_only"].as_bool()),
        (200, Some(true)),
        "{answer}"
    );
    let (status, answer) = manage_call(
        &s.base,
        &token,
        Method::POST,
        &format!("/projects/{project}/keys-only"),
        Some(json!({ "keys_only": false })),
    )
    .await;
    assert_eq!(
        (status, answer["keys_only"].as_bool()),
        (200, Some(false)),
        "{answer}"
    );
    let (status, body) = ask(None).await;
    assert_eq!(status, 200, "unbound tokens again: {body}");
    let (_, log) = s
        .call(
            &owner.browser,
            "audit",
            &[("action".to_owned(), "project.keys_only".to_owned())],
        )
        .await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 2, "{log}");
}
