//! `/openapi.json` names each operation's scope.

use super::*;

#[tokio::test]
async fn the_openapi_document_names_each_operations_scope() {
    let s = TestServer::start().await;
    let res = reqwest::get(s.url("/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths["/partner/v1/applications"]["post"]["x-required-scope"],
        "applications:write"
    );
    assert_eq!(
        paths["/partner/v1/applications"]["post"]["security"][0]["portcullis"][0],
        "applications:write"
    );
    assert_eq!(
        paths["/caas/v1/users/{user_id}"]["delete"]["x-required-scope"],
        "caas:users:delete"
    );
    assert!(
        paths.contains_key("/oauth/token")
            && paths.contains_key("/oauth/introspect")
            && paths.contains_key("/oauth/revoke")
    );
    let count = |prefix: &str| -> usize {
        paths
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, v)| v.as_object().unwrap().len())
            .sum()
    };
    assert_eq!(
        count("/partner/") + count("/caas/"),
        19,
        "every reference operation is documented"
    );
    assert_eq!(count("/manage/v1/"), 31, "and every management operation");
    let scopes = doc["components"]["securitySchemes"]["portcullis"]["flows"]["clientCredentials"]
        ["scopes"]
        .as_object()
        .unwrap();
    assert_eq!(
        scopes.len(),
        17 + 8,
        "scopes.toml's and the management API's"
    );
}
