//! Which address a request really came from. `X-Forwarded-For` is believed
//! only when the peer is a proxy the operator named.

use std::net::IpAddr;

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies; the
/// first address that is not one of them is the client. An unparsable hop
/// stops the walk at the last trusted address.
pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
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
    fn untrusted_peer_cannot_spoof() {
        assert_eq!(
            resolve(ip("203.0.113.9"), Some("1.2.3.4"), &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        let got = resolve(
            ip("10.0.0.1"),
            Some("6.6.6.6, 198.51.100.7, 10.0.0.2"),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(resolve(ip("10.0.0.1"), None, &trusted), ip("10.0.0.1"));
        assert_eq!(
            resolve(ip("10.0.0.1"), Some("junk"), &trusted),
            ip("10.0.0.1")
        );
    }
}
