//! Evidence for auditors: an account's audit log (as filtered) and its
//! daily use per client, as CSV or JSON files that say whose they are, the
//! range they cover and when they were made. A file is written a chunk at
//! a time ([`Export::next_chunk`], 1,000 rows read by keyset), so a
//! million rows never sit in memory and no connection is held between
//! chunks. The last line says the file is complete (`# complete: N rows`,
//! or `"complete": true` closing the JSON): a download cut short is
//! visibly cut short.

use crate::audit::{Cursor, Filter};
use crate::calendar;
use crate::clock::Epoch;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::model::Principal;
use crate::store::{audit as audit_store, evidence as store};

mod write;
use write::{csv_row, json_row, json_string, Cell};

/// Rows read per query.
const CHUNK: i64 = 1_000;
/// Daily use comes from the hour totals, kept this many days.
pub const USAGE_DAYS_KEPT: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// `csv` or `json`; JSON when not given.
    pub fn parse(s: Option<&str>) -> Result<Self> {
        match s {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(Error::invalid("format", "Choose csv or json.")),
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

const AUDIT_COLUMNS: [&str; 10] = [
    "id",
    "at",
    "actor_kind",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "project_id",
    "client_ip",
    "detail",
];

const USAGE_COLUMNS: [&str; 9] = [
    "day",
    "project_id",
    "project_name",
    "client_id",
    "client_name",
    "tokens_minted",
    "calls_allowed",
    "calls_refused",
    "rate_limited",
];

enum Source {
    /// Newest first, from `next` (exclusive); `None` once read out.
    Audit {
        filter: Filter,
        next: Option<Option<Cursor>>,
    },
    /// Day by day, oldest first; within a day by (project, client).
    Usage {
        day: i64,
        last_day: i64,
        after: (String, String),
    },
}

#[derive(PartialEq)]
enum Stage {
    Heading,
    Rows,
    Done,
}

/// One file being written.
pub struct Export {
    db: Db,
    format: Format,
    source: Source,
    account_id: String,
    account_name: String,
    /// The dates covered, inclusive (`None`: unbounded).
    range: (Option<String>, Option<String>),
    generated_at: Epoch,
    rows: u64,
    stage: Stage,
}

/// The audit log as `filter` selects it, newest first, up to `now` (an
/// entry written while the file is made is not in it).
pub async fn audit_log(
    db: &Db,
    by: &Principal,
    mut filter: Filter,
    format: Format,
    now: Epoch,
) -> Result<Export> {
    crate::audit::check_action(&filter)?;
    let range = (
        filter.from.map(calendar::date),
        filter.to.map(calendar::date),
    );
    filter.to = Some(filter.to.map_or(now, |to| to.min(now)));
    Export::new(
        db,
        by,
        format,
        Source::Audit {
            filter,
            next: Some(None),
        },
        range,
        now,
    )
    .await
}

/// Each day's tokens minted per client, and calls allowed, refused and
/// rate limited per project, from `from` to `to` (dates, UTC, inclusive;
/// by default, and at most, the 30 days kept, today included).
pub async fn daily_usage(
    db: &Db,
    by: &Principal,
    from: Option<&str>,
    to: Option<&str>,
    format: Format,
    now: Epoch,
) -> Result<Export> {
    let today = now.div_euclid(86_400);
    let first_kept = today - (USAGE_DAYS_KEPT - 1);
    let day = |field: &'static str, s: Option<&str>, default: i64| -> Result<i64> {
        let Some(s) = s else { return Ok(default) };
        let date = calendar::parse_date(s)
            .ok_or_else(|| Error::invalid(field, "Enter a date as YYYY-MM-DD."))?;
        Ok(calendar::day_start(date).div_euclid(86_400))
    };
    // Days outside what is kept are left out, and the heading says which
    // days the file covers; a `from` after `to` makes an empty file.
    let first = day("from", from, first_kept)?.max(first_kept);
    let last = day("to", to, today)?.min(today);
    let range = (
        Some(calendar::date(first * 86_400)),
        Some(calendar::date(last * 86_400)),
    );
    let source = Source::Usage {
        day: first,
        last_day: last,
        after: (String::new(), String::new()),
    };
    Export::new(db, by, format, source, range, now).await
}

impl Export {
    async fn new(
        db: &Db,
        by: &Principal,
        format: Format,
        source: Source,
        range: (Option<String>, Option<String>),
        now: Epoch,
    ) -> Result<Self> {
        Ok(Export {
            db: db.clone(),
            format,
            source,
            account_id: by.account_id().to_owned(),
            account_name: store::account_name(db, by.account_id()).await?,
            range,
            generated_at: now,
            rows: 0,
            stage: Stage::Heading,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    fn kind(&self) -> &'static str {
        match self.source {
            Source::Audit { .. } => "audit_log",
            Source::Usage { .. } => "daily_usage",
        }
    }

    /// `portcullis-audit_log-acc_…-2026-12-05.csv`.
    pub fn file_name(&self) -> String {
        format!(
            "portcullis-{}-{}-{}.{}",
            self.kind(),
            self.account_id,
            calendar::date(self.generated_at),
            self.format.extension()
        )
    }

    /// The file's next piece: its heading, then rows a chunk at a time,
    /// then its closing line; `None` when written out.
    pub async fn next_chunk(&mut self) -> Result<Option<String>> {
        match self.stage {
            Stage::Heading => {
                self.stage = Stage::Rows;
                Ok(Some(self.heading()))
            }
            Stage::Rows => {
                let mut out = String::new();
                if !self.rows_into(&mut out).await? {
                    self.stage = Stage::Done;
                    self.closing(&mut out);
                }
                Ok(Some(out))
            }
            Stage::Done => Ok(None),
        }
    }

    fn heading(&self) -> String {
        let mut out = String::new();
        let (from, to) = (&self.range.0, &self.range.1);
        let generated = calendar::rfc3339(self.generated_at);
        match self.format {
            Format::Csv => {
                let line = write::heading_text;
                out.push_str(&format!(
                    "# Portcullis {}\r\n# account: {} ({})\r\n# range: {} to {} (UTC days, both included)\r\n# generated_at: {generated}\r\n",
                    self.kind().replace('_', " "),
                    self.account_id,
                    line(&self.account_name),
                    from.as_deref().unwrap_or("the first entry"),
                    to.as_deref().unwrap_or("generated_at"),
                ));
                let cells: Vec<Cell<'_>> = self.columns().iter().map(|c| Cell::Text(c)).collect();
                csv_row(&mut out, &cells);
            }
            Format::Json => {
                let date = |d: &Option<String>| {
                    d.as_deref()
                        .map_or("null".to_owned(), |d| format!("\"{d}\""))
                };
                out.push_str(&format!(
                    "{{\"kind\":\"{}\",\"account\":{{\"id\":",
                    self.kind()
                ));
                json_string(&mut out, &self.account_id);
                out.push_str(",\"name\":");
                json_string(&mut out, &self.account_name);
                out.push_str(&format!(
                    "}},\"range\":{{\"from\":{},\"to\":{}}},\"generated_at\":\"{generated}\",\"entries\":[\n",
                    date(from),
                    date(to)
                ));
            }
        }
        out
    }

    fn closing(&self, out: &mut String) {
        match self.format {
            Format::Csv => out.push_str(&format!("# complete: {} rows\r\n", self.rows)),
            Format::Json => out.push_str(&format!(
                "\n],\"count\":{},\"complete\":true}}\n",
                self.rows
            )),
        }
    }

    fn columns(&self) -> &'static [&'static str] {
        match self.source {
            Source::Audit { .. } => &AUDIT_COLUMNS,
            Source::Usage { .. } => &USAGE_COLUMNS,
        }
    }

    /// Writes the next chunk's rows; `false` when there are none left.
    async fn rows_into(&mut self, out: &mut String) -> Result<bool> {
        let columns = self.columns();
        let Export {
            db,
            format,
            source,
            account_id,
            rows: count,
            ..
        } = self;
        let mut row = |out: &mut String, cells: &[Cell<'_>]| {
            match format {
                Format::Csv => csv_row(out, cells),
                Format::Json => {
                    if *count > 0 {
                        out.push_str(",\n");
                    }
                    json_row(out, columns, cells);
                }
            }
            *count += 1;
        };
        match source {
            Source::Audit { filter, next } => {
                let Some(cursor) = next.take() else {
                    return Ok(false);
                };
                let entries =
                    audit_store::page(&*db, account_id, filter, cursor.as_ref(), CHUNK).await?;
                if entries.len() as i64 == CHUNK {
                    *next = entries.last().map(|e| {
                        Some(Cursor {
                            at: e.at,
                            id: e.id.clone(),
                        })
                    });
                }
                if entries.is_empty() {
                    return Ok(false);
                }
                for e in &entries {
                    let at = calendar::rfc3339(e.at);

                    row(
                        out,
                        &[
                            Cell::Text(&e.id),
                            Cell::Text(&at),
                            Cell::Text(&e.actor_kind),
                            Cell::Text(&e.actor_label),
                            Cell::Text(&e.action),
                            Cell::Text(&e.target_kind),
                            Cell::Text(&e.target_id),
                            e.project_id.as_deref().map_or(Cell::Null, Cell::Text),
                            e.client_ip.as_deref().map_or(Cell::Null, Cell::Text),
                            Cell::Text(&e.detail),
                        ],
                    );
                }
                Ok(true)
            }
            Source::Usage {
                day,
                last_day,
                after,
            } => {
                while *day <= *last_day {
                    let rows =
                        store::usage_day(db, account_id, *day, (&after.0, &after.1), CHUNK).await?;
                    let Some(last) = rows.last() else {
                        *day += 1;
                        *after = (String::new(), String::new());
                        continue;
                    };
                    *after = (last.project_id.clone(), last.client_id.clone());
                    let date = calendar::date(*day * 86_400);
                    for r in &rows {
                        // The project's own row (gate calls) has no client.
                        let whole = r.client_id.is_empty();
                        let client = |s| if whole { Cell::Null } else { Cell::Text(s) };
                        let cells = [
                            Cell::Text(&date),
                            Cell::Text(&r.project_id),
                            Cell::Text(&r.project_name),
                            client(&r.client_id),
                            client(&r.client_name),
                            Cell::Int(r.minted),
                            Cell::Int(r.gated),
                            Cell::Int(r.refused),
                            Cell::Int(r.limited),
                        ];
                        row(out, &cells);
                    }
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }
}
