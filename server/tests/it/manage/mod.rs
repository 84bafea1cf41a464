//! The management API (`/manage/v1`) on our own tokens: an owner makes a
//! management client; its token creates projects and clients, rotates and
//! retires, reads the audit log and members, always in its own account and
//! never beyond its scopes or a developer's rights.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::harness::*;

pub(crate) const ALL: &str = "manage:projects:read manage:projects:write manage:clients:write \
                   manage:clients:delete manage:audit:read manage:members:read";

pub(crate) async fn call(
    s: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    manage_call(&s.base, token, method, path, body).await
}

/// An owner with a management client holding every manage scope.
async fn management_client(s: &TestServer, email: &str) -> (Owner, Creds) {
    let owner = s.owner(email).await;
    let scopes: Vec<&str> = ALL.split(' ').collect();
    let (_, creds) = s
        .api_client(&owner, "Deploy pipeline", "manage", &scopes)
        .await;
    (owner, creds)
}

#[tokio::test]
async fn a_pipeline_creates_rotates_and_retires_through_the_management_api() {
    let s = TestServer::start().await;
    let (owner, mc) = management_client(&s, "owner@example.com").await;
    let token = s.access_token(&mc, ALL).await;
    let (_, claims) = decode_jwt(&token);
    assert_eq!(claims["aud"], format!("{}/manage/v1", s.base));

    let (status, project) = call(
        &s,
        &token,
        Method::POST,
        "/projects",
        Some(json!({ "name": "Loan intake", "api_id": "partner" })),
    )
    .await;
    assert_eq!(status, 201, "{project}");
    let project_id = project["id"].as_str().unwrap().to_owned();
    let (status, made) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/clients"),
        Some(json!({ "name": "Primary", "scopes": ["applications:read"] })),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let first = Creds {
        id: made["client"]["id"].as_str().unwrap().into(),
        secret: made["client_secret"].as_str().unwrap().into(),
    };
    assert_eq!(
        s.token_basic(&first, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );

    let (status, rotated) = call(
        &s,
        &token,
        Method::POST,
        &format!("/clients/{}/rotate", first.id),
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let second = Creds {
        id: rotated["client"]["id"].as_str().unwrap().into(),
        secret: rotated["client_secret"].as_str().unwrap().into(),
    };
    assert_eq!(rotated["client"]["scopes"], json!(["applications:read"]));
    let (status, retired) = call(
        &s,
        &token,
        Method::POST,
        &format!("/clients/{}/retire", first.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(retired["status"], "disabled");
    assert_eq!(
        s.token_basic(&first, &[("scope", "applications:read")])
            .await
            .status(),
        401
    );
    assert_eq!(
        s.token_basic(&second, &[("scope", "applications:read")])
            .await
            .status(),
        200
    );

    // Narrow, never widen; schedule a retirement and cancel it; delete
    // the retired one; settings and the bucket; archive.
    let second_path = format!("/clients/{}", second.id);
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("{second_path}/narrow"),
        Some(json!({ "scopes": ["applications:read", "decisions:read"] })),
    )
    .await;
    assert_eq!(status, 409, "never widened: {body}");
    let later = s.clock_now() + 3600;
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("{second_path}/retire"),
        Some(json!({ "at": later })),
    )
    .await;
    assert_eq!(
        (status, body["retire_at"].as_i64()),
        (200, Some(later)),
        "{body}"
    );
    let (status, _) = call(
        &s,
        &token,
        Method::POST,
        &format!("{second_path}/keep"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &s,
        &token,
        Method::DELETE,
        &format!("/clients/{}", second.id),
        None,
    )
    .await;
    assert_eq!(
        status, 409,
        "a live client is not deleted: a state conflict"
    );
    let (status, _) = call(
        &s,
        &token,
        Method::DELETE,
        &format!("/clients/{}", first.id),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}"),
        Some(json!({ "name": "Loan intake (prod)", "token_ttl_secs": 900 })),
    )
    .await;
    assert_eq!(
        (status, body["token_ttl_secs"].as_i64()),
        (200, Some(900)),
        "{body}"
    );
    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/rate-limit"),
        Some(json!({ "per_sec": 50, "burst": 100 })),
    )
    .await;
    assert_eq!(
        (status, body["rate_burst"].as_i64()),
        (200, Some(100)),
        "{body}"
    );

    // Reads never show a secret.
    let (status, detail) = call(
        &s,
        &token,
        Method::GET,
        &format!("/projects/{project_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["clients"].as_array().unwrap().len(), 1);
    assert!(!detail.to_string().contains(&second.secret));
    let (_, list) = call(&s, &token, Method::GET, "/projects", None).await;
    assert_eq!(list["projects"].as_array().unwrap().len(), 2, "{list}");

    // The audit log names the management client; members are listed.
    let (status, log) = call(&s, &token, Method::GET, "/audit?action=client.rotate", None).await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(
        log["entries"][0]["actor"],
        format!("management client {}", mc.id)
    );
    let (_, members) = call(&s, &token, Method::GET, "/members", None).await;
    assert_eq!(members["members"][0]["email"], "owner@example.com");
    // The owner sees the same in the console.
    let (_, console_log) = s
        .call(&owner.browser, "audit", &[("action", "client.create")])
        .await;
    assert!(console_log
        .to_string()
        .contains(&format!("management client {}", mc.id)));

    let (status, body) = call(
        &s,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/archive"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["archived_at"].is_i64());
    assert_eq!(
        s.token_basic(&second, &[("scope", "applications:read")])
            .await
            .status(),
        401
    );
}

mod bounds;
mod contract;
