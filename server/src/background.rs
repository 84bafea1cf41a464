//! Housekeeping that runs beside the server: carrying out scheduled client
//! retirements, flushing coalesced "last used" times, picking up rotated
//! signing keys, and forgetting revocations of tokens that have expired
//! anyway and changes older than the feed's retention.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::throttle::LoginThrottle;
use portcullis_core::usage_totals::UsageTotals;
use portcullis_core::{store, Clients, Clock, Db, Issuer};
use tokio::task::JoinHandle;

const USAGE_FLUSH: Duration = Duration::from_secs(10);
/// How often a node writes its counts to the cluster's usage totals.
const USAGE_TOTALS_FLUSH: Duration = Duration::from_secs(5);
const RETIREMENT_CHECK: Duration = Duration::from_secs(5);
/// Warnings before ends and dormant clients: days-scale, checked each minute.
const LIFECYCLE_CHECK: Duration = Duration::from_secs(60);
const KEY_RELOAD: Duration = Duration::from_secs(60);
const REVOKED_PRUNE: Duration = Duration::from_secs(600);
const THROTTLE_SWEEP: Duration = Duration::from_secs(60);
/// Nodes beat this often; one silent for three beats no longer counts.
const HEARTBEAT: Duration = Duration::from_secs(5);
const HEARTBEAT_STALE_SECS: i64 = 15;

pub struct Background {
    db: Db,
    node_id: String,
    issuer: Arc<Issuer>,
    usage: Arc<UsageTotals>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    pub fn start(
        db: Db,
        issuer: Arc<Issuer>,
        clients: Arc<Clients>,
        clock: Arc<dyn Clock>,
        client_failures: Arc<LoginThrottle>,
        usage: Arc<UsageTotals>,
        lifecycle: Arc<portcullis_core::lifecycle::Lifecycle>,
    ) -> Self {
        let mut tasks = Vec::new();
        let node_id = portcullis_core::ids::new_id("node");
        tasks.push(tokio::spawn({
            let (db, issuer, clock, id) =
                (db.clone(), issuer.clone(), clock.clone(), node_id.clone());
            async move {
                let started = clock.now();
                let mut tick = tokio::time::interval(HEARTBEAT);
                loop {
                    tick.tick().await;
                    let now = clock.now();
                    match store::nodes::beat(&db, &id, started, now, now - HEARTBEAT_STALE_SECS)
                        .await
                    {
                        Ok(n) => issuer.limiter().set_nodes(u32::try_from(n).unwrap_or(1)),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not record this node's heartbeat")
                        }
                    }
                }
            }
        }));
        tasks.push(every(RETIREMENT_CHECK, move || {
            let clients = clients.clone();
            async move {
                match clients.retire_due().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(clients = n, "scheduled retirements carried out"),
                    Err(e) => tracing::error!(error = %e, "could not carry out scheduled retirements; will retry"),
                }
                if let Err(e) = clients.log_expiries().await {
                    tracing::error!(error = %e, "could not log client expiries; will retry");
                }
            }
        }));
        tasks.push(every(USAGE_FLUSH, {
            let (db, issuer) = (db.clone(), issuer.clone());
            move || {
                let (db, issuer) = (db.clone(), issuer.clone());
                async move {
                    if let Err(e) = issuer.registry().flush_usage(&db).await {
                        tracing::warn!(error = %e, "could not record last-used times; will retry");
                    }
                }
            }
        }));
        tasks.push(every(LIFECYCLE_CHECK, move || {
            let lifecycle = lifecycle.clone();
            async move {
                match lifecycle.sweep().await {
                    Ok(s) if s == Default::default() => {}
                    Ok(s) => tracing::info!(
                        expiring = s.expiring,
                        dormant = s.dormant,
                        retired = s.retired,
                        "lifecycle warnings sent and dormant clients retired"
                    ),
                    Err(e) => tracing::error!(error = %e, "could not run the lifecycle checks; will retry"),
                }
            }
        }));
        tasks.push(every(USAGE_TOTALS_FLUSH, {
            let usage = usage.clone();
            move || {
                let usage = usage.clone();
                async move {
                    if let Err(e) = usage.flush().await {
                        tracing::warn!(error = %e, "could not add this node's use to the totals; will retry");
                    }
                }
            }
        }));
        tasks.push(every(KEY_RELOAD, {
            let (issuer, clock) = (issuer.clone(), clock.clone());
            move || {
                let (issuer, now) = (issuer.clone(), clock.now());
                async move {
                    if let Err(e) = issuer.keyring().reload(now).await {
                        tracing::error!(error = %e, "could not reload signing keys; keeping the current ones");
                    }
                }
            }
        }));
        tasks.push(every(THROTTLE_SWEEP, {
            let clock = clock.clone();
            move || {
                client_failures.sweep(clock.now());
                std::future::ready(())
            }
        }));
        tasks.push(every(REVOKED_PRUNE, {
            let (db, issuer, clock, usage) =
                (db.clone(), issuer.clone(), clock.clone(), usage.clone());
            let reach = Arc::new(portcullis_core::gate_reach::GateReach::new(
                db.clone(),
                clock.clone(),
            ));
            move || {
                let (db, issuer, now) = (db.clone(), issuer.clone(), clock.now());
                let (reach, usage) = (reach.clone(), usage.clone());
                async move {
                    if let Err(e) = usage.prune(now).await {
                        tracing::warn!(error = %e, "could not forget old usage totals");
                    }
                    // Yesterday's quota days are of no use past today.
                    if let Err(e) = store::quotas::prune(&db, now.div_euclid(86_400) - 1).await {
                        tracing::warn!(error = %e, "could not forget old daily token quota days");
                    }
                    issuer.registry().prune_revoked(now);
                    if let Err(e) = store::revoked_tokens::delete_expired(&db, now).await {
                        tracing::warn!(error = %e, "could not prune expired revocations");
                    }
                    if let Err(e) = store::client_tombstones::delete_expired(&db, now).await {
                        tracing::warn!(error = %e, "could not forget deleted clients");
                    }
                    let kept_since = now - portcullis_core::idempotency::KEEP_SECS;
                    if let Err(e) = store::idempotency::purge(&db, kept_since).await {
                        tracing::warn!(error = %e, "could not forget old idempotency keys");
                    }
                    if let Err(e) = store::used_once::prune(&db, now).await {
                        tracing::warn!(error = %e, "could not forget used assertion ids");
                    }
                    let before = now - portcullis_core::feed::RETENTION_SECS;
                    if let Err(e) = store::changes::prune(&db, before).await {
                        tracing::warn!(error = %e, "could not prune the change feed");
                    }
                    if let Err(e) = reach.prune().await {
                        tracing::warn!(error = %e, "could not forget gates gone for a day");
                    }
                }
            }
        }));
        Self {
            db,
            node_id,
            issuer,
            usage,
            tasks,
        }
    }

    /// Runs `tasks` with the others (stopped with them).
    pub fn adopt(&mut self, tasks: Vec<JoinHandle<()>>) {
        self.tasks.extend(tasks);
    }

    /// Stops the tasks and writes what is still only in memory.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Err(e) = store::nodes::leave(&self.db, &self.node_id).await {
            tracing::warn!(error = %e, "could not record this node's leaving");
        }
        if let Err(e) = self.usage.flush().await {
            tracing::warn!(error = %e, "could not add this node's use to the totals at shutdown");
        }
        match self.issuer.registry().flush_usage(&self.db).await {
            Ok(n) => tracing::debug!(clients = n, "last-used times recorded at shutdown"),
            Err(e) => tracing::warn!(error = %e, "could not record last-used times at shutdown"),
        }
    }
}

fn every<F, Fut>(period: Duration, mut job: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate
        loop {
            tick.tick().await;
            job().await;
        }
    })
}
