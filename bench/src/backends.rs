//! The hot paths on each storage, in one run: the token endpoint and a
//! gated read, on SQLite, on PostgreSQL, and on PostgreSQL with the buckets
//! in Redis. Both hot paths read memory only, so the backend should not
//! show; Redis is paid once per lease, not per request. Rounds alternate
//! between the three servers so the machine's drift hits all alike.

use std::time::Duration;

use crate::load::median;
use crate::server::{self, Storage};
use crate::{http, load};

struct Target {
    name: &'static str,
    addr: String,
    token: load::RequestSpec,
    gated: load::RequestSpec,
    bare: load::RequestSpec,
    bare_addr: String,
    tokens: Vec<f64>,
    reads: Vec<f64>,
    bare_reads: Vec<f64>,
    _servers: server::Servers,
}

async fn target(name: &'static str, servers: server::Servers) -> Result<Target, String> {
    let addr = servers.gated.to_string();
    http::wait_ready(&addr, Duration::from_secs(60)).await?;
    let creds = http::provision(&addr, "applications:read applications:write").await?;
    let token = http::access_token(&addr, &creds, "applications:read applications:write").await?;
    let app_id = http::create_application(&addr, &token).await?;
    let bare_addr = servers.serve_ungated(&token)?.to_string();
    Ok(Target {
        bare: load::RequestSpec::get(&format!("/partner/v1/applications/{app_id}"), ""),
        bare_addr,
        bare_reads: Vec::new(),
        name,
        token: load::RequestSpec::post(
            "/oauth/token",
            &creds.basic(),
            "grant_type=client_credentials&scope=applications%3Aread",
        ),
        gated: load::RequestSpec::get(
            &format!("/partner/v1/applications/{app_id}"),
            &format!("Bearer {token}"),
        ),
        addr,
        tokens: Vec::new(),
        reads: Vec::new(),
        _servers: servers,
    })
}

pub fn compare(
    site_root: &std::path::Path,
    postgres_url: &str,
    // A second database: each server has its own master key.
    postgres_url_for_redis: &str,
    redis_url: Option<&str>,
    connections: usize,
    rounds: usize,
) -> Result<(), String> {
    let mut storages = vec![
        ("SQLite", Storage::default()),
        (
            "PostgreSQL",
            Storage {
                database_url: Some(postgres_url.to_owned()),
                redis_url: None,
            },
        ),
    ];
    if let Some(redis) = redis_url {
        storages.push((
            "PostgreSQL + Redis buckets",
            Storage {
                database_url: Some(postgres_url_for_redis.to_owned()),
                redis_url: Some(redis.to_owned()),
            },
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut targets = Vec::new();
    for (name, storage) in storages {
        let servers = server::start(site_root, &storage)?;
        targets.push(runtime.block_on(target(name, servers))?);
    }
    println!("\nhot paths by storage, {rounds} alternating rounds of 3 s each (medians):");
    runtime.block_on(async {
        for _ in 0..rounds {
            for t in targets.iter_mut() {
                for (addr, spec, rates) in [
                    (&t.addr, &t.token, &mut t.tokens),
                    (&t.addr, &t.gated, &mut t.reads),
                    (&t.bare_addr, &t.bare, &mut t.bare_reads),
                ] {
                    let r = load::run(
                        addr,
                        spec,
                        connections,
                        Duration::from_secs(1),
                        Duration::from_secs(3),
                    )
                    .await?;
                    if r.errors > 0 {
                        return Err(format!("{}: {} requests failed", t.name, r.errors));
                    }
                    rates.push(r.rate());
                }
            }
        }
        Ok::<_, String>(())
    })?;
    let base_tokens = median(&mut targets[0].tokens.clone());
    let base_reads = median(&mut targets[0].reads.clone());
    println!(
        "{:<28} {:>10} {:>10} {:>13} {:>10} {:>15} {:>10}",
        "storage",
        "tokens/s",
        "vs SQLite",
        "gated reads/s",
        "vs SQLite",
        "ungated reads/s",
        "gate cost"
    );
    for t in &mut targets {
        let (tok, read, bare) = (
            median(&mut t.tokens),
            median(&mut t.reads),
            median(&mut t.bare_reads),
        );
        println!(
            "{:<28} {:>10.0} {:>10.2} {:>13.0} {:>10.2} {:>15.0} {:>9.1}%",
            t.name,
            tok,
            tok / base_tokens,
            read,
            read / base_reads,
            bare,
            (1.0 - read / bare) * 100.0
        );
    }
    println!(
        "(the read handler itself queries the database once per request; the gate costs the share in the last column)"
    );
    let pg = &mut targets[1];
    let (tok, read) = (median(&mut pg.tokens), median(&mut pg.reads));
    println!(
        "targets: token endpoint on PostgreSQL within 10% of SQLite: {}; gated reads: {}",
        if tok / base_tokens >= 0.9 {
            "met"
        } else {
            "MISSED"
        },
        if read / base_reads >= 0.9 {
            "met"
        } else {
            "MISSED"
        },
    );
    Ok(())
}
