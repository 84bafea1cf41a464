//! Bad input is refused and changes nothing; each project sees only its own
//! data.

use super::*;

#[tokio::test]
async fn input_is_validated_and_data_is_per_project() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let full = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let post = |body: Value| {
        let req = Client::new()
            .post(s.url("/partner/v1/applications"))
            .bearer_auth(&full)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let (status, body) = json(post(json!({ "applicant_name": "A", "amount_cents": 5, "term_months": 12, "annual_income_cents": 1 })).await).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("amount_cents"))
    );
    let (status, _) = json(post(json!({ "applicant_name": "A" })).await).await;
    assert_eq!(status, 422, "missing fields");
    let (status, _) = json(post(json!({ "applicant_name": "A", "amount_cents": 500, "term_months": 12, "annual_income_cents": 1, "extra": 1 })).await).await;
    assert_eq!(status, 422, "unknown fields");
    let res = Client::new()
        .post(s.url("/partner/v1/applications"))
        .bearer_auth(&full)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(s.api_rows().await, 0, "nothing written by bad input");

    // The rule decides; a declined application cannot be paid out.
    let (_, declined) = json(post(json!({ "applicant_name": "B", "amount_cents": 6_000_000, "term_months": 24, "annual_income_cents": 90_000_000 })).await).await;
    let id = declined["id"].as_str().unwrap();
    let (_, decision) = json(
        call(
            &s,
            Method::GET,
            &format!("/partner/v1/applications/{id}/decision"),
            Some(&full),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(decision["outcome"], "declined");
    let (status, _) = json(
        call(
            &s,
            Method::POST,
            &format!("/partner/v1/applications/{id}/payment-links"),
            Some(&full),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);

    // Another project of the same account sees none of it.
    let (_, other) = s.api_client(&st.owner, "Second", "partner", &PARTNER).await;
    let other_token = s.access_token(&other, "applications:read").await;
    let (status, _) = json(
        call(
            &s,
            Method::GET,
            &format!("/partner/v1/applications/{id}"),
            Some(&other_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    let (_, list) = json(
        call(
            &s,
            Method::GET,
            "/partner/v1/applications",
            Some(&other_token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(list["applications"], json!([]));

    // The write scope returns what it created without the read scope.
    let caas_write = s.access_token(&st.caas, "caas:transactions:write").await;
    let (status, txn) = json(
        call(
            &s,
            Method::POST,
            "/caas/v1/transactions",
            Some(&caas_write),
            Some(&json!({
        "user_id": "u9", "account_id": "a9", "amount_cents": -3000, "currency": "GBP",
        "description": "TESCO STORES 3297", "booked_on": "2026-11-02" })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            txn["merchant"].as_str(),
            txn["category_id"].as_str(),
            txn["currency"].as_str()
        ),
        (Some("TESCO STORES"), Some("cat_groceries"), Some("GBP"))
    );
    let (status, _) = json(
        call(
            &s,
            Method::GET,
            &format!("/caas/v1/transactions/{}", txn["id"].as_str().unwrap()),
            Some(&caas_write),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "but cannot read it back");
}
