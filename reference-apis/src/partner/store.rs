//! Partner API rows. Every query takes the project id of the calling token.

use super::model::{Application, IdentityCheck, PaymentLink};
use portcullis_gate::clock::Epoch;
use sqlx::AnyPool as Db;
use sqlx::Result;

pub async fn insert_application(
    db: &Db,
    project_id: &str,
    client_id: &str,
    a: &Application,
    outcome: &str,
    reasons: &str,
) -> Result<()> {
    sqlx::query(
        "insert into partner_applications (id, project_id, applicant_name, amount_cents, term_months,
             annual_income_cents, external_reference, outcome, reasons, created_by_client, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&a.id)
    .bind(project_id)
    .bind(&a.applicant_name)
    .bind(a.amount_cents)
    .bind(a.term_months)
    .bind(a.annual_income_cents)
    .bind(&a.external_reference)
    .bind(outcome)
    .bind(reasons)
    .bind(client_id)
    .bind(a.created_at)
    .execute(db)
    .await?;
    Ok(())
}

const APP_COLUMNS: &str = "id, applicant_name, amount_cents, term_months, annual_income_cents, \
                           external_reference, created_at";

pub async fn list_applications(db: &Db, project_id: &str, limit: i64) -> Result<Vec<Application>> {
    sqlx::query_as(&format!(
        "select {APP_COLUMNS} from partner_applications where project_id = $1
         order by created_at desc, id desc limit $2"
    ))
    .bind(project_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn application(db: &Db, project_id: &str, id: &str) -> Result<Option<Application>> {
    sqlx::query_as(&format!(
        "select {APP_COLUMNS} from partner_applications where project_id = $1 and id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn decision(
    db: &Db,
    project_id: &str,
    id: &str,
) -> Result<Option<(String, String, Epoch)>> {
    sqlx::query_as(
        "select outcome, reasons, created_at from partner_applications where project_id = $1 and id = $2",
    )
    .bind(project_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn insert_payment_link(db: &Db, project_id: &str, l: &PaymentLink) -> Result<()> {
    sqlx::query(
        "insert into partner_payment_links (id, project_id, application_id, amount_cents, url, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&l.id)
    .bind(project_id)
    .bind(&l.application_id)
    .bind(l.amount_cents)
    .bind(&l.url)
    .bind(l.created_at)
    .bind(l.expires_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn insert_identity_check(db: &Db, project_id: &str, c: &IdentityCheck) -> Result<()> {
    sqlx::query(
        "insert into partner_identity_checks (id, project_id, full_name, date_of_birth, document_last4,
             outcome, reasons, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.id)
    .bind(project_id)
    .bind(&c.full_name)
    .bind(&c.date_of_birth)
    .bind(&c.document_last4)
    .bind(&c.outcome)
    .bind(c.reasons.join("\n"))
    .bind(c.created_at)
    .execute(db)
    .await?;
    Ok(())
}
