//! The audit log at scale: a million rows for one account, then the
//! console's queries (first page, a filtered page, a page deep in the log)
//! timed directly against the storage, as the console's server function
//! runs them.

use std::sync::Mutex;
use std::time::Instant;

use portcullis_core::audit::{self, Cursor, Filter};
use portcullis_core::evidence::{self, Format};
use portcullis_core::Db;

/// The first row's time.
const BASE: i64 = 1_700_000_000;

/// This run's README rows, one per database (the SQLite pass, then
/// PostgreSQL's when `make bench` gives it one).
static ROWS: Mutex<String> = Mutex::new(String::new());

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `database`: what the README's row calls the database `db` is on.
pub async fn run(db: &Db, database: &str, rows: usize) -> Result<(), String> {
    let (account_id,): (String,) = sqlx::query_as("select account_id from memberships limit 1")
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let actions = audit::ACTIONS;
    let base = BASE;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    for i in 0..rows {
        sqlx::query(
            "insert into audit_events (id, account_id, at, actor_kind, actor_id, actor_label, action,
                 target_kind, target_id, project_id, client_ip, detail)
             values ($1, $2, $3, 'user', 'usr_bench', $4, $5, 'client', $6, $7, '127.0.0.1', 'bench')",
        )
        .bind(format!("evt_bench{i:012}"))
        .bind(&account_id)
        .bind(base + (i as i64) / 3)
        .bind(format!("user{}@example.com", i % 20))
        .bind(actions[i % actions.len()])
        .bind(format!("pcl_{i}"))
        .bind(format!("prj_{}", i % 50))
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    // What autovacuum (PostgreSQL) does within a minute of a bulk load:
    // without statistics the planner guessed 13 rows for an action filter
    // that matches 50,000 and sorted them all (111 ms instead of 0.3 ms).
    sqlx::query("analyze audit_events")
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\naudit log: {rows} rows written in {:.1} s; query medians of 51 runs:",
        started.elapsed().as_secs_f64()
    );
    let deep = Cursor {
        at: base + (rows as i64) / 6,
        id: "evt_zzz".into(),
    };
    let cases: [(&str, Filter, Option<&Cursor>); 4] = [
        ("newest page, no filter", Filter::default(), None),
        (
            "newest page, action filter",
            Filter {
                action: Some("client.retire".into()),
                ..Filter::default()
            },
            None,
        ),
        (
            "page from the middle (keyset)",
            Filter::default(),
            Some(&deep),
        ),
        (
            "actor + project + day filter",
            Filter {
                actor: Some("user7@example.com".into()),
                project_id: Some("prj_7".into()),
                from: Some(base),
                to: Some(base + 86_399),
                ..Filter::default()
            },
            None,
        ),
    ];
    let mut medians = Vec::new();
    for (name, filter, cursor) in cases {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..51 {
            let t = Instant::now();
            let page = audit::search(db, &account_id, &filter, cursor, 50)
                .await
                .map_err(|e| e.to_string())?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            n = page.entries.len();
        }
        let median = median_ms(times);
        println!("  {name:<32} {median:>8.2} ms  ({n} entries)");
        medians.push(format!("{median:.2} ms"));
    }
    let export = export(db, &account_id, rows).await?;
    let mut readme = ROWS.lock().unwrap_or_else(|p| p.into_inner());
    readme.push_str(&format!(
        "| {database} | {} | {} | {export} |\n",
        crate::readme::thousands(rows as f64),
        medians.join(" | "),
    ));
    crate::readme::record(
        "audit",
        format!(
            "| database | rows of one account | newest page | action filter | a page from the middle (keyset) | actor + project + day | the whole log as CSV |\n\
             |---|---|---|---|---|---|---|\n{readme}\nEach query's median of 51 runs; a page is 50 entries.\n"
        ),
    );
    Ok(())
}

/// The whole log as one CSV file, chunk by chunk as the download streams
/// it: its time, and the process's memory over it next to the memory
/// before. Returns the README's cell.
async fn export(db: &Db, account_id: &str, rows: usize) -> Result<String, String> {
    let (user, account): (String, String) = sqlx::query_as(
        "select m.user_id, m.account_id from memberships m where m.account_id = $1 limit 1",
    )
    .bind(account_id)
    .fetch_one(db)
    .await
    .map_err(|e| e.to_string())?;
    let by = portcullis_core::store::accounts::principal(db, &user, &account)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the account's member is gone")?;
    let now = base_now(rows);
    // Resident memory has two parts here: the process's own (anonymous:
    // what an export could pile up) and pages of the database file that
    // SQLite reads through its 256 MiB mmap (the kernel's cache, given
    // back under pressure). The first is sampled at every chunk.
    let anon_before = memory_kib("RssAnon")?;
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("clear_refs: {e}"))?;
    let started = Instant::now();
    let mut file = evidence::audit_log(db, &by, Filter::default(), Format::Csv, now)
        .await
        .map_err(|e| e.to_string())?;
    let (mut bytes, mut anon_peak) = (0usize, anon_before);
    while let Some(chunk) = file.next_chunk().await.map_err(|e| e.to_string())? {
        bytes += chunk.len();
        anon_peak = anon_peak.max(memory_kib("RssAnon")?);
    }
    let secs = started.elapsed().as_secs_f64();
    let peak = memory_kib("VmHWM")?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "  export, every row as CSV          {secs:>8.2} s   ({:.0} rows/s, {:.1} MB)",
        rows as f64 / secs,
        bytes as f64 / 1e6,
    );
    println!(
        "    process memory (anonymous) {:.1} MiB before, at most {:.1} MiB during; resident with the database file's mapped pages at most {:.1} MiB",
        mib(anon_before),
        mib(anon_peak),
        mib(peak),
    );
    Ok(format!(
        "{secs:.1} s ({} rows/s, {:.0} MB); the memory of the bench process and the Portcullis servers in it (not PostgreSQL's) {:.1} → at most {:.1} MiB",
        crate::readme::thousands(rows as f64 / secs),
        bytes as f64 / 1e6,
        mib(anon_before),
        mib(anon_peak),
    ))
}

/// After the last row written (rows are three to a second from `BASE`).
fn base_now(rows: usize) -> i64 {
    BASE + rows as i64 / 3 + 1
}

/// This process's `/proc/self/status` figure, in KiB.
fn memory_kib(field: &str) -> Result<u64, String> {
    crate::nodes::status_kib("self", field)
}
