//! Which address a request really came from. `X-Forwarded-For` is believed
//! only when the peer is a proxy the operator named.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How often the untrusted-proxy warning may repeat.
const WARN_EVERY: Duration = Duration::from_secs(3600);

/// Whether a request came through a proxy we were not told to trust: it
/// carries `X-Forwarded-For` but its peer is not a trusted proxy. Then every
/// caller behind that proxy shares the proxy's address, and the per-address
/// guards (20 failed client authentications lock `/oauth/token`) hit all
/// of them at once.
pub fn forwarded_by_untrusted(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpAddr]) -> bool {
    forwarded_for.iter().any(|f| !f.trim().is_empty()) && !trusted.contains(&peer)
}

/// Logs, loudly and at most once an hour, that a proxy is not trusted.
fn warn_untrusted(peer: IpAddr) {
    static BASE: OnceLock<Instant> = OnceLock::new();
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = BASE.get_or_init(Instant::now).elapsed().as_secs() + 1;
    let last = LAST.load(Ordering::Relaxed);
    if (last == 0 || now.saturating_sub(last) >= WARN_EVERY.as_secs())
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            %peer,
            "requests arrive with X-Forwarded-For from {peer}, which is not in PORTCULLIS_TRUSTED_PROXIES: \
             every caller behind it shares its address, so one partner's failed logins or client \
             authentications can lock out all of them. If {peer} is your proxy, add it to \
             PORTCULLIS_TRUSTED_PROXIES (this warning repeats hourly)"
        );
    }
}

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies; the
/// first address that is not one of them is the client. An unparsable hop
/// stops the walk at the last trusted address. `forwarded_for` holds every
/// line of the header in the order received: a proxy may add a line of its
/// own instead of appending to the client's, and a client's line comes
/// first, so the lines read as one list (RFC 9110 §5.3), never the first
/// line alone. A line that is not text counts as an unparsable hop.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        if forwarded_by_untrusted(peer, forwarded_for, trusted) {
            warn_untrusted(peer);
        }
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for.iter().rev().flat_map(|line| line.rsplit(','));
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_through_an_untrusted_proxy_is_noticed() {
        let proxy = ip("10.0.0.9");
        assert!(forwarded_by_untrusted(proxy, &["1.2.3.4"], &[]));
        assert!(!forwarded_by_untrusted(proxy, &["1.2.3.4"], &[proxy]));
        assert!(!forwarded_by_untrusted(proxy, &[], &[]));
        assert!(!forwarded_by_untrusted(proxy, &[" "], &[]));
    }

    #[test]
    fn untrusted_peer_cannot_spoof() {
        assert_eq!(
            resolve(ip("203.0.113.9"), &["1.2.3.4"], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        let got = resolve(
            ip("10.0.0.1"),
            &["6.6.6.6, 198.51.100.7, 10.0.0.2"],
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(resolve(ip("10.0.0.1"), &[], &trusted), ip("10.0.0.1"));
        assert_eq!(resolve(ip("10.0.0.1"), &["junk"], &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn a_proxy_that_adds_its_own_line_is_read_past_the_client_s_line() {
        // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy added a
        // second line with the address it saw. The first line alone would
        // let the client choose its address.
        let trusted = [ip("10.0.0.1")];
        let got = resolve(ip("10.0.0.1"), &["6.6.6.6", "198.51.100.7"], &trusted);
        assert_eq!(got, ip("198.51.100.7"));
        // Through two trusted proxies, each adding a line.
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        let got = resolve(
            ip("10.0.0.1"),
            &["6.6.6.6", "198.51.100.7", "10.0.0.2"],
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
    }
}
