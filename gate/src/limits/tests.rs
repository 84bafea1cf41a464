use super::*;

const TEN: Limit = Limit {
    per_sec: 10,
    burst: 10,
};

#[test]
fn refusals_are_reported_once_a_minute_per_project() {
    let r = RateLimiter::local();
    let t0 = Instant::now();
    for _ in 0..30 {
        r.charge_local("p", TEN, t0, 60);
        r.charge_local("q", TEN, t0, 61);
    }
    let mut seen = r.take_limited();
    seen.sort();
    assert_eq!(seen, vec![("p".into(), 60), ("q".into(), 61)]);
    r.charge_local("p", TEN, t0, 119);
    assert!(r.take_limited().is_empty(), "same minute: told already");
    r.charge_local("p", TEN, t0, 120);
    assert_eq!(r.take_limited(), vec![("p".into(), 120)]);
}

#[test]
fn a_burst_passes_then_the_rate_applies() {
    let r = RateLimiter::local();
    let t0 = Instant::now();
    let passed = (0..50)
        .filter(|_| r.charge_local("p", TEN, t0, 0).allowed)
        .count();
    assert_eq!(passed, 10);
    let refused = r.charge_local("p", TEN, t0, 0);
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after_secs, 1);
    assert_eq!(refused.remaining, 0);
    // One interval later exactly one more passes.
    let later = t0 + Duration::from_millis(100);
    assert!(r.charge_local("p", TEN, later, 0).allowed);
    assert!(!r.charge_local("p", TEN, later, 0).allowed);
    // After a full second the whole burst is back.
    let full = later + Duration::from_secs(1);
    let d = r.charge_local("p", TEN, full, 1);
    assert!(d.allowed);
    assert_eq!(d.remaining, 9);
    // Other projects are untouched.
    assert_eq!(r.charge_local("q", TEN, t0, 0).remaining, 9);
}

#[test]
fn nodes_without_redis_split_the_limit() {
    let limit = Limit {
        per_sec: 100,
        burst: 100,
    };
    assert_eq!(limit.share(1), limit);
    assert_eq!(
        limit.share(3),
        Limit {
            per_sec: 34,
            burst: 34
        }
    );
    assert_eq!(limit.share(0), limit, "never below one node");
    assert_eq!(
        Limit {
            per_sec: 1,
            burst: 1
        }
        .share(3)
        .per_sec,
        1
    );
}

#[test]
fn history_counts_per_minute() {
    let r = RateLimiter::local();
    let t0 = Instant::now();
    for _ in 0..12 {
        r.charge_local("p", TEN, t0, 120);
    }
    let h = r.history("p", 180);
    assert_eq!(h.len(), HISTORY_MINUTES);
    let last_two = &h[HISTORY_MINUTES - 2..];
    assert_eq!(
        (last_two[0].minute, last_two[0].allowed, last_two[0].limited),
        (2, 10, 2)
    );
    assert_eq!((last_two[1].allowed, last_two[1].limited), (0, 0));
    assert!(r.history("nobody", 180).iter().all(|m| m.allowed == 0));
}
