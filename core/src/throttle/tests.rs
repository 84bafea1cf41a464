use super::*;

const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

#[test]
fn five_failures_then_exponential_back_off() {
    let t = LoginThrottle::default();
    let now = 1_000;
    for _ in 0..4 {
        t.record_failure("a@x.io", IP, now);
        assert!(t.check("a@x.io", IP, now).is_ok());
    }
    t.record_failure("a@x.io", IP, now);
    assert_eq!(t.check("a@x.io", IP, now), Err(1));
    assert!(t.check("a@x.io", IP, now + 1).is_ok());
    t.record_failure("a@x.io", IP, now + 1);
    assert_eq!(t.check("a@x.io", IP, now + 1), Err(2));
    t.record_failure("a@x.io", IP, now + 3);
    assert_eq!(t.check("a@x.io", IP, now + 3), Err(4));
    // Another email from the same IP is not locked by this one.
    assert!(t.check("b@x.io", IP, now + 3).is_ok());
}

#[test]
fn lock_is_capped_and_forgotten_after_quiet_period() {
    let t = LoginThrottle::default();
    for i in 0..40 {
        t.record_failure("a@x.io", None, 1_000 + i);
    }
    assert_eq!(t.check("a@x.io", None, 1_039), Err(15 * 60));
    // Waiting out the lock buys one guess, then the longest lock again.
    let unlocked = 1_039 + 15 * 60;
    assert!(t.check("a@x.io", None, unlocked).is_ok());
    t.record_failure("a@x.io", None, unlocked);
    assert_eq!(t.check("a@x.io", None, unlocked), Err(15 * 60));
    // An hour without a failure forgets them.
    let later = unlocked + 60 * 60;
    assert!(t.check("a@x.io", None, later).is_ok());
    t.record_failure("a@x.io", None, later);
    assert!(t.check("a@x.io", None, later).is_ok(), "count reset");
}

#[test]
fn ip_is_throttled_across_emails() {
    let t = LoginThrottle::default();
    for i in 0..20 {
        t.record_failure(&format!("user{i}@x.io"), IP, 1_000);
    }
    assert!(t.check("fresh@x.io", IP, 1_000).is_err());
    assert!(t.check("fresh@x.io", None, 1_000).is_ok());
}

#[test]
fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
    let t = LoginThrottle::default();
    for i in 0..20u16 {
        let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
        t.record_ip_failure(ip, 1_000);
    }
    let neighbour: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
    assert!(t.check_ip(neighbour, 1_000).is_err(), "same /64");
    let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert!(t.check_ip(elsewhere, 1_000).is_ok());
    for _ in 0..20 {
        t.record_ip_failure("198.51.100.7".parse().unwrap(), 1_000);
    }
    let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
    assert!(t.check_ip(mapped, 1_000).is_err());
}

#[test]
fn a_flood_of_addresses_stays_bounded_and_keeps_the_locks() {
    let t = LoginThrottle::default();
    let attacker: IpAddr = "203.0.113.66".parse().unwrap();
    for _ in 0..20 {
        t.record_ip_failure(attacker, 1_000);
    }
    for i in 0..(MAX_KEYS as u32 * 2) {
        t.record_ip_failure(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), 1_000);
    }
    assert!(t.len() <= MAX_KEYS, "{} keys", t.len());
    assert!(
        t.check_ip(attacker, 1_000).is_err(),
        "the lock survived the flood"
    );
    // Stale keys go with the sweep.
    t.sweep(1_000 + 60 * 60 + 1);
    assert!(t.len() < 10, "{} keys left", t.len());
}

#[test]
fn success_clears_the_email_only() {
    let t = LoginThrottle::default();
    for _ in 0..5 {
        t.record_failure("a@x.io", IP, 1_000);
    }
    t.record_success("a@x.io");
    assert!(t.check("a@x.io", None, 1_000).is_ok());
}
