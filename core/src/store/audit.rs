//! Audit rows: insert and keyset-paged reads. No update, no delete.

use sqlx::QueryBuilder;

use crate::audit::{Cursor, Entry, Filter};
use crate::clock::Epoch;
use crate::db::Db;
use crate::error::Result;

pub struct NewRow<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub at: Epoch,
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub project_id: Option<&'a str>,
    pub client_ip: Option<String>,
    pub detail: &'a str,
}

pub async fn insert(db: &Db, r: &NewRow<'_>) -> Result<()> {
    sqlx::query(
        "insert into audit_events (id, account_id, at, actor_kind, actor_id, actor_label, action,
             target_kind, target_id, project_id, client_ip, detail)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(r.id)
    .bind(r.account_id)
    .bind(r.at)
    .bind(r.actor_kind)
    .bind(r.actor_id)
    .bind(r.actor_label)
    .bind(r.action)
    .bind(r.target_kind)
    .bind(r.target_id)
    .bind(r.project_id)
    .bind(&r.client_ip)
    .bind(r.detail)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn page(
    db: &Db,
    account_id: &str,
    f: &Filter,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Entry>> {
    let mut q = QueryBuilder::new(
        "select id, at, actor_kind, actor_label, action, target_kind, target_id, project_id, client_ip, detail
         from audit_events where account_id = ",
    );
    q.push_bind(account_id);
    if let Some(actor) = &f.actor {
        q.push(" and actor_label = ")
            .push_bind(actor.trim().to_lowercase());
    }
    if let Some(action) = &f.action {
        q.push(" and action = ").push_bind(action);
    }
    if let Some(project) = &f.project_id {
        q.push(" and project_id = ").push_bind(project);
    }
    if let Some(from) = f.from {
        q.push(" and at >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        q.push(" and at <= ").push_bind(to);
    }
    if let Some(c) = before {
        // A row-value comparison (SQLite and PostgreSQL) walks the index
        // from the cursor; the spelled-out OR form made SQLite scan.
        q.push(" and (at, id) < (").push_bind(c.at);
        q.push(", ").push_bind(&c.id);
        q.push(")");
    }
    q.push(" order by at desc, id desc limit ").push_bind(limit);
    Ok(q.build_query_as().fetch_all(db).await?)
}
