//! The Partner API's domain: loan applications with a decision made by a
//! fixed rule on arrival, payment links for approved applications, and
//! identity checks. Every call is scoped to the project whose token made it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use portcullis_contract::fields::{
    self as contract, check_date, check_line, check_text, some_string, whole, Range,
};
use portcullis_gate::clock::{Clock, Epoch, Secs};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids::{new_id, random_bytes};

pub mod http;
mod model;
mod store;

pub use model::{Application, IdentityCheck, PaymentLink};

use std::sync::Arc;

/// Applications above this are declined outright (in cents).
pub const MAX_AMOUNT_CENTS: i64 = 5_000_000;
pub const PAYMENT_LINK_TTL_SECS: Secs = 7 * 86_400;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    #[schemars(schema_with = "contract::text::<NAME_MAX>")]
    pub applicant_name: String,
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = AMOUNT.min, max = AMOUNT.max))]
    pub amount_cents: i64,
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = TERM.min, max = TERM.max))]
    pub term_months: i64,
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = INCOME.min, max = INCOME.max))]
    pub annual_income_cents: i64,
    /// Your own reference for the application, echoed back.
    #[serde(default, deserialize_with = "some_string")]
    #[schemars(schema_with = "contract::line::<REFERENCE_MAX>")]
    pub external_reference: Option<String>,
}

/// The bounds each field keeps, stated once for the schema and the check.
pub const NAME_MAX: usize = 120;
pub const REFERENCE_MAX: usize = 64;
pub const AMOUNT: Range = Range {
    min: 100,
    max: 100_000_000,
};
pub const TERM: Range = Range { min: 3, max: 120 };
pub const INCOME: Range = Range {
    min: 0,
    max: 10_000_000_000,
};
pub const LIST_LIMIT: Range = Range { min: 1, max: 100 };
pub const DOCUMENT_PATTERN: &str = "^[A-Za-z0-9]{4,32}$";

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DecisionView {
    pub application_id: String,
    #[schemars(extend("enum" = ["approved", "declined", "referred"]))]
    pub outcome: String,
    pub reasons: Vec<String>,
    pub decided_at: Epoch,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdentityCheck {
    #[schemars(schema_with = "contract::text::<NAME_MAX>")]
    pub full_name: String,
    #[schemars(schema_with = "contract::date")]
    pub date_of_birth: String,
    #[schemars(regex(pattern = DOCUMENT_PATTERN))]
    pub document_number: String,
}

/// The decision rule: deterministic, so partners can test each outcome.
pub fn decide(a: &NewApplication) -> (&'static str, Vec<String>) {
    let mut declined = Vec::new();
    if a.amount_cents > MAX_AMOUNT_CENTS {
        declined.push(format!(
            "the amount is above the {} limit",
            MAX_AMOUNT_CENTS / 100
        ));
    }
    // Monthly repayment (no interest) against a third of monthly income.
    if a.amount_cents * 3 > a.annual_income_cents / 12 * a.term_months {
        declined.push("repayments would exceed a third of the applicant's income".into());
    }
    if !declined.is_empty() {
        return ("declined", declined);
    }
    if a.term_months > 60 {
        return (
            "referred",
            vec!["terms over 60 months are reviewed by an underwriter".into()],
        );
    }
    (
        "approved",
        vec!["within the amount limit and affordable on the stated income".into()],
    )
}

pub struct Partner {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl Partner {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub async fn create_application(
        &self,
        project_id: &str,
        client_id: &str,
        input: NewApplication,
    ) -> Result<Application> {
        let name = check_text("applicant_name", &input.applicant_name, NAME_MAX)?;
        AMOUNT.check("amount_cents", input.amount_cents)?;
        TERM.check("term_months", input.term_months)?;
        INCOME.check("annual_income_cents", input.annual_income_cents)?;
        let reference = match input.external_reference.as_deref() {
            None => None,
            Some(r) => {
                Some(check_line("external_reference", r, REFERENCE_MAX)?).filter(|r| !r.is_empty())
            }
        };
        let (outcome, reasons) = decide(&input);
        let app = Application {
            id: new_id("app"),
            applicant_name: name,
            amount_cents: input.amount_cents,
            term_months: input.term_months,
            annual_income_cents: input.annual_income_cents,
            external_reference: reference,
            created_at: self.clock.now(),
        };
        store::insert_application(
            &self.db,
            project_id,
            client_id,
            &app,
            outcome,
            &reasons.join("\n"),
        )
        .await?;
        Ok(app)
    }

    pub async fn list_applications(
        &self,
        project_id: &str,
        limit: i64,
    ) -> Result<Vec<Application>> {
        let limit = LIST_LIMIT.check("limit", limit)?;
        Ok(store::list_applications(&self.db, project_id, limit).await?)
    }

    pub async fn application(&self, project_id: &str, id: &str) -> Result<Application> {
        store::application(&self.db, project_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn decision(&self, project_id: &str, id: &str) -> Result<DecisionView> {
        let (outcome, reasons, at) = store::decision(&self.db, project_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(DecisionView {
            application_id: id.to_owned(),
            outcome,
            reasons: reasons.lines().map(str::to_owned).collect(),
            decided_at: at,
        })
    }

    /// A payment link pays out an approved application, once per call.
    pub async fn provision_payment_link(&self, project_id: &str, id: &str) -> Result<PaymentLink> {
        let (outcome, _, _) = store::decision(&self.db, project_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        if outcome != "approved" {
            return Err(Error::Conflict {
                field: "application_id",
                message: format!(
                    "only approved applications can be paid out; this one is {outcome}"
                ),
            });
        }
        let app = self.application(project_id, id).await?;
        let now = self.clock.now();
        let link_id = new_id("pl");
        let code = hex::encode(random_bytes::<12>());
        let link = PaymentLink {
            id: link_id,
            application_id: app.id,
            amount_cents: app.amount_cents,
            url: format!("https://pay.portcullis.example/l/{code}"),
            created_at: now,
            expires_at: now + PAYMENT_LINK_TTL_SECS,
        };
        store::insert_payment_link(&self.db, project_id, &link).await?;
        Ok(link)
    }

    /// Checks an applicant's identity by a fixed rule: a real date of birth
    /// 18 or more years ago, and a document number whose last digit is even
    /// verifies; odd needs review. Only the last four characters are kept.
    pub async fn identity_check(
        &self,
        project_id: &str,
        input: NewIdentityCheck,
    ) -> Result<IdentityCheck> {
        let full_name = check_text("full_name", &input.full_name, NAME_MAX)?;
        let born = check_date("date_of_birth", &input.date_of_birth)?;
        let doc = input.document_number.as_str();
        if !(4..=32).contains(&doc.len()) || !doc.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid(
                "document_number",
                "document_number must be 4 to 32 letters or digits",
            ));
        }
        let now = self.clock.now();
        let today = portcullis_calendar::day(now);
        let birthday_to_come = (today.month(), today.day()) < (born.month(), born.day());
        let age = today.year() - born.year() - i32::from(birthday_to_come);
        let (outcome, reasons) = if age < 18 {
            ("failed", vec!["the applicant is under 18".to_string()])
        } else if doc
            .chars()
            .last()
            .and_then(|c| c.to_digit(10))
            .is_some_and(|n| n % 2 == 0)
        {
            (
                "verified",
                vec!["document and date of birth match the register".to_string()],
            )
        } else {
            (
                "review",
                vec!["the document could not be matched automatically".to_string()],
            )
        };
        let check = IdentityCheck {
            id: new_id("idc"),
            full_name,
            date_of_birth: input.date_of_birth.trim().to_owned(),
            document_last4: doc[doc.len() - 4..].to_owned(),
            outcome: outcome.into(),
            reasons,
            created_at: now,
        };
        store::insert_identity_check(&self.db, project_id, &check).await?;
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(amount: i64, term: i64, income: i64) -> NewApplication {
        NewApplication {
            applicant_name: "A".into(),
            amount_cents: amount,
            term_months: term,
            annual_income_cents: income,
            external_reference: None,
        }
    }

    #[test]
    fn the_rule_decides_each_outcome() {
        assert_eq!(decide(&app(1_000_000, 24, 6_000_000)).0, "approved");
        assert_eq!(decide(&app(6_000_000, 24, 60_000_000)).0, "declined");
        assert_eq!(decide(&app(1_000_000, 12, 1_200_000)).0, "declined");
        assert_eq!(decide(&app(1_000_000, 72, 6_000_000)).0, "referred");
    }
}
