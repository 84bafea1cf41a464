//! Clients at scale (issue 23): a release node's memory per client, and
//! what a gate in another process receives when it starts following.
//!
//! A node on an empty SQLite database is measured first (its own memory
//! once it answers and has settled, then tokens/s); then `clients` clients
//! (two per project, one project per account, each with three scopes; one
//! in a hundred retired) are written straight into the same database, as a
//! partner population would have made them, and the node is started again: its start time, its own
//! memory at the same point, and tokens/s in the same run. The gate's
//! snapshot is the first event of `/gate/v1/feed` for the partner API, read
//! with a gate credential as `portcullis gate` reads it: it holds the
//! clients a gate must refuse (the retired ones), not every client.
//!
//! "Its own memory" is `RssAnon`: resident memory without the database
//! file's pages, which SQLite reads through its memory map and the kernel
//! may drop at any time (VmRSS counts them; both are printed).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};

use crate::http::{self, Creds};
use crate::load;
use crate::nodes;

const MASTER: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// Process `pid`'s memory, bytes: (its own, anonymous; all resident).
fn memory(pid: u32) -> Result<(u64, u64), String> {
    let pid = pid.to_string();
    let bytes = |field| nodes::status_kib(&pid, field).map(|kib| kib * 1024);
    Ok((bytes("RssAnon")?, bytes("VmRSS")?))
}

/// Tokens a second at `addr`; an error if any request failed.
async fn token_rate(
    addr: &str,
    spec: &load::RequestSpec,
    connections: usize,
    measure: Duration,
) -> Result<f64, String> {
    let report = load::run(addr, spec, connections, Duration::from_secs(2), measure).await?;
    if report.errors > 0 {
        return Err(format!("{addr}: {} token requests failed", report.errors));
    }
    Ok(report.rate())
}

pub async fn run(
    binary: &str,
    site: &std::path::Path,
    clients: usize,
    connections: usize,
    seconds: u64,
) -> Result<(), String> {
    // Whole projects of two clients.
    let clients = clients / 2 * 2;
    if clients == 0 {
        return Err("--scale-clients must be at least 2".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}/scale.db", dir.path().display());
    let measure = Duration::from_secs(seconds);

    // The empty node: migrations, one partner client, the baseline.
    let empty = nodes::spawn(binary, &url, "", MASTER, site, &[]).await?;
    // Both nodes are measured at the same point: settled after start, before
    // any request (the sign-up below hashes a password with argon2, whose
    // 19 MiB the allocator keeps).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (empty_anon, empty_rss) = memory(empty.pid())?;
    let creds = http::provision(&empty.addr, "applications:read").await?;
    let spec = token_spec(&creds);
    let empty_rate = token_rate(&empty.addr, &spec, connections, measure).await?;
    drop(empty);

    let started = Instant::now();
    let retired = write_population(&url, clients).await?;
    let wrote = started.elapsed();

    let started = Instant::now();
    let node = nodes::spawn(binary, &url, "", MASTER, site, &[]).await?;
    let up = started.elapsed();
    // Settled: what start-up allocated and freed is given back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (full_anon, full_rss) = memory(node.pid())?;
    let full_rate = token_rate(&node.addr, &spec, connections, measure).await?;
    let (snapshot_bytes, snapshot_time, held) = gate_snapshot(binary, &url, &node.addr).await?;
    drop(node);

    let per_client = full_anon.saturating_sub(empty_anon) as f64 / clients as f64;
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "\nclients at scale: {clients} clients in {} accounts written in {:.1} s; node up in {:.1} s",
        clients / 2,
        wrote.as_secs_f64(),
        up.as_secs_f64()
    );
    println!(
        "node memory (RssAnon): empty {:.1} MiB, with the clients {:.1} MiB: {per_client:.0} B per client (target <= 1,024); VmRSS {:.1} → {:.1} MiB (with the database file's mapped pages)",
        mib(empty_anon),
        mib(full_anon),
        mib(empty_rss),
        mib(full_rss)
    );
    let kib = |b: u64| b as f64 / 1024.0;
    println!(
        "a gate's snapshot: {held} clients to refuse ({retired} retired), {:.1} KiB in {:.3} s; tokens/s empty {empty_rate:.0}, with the clients {full_rate:.0}",
        kib(snapshot_bytes),
        snapshot_time.as_secs_f64()
    );
    if held != retired {
        return Err(format!(
            "the gate's snapshot holds {held} clients, not the {retired} it must refuse"
        ));
    }
    crate::readme::record(
        "scale",
        format!(
            "| {} clients (two per project, one project per account) | measured |\n|---|---|\n\
             | node memory of its own (`RssAnon`), empty → with the clients | {:.1} MiB → {:.1} MiB |\n\
             | **per client** (target ≤ 1,024 B) | **{per_client:.0} B** |\n\
             | resident with the database file's mapped pages (`VmRSS`) | {:.1} MiB → {:.1} MiB |\n\
             | node start with the clients (migrations, loading, listening) | {:.1} s |\n\
             | a remote gate's snapshot (the feed's first event): the clients it must refuse | {} clients, {:.1} KiB in {:.3} s |\n\
             | tokens/s, empty node → with the clients | {} → {} |",
            crate::readme::thousands(clients as f64),
            mib(empty_anon),
            mib(full_anon),
            mib(empty_rss),
            mib(full_rss),
            up.as_secs_f64(),
            crate::readme::thousands(held as f64),
            kib(snapshot_bytes),
            snapshot_time.as_secs_f64(),
            crate::readme::thousands(empty_rate),
            crate::readme::thousands(full_rate),
        ),
    );
    Ok(())
}

fn token_spec(creds: &Creds) -> load::RequestSpec {
    load::RequestSpec::post(
        "/oauth/token",
        &creds.basic(),
        "grant_type=client_credentials&scope=applications%3Aread",
    )
}

/// `clients` clients, two per project and one project per account, one in
/// a hundred retired just now; rows written in one transaction. Returns
/// how many are retired.
async fn write_population(url: &str, clients: usize) -> Result<usize, String> {
    use portcullis_core::store::{self, clients::ClientRow, projects::ProjectRow};
    let db = portcullis_core::db::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    fn err(e: impl std::fmt::Display) -> String {
        e.to_string()
    }
    let now = 1_780_000_000;
    // Retired now (not at `now`): a gate refuses them for a day from here.
    let retired_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(err)?
        .as_secs() as i64;
    let mut retired = 0;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    for a in 0..clients / 2 {
        let account = format!("acc_scale{a:08}");
        store::accounts::insert(&mut *tx, &account, &format!("Partner {a}"), now)
            .await
            .map_err(err)?;
        let project = ProjectRow {
            id: format!("prj_scale{a:08}"),
            account_id: account.clone(),
            name: "Loan intake".into(),
            description: String::new(),
            api_id: "partner".into(),
            token_ttl_secs: 3600,
            created_at: now,
            archived_at: None,
            rate_per_sec: 25,
            rate_burst: 50,
            keys_only: 0,
            dormant_after_days: None,
            daily_token_quota: None,
        };
        store::projects::insert(&mut *tx, &project)
            .await
            .map_err(err)?;
        for c in 0..2 {
            let retire = (a * 2 + c) % 100 == 99;
            retired += usize::from(retire);
            let row = ClientRow {
                id: format!("pcl_scale{a:08}x{c}"),
                account_id: account.clone(),
                project_id: project.id.clone(),
                name: format!("Integration {c}"),
                secret_hash: format!("{:02x}", a % 251).repeat(32),
                scopes: "applications:read applications:write decisions:read".into(),
                created_at: now,
                last_used_at: None,
                disabled_at: None,
                disabled_reason: None,
                expires_at: None,
                retire_at: None,
                revoked_before: None,
                auth_method: store::clients::AUTH_SECRET.into(),
                public_keys: None,
                jwks_uri: None,
                workload_trust: None,
                last_workload: None,
            };
            store::clients::insert(&mut *tx, &row, None)
                .await
                .map_err(err)?;
            if retire
                && !store::clients::disable(&mut *tx, &account, &row.id, retired_at, "Retired")
                    .await
                    .map_err(err)?
            {
                return Err(format!("client {} was not retired", row.id));
            }
        }
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    db.close().await;
    Ok(retired)
}

/// The bytes of the gate feed's first event for the partner API, how
/// long it took to arrive and how many clients it holds, read with a new
/// gate credential.
async fn gate_snapshot(
    binary: &str,
    url: &str,
    addr: &str,
) -> Result<(u64, Duration, usize), String> {
    let out = std::process::Command::new(binary)
        .args(["gates", "add", "--api", "partner", "--name", "scale"])
        .env("DATABASE_URL", url)
        .env_remove("PORTCULLIS_APIS_DATABASE_URL")
        .env("PORTCULLIS_MASTER_KEY", MASTER)
        .env("PORTCULLIS_SCOPES", "scopes.toml")
        .output()
        .map_err(|e| format!("{binary} gates add: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_owned)
            .ok_or_else(|| format!("{binary} gates add printed no {key}: {text}"))
    };
    let (id, secret) = (value("GATE_CLIENT_ID=")?, value("GATE_CLIENT_SECRET=")?);
    let basic = Creds { id, secret }.basic();
    let req = hyper::Request::get("/gate/v1/feed")
        .header("host", addr)
        .header("authorization", basic)
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut body = http::stream(addr, req).await?;
    let mut seen: Vec<u8> = Vec::new();
    // Where the search for the end of the event goes on from.
    let mut from = 0;
    // The first event that carries data (keep-alive comments have none).
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(120), body.frame())
            .await
            .map_err(|_| "the gate feed sent no snapshot within 120 s".to_owned())?
            .ok_or("the gate feed ended before its snapshot")?
            .map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
            seen.extend_from_slice(&data);
        }
        match find(&seen[from..], b"\n\n") {
            Some(at) => {
                let end = from + at;
                if find(&seen[..end], b"data:").is_some() {
                    let took = started.elapsed();
                    let clients = seen[..end]
                        .windows(b"\"id\":\"pcl_".len())
                        .filter(|w| *w == b"\"id\":\"pcl_")
                        .count();
                    return Ok((end as u64, took, clients));
                }
                seen.drain(..end + 2);
                from = 0;
            }
            None => from = seen.len().saturating_sub(1),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
