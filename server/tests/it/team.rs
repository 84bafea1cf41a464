//! Invitations, roles and removal.

use serde_json::Value;

use crate::harness::{client_form, TestServer, PASSWORD};

fn token_of(link: &str) -> String {
    link.split_once("/join#").unwrap().1.to_owned()
}

/// Joins with the invitation and, when that worked, logs in (joining
/// starts no session: its answer is the same for emails with a sign-in).
async fn join(s: &TestServer, token: &str, email: &str) -> (reqwest::Client, u16, Value) {
    let browser = s.browser();
    let (status, body) = s
        .call(
            &browser,
            "join",
            &[("token", token), ("email", email), ("password", PASSWORD)],
        )
        .await;
    if status == 200 {
        let res = s.log_in(&browser, email, PASSWORD).await;
        assert_eq!(res.status(), 200);
    }
    (browser, status, body)
}

#[tokio::test]
async fn an_invitation_works_once_and_gives_its_role() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let (status, inv) = s
        .call(&owner.browser, "team_invite", &[("role", "developer")])
        .await;
    assert_eq!(status, 200, "{inv}");
    let link = inv["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/join#", s.base)), "{link}");
    let token = token_of(link);
    // Only a hash is stored.
    let (hash,): (String,) = sqlx::query_as("select token_hash from invites")
        .fetch_one(&s.db)
        .await
        .unwrap();
    assert_ne!(hash, token);
    assert_eq!(hash.len(), 64);

    let (status, preview) = s
        .call(&s.browser(), "invite_preview", &[("token", token.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(preview["account_name"], "Org of owner@example.com");
    assert_eq!(preview["role"], "developer");

    let (dev, status, body) = join(&s, &token, "dev@example.com").await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = s.me(&dev).await;
    assert_eq!(
        (me["role"].as_str(), me["account_name"].as_str()),
        (Some("developer"), Some("Org of owner@example.com"))
    );
    // A developer manages projects and clients...
    let project = s
        .create_project(
            &crate::harness::Owner {
                browser: dev.clone(),
            },
            "Dev project",
            "partner",
        )
        .await;
    let (status, _) = s
        .call(
            &dev,
            "client_create",
            &client_form(&project, "C", &["applications:read"]),
        )
        .await;
    assert_eq!(status, 200);
    // ...but not the team.
    for (name, form) in [
        ("team_invite", vec![("role", "viewer")]),
        ("team_remove", vec![("user_id", "usr_x")]),
    ] {
        let (status, _) = s.call(&dev, name, &form).await;
        assert_eq!(status, 403, "{name}");
    }
    let (_, view) = s.call(&dev, "team", &[] as &[(&str, &str)]).await;
    assert_eq!(view["can_manage"], false);
    assert_eq!(view["invites"], serde_json::json!([]));
    assert_eq!(view["members"].as_array().unwrap().len(), 2);

    // The link is spent.
    let (_, status, body) = join(&s, &token, "second@example.com").await;
    assert_eq!((status, body["field"].as_str()), (422, Some("token")));
    assert_eq!(s.count("users").await, 2);
}

#[tokio::test]
async fn expired_withdrawn_and_bad_links_are_refused() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let (_, a) = s
        .call(&owner.browser, "team_invite", &[("role", "viewer")])
        .await;
    let (_, b) = s
        .call(&owner.browser, "team_invite", &[("role", "viewer")])
        .await;
    let (_, view) = s.call(&owner.browser, "team", &[] as &[(&str, &str)]).await;
    let invites = view["invites"].as_array().unwrap();
    assert_eq!(invites.len(), 2);
    let withdraw_id = invites.iter().find(|i| i["id"].is_string()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = s
        .call(
            &owner.browser,
            "team_withdraw",
            &[("id", withdraw_id.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    let (_, view) = s.call(&owner.browser, "team", &[] as &[(&str, &str)]).await;
    assert_eq!(view["invites"].as_array().unwrap().len(), 1);
    // One of the two tokens is now dead; the other still works until day 7.
    let tokens = [
        token_of(a["link"].as_str().unwrap()),
        token_of(b["link"].as_str().unwrap()),
    ];
    let mut live = Vec::new();
    for t in &tokens {
        let (status, _) = s
            .call(&s.browser(), "invite_preview", &[("token", t.as_str())])
            .await;
        if status == 200 {
            live.push(t.clone());
        }
    }
    assert_eq!(live.len(), 1);
    for bad in ["", "nonsense"] {
        let (_, status, _) = join(&s, bad, "x@example.com").await;
        assert_eq!(status, 422);
    }
    s.clock.advance(7 * 86_400);
    let (_, status, body) = join(&s, &live[0], "late@example.com").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("token")),
        "expired"
    );
    // Bad roles are refused.
    let res = s
        .log_in(&owner.browser, "owner@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), 200);
    let (status, body) = s
        .call(&owner.browser, "team_invite", &[("role", "admin")])
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("role")));
}

#[tokio::test]
async fn a_removed_member_is_out_at_once_and_the_last_owner_stays() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let (_, inv) = s
        .call(&owner.browser, "team_invite", &[("role", "viewer")])
        .await;
    let (viewer, status, _) = join(
        &s,
        &token_of(inv["link"].as_str().unwrap()),
        "view@example.com",
    )
    .await;
    assert_eq!(status, 200);
    // A viewer cannot create anything.
    let (status, _) = s
        .call(
            &viewer,
            "project_create",
            &[("name", "X"), ("api_id", "partner")],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(s.me(&viewer).await.0, 200);

    let (_, view) = s.call(&owner.browser, "team", &[] as &[(&str, &str)]).await;
    let members = view["members"].as_array().unwrap();
    let viewer_id = members
        .iter()
        .find(|m| m["email"] == "view@example.com")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_id = view["me"].as_str().unwrap().to_owned();
    let (status, _) = s
        .call(
            &owner.browser,
            "team_remove",
            &[("user_id", viewer_id.as_str())],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        s.me(&viewer).await.0,
        401,
        "their session ended with the membership"
    );
    let (status, body) = s
        .call(
            &owner.browser,
            "team_remove",
            &[("user_id", owner_id.as_str())],
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // The log has it all.
    let (_, log) = s
        .call(&owner.browser, "audit", &[] as &[(&str, &str)])
        .await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["member.invite", "member.join", "member.remove"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    // Another account cannot remove this owner.
    let other = s.owner("other@example.com").await;
    let (status, _) = s
        .call(
            &other.browser,
            "team_remove",
            &[("user_id", owner_id.as_str())],
        )
        .await;
    assert_eq!(status, 404);
}

/// An invitation's answer says nothing about whether the email has a
/// sign-in: the same status and redirect, the same spent link; the email's
/// own accounts read about it instead.
#[tokio::test]
async fn joining_tells_nobody_which_emails_have_a_sign_in() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let existing = s.owner("taken@example.com").await;
    let mut answers = Vec::new();
    for email in ["taken@example.com", "new@example.com"] {
        let (_, inv) = s
            .call(&owner.browser, "team_invite", &[("role", "developer")])
            .await;
        let token = token_of(inv["link"].as_str().unwrap());
        let browser = s.browser();
        let res = s
            .post(
                &browser,
                "join",
                &[
                    ("token", token.as_str()),
                    ("email", email),
                    ("password", "another passphrase!"),
                ],
            )
            .await;
        crate::harness::assert_redirected(&res, "/login?joined=1");
        answers.push(res.text().await.unwrap());
        assert_eq!(s.me(&browser).await.0, 401, "joining starts no session");
        // Spent either way: one link probes one email.
        let (status, _) = s
            .call(&s.browser(), "invite_preview", &[("token", token.as_str())])
            .await;
        assert_eq!(status, 422, "{email}");
    }
    assert_eq!(answers[0], answers[1]);
    // The taken email joined nothing and kept its password.
    let (_, team) = s.call(&owner.browser, "team", &[] as &[(&str, &str)]).await;
    let emails: Vec<&str> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert!(!emails.contains(&"taken@example.com"));
    assert_eq!(
        s.log_in(&s.browser(), "taken@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let (_, log) = s
        .call(
            &existing.browser,
            "audit",
            &[("action", "account.sign_up_repeated")],
        )
        .await;
    let detail = log["entries"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("invitation"), "{log}");
}

#[tokio::test]
async fn joining_is_limited_per_address() {
    let s = TestServer::start_with(|c| c.sign_ups_per_address = 3).await;
    let owner = s.owner("owner@example.com").await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let (_, inv) = s
            .call(&owner.browser, "team_invite", &[("role", "viewer")])
            .await;
        let token = token_of(inv["link"].as_str().unwrap());
        let (_, status, _) = join(&s, &token, &format!("m{i}@example.com")).await;
        statuses.push(status);
    }
    // The owner's sign-up counted too: the third join waits.
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn an_account_has_at_most_fifty_invitations_waiting() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    for _ in 0..portcullis_core::team::PENDING_INVITES_MAX {
        let (status, _) = s
            .call(&owner.browser, "team_invite", &[("role", "viewer")])
            .await;
        assert_eq!(status, 200);
    }
    let (status, body) = s
        .call(&owner.browser, "team_invite", &[("role", "viewer")])
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("at most 50"),
        "{body}"
    );
    assert_eq!(s.count("invites").await, 50);
}

/// With Redis, sign-ups and joins from one address count on every node
/// together (under keys of their own, apart from the log-in throttle's).
#[tokio::test]
async fn sign_ups_and_joins_share_one_allowance_across_nodes_with_redis() {
    let Ok(redis) = std::env::var(crate::cluster::REDIS_ENV) else {
        return; // The SQLite pass has no Redis; the PostgreSQL pass does.
    };
    // Two nodes of one deployment: the same issuer, the same Redis.
    let issuer: url::Url = format!(
        "https://{}.test",
        portcullis_core::ids::new_id("auth").replace('_', "-")
    )
    .parse()
    .unwrap();
    let node = || {
        let (redis, issuer) = (redis.clone(), issuer.clone());
        TestServer::start_with(move |c| {
            c.redis_url = Some(redis);
            c.issuer = Some(issuer);
            c.sign_ups_per_address = 3;
        })
    };
    let (a, b) = (node().await, node().await);
    for i in 0..2 {
        let res = a
            .sign_up(&a.browser(), "Org", &format!("a{i}@example.com"))
            .await;
        assert_eq!(res.status(), 200);
    }
    // The third from this address, on the other node: counted, and the
    // address now waits everywhere.
    let res = b.sign_up(&b.browser(), "Org", "b0@example.com").await;
    assert_eq!(res.status(), 200);
    let res = b.sign_up(&b.browser(), "Org", "b1@example.com").await;
    assert_eq!(
        res.status(),
        429,
        "b has seen one, but the address has made three"
    );
    let (status, _) = a
        .call(
            &a.browser(),
            "join",
            &[
                ("token", "any"),
                ("email", "j@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 429, "joins share the allowance");
    // A log-in from that address is not held up by it.
    let res = a.log_in(&a.browser(), "a0@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
}
