//! Tokens a second against oidc-provider (panva's Node.js OAuth 2.0 server,
//! set up in `bench/oidc-provider/`): the same grant, client
//! authentication, scope and token shape (an ES256 JWT access token), the
//! same load generator and connections, in alternating rounds of one run.
//! Issue 23's target: at least 10× its tokens a second. Each side's CPU
//! per token is its own processes' (ours: every thread of this process but
//! the load generator's; theirs: the cluster's primary and its workers).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::http;
use crate::load::{self, RequestSpec};

/// The comparison's target: our tokens a second over theirs.
const TARGET: f64 = 10.0;

/// oidc-provider's cluster; stopped when dropped (its workers exit with
/// their primary, as node:cluster workers do when it goes).
struct OidcProvider {
    child: Child,
    port: u16,
    workers: usize,
}

impl OidcProvider {
    /// Starts `node server.mjs` in `dir` and waits until every worker
    /// listens.
    fn start(dir: &Path, secret: &str, resource: &str) -> Result<Self, String> {
        if !dir.join("node_modules/oidc-provider").is_dir() {
            return Err(format!(
                "{}: oidc-provider is not installed (`make bench` runs `npm ci` there; or pass --oidc-provider '' to skip the comparison)",
                dir.display()
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        // In this process group: Ctrl-C stops it with the bench.
        let mut child = Command::new("node")
            .arg("server.mjs")
            .args([&port.to_string(), secret, resource])
            .current_dir(dir)
            .env("NODE_ENV", "production")
            .stdout(Stdio::piped())
            // Its warnings (the in-memory adapter) and any failure show.
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("node server.mjs in {}: {e}", dir.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout from node")?;
        let mut provider = Self {
            child,
            port,
            workers: 0,
        };
        // Its first line says it listens; the rest is read and let go.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) if line.starts_with("listening") => {
                println!("oidc-provider: {line}");
                // "listening on <port> with <n> workers"
                provider.workers = line
                    .split_whitespace()
                    .nth(4)
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("oidc-provider said {line:?}"))?;
                Ok(provider)
            }
            Err(_) => Err("oidc-provider did not listen within 60 s".into()),
            Ok(other) => Err(format!("oidc-provider did not start: {other:?}")),
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// CPU nanoseconds the primary and its workers have run.
    fn cpu_ns(&self) -> Result<u64, String> {
        let primary = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{primary}/task/{primary}/children"))
            .map_err(|e| format!("oidc-provider's workers: {e}"))?;
        let mut ticks = 0;
        for pid in std::iter::once(primary.to_string())
            .chain(children.split_whitespace().map(str::to_owned))
        {
            ticks += process_ticks(&pid)?;
        }
        // USER_HZ is 100 on Linux.
        Ok(ticks * 10_000_000)
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process, in clock ticks (`proc(5)`, fields 14–15).
fn process_ticks(pid: &str) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name may hold spaces: count from after its ')'.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("unreadable stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or("unreadable stat")
    };
    // `after` starts at field 3 (state): utime is field 14, stime 15.
    Ok(field(11)? + field(12)?)
}

pub async fn run(
    addr: &str,
    dir: &Path,
    connections: usize,
    rounds: usize,
    slice: Duration,
) -> Result<(), String> {
    let ours = http::provision(addr, "applications:read").await?;
    // 256 random bits, as our own secrets.
    let secret = portcullis_core::ids::new_link_token();
    let provider = OidcProvider::start(dir, &secret, &format!("http://{addr}/partner/v1"))?;
    let theirs = provider.addr();
    let form = "grant_type=client_credentials&scope=applications%3Aread";
    let basic = http::Creds {
        id: "bench".into(),
        secret,
    }
    .basic();
    let kinds = [
        (
            "Portcullis",
            addr.to_owned(),
            RequestSpec::post("/oauth/token", &ours.basic(), form),
        ),
        (
            "oidc-provider",
            theirs,
            RequestSpec::post("/token", &basic, form),
        ),
    ];
    // Both answer with a token before anything is timed.
    for (name, at, spec) in &kinds {
        let report = load::run(
            at,
            spec,
            connections,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await?;
        if report.errors > 0 || report.requests == 0 {
            return Err(format!(
                "{name}: {} of its warm-up requests failed",
                report.errors
            ));
        }
    }
    println!(
        "\n{:<34} {:>10} {:>12} {:>10} {:>10} {:>11}",
        "client credentials, back to back",
        "requests",
        "tokens/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/tok"
    );
    let mut rates = [Vec::new(), Vec::new()];
    let mut cpus = [Vec::new(), Vec::new()];
    // The load generator's own CPU per request (this thread), against us,
    // and one ES256 signature's (before each round): what bounds us here.
    let mut generator = Vec::new();
    let mut reference =
        crate::token_cpu::Reference::new(std::rc::Rc::new(crate::signed::es256_key()?))?;
    for round in 1..=rounds {
        reference.sample()?;
        for (i, (name, at, spec)) in kinds.iter().enumerate() {
            let cpu = || {
                if i == 0 {
                    crate::token_cpu::server_ns().map(|(ns, _)| ns)
                } else {
                    provider.cpu_ns()
                }
            };
            let (before, mine) = (cpu()?, crate::token_cpu::thread_ns()?);
            let report = load::run(at, spec, connections, Duration::ZERO, slice).await?;
            let used = cpu()?.saturating_sub(before);
            if i == 0 {
                let mine = crate::token_cpu::thread_ns()?.saturating_sub(mine);
                generator.push(mine as f64 / 1_000.0 / report.requests.max(1) as f64);
            }
            if report.errors > 0 {
                return Err(format!("{name}: {} requests failed", report.errors));
            }
            let per = used as f64 / 1_000.0 / report.requests.max(1) as f64;
            println!(
                "{:<34} {:>10} {:>12.0} {:>10.2} {:>10.2} {:>11.1}",
                format!("{name} (round {round})"),
                report.requests,
                report.rate(),
                report.percentile_ms(0.50),
                report.percentile_ms(0.99),
                per
            );
            rates[i].push(report.rate());
            cpus[i].push(per);
        }
    }
    let (ours_rate, theirs_rate) = (load::median(&mut rates[0]), load::median(&mut rates[1]));
    let (ours_cpu, theirs_cpu) = (load::median(&mut cpus[0]), load::median(&mut cpus[1]));
    let ratio = ours_rate / theirs_rate;
    // What this machine allows at all: every core busy with our server and
    // the load generator, nothing else running.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let generator_cpu = load::median(&mut generator);
    // The load generator is one thread: it cannot send more than one core
    // allows either.
    let ceiling = (cores as f64 * 1e6 / (ours_cpu + generator_cpu)).min(1e6 / generator_cpu);
    let needed = TARGET * theirs_rate;
    // The server CPU a token may cost for `needed` on these cores.
    let budget = cores as f64 * 1e6 / needed - generator_cpu;
    let left = if budget > 0.0 {
        format!("{budget:.1} µs a token")
    } else {
        "nothing, whatever the server does".to_owned()
    };
    let reach = format!(
        "{cores} cores give at most {} tokens/s to a server spending {ours_cpu:.1} µs of CPU a token while the load generator spends {generator_cpu:.1} µs a request; {TARGET:.0}× oidc-provider is {} tokens/s, which leaves the server {left}, against {:.1} µs for one ES256 signature alone",
        crate::readme::thousands(ceiling),
        crate::readme::thousands(needed),
        reference.sign_us(),
    );
    println!("{reach}");
    println!(
        "median of {rounds} rounds: Portcullis {ours_rate:.0} tokens/s ({ours_cpu:.1} µs CPU each), oidc-provider {theirs_rate:.0} tokens/s ({theirs_cpu:.1} µs CPU each): {ratio:.1}× the tokens a second, {:.1}× less CPU per token",
        theirs_cpu / ours_cpu
    );
    println!(
        "target: >= {TARGET:.0}× oidc-provider's tokens/s: {}",
        if ratio >= TARGET { "met" } else { "MISSED" }
    );
    crate::readme::record(
        "against",
        format!(
            "| server | tokens/s (median of {rounds} rounds) | server CPU per token |\n\
             |---|---|---|\n\
             | Portcullis | {} | {ours_cpu:.1} µs |\n\
             | oidc-provider {} (Node.js {}, {} workers) | {} | {theirs_cpu:.1} µs |\n\n\
             Portcullis served **{ratio:.1}×** the tokens a second with {:.1}× less CPU per token, \
             in alternating {}-second rounds of one run with {connections} connections. \
             Target ≥ {TARGET:.0}×: {}. The ceiling here: {reach}.",
            crate::readme::thousands(ours_rate),
            provider_version(dir),
            node_version(),
            provider.workers,
            crate::readme::thousands(theirs_rate),
            theirs_cpu / ours_cpu,
            slice.as_secs(),
            if ratio >= TARGET { "met" } else { "missed" },
        ),
    );
    drop(provider);
    Ok(())
}

fn provider_version(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .trim_start_matches('v')
                .to_owned()
        })
        .unwrap_or_else(|| "?".into())
}
