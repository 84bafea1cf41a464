//! Transactions API rows. Every query takes the project id of the calling token.

use super::model::{Category, Split, Transaction};
use portcullis_gate::clock::Epoch;
use sqlx::AnyPool as Db;
use sqlx::Result;

const TXN_COLUMNS: &str =
    "id, user_id, account_id, amount_cents, currency, description, booked_on, \
                           merchant, category_id, created_at";

pub async fn insert_transaction(db: &Db, project_id: &str, t: &Transaction) -> Result<()> {
    sqlx::query(&format!(
        "insert into caas_transactions (project_id, {TXN_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(project_id)
    .bind(&t.id)
    .bind(&t.user_id)
    .bind(&t.account_id)
    .bind(t.amount_cents)
    .bind(&t.currency)
    .bind(&t.description)
    .bind(&t.booked_on)
    .bind(&t.merchant)
    .bind(&t.category_id)
    .bind(t.created_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn list_transactions(
    db: &Db,
    project_id: &str,
    user_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Transaction>> {
    // Two statements rather than `$2 is null or …`: PostgreSQL cannot type
    // a parameter that is only compared with null.
    let rows = match user_id {
        Some(user) => {
            sqlx::query_as(&format!(
                "select {TXN_COLUMNS} from caas_transactions where project_id = $1 and user_id = $2
                 order by booked_on desc, id desc limit $3"
            ))
            .bind(project_id)
            .bind(user)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "select {TXN_COLUMNS} from caas_transactions where project_id = $1
                 order by booked_on desc, id desc limit $2"
            ))
            .bind(project_id)
            .bind(limit)
            .fetch_all(db)
            .await?
        }
    };
    Ok(rows)
}

pub async fn transaction(db: &Db, project_id: &str, id: &str) -> Result<Option<Transaction>> {
    sqlx::query_as(&format!(
        "select {TXN_COLUMNS} from caas_transactions where project_id = $1 and id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn delete_transaction(db: &Db, project_id: &str, id: &str) -> Result<bool> {
    let mut tx = db.begin().await?;
    sqlx::query("delete from caas_splits where project_id = $1 and transaction_id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query("delete from caas_transactions where project_id = $1 and id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

/// Inserts a split if the splits of its transaction stay within `total`;
/// otherwise inserts nothing and returns what is left. The transaction's
/// row is locked while the splits are summed, so two splits racing for the
/// same remainder cannot both fit.
pub async fn insert_split_within(
    db: &Db,
    project_id: &str,
    s: &Split,
    total: i64,
) -> Result<Option<i64>> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update caas_transactions set amount_cents = amount_cents where project_id = $1 and id = $2",
    )
    .bind(project_id)
    .bind(&s.transaction_id)
    .execute(&mut *tx)
    .await?;
    let (taken,): (i64,) = sqlx::query_as(
        "select cast(coalesce(sum(amount_cents), 0) as bigint) from caas_splits
         where project_id = $1 and transaction_id = $2",
    )
    .bind(project_id)
    .bind(&s.transaction_id)
    .fetch_one(&mut *tx)
    .await?;
    if taken + s.amount_cents > total {
        return Ok(Some(total - taken));
    }
    insert_split(&mut *tx, project_id, s).await?;
    tx.commit().await?;
    Ok(None)
}

async fn insert_split<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    project_id: &str,
    s: &Split,
) -> Result<()> {
    sqlx::query(
        "insert into caas_splits (id, project_id, transaction_id, amount_cents, category_id, note, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&s.id)
    .bind(project_id)
    .bind(&s.transaction_id)
    .bind(s.amount_cents)
    .bind(&s.category_id)
    .bind(&s.note)
    .bind(s.created_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn splits(db: &Db, project_id: &str, transaction_id: &str) -> Result<Vec<Split>> {
    sqlx::query_as(
        "select id, transaction_id, amount_cents, category_id, note, created_at from caas_splits
         where project_id = $1 and transaction_id = $2 order by created_at, id",
    )
    .bind(project_id)
    .bind(transaction_id)
    .fetch_all(db)
    .await
}

pub async fn delete_split(
    db: &Db,
    project_id: &str,
    transaction_id: &str,
    id: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "delete from caas_splits where project_id = $1 and transaction_id = $2 and id = $3",
    )
    .bind(project_id)
    .bind(transaction_id)
    .bind(id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn custom_categories(db: &Db, project_id: &str) -> Result<Vec<Category>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select id, name from caas_categories where project_id = $1 order by name_key",
    )
    .bind(project_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Category {
            id,
            name,
            custom: true,
        })
        .collect())
}

pub async fn custom_category(db: &Db, project_id: &str, id: &str) -> Result<Option<Category>> {
    let row: Option<(String, String)> =
        sqlx::query_as("select id, name from caas_categories where project_id = $1 and id = $2")
            .bind(project_id)
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, name)| Category {
        id,
        name,
        custom: true,
    }))
}

pub async fn insert_category(
    db: &Db,
    project_id: &str,
    c: &Category,
    now: Epoch,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into caas_categories (id, project_id, name, name_key, created_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(&c.id)
    .bind(project_id)
    .bind(&c.name)
    .bind(c.name.to_lowercase())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a custom category; what used it falls back to "Other".
pub async fn delete_category(db: &Db, project_id: &str, id: &str) -> Result<bool> {
    let mut tx = db.begin().await?;
    for table in ["caas_transactions", "caas_splits"] {
        sqlx::query(&format!(
            "update {table} set category_id = 'cat_other' where project_id = $1 and category_id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let n = sqlx::query("delete from caas_categories where project_id = $1 and id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

pub async fn erase_user(db: &Db, project_id: &str, user_id: &str) -> Result<(u64, u64)> {
    let mut tx = db.begin().await?;
    let splits = sqlx::query(
        "delete from caas_splits where project_id = $1 and transaction_id in
             (select id from caas_transactions where project_id = $1 and user_id = $2)",
    )
    .bind(project_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let txns = sqlx::query("delete from caas_transactions where project_id = $1 and user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok((txns, splits))
}
