//! The Transactions API's domain: transactions enriched on arrival
//! (merchant, category), splits, categories (built-in and custom), regular
//! series, and erasing a user's data. Every call is scoped to the project
//! whose token made it.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use portcullis_contract::fields::{
    self as contract, check_currency, check_date, check_ident, check_note, check_text, some_string,
    whole, Range,
};
use portcullis_gate::clock::Clock;

use crate::db::{is_unique_violation, Db};
use crate::error::{Error, Result};
use crate::ids::new_id;

pub mod http;
mod model;
mod store;

pub use model::{Category, Split, Transaction};

/// Built-in categories: (id, name, keywords that put a description in it).
pub const BUILT_IN: &[(&str, &str, &[&str])] = &[
    (
        "cat_groceries",
        "Groceries",
        &["TESCO", "ALDI", "LIDL", "SAINSBURY", "GROCER", "MARKET"],
    ),
    (
        "cat_transport",
        "Transport",
        &["UBER", "TFL", "RAIL", "TAXI", "FUEL", "SHELL", "BP "],
    ),
    (
        "cat_subscriptions",
        "Subscriptions",
        &["NETFLIX", "SPOTIFY", "DISNEY", "ICLOUD", "PRIME"],
    ),
    (
        "cat_eating_out",
        "Eating out",
        &["CAFE", "COFFEE", "RESTAURANT", "PIZZA", "DELIVEROO"],
    ),
    ("cat_income", "Income", &["SALARY", "PAYROLL", "WAGES"]),
    (
        "cat_bills",
        "Bills",
        &["ELECTRIC", "WATER", "GAS ", "COUNCIL", "RENT", "INSURANCE"],
    ),
    ("cat_other", "Other", &[]),
];

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransaction {
    #[schemars(schema_with = "contract::ident")]
    pub user_id: String,
    #[schemars(schema_with = "contract::ident")]
    pub account_id: String,
    /// Negative for money out; never zero.
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = AMOUNT.min, max = AMOUNT.max), extend("not" = { "const": 0 }))]
    pub amount_cents: i64,
    #[schemars(schema_with = "contract::currency")]
    pub currency: String,
    #[schemars(schema_with = "contract::text::<DESCRIPTION_MAX>")]
    pub description: String,
    #[schemars(schema_with = "contract::date")]
    pub booked_on: String,
}

/// A transaction with the fuller enrichment set.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnhancedTransaction {
    #[serde(flatten)]
    pub transaction: Transaction,
    pub category_name: String,
    #[schemars(extend("enum" = ["debit", "credit"]))]
    pub direction: &'static str,
    pub counterparty: String,
    pub is_recurring: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSplit {
    #[serde(deserialize_with = "whole")]
    #[schemars(range(min = SPLIT_AMOUNT.min, max = SPLIT_AMOUNT.max))]
    pub amount_cents: i64,
    /// A category of this project; empty or absent: the transaction's.
    #[serde(default, deserialize_with = "some_string")]
    #[schemars(with = "String")]
    pub category_id: Option<String>,
    #[serde(default, deserialize_with = "some_string")]
    #[schemars(schema_with = "contract::note::<NOTE_MAX>")]
    pub note: Option<String>,
}

/// The bounds each field keeps, stated once for the schema and the check.
/// A transaction's amount is non-zero, within 10^12 either way.
pub const AMOUNT: Range = Range {
    min: -1_000_000_000_000,
    max: 1_000_000_000_000,
};
pub const SPLIT_AMOUNT: Range = Range {
    min: 1,
    max: 1_000_000_000_000,
};
pub const DESCRIPTION_MAX: usize = 200;
pub const NOTE_MAX: usize = 200;
pub const CATEGORY_NAME_MAX: usize = 60;
pub const LIST_LIMIT: Range = Range { min: 1, max: 500 };

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RegularSeries {
    pub merchant: String,
    pub amount_cents: i64,
    pub currency: String,
    pub occurrences: usize,
    pub first_booked_on: String,
    pub last_booked_on: String,
    pub transaction_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Erased {
    pub user_id: String,
    pub transactions_deleted: u64,
    pub splits_deleted: u64,
}

/// The merchant: the description's leading words, without card-terminal
/// noise (digits, `*`, references).
pub fn merchant_of(description: &str) -> String {
    let words: Vec<String> = description
        .split(|c: char| c.is_whitespace() || c == '*')
        .filter(|w| !w.is_empty() && !w.chars().any(|c| c.is_ascii_digit()))
        .take(2)
        .map(str::to_uppercase)
        .collect();
    if words.is_empty() {
        "UNKNOWN".into()
    } else {
        words.join(" ")
    }
}

pub fn category_of(description: &str) -> &'static str {
    let text = format!("{} ", description.to_uppercase());
    BUILT_IN
        .iter()
        .find(|(_, _, keys)| keys.iter().any(|k| text.contains(k)))
        .map_or("cat_other", |(id, _, _)| id)
}

pub struct Transactions {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl Transactions {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub async fn create_transaction(
        &self,
        project_id: &str,
        input: NewTransaction,
    ) -> Result<Transaction> {
        let user_id = check_ident("user_id", &input.user_id)?;
        let account_id = check_ident("account_id", &input.account_id)?;
        AMOUNT.check("amount_cents", input.amount_cents)?;
        if input.amount_cents == 0 {
            return Err(Error::invalid(
                "amount_cents",
                "amount_cents must not be zero",
            ));
        }
        let currency = check_currency("currency", &input.currency)?;
        let description = check_text("description", &input.description, DESCRIPTION_MAX)?;
        check_date("booked_on", &input.booked_on)?;
        let t = Transaction {
            id: new_id("txn"),
            user_id,
            account_id,
            amount_cents: input.amount_cents,
            currency,
            merchant: merchant_of(&description),
            category_id: category_of(&description).into(),
            description,
            booked_on: input.booked_on,
            created_at: self.clock.now(),
        };
        store::insert_transaction(&self.db, project_id, &t).await?;
        Ok(t)
    }

    pub async fn list_transactions(
        &self,
        project_id: &str,
        user_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Transaction>> {
        let limit = LIST_LIMIT.check("limit", limit)?;
        let user_id = user_id.map(|u| check_ident("user_id", u)).transpose()?;
        Ok(store::list_transactions(&self.db, project_id, user_id.as_deref(), limit).await?)
    }

    pub async fn transaction(&self, project_id: &str, id: &str) -> Result<Transaction> {
        store::transaction(&self.db, project_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn enhanced(&self, project_id: &str, id: &str) -> Result<EnhancedTransaction> {
        let t = self.transaction(project_id, id).await?;
        let series = self.regular(project_id, &t.user_id).await?;
        let is_recurring = series.iter().any(|s| s.transaction_ids.contains(&t.id));
        let category_name = self.category_name(project_id, &t.category_id).await?;
        Ok(EnhancedTransaction {
            direction: if t.amount_cents < 0 {
                "debit"
            } else {
                "credit"
            },
            counterparty: t.merchant.clone(),
            category_name,
            is_recurring,
            transaction: t,
        })
    }

    async fn category_name(&self, project_id: &str, id: &str) -> Result<String> {
        if let Some((_, name, _)) = BUILT_IN.iter().find(|(i, _, _)| *i == id) {
            return Ok((*name).into());
        }
        Ok(store::custom_category(&self.db, project_id, id)
            .await?
            .map_or_else(|| "Other".into(), |c| c.name))
    }

    pub async fn delete_transaction(&self, project_id: &str, id: &str) -> Result<()> {
        if store::delete_transaction(&self.db, project_id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    async fn check_category(&self, project_id: &str, id: &str) -> Result<()> {
        // An id with NUL names nothing (and PostgreSQL text cannot hold it).
        if BUILT_IN.iter().any(|(i, _, _)| *i == id)
            || !id.contains('\0')
                && store::custom_category(&self.db, project_id, id)
                    .await?
                    .is_some()
        {
            Ok(())
        } else {
            // The request is well formed; the project's state refuses it.
            Err(Error::Conflict {
                field: "category_id",
                message: format!("{id:?} is not a category of this project"),
            })
        }
    }

    /// Splits share out a transaction; together they never exceed it.
    pub async fn create_split(
        &self,
        project_id: &str,
        transaction_id: &str,
        input: NewSplit,
    ) -> Result<Split> {
        // The request's own shape first (422), then what it names (404),
        // then the project's state (409).
        SPLIT_AMOUNT.check("amount_cents", input.amount_cents)?;
        let note = check_note("note", input.note.as_deref().unwrap_or(""), NOTE_MAX)?;
        let t = self.transaction(project_id, transaction_id).await?;
        let category_id = match input.category_id.as_deref() {
            None | Some("") => t.category_id.clone(),
            Some(c) => {
                self.check_category(project_id, c).await?;
                c.to_owned()
            }
        };
        let split = Split {
            id: new_id("spl"),
            transaction_id: t.id,
            amount_cents: input.amount_cents,
            category_id,
            note,
            created_at: self.clock.now(),
        };
        let total = t.amount_cents.abs();
        if let Some(left) = store::insert_split_within(&self.db, project_id, &split, total).await? {
            return Err(Error::Conflict {
                field: "amount_cents",
                message: format!("splits would total more than the transaction ({left} left)"),
            });
        }
        Ok(split)
    }

    pub async fn splits(&self, project_id: &str, transaction_id: &str) -> Result<Vec<Split>> {
        self.transaction(project_id, transaction_id).await?;
        Ok(store::splits(&self.db, project_id, transaction_id).await?)
    }

    pub async fn delete_split(
        &self,
        project_id: &str,
        transaction_id: &str,
        id: &str,
    ) -> Result<()> {
        if store::delete_split(&self.db, project_id, transaction_id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    pub async fn categories(&self, project_id: &str) -> Result<Vec<Category>> {
        let mut all: Vec<Category> = BUILT_IN
            .iter()
            .map(|(id, name, _)| Category {
                id: (*id).into(),
                name: (*name).into(),
                custom: false,
            })
            .collect();
        all.extend(store::custom_categories(&self.db, project_id).await?);
        Ok(all)
    }

    pub async fn create_category(&self, project_id: &str, name: &str) -> Result<Category> {
        let name = check_text("name", name, CATEGORY_NAME_MAX)?;
        if BUILT_IN
            .iter()
            .any(|(_, n, _)| n.eq_ignore_ascii_case(&name))
        {
            return Err(Error::Conflict {
                field: "name",
                message: format!("{name:?} is a built-in category"),
            });
        }
        let c = Category {
            id: new_id("cat"),
            name,
            custom: true,
        };
        store::insert_category(&self.db, project_id, &c, self.clock.now())
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict {
                        field: "name",
                        message: format!("a category called {:?} exists", c.name),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(c)
    }

    /// Deletes a custom category; its transactions and splits fall back to "Other".
    pub async fn delete_category(&self, project_id: &str, id: &str) -> Result<()> {
        if BUILT_IN.iter().any(|(i, _, _)| *i == id) {
            return Err(Error::Conflict {
                field: "category_id",
                message: "built-in categories cannot be deleted".into(),
            });
        }
        if store::delete_category(&self.db, project_id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Series of the same merchant and amount seen at least twice.
    pub async fn regular(&self, project_id: &str, user_id: &str) -> Result<Vec<RegularSeries>> {
        let user_id = check_ident("user_id", user_id)?;
        let mut txns =
            store::list_transactions(&self.db, project_id, Some(&user_id), 10_000).await?;
        txns.sort_by(|a, b| a.booked_on.cmp(&b.booked_on));
        let mut series: Vec<RegularSeries> = Vec::new();
        for t in txns {
            match series.iter_mut().find(|s| {
                s.merchant == t.merchant
                    && s.amount_cents == t.amount_cents
                    && s.currency == t.currency
            }) {
                Some(s) => {
                    s.occurrences += 1;
                    s.last_booked_on = t.booked_on.clone();
                    s.transaction_ids.push(t.id);
                }
                None => series.push(RegularSeries {
                    merchant: t.merchant,
                    amount_cents: t.amount_cents,
                    currency: t.currency,
                    occurrences: 1,
                    first_booked_on: t.booked_on.clone(),
                    last_booked_on: t.booked_on,
                    transaction_ids: vec![t.id],
                }),
            }
        }
        series.retain(|s| s.occurrences >= 2);
        Ok(series)
    }

    /// Erases every transaction (and split) of a user in this project.
    pub async fn erase_user(&self, project_id: &str, user_id: &str) -> Result<Erased> {
        let user_id = check_ident("user_id", user_id)?;
        let (transactions_deleted, splits_deleted) =
            store::erase_user(&self.db, project_id, &user_id).await?;
        Ok(Erased {
            user_id,
            transactions_deleted,
            splits_deleted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrichment_is_deterministic() {
        assert_eq!(merchant_of("TESCO STORES 3297 LONDON"), "TESCO STORES");
        assert_eq!(merchant_of("netflix.com*1234"), "NETFLIX.COM");
        assert_eq!(category_of("Tesco Stores 3297"), "cat_groceries");
        assert_eq!(category_of("ACME PAYROLL NOV"), "cat_income");
        assert_eq!(category_of("Something else"), "cat_other");
    }
}
