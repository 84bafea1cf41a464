//! The bearer challenges RFC 6750 describes.

use super::*;

#[tokio::test]
async fn challenges_follow_rfc_6750() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let token = s.access_token(&st.partner, "applications:read").await;
    // No credentials: a bare challenge for each scheme (RFC 9449 §7.1).
    let res = call(&s, Method::GET, "/partner/v1/applications", None, None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\", DPoP algs=\"ES256 RS256 EdDSA\""
    );
    // Another scheme is no bearer credential either.
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .basic_auth("x", Some("y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\", DPoP algs=\"ES256 RS256 EdDSA\""
    );
    // Malformed: 400 invalid_request.
    for bad in ["Bearer", "Bearer ", "Bearer a b"] {
        let res = Client::new()
            .get(s.url("/partner/v1/applications"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad:?}");
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_request\""));
    }
    let res = Client::new()
        .get(s.url(&format!("/partner/v1/applications?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "tokens in the query string are refused");
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "two Authorization headers");
    // The scheme is case-insensitive.
    let res = Client::new()
        .get(s.url("/partner/v1/applications"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Unknown paths under an API: JSON 404.
    let (status, body) =
        json(call(&s, Method::GET, "/partner/v1/nope", Some(&token), None).await).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}
