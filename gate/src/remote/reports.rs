//! What a remote gate tells its issuer: the feed positions it has applied
//! (and when), the projects whose buckets refused requests, and its calls
//! per project and minute.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{
    Issuer, LIMITED_EVERY, LIMITED_PATH, POSITION_EVERY, POSITION_PATH, USAGE_EVERY, USAGE_PATH,
    USAGE_REPORT_MAX,
};
use crate::gate::Gate;

/// Applied positions kept for the next report: a gate far behind, or one
/// whose reports fail for a while, tells the newest.
const APPLIED_KEEP: usize = 1024;

/// The feed positions this gate applied since its last report, each with
/// when. The issuer learns from them when each revocation took effect here,
/// in milliseconds, without comparing two machines' clocks: each is sent as
/// "this long before the report". Entries are numbered, so those applied
/// while a report is on its way stay for the next one (positions alone may
/// go back, after a snapshot from a node that is behind).
#[derive(Default)]
pub(super) struct AppliedLog(Mutex<Log>);

#[derive(Default)]
struct Log {
    entries: VecDeque<(u64, i64, Instant)>,
    next: u64,
}

impl AppliedLog {
    pub(super) fn push(&self, seq: i64) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if log.entries.len() == APPLIED_KEEP {
            log.entries.pop_front();
        }
        let n = log.next;
        log.next += 1;
        log.entries.push_back((n, seq, Instant::now()));
    }

    /// Everything logged, as (position, milliseconds ago), and the number
    /// to pass to [`AppliedLog::forget_through`] once it was told.
    fn read(&self) -> (Vec<(i64, u64)>, Option<u64>) {
        let log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let told = log
            .entries
            .iter()
            .map(|(_, seq, at)| (*seq, at.elapsed().as_millis() as u64))
            .collect();
        (told, log.entries.back().map(|(n, ..)| *n))
    }

    fn forget_through(&self, n: u64) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        while log.entries.front().is_some_and(|(m, ..)| *m <= n) {
            log.entries.pop_front();
        }
    }
}

/// Tells the issuer every few seconds which feed position this gate has
/// applied (once it has read a snapshot) and when it applied each position
/// since the last report. Best effort: a lost report is followed by the
/// next, which carries what the lost one did.
pub(super) async fn report_position(gate: Gate, issuer: Arc<Issuer>, applied: Arc<AppliedLog>) {
    // Tells this process apart from others sharing the credential.
    let instance = instance_id();
    let mut tick = tokio::time::interval(POSITION_EVERY);
    loop {
        tick.tick().await;
        if !gate.is_ready() {
            continue;
        }
        let (told, through) = applied.read();
        let sent = issuer
            .http
            .post(format!("{}{POSITION_PATH}", issuer.base))
            .basic_auth(&issuer.credential.id, Some(&issuer.credential.secret))
            .json(&serde_json::json!({
                "position": gate.position(),
                "version": env!("CARGO_PKG_VERSION"),
                "instance": instance,
                "applied": told,
            }))
            .timeout(POSITION_EVERY)
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => {
                if let Some(n) = through {
                    applied.forget_through(n);
                }
            }
            Ok(res) => {
                tracing::debug!(status = %res.status(), "the issuer did not take a position report")
            }
            Err(e) => tracing::debug!(error = %e, "cannot report the feed position yet"),
        }
    }
}

/// 64 random bits, hex.
fn instance_id() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    // Without randomness, the process id still tells most replicas apart.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return format!("pid{}", std::process::id());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Tells the issuer, in one request every few seconds, which projects this
/// gate's buckets refused (each at most once a minute). What cannot be told
/// now is told with the next report.
pub(super) async fn report_limited(limiter: Arc<crate::limits::RateLimiter>, issuer: Arc<Issuer>) {
    let mut pending: Vec<(String, i64)> = Vec::new();
    let mut tick = tokio::time::interval(LIMITED_EVERY);
    loop {
        tick.tick().await;
        pending.extend(limiter.take_limited());
        if pending.is_empty() {
            continue;
        }
        // A long outage keeps the newest few hundred.
        let excess = pending.len().saturating_sub(500);
        pending.drain(..excess);
        let body = serde_json::json!({
            "limited": pending.iter().map(|(p, at)| serde_json::json!({ "project_id": p, "at": at })).collect::<Vec<_>>(),
        });
        let sent = issuer
            .http
            .post(format!("{}{LIMITED_PATH}", issuer.base))
            .basic_auth(&issuer.credential.id, Some(&issuer.credential.secret))
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => pending.clear(),
            // The issuer bounds reports per credential: told next time.
            Ok(res) if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                tracing::debug!("the issuer asked for fewer rate-limited reports; will retry")
            }
            Ok(res) if res.status().is_client_error() => {
                tracing::warn!(status = %res.status(), "the issuer refused a rate-limited report; dropped");
                pending.clear();
            }
            Ok(res) => {
                tracing::warn!(status = %res.status(), "the issuer could not take a rate-limited report; will retry")
            }
            Err(e) => tracing::debug!(error = %e, "cannot report rate-limited projects yet"),
        }
    }
}

/// Tells the issuer every few seconds what this gate let through, refused
/// and rate limited per project and minute. Each report has an id of its
/// own and is sent again, unchanged, until the issuer takes it: the issuer
/// counts a report id once, so a report whose answer was lost is not
/// counted twice. What is counted meanwhile goes in the next report.
pub(super) async fn report_usage(tally: Arc<crate::usage::Tally>, issuer: Arc<Issuer>) {
    let instance = instance_id();
    let mut sent_reports = 0u64;
    let mut pending: Option<(String, Vec<crate::usage::Row>)> = None;
    let mut tick = tokio::time::interval(USAGE_EVERY);
    loop {
        tick.tick().await;
        // The issuer takes the last hour's minutes only: while it cannot
        // be reached, older counts go rather than pile up.
        let oldest = {
            use crate::clock::Clock;
            crate::clock::SystemClock.now() / 60 - 60
        };
        tally.forget_before(oldest);
        if let Some((_, rows)) = &mut pending {
            rows.retain(|r| r.minute >= oldest);
            if rows.is_empty() {
                pending = None;
            }
        }
        if pending.is_none() {
            let mut rows = tally.take();
            if rows.is_empty() {
                continue;
            }
            if rows.len() > USAGE_REPORT_MAX {
                // The rest go in the next reports.
                let rest = rows.split_off(USAGE_REPORT_MAX);
                tally.put_back(rest, oldest);
            }
            sent_reports += 1;
            pending = Some((format!("{instance}-{sent_reports}"), rows));
        }
        let Some((id, rows)) = &pending else {
            continue;
        };
        let sent = issuer
            .http
            .post(format!("{}{USAGE_PATH}", issuer.base))
            .basic_auth(&issuer.credential.id, Some(&issuer.credential.secret))
            .json(&serde_json::json!({ "report": id, "rows": rows }))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => pending = None,
            Ok(res) if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                tracing::debug!("the issuer asked for fewer usage reports; will retry")
            }
            Ok(res) if res.status().is_client_error() => {
                tracing::warn!(status = %res.status(), "the issuer refused a usage report; dropped");
                pending = None;
            }
            Ok(res) => {
                tracing::warn!(status = %res.status(), "the issuer could not take a usage report; will retry")
            }
            Err(e) => tracing::debug!(error = %e, "cannot report usage yet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_positions_until_they_are_told() {
        let log = AppliedLog::default();
        for seq in 1..=(APPLIED_KEEP as i64 + 5) {
            log.push(seq);
        }
        let (read, through) = log.read();
        assert_eq!(read.len(), APPLIED_KEEP);
        assert_eq!(read[0].0, 6);
        // Applied while the report was on its way, at a lower position
        // (a snapshot from a node behind): kept for the next report.
        log.push(3);
        log.forget_through(through.unwrap());
        let (left, _) = log.read();
        assert_eq!(left.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [3]);
    }
}
