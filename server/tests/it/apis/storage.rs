//! The reference APIs keep their records through a pool of their own: on
//! the issuer's database by default, or on another one named by
//! `PORTCULLIS_APIS_DATABASE_URL`, which then holds their tables and
//! migrations and nothing of the issuer's.

use super::*;
use tempfile::TempDir;

async fn count(db: &sqlx::AnyPool, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_as::<_, (i64,)>(&format!("select count(*) from {table}"))
        .fetch_one(db)
        .await
        .map(|(n,)| n)
}

/// One application made and read back over the Partner API; its id.
async fn application(s: &TestServer, token: &str) -> String {
    let body = json!({
        "applicant_name": "Ada Lovelace", "amount_cents": 1_000_000,
        "term_months": 24, "annual_income_cents": 6_000_000
    });
    let (status, made) = json(
        call(
            s,
            Method::POST,
            "/partner/v1/applications",
            Some(token),
            Some(&body),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let path = format!("/partner/v1/applications/{id}");
    let (status, read) = json(call(s, Method::GET, &path, Some(token), None).await).await;
    assert_eq!((status, &read["id"]), (200, &made["id"]), "{read}");
    id
}

#[tokio::test]
async fn by_default_they_keep_their_records_in_the_issuers_database() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let token = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    application(&s, &token).await;
    assert_eq!(count(&s.db, "partner_applications").await.unwrap(), 1);
}

#[tokio::test]
async fn a_database_of_their_own_holds_their_records_and_nothing_of_the_issuers() {
    let apis_dir = TempDir::new().unwrap();
    let apis_url = crate::harness::database_url(&apis_dir).await;
    let s = TestServer::start_with(|c| c.apis_database_url = Some(apis_url.clone())).await;
    let st = setup(&s).await;
    let token = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let id = application(&s, &token).await;

    let apis = portcullis_reference_apis::connect(&apis_url).await.unwrap();
    let (stored,): (String,) = sqlx::query_as("select id from partner_applications")
        .fetch_one(&apis)
        .await
        .unwrap();
    assert_eq!(stored, id);
    let (migrated,): (i64,) = sqlx::query_as("select count(*) from _sqlx_migrations")
        .fetch_one(&apis)
        .await
        .unwrap();
    assert_eq!(
        migrated as usize,
        portcullis_reference_apis::db::migrations()
    );
    assert!(count(&apis, "projects").await.is_err(), "no issuer table");
    // The issuer's 0004 made the same tables on its own database (from
    // before the APIs had migrations of their own); they stay empty, and
    // none of the APIs' migrations ran there.
    assert_eq!(count(&s.db, "partner_applications").await.unwrap(), 0);
    let (theirs_there,): (i64,) =
        sqlx::query_as("select count(*) from _sqlx_migrations where version >= $1")
            .bind(portcullis_reference_apis::db::VERSIONS.start)
            .fetch_one(&s.db)
            .await
            .unwrap();
    assert_eq!(theirs_there, 0);
    apis.close().await;
}

/// Every connection of the APIs' pool taken (a flood of slow calls): the
/// APIs answer 503 with `Retry-After` once the wait is over, while the
/// console, on the issuer's pool, answers at once; freed, the APIs answer
/// again.
#[tokio::test]
async fn a_flood_on_their_pool_leaves_the_issuers_alone() {
    let s = TestServer::start().await;
    let st = setup(&s).await;
    let token = s.access_token(&st.partner, &PARTNER.join(" ")).await;
    let list = "/partner/v1/applications";
    let mut held = Vec::new();
    for _ in 0..portcullis_reference_apis::db::CONNECTIONS {
        held.push(s.apis_db.acquire().await.unwrap());
    }
    let waiting = tokio::spawn({
        let (base, token) = (s.base.clone(), token.clone());
        async move {
            reqwest::Client::new()
                .get(format!("{base}{list}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    });
    let started = std::time::Instant::now();
    let (status, _) = s
        .call(
            &st.owner.browser,
            "projects",
            &Vec::<(String, String)>::new(),
        )
        .await;
    assert_eq!(status, 200);
    // Well inside the APIs' 5 s wait.
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let refused = waiting.await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let (_, body) = json(refused).await;
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    drop(held);
    let res = call(&s, Method::GET, list, Some(&token), None).await;
    assert_eq!(res.status(), 200);
}
