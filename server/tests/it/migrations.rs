//! The issuer's migrations and the reference APIs' own share one database
//! and its `_sqlx_migrations` table (on the backend under test): each set
//! ignores the other's versions, still refuses versions of its own that
//! this binary does not know, and the reference APIs' set also stands on a
//! database of its own.

use portcullis_core::db;
use tempfile::TempDir;

use crate::harness::database_url;

async fn versions(pool: &db::Db) -> Vec<i64> {
    sqlx::query_as::<_, (i64,)>("select version from _sqlx_migrations order by version")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(v,)| v)
        .collect()
}

#[tokio::test]
async fn both_sets_share_one_database_in_either_restart_order() {
    let dir = TempDir::new().unwrap();
    let pool = db::connect(&database_url(&dir).await).await.unwrap();
    db::migrate(&pool).await.unwrap();
    portcullis_reference_apis::migrate(&pool).await.unwrap();
    let after_first = versions(&pool).await;
    assert!(after_first.contains(&4), "the issuer's 0004");
    assert!(after_first.contains(&1_000_000_001), "the APIs' first");
    // A restart runs both again: neither takes the other's for a version
    // of its own that this binary lacks.
    db::migrate(&pool).await.unwrap();
    portcullis_reference_apis::migrate(&pool).await.unwrap();
    db::migrate(&pool).await.unwrap();
    assert_eq!(versions(&pool).await, after_first, "nothing ran twice");
    pool.close().await;
}

#[tokio::test]
async fn each_set_refuses_a_newer_version_of_its_own() {
    let dir = TempDir::new().unwrap();
    let pool = db::connect(&database_url(&dir).await).await.unwrap();
    db::migrate(&pool).await.unwrap();
    portcullis_reference_apis::migrate(&pool).await.unwrap();
    let record = |version: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "insert into _sqlx_migrations
                     (version, description, success, checksum, execution_time)
                 values ($1, 'from a newer release', true, $2, 0)",
            )
            .bind(version)
            .bind(vec![0u8; 48])
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    // The APIs from a newer release migrated here: they refuse, the
    // issuer does not mind.
    record(1_000_000_999).await;
    let refused = portcullis_reference_apis::migrate(&pool).await.unwrap_err();
    assert!(refused.to_string().contains("1000000999"), "{refused}");
    db::migrate(&pool).await.unwrap();
    // The issuer from a newer release migrated here: it refuses.
    record(999).await;
    let refused = db::migrate(&pool).await.unwrap_err();
    assert!(refused.to_string().contains("999"), "{refused}");
    pool.close().await;
}

#[tokio::test]
async fn the_reference_apis_stand_on_a_database_of_their_own() {
    let dir = TempDir::new().unwrap();
    let pool = db::connect(&database_url(&dir).await).await.unwrap();
    portcullis_reference_apis::migrate(&pool).await.unwrap();
    assert_eq!(versions(&pool).await, [1_000_000_001]);
    // No issuer table under them: a row names its project by the token's
    // claim alone.
    sqlx::query(
        "insert into caas_categories (id, project_id, name, name_key, created_at)
         values ('cat_1', 'prj_elsewhere', 'Rent', 'rent', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let projects: Result<(i64,), _> = sqlx::query_as("select count(*) from projects")
        .fetch_one(&pool)
        .await;
    assert!(projects.is_err(), "no issuer tables");
    pool.close().await;
}

/// Nodes starting together on one new PostgreSQL database take turns under
/// sqlx's advisory lock, both sets and both checks included (a single
/// SQLite file has one process, which migrates before it serves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_take_turns() {
    if !crate::harness::on_postgres() {
        eprintln!("PostgreSQL-only: runs in the PostgreSQL pass");
        return;
    }
    let dir = TempDir::new().unwrap();
    let url = database_url(&dir).await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let pool = db::connect(&url).await.unwrap();
                db::migrate(&pool).await.unwrap();
                portcullis_reference_apis::migrate(&pool).await.unwrap();
                pool
            })
        })
        .collect();
    let mut nodes = Vec::new();
    for start in starts {
        nodes.push(start.await.unwrap());
    }
    let all = versions(&nodes[0]).await;
    assert!(all.contains(&28) && all.contains(&1_000_000_001), "{all:?}");
    for pool in nodes {
        pool.close().await;
    }
}
