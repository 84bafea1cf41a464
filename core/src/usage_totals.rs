//! Use that is true for the cluster: every node writes the tokens it
//! minted and the calls its in-process gates decided (its
//! [`Tally`](portcullis_gate::usage::Tally)) to the shared database every
//! few seconds, and adds the reports of gates in other processes; the
//! console, the management API and the reuse warning read the sums. No
//! request waits for a write: a node's latest seconds are in memory, and
//! its own readers add them.

use std::collections::HashMap;
use std::sync::Arc;

pub use portcullis_gate::usage::Counts;
use portcullis_gate::usage::{Row, Tally};

use crate::access::Principal;
use crate::clock::{Clock, Epoch};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::store;
pub use crate::store::usage::Span;

/// Minutes kept: 48 hours.
pub const MINUTES_KEPT: i64 = 48 * 60;
/// Hours kept: 30 days.
pub const HOURS_KEPT: i64 = 30 * 24;
/// A gate's report may name minutes this far back (its reports fail for a
/// while, then catch up); older rows are left out.
const GATE_REPORT_MINUTES: i64 = 60;
/// Most a gate report may count in one row: far above any real minute,
/// low enough that no report can make a total meaningless.
const GATE_ROW_MAX: u64 = 100_000_000;
/// Most rows one gate report carries.
pub const GATE_REPORT_ROWS: usize = portcullis_gate::usage::REPORT_MAX_ROWS;

/// A project's use over a range, as the console and the management API
/// show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectUsage {
    pub span: Span,
    /// The first bucket of the range (epoch minute or hour).
    pub from: i64,
    /// The bucket of "now".
    pub to: i64,
    /// Buckets with any use, oldest first.
    pub series: Vec<(i64, Counts)>,
    pub totals: Counts,
    /// Tokens minted per client over the range, most first.
    pub clients: Vec<(String, u64)>,
}

/// A client's tokens in the last 5 minutes and the last hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentMints {
    pub last_5m: u64,
    pub last_hour: u64,
}

pub struct UsageTotals {
    db: Db,
    tally: Arc<Tally>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
}

impl UsageTotals {
    pub fn new(db: Db, tally: Arc<Tally>, registry: Arc<Registry>, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            tally,
            registry,
            clock,
        }
    }

    /// Writes what this node counted since the last flush; on failure it
    /// is kept for the next one. Rows of projects no longer known go.
    pub async fn flush(&self) -> Result<usize> {
        let rows = self.tally.take_to_write();
        if rows.is_empty() {
            return Ok(0);
        }
        match self.add(&rows, None).await {
            Ok(n) => {
                self.tally.written();
                Ok(n)
            }
            Err(e) => {
                let oldest = self.clock.now() / 60 - GATE_REPORT_MINUTES;
                self.tally.put_back(rows, oldest);
                Err(e)
            }
        }
    }

    /// Adds `rows` (and, for a gate's report, records its id, so that a
    /// report sent again is not counted again): false if `report` was
    /// counted before.
    async fn add(&self, rows: &[Row], report: Option<&str>) -> Result<usize> {
        let projects: HashMap<&str, String> = rows
            .iter()
            .filter_map(|r| {
                let p = self.registry.project(&r.project_id)?;
                Some((r.project_id.as_str(), p.account_id.to_string()))
            })
            .collect();
        let added: Vec<store::usage::Added<'_>> = rows
            .iter()
            .filter_map(|r| {
                Some(store::usage::Added {
                    account_id: projects.get(r.project_id.as_str())?,
                    project_id: &r.project_id,
                    client_id: &r.client_id,
                    minute: r.minute,
                    counts: r.counts,
                })
            })
            .collect();
        let mut tx = self.db.begin().await?;
        if let Some(id) = report {
            if !store::usage::first_report(&mut tx, id, self.clock.now()).await? {
                return Ok(0);
            }
        }
        store::usage::add(&mut tx, &added).await?;
        tx.commit().await?;
        Ok(added.len())
    }

    /// A gate in another process reports what it decided: only projects
    /// of its credential's API count (a gate cannot add to other tenants'
    /// totals), only calls (a gate mints nothing), only the last hour's
    /// minutes, each row bounded. Returns the rows counted (0 for a
    /// report counted before).
    pub async fn gate_report(
        &self,
        api_id: &str,
        report_id: &str,
        rows: Vec<Row>,
    ) -> Result<usize> {
        let valid_id = !report_id.is_empty()
            && report_id.len() <= 80
            && report_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_id {
            return Err(Error::invalid(
                "report",
                "1 to 80 letters, digits, '-' or '_'",
            ));
        }
        if rows.len() > GATE_REPORT_ROWS {
            return Err(Error::invalid(
                "rows",
                format!("at most {GATE_REPORT_ROWS} rows in one report"),
            ));
        }
        let this_minute = self.clock.now() / 60;
        // Rows naming the same project and minute are summed as they are
        // written (`store::usage::add`).
        let rows: Vec<Row> = rows
            .into_iter()
            .filter(|r| {
                (this_minute - GATE_REPORT_MINUTES..=this_minute + 1).contains(&r.minute)
                    && self
                        .registry
                        .project(&r.project_id)
                        .is_some_and(|p| p.api_id == api_id)
            })
            .map(|r| Row {
                client_id: String::new(),
                counts: Counts {
                    minted: 0,
                    gated: r.counts.gated.min(GATE_ROW_MAX),
                    refused: r.counts.refused.min(GATE_ROW_MAX),
                    limited: r.counts.limited.min(GATE_ROW_MAX),
                },
                ..r
            })
            .collect();
        self.add(&rows, Some(report_id)).await
    }

    /// `project_id`'s use over the last 48 hours by minute or the last 30
    /// days by hour, this node's unwritten counts included. The project
    /// must be the caller's account's.
    pub async fn project(
        &self,
        by: &Principal,
        project_id: &str,
        span: Span,
    ) -> Result<ProjectUsage> {
        let kept = match span {
            Span::Minute => MINUTES_KEPT,
            Span::Hour => HOURS_KEPT,
        };
        self.project_last(by, project_id, span, kept).await
    }

    /// [`UsageTotals::project`] over the last `buckets` minutes or hours
    /// (the current one included).
    pub async fn project_last(
        &self,
        by: &Principal,
        project_id: &str,
        span: Span,
        buckets: i64,
    ) -> Result<ProjectUsage> {
        let account_id = self.account_project(by, project_id).await?;
        let now = self.clock.now();
        let to = match span {
            Span::Minute => now.div_euclid(60),
            Span::Hour => now.div_euclid(3600),
        };
        let from = to - buckets.max(1) + 1;
        let stored = store::usage::series(&self.db, &account_id, project_id, span, from).await?;
        let per_client =
            store::usage::minted_by_client(&self.db, &account_id, project_id, span, from).await?;
        let mut series: std::collections::BTreeMap<i64, Counts> = stored.into_iter().collect();
        let mut clients: HashMap<String, u64> = HashMap::new();
        for (client, _, minted) in per_client {
            *clients.entry(client).or_default() += minted;
        }
        for row in self.tally.pending_for(project_id) {
            let bucket = match span {
                Span::Minute => row.minute,
                Span::Hour => row.minute.div_euclid(60),
            };
            if bucket < from {
                continue;
            }
            series.entry(bucket).or_default().add(&row.counts);
            if !row.client_id.is_empty() {
                *clients.entry(row.client_id).or_default() += row.counts.minted;
            }
        }
        let mut totals = Counts::default();
        for c in series.values() {
            totals.add(c);
        }
        let mut clients: Vec<(String, u64)> = clients.into_iter().collect();
        clients.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(ProjectUsage {
            span,
            from,
            to,
            series: series.into_iter().collect(),
            totals,
            clients,
        })
    }

    /// Forgets minutes past 48 hours, hours past 30 days and gate report
    /// ids past two hours.
    pub async fn prune(&self, now: Epoch) -> Result<u64> {
        store::usage::prune(
            &self.db,
            now.div_euclid(60) - MINUTES_KEPT,
            now.div_euclid(3600) - HOURS_KEPT,
            now - 2 * 3600,
        )
        .await
    }

    async fn account_project(&self, by: &Principal, project_id: &str) -> Result<String> {
        match store::projects::get(&self.db, &by.account_id, project_id).await? {
            Some(p) => Ok(p.account_id),
            None => Err(Error::NotFound),
        }
    }
}

/// Tokens each client of the project minted lately, cluster-wide, this
/// node's unwritten counts (`tally`) included. `account_id` must already
/// be checked to own the project.
pub async fn recent_mints(
    db: &Db,
    tally: &Tally,
    account_id: &str,
    project_id: &str,
    now: Epoch,
) -> Result<HashMap<String, RecentMints>> {
    let this = now.div_euclid(60);
    let from = this - 59;
    let mut out: HashMap<String, RecentMints> = HashMap::new();
    let stored =
        store::usage::minted_by_client(db, account_id, project_id, Span::Minute, from).await?;
    let pending = tally
        .pending_for(project_id)
        .into_iter()
        .filter(|r| !r.client_id.is_empty() && r.minute >= from)
        .map(|r| (r.client_id, r.minute, r.counts.minted));
    for (client, minute, minted) in stored.into_iter().chain(pending) {
        let m = out.entry(client).or_default();
        m.last_hour += minted;
        if minute > this - 5 {
            m.last_5m += minted;
        }
    }
    Ok(out)
}
