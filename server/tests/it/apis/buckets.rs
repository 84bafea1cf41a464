//! A project's bucket limits bursts and recovers.

use super::*;

#[tokio::test]
async fn a_project_bucket_limits_bursts_and_recovers() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let (status, body) = s
        .call(
            &st.owner.browser,
            "project_rate_limit",
            &[
                ("id", st.partner_project.as_str()),
                ("rate_per_sec", "10"),
                ("rate_burst", "10"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Minted before the limit bites (minting is charged too).
    let token = s.access_token(&st.partner, "applications:read").await;
    // Let the bucket refill after that mint.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let client = Client::new();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let req = client
                .get(s.url("/partner/v1/applications"))
                .bearer_auth(&token);
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let ok = results.iter().filter(|r| r.status() == 200).count();
    assert!((9..=11).contains(&ok), "{ok} passed");
    let limited: Vec<&Response> = results.iter().filter(|r| r.status() == 429).collect();
    assert_eq!(ok + limited.len(), 50);
    let h = limited[0].headers();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry));
    assert_eq!(h["ratelimit-policy"], "\"project\";q=10;w=1");
    assert!(h["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"project\";r=0;t="));
    let allowed = results.iter().find(|r| r.status() == 200).unwrap();
    assert!(allowed.headers()["ratelimit"]
        .to_str()
        .unwrap()
        .starts_with("\"project\";r="));

    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    let res = client
        .get(s.url("/partner/v1/applications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "passes again after Retry-After");

    // The token endpoint draws on the same bucket.
    for _ in 0..12 {
        let _ = s
            .token_basic(&st.partner, &[("scope", "applications:read")])
            .await;
    }
    let res = s
        .token_basic(&st.partner, &[("scope", "applications:read")])
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");

    // The console shows the traffic of this minute.
    let (_, detail) = s
        .call(
            &st.owner.browser,
            "project",
            &[("id", st.partner_project.as_str())],
        )
        .await;
    let last = detail["traffic"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last["limited"].as_u64().unwrap() >= 39, "{last}");
    assert!(last["allowed"].as_u64().unwrap() >= 10, "{last}");
    assert_eq!(detail["project"]["rate_per_sec"], 10);

    // Bad settings are refused and change nothing.
    for (rate, burst, field) in [
        ("0", "10", "rate_per_sec"),
        ("10", "5", "rate_burst"),
        ("x", "10", "rate_per_sec"),
    ] {
        let (status, body) = s
            .call(
                &st.owner.browser,
                "project_rate_limit",
                &[
                    ("id", st.partner_project.as_str()),
                    ("rate_per_sec", rate),
                    ("rate_burst", burst),
                ],
            )
            .await;
        assert_eq!((status, body["field"].as_str()), (422, Some(field)));
    }
}
