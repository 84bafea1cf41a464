//! Upgrades: migration 0028 makes tombstones for clients deleted before it
//! (from the audit log), so gates keep refusing their live tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use portcullis_core::{db, store};

#[tokio::test]
async fn clients_deleted_before_0028_get_tombstones_from_the_audit_log() {
    // The database as the release before 0028 left it.
    let older = tempfile::tempdir().unwrap();
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0028" {
            std::fs::copy(&path, older.path().join(&name)).unwrap();
        }
    }
    let name = portcullis_core::ids::new_id("mem");
    let url = format!("sqlite:file:{name}?mode=memory&cache=shared");
    let pool = db::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(older.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let now = 1_800_000_000;
    store::accounts::insert(&pool, "acc_1", "Acme", now)
        .await
        .unwrap();
    let audit = |id: &'static str, action: &'static str, target: &'static str, at: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "insert into audit_events (id, account_id, at, actor_kind, actor_id, actor_label,
                     action, target_kind, target_id, project_id, client_ip, detail)
                 values ($1, 'acc_1', $2, 'user', 'usr_1', 'a@example.com', $3, 'client', $4,
                     'prj_1', null, 'x')",
            )
            .bind(id)
            .bind(at)
            .bind(action)
            .bind(target)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    audit("aud_1", "client.retire", "pcl_deleted", now - 60).await;
    audit("aud_2", "client.delete", "pcl_deleted", now).await;
    audit("aud_3", "client.delete", "pcl_long_ago", now - 30 * 86_400).await;
    audit("aud_4", "client.retire", "pcl_retired", now).await;

    db::migrate(&pool).await.unwrap();
    let live = store::client_tombstones::live(&pool, now).await.unwrap();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].id, "pcl_deleted");
    assert_eq!(live[0].project_id, "prj_1");
    assert_eq!(live[0].until, now + 86_700);
    // The one deleted a month ago is pruned with the expired ones.
    assert_eq!(
        store::client_tombstones::delete_expired(&pool, now)
            .await
            .unwrap(),
        1
    );
}
