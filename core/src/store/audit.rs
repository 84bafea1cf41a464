//! Audit rows: insert and keyset-paged reads. No update, no delete.

use crate::clock::Epoch;
use crate::error::Result;
use crate::model::{Cursor, Entry, Filter};
use sqlx::{Any, Executor};

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

pub async fn insert<'e>(db: impl Executor<'e, Database = Any>, r: &NewRow<'_>) -> Result<()> {
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

/// One value for a `$N` placeholder of [`page`].
enum Arg<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
}

/// How many times `action` was done to `target_id` in the account
/// after `since` (a bound on repeatable actions, such as sending again).
pub async fn count_since<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    action: &str,
    target_id: &str,
    since: Epoch,
) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from audit_events
         where account_id = $1 and action = $2 and target_id = $3 and at > $4",
    )
    .bind(account_id)
    .bind(action)
    .bind(target_id)
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok(n)
}

pub async fn page<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    f: &Filter,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Entry>> {
    // `$N` placeholders written out: sqlx's QueryBuilder writes `?` under
    // the Any driver, which PostgreSQL refuses.
    let mut sql = String::from(
        "select id, at, actor_kind, actor_label, action, target_kind, target_id, project_id, client_ip, detail
         from audit_events where account_id = $1",
    );
    let mut args = vec![Arg::Text(account_id)];
    if let Some(actor) = &f.actor {
        clause(
            &mut sql,
            &mut args,
            " and actor_label = ?",
            Arg::Owned(actor.trim().to_lowercase()),
        );
    }
    if let Some(action) = &f.action {
        clause(&mut sql, &mut args, " and action = ?", Arg::Text(action));
    }
    if let Some(project) = &f.project_id {
        clause(
            &mut sql,
            &mut args,
            " and project_id = ?",
            Arg::Text(project),
        );
    }
    if let Some(from) = f.from {
        clause(&mut sql, &mut args, " and at >= ?", Arg::Int(from));
    }
    if let Some(to) = f.to {
        clause(&mut sql, &mut args, " and at <= ?", Arg::Int(to));
    }
    if let Some(c) = before {
        // A row-value comparison (SQLite and PostgreSQL) walks the index
        // from the cursor; the spelled-out OR form made SQLite scan.
        clause(&mut sql, &mut args, " and (at, id) < (?", Arg::Int(c.at));
        clause(&mut sql, &mut args, ", ?)", Arg::Text(&c.id));
    }
    clause(
        &mut sql,
        &mut args,
        " order by at desc, id desc limit ?",
        Arg::Int(limit),
    );
    let mut q = sqlx::query_as(&sql);
    for arg in args {
        q = match arg {
            Arg::Text(t) => q.bind(t),
            Arg::Owned(t) => q.bind(t),
            Arg::Int(n) => q.bind(n),
        };
    }
    Ok(q.fetch_all(db).await?)
}

/// Appends `text` with its `?` numbered as the next `$N`, and its value.
fn clause<'a>(sql: &mut String, args: &mut Vec<Arg<'a>>, text: &str, arg: Arg<'a>) {
    args.push(arg);
    sql.push_str(&text.replace('?', &format!("${}", args.len())));
}
