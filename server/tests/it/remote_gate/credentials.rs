//! Gate credentials: each reads its own API's feed only, only staff make
//! and revoke them, and what one may ask of the issuer is bounded.

use super::*;

#[tokio::test]
async fn gate_credentials_read_their_own_api_only() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let feed = s.url("/gate/v1/feed");
    // No credential, a wrong secret, a revoked credential: 401.
    let res = client.get(&feed).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Basic realm=\"portcullis-gate\""
    );
    let (id, secret) = credential(&s, "partner").await;
    let res = client
        .get(&feed)
        .basic_auth(&id, Some("pgs_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(!res.text().await.unwrap().contains(&secret));
    let (old, old_secret) = credential(&s, "partner").await;
    s.gates.revoke(&old, "test").await.unwrap();
    let res = client
        .get(&feed)
        .basic_auth(&old, Some(&old_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // An unknown API is refused when the credential is made.
    assert!(s.gates.create("nope", "x", "test").await.is_err());

    // A gate learns this API's projects only.
    let owner = s.owner("two@example.com").await;
    let (partner_project, partner) = s
        .api_client(&owner, "Lending", "partner", &["applications:read"])
        .await;
    let (caas_project, caas) = s
        .api_client(&owner, "Enrich", "caas", &["caas:transactions:read"])
        .await;
    let mut res = client
        .get(&feed)
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = res.chunk().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: snapshot"), "{text}");
    drop(res);
    let project = |project_id: String| {
        let client = client.clone();
        let url = s.url("/gate/v1/project");
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let res = client
                .get(url)
                .query(&[("id", project_id)])
                .basic_auth(id, Some(secret))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let mine = project(partner_project.clone()).await;
    assert_eq!(mine["project"]["id"], partner_project.as_str());
    assert!(mine["position"].as_i64().unwrap() > 0, "{mine}");
    assert_eq!(
        project(caas_project.clone()).await["project"],
        Value::Null,
        "another API's project is not told"
    );
    let res = client
        .get(s.url("/gate/v1/project"))
        .query(&[("id", partner_project.as_str())])
        .basic_auth(&id, Some("pgs_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client
        .get(s.url("/gate/v1/project"))
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "no id");

    // Introspection answers for this API's tokens only.
    let introspect = |token: String| {
        let client = client.clone();
        let url = s.url("/gate/v1/introspect");
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            let res = client
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let mine = s.access_token(&partner, "applications:read").await;
    let theirs = s.access_token(&caas, "caas:transactions:read").await;
    assert_eq!(introspect(mine).await["active"], true);
    assert_eq!(
        introspect(theirs).await,
        serde_json::json!({ "active": false })
    );
}

/// Every route of the gate API checks the credential first: without one,
/// or with a wrong one, 401, before its body is looked at (a malformed
/// one gets the 401 too, not a 400).
#[tokio::test]
async fn every_gate_api_route_refuses_a_caller_without_its_credential() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let (id, _) = credential(&s, "partner").await;
    let routes = [
        ("GET", "/gate/v1/feed"),
        ("GET", "/gate/v1/project?id=prj_1"),
        ("POST", "/gate/v1/introspect"),
        ("POST", "/gate/v1/limited"),
        ("POST", "/gate/v1/position"),
        ("POST", "/gate/v1/usage"),
    ];
    for (method, path) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = client
            .request(method.clone(), s.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{method} {path} without a credential");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Basic realm=\"portcullis-gate\""
        );
        if method == reqwest::Method::POST {
            let res = client
                .request(method.clone(), s.url(path))
                .basic_auth(&id, Some("pgs_wrong"))
                .body("{not json")
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                401,
                "{method} {path}, a wrong secret and a malformed body"
            );
        }
    }
}

#[tokio::test]
async fn only_staff_make_and_revoke_gate_credentials_in_the_console() {
    let s = TestServer::start().await;
    let owner = s.owner("owner@example.com").await;
    let none: &[(&str, &str)] = &[];
    // Account users and strangers are refused.
    assert_eq!(s.call(&owner.browser, "staff_gates", none).await.0, 403);
    let form = [("api_id", "partner"), ("name", "edge")];
    assert_eq!(
        s.call(&owner.browser, "staff_gate_create", &form).await.0,
        403
    );
    assert_eq!(
        s.call(&s.browser(), "staff_gate_create", &form).await.0,
        401
    );
    assert!(s.gates.list().await.unwrap().is_empty());

    let staff = crate::staff::staff_browser(&s).await;
    let (status, made) = s.call(&staff, "staff_gate_create", &form).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pgs_"));
    // Bad input changes nothing.
    let (status, err) = s
        .call(
            &staff,
            "staff_gate_create",
            &[("api_id", "nope"), ("name", "x")],
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = s
        .call(
            &staff,
            "staff_gate_create",
            &[("api_id", "partner"), ("name", " ")],
        )
        .await;
    assert_eq!(status, 422, "{err}");

    let (status, listed) = s.call(&staff, "staff_gates", none).await;
    assert_eq!(status, 200);
    let rows = listed["credentials"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["created_by"], "support@portcullis.example");
    assert_eq!(rows[0]["api_name"], "Partner API");
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    let introspect = || {
        reqwest::Client::new()
            .post(s.url("/gate/v1/introspect"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", "x")])
            .send()
    };
    assert_eq!(introspect().await.unwrap().status(), 200);
    let (status, _) = s
        .call(&staff, "staff_gate_revoke", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(introspect().await.unwrap().status(), 401);
    let (status, _) = s
        .call(&staff, "staff_gate_revoke", &[("id", id.as_str())])
        .await;
    assert_eq!(status, 404, "revoked already");
}

/// One gate credential holds a bounded number of feed connections and
/// sends a bounded number of rate-limited reports a minute; gates that
/// connect together get one snapshot, made once.
#[tokio::test]
async fn a_gate_credential_s_feeds_and_reports_are_bounded() {
    use portcullis_server::gate_bounds::{FEEDS_PER_CREDENTIAL_MAX, REPORTS_PER_MINUTE_MAX};
    let s = TestServer::start().await;
    let (id, secret) = credential(&s, "partner").await;
    let open = || async {
        reqwest::Client::new()
            .get(s.url("/gate/v1/feed"))
            .basic_auth(&id, Some(&secret))
            .send()
            .await
            .unwrap()
    };
    let mut feeds = Vec::new();
    for _ in 0..FEEDS_PER_CREDENTIAL_MAX {
        let res = open().await;
        assert_eq!(res.status(), 200);
        feeds.push(res);
    }
    let res = open().await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Each held connection got the same snapshot first.
    let mut snapshots = Vec::new();
    for res in feeds.iter_mut().take(2) {
        let mut text = String::new();
        while !text.contains("\n\n") {
            let chunk = res.chunk().await.unwrap().unwrap();
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(text.contains("event: snapshot"), "{text}");
        let event = text.split("\n\n").next().unwrap().to_owned();
        // The data, not the position (the feed may move on between them).
        snapshots.push(event.split_once("data: ").unwrap().1.to_owned());
    }
    assert_eq!(snapshots[0], snapshots[1]);
    // Closing one gives its place back.
    drop(feeds);
    let mut again = None;
    for _ in 0..50 {
        let res = open().await;
        if res.status() == 200 {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "places are given back when feeds close");

    let report = || {
        reqwest::Client::new()
            .post(s.url("/gate/v1/limited"))
            .basic_auth(&id, Some(&secret))
            .json(&serde_json::json!({ "limited": [{ "project_id": "prj_none", "at": 0 }] }))
            .send()
    };
    for _ in 0..REPORTS_PER_MINUTE_MAX {
        assert_eq!(report().await.unwrap().status(), 204);
    }
    let res = report().await.unwrap();
    assert_eq!(res.status(), 429);
    s.clock.advance(60);
    assert_eq!(report().await.unwrap().status(), 204);
}
