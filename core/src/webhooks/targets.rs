//! Where webhooks may be sent. A multi-tenant server that POSTs to URLs its
//! tenants type must not become a way into its own network: by default only
//! `https` to public addresses. An operator whose receivers live inside the
//! company network allows private targets (and plain `http`) explicitly.

use std::net::IpAddr;

use crate::error::{Error, Result};

pub const URL_MAX: usize = 2000;

/// The operator's choice of targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Targets {
    /// `https` to public addresses only.
    #[default]
    PublicHttps,
    /// Anything `http(s)`, loopback and private networks included.
    AnyHttp,
}

impl Targets {
    /// Checks a URL as typed; returns it trimmed.
    pub fn check_url(self, raw: &str) -> Result<String> {
        self.check_url_for("url", raw)
    }

    /// The same, for a URL typed in the field named `field`.
    pub fn check_url_for(self, field: crate::error::Field, raw: &str) -> Result<String> {
        let raw = raw.trim();
        let bad = |m: &str| Error::invalid(field, m.to_owned());
        if raw.is_empty() {
            return Err(bad("Enter the URL that receives the events."));
        }
        if raw.chars().count() > URL_MAX {
            return Err(bad("Use a URL of at most 2000 characters."));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| bad("Enter a full URL, such as https://example.com/hooks."))?;
        match (url.scheme(), self) {
            ("https", _) | ("http", Targets::AnyHttp) => {}
            ("http", Targets::PublicHttps) => return Err(bad("Use an https:// URL.")),
            _ => return Err(bad("Use an https:// URL.")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "Leave credentials out of the URL; verify the signature instead.",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("Leave the #fragment out of the URL."));
        }
        let ip = match url.host() {
            None => return Err(bad("Enter a URL with a host name.")),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) => {
                if self == Targets::PublicHttps && is_local_name(d) {
                    return Err(bad(
                        "Use a public host name; this server does not send to its own network.",
                    ));
                }
                None
            }
        };
        if let Some(ip) = ip {
            if !self.allows(ip) {
                return Err(bad(
                    "Use a public address; this server does not send to its own network.",
                ));
            }
        }
        Ok(url.to_string())
    }

    /// Whether a resolved address may be connected to. Even with private
    /// targets allowed, never link-local: the cloud metadata service lives
    /// there and hands out the machine's credentials.
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            Targets::AnyHttp => !is_link_local(ip) && !is_metadata(ip),
            Targets::PublicHttps => is_public(ip),
        }
    }
}

fn is_local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.ends_with(".internal")
}

/// IPv4 169.254/16 (where most clouds' metadata service lives) and IPv6
/// fe80::/10, in any IPv6 spelling of the IPv4 address.
fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            embedded_v4(v6).is_some_and(|v4| v4.is_link_local())
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Cloud metadata services outside link-local space: AWS's IPv6
/// `fd00:ec2::254`, Google Cloud's IPv6 `fd20:ce::254`, Alibaba Cloud's
/// `100.100.100.200`.
fn is_metadata(ip: IpAddr) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr};
    const V4: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);
    const V6: [Ipv6Addr; 2] = [
        Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
        Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
    ];
    match ip {
        IpAddr::V4(v4) => v4 == V4,
        IpAddr::V6(v6) => V6.contains(&v6) || embedded_v4(v6) == Some(V4),
    }
}

/// The IPv4 address an IPv6 address carries where the transition schemes
/// put one: mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d` (RFC 4291
/// §2.5.5.1), translated `::ffff:0:a.b.c.d` (RFC 2765), NAT64
/// `64:ff9b::/96` (RFC 6052), 6to4 `2002:AABB:CCDD::/48` (RFC 3056).
fn embedded_v4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    let last = std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let compatible_or_mapped = s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff);
    let translated = s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0;
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible_or_mapped || translated || nat64 {
        Some(last)
    } else if s[0] == 0x2002 {
        Some(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

/// Globally routable unicast: not loopback, private, link-local (cloud
/// metadata lives there), shared, documentation, multicast or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared (CGNAT)
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            // Schemes that carry an IPv4 address are judged by it, and
            // refused outright (a relay or translator could reach it).
            if embedded_v4(v6).is_some() {
                return false;
            }
            let [first, second, ..] = v6.segments();
            // Only global unicast (2000::/3) is routable on the Internet;
            // then the special blocks inside it.
            (first & 0xe000) == 0x2000
                && !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && second == 0x0000 // Teredo
                || first == 0x2001 && second == 0x0db8 // documentation
                || first == 0x0064 && second == 0xff9b // NAT64, local-use too
                || first == 0x0100 && v6.segments()[1..4] == [0, 0, 0]) // discard
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_only_by_default() {
        let t = Targets::PublicHttps;
        assert_eq!(
            t.check_url(" https://hooks.example.com/in ").unwrap(),
            "https://hooks.example.com/in"
        );
        for bad in [
            "",
            "hooks.example.com",
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://localhost/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://100.64.0.1/x",
            "https://example.com/#frag",
        ] {
            assert!(t.check_url(bad).is_err(), "{bad} was allowed");
        }
        assert!(t
            .check_url(&format!("https://e.com/{}", "a".repeat(2000)))
            .is_err());
    }

    #[test]
    fn private_targets_when_the_operator_allows_them() {
        let t = Targets::AnyHttp;
        assert!(t.check_url("http://127.0.0.1:8080/hooks").is_ok());
        assert!(t.check_url("http://localhost/hooks").is_ok());
        assert!(t.check_url("ftp://127.0.0.1/").is_err());
        assert!(t.allows("10.0.0.1".parse().unwrap()));
        // The metadata service stays out of reach, however it is spelt.
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:169.254.169.254]/",
            "http://[::169.254.169.254]/",
            "http://[64:ff9b::169.254.169.254]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fd20:ce::254]/",
            "http://100.100.100.200/latest/meta-data/",
        ] {
            assert!(t.check_url(bad).is_err(), "{bad} was allowed");
        }
    }

    #[test]
    fn ipv6_spellings_of_private_addresses_are_refused() {
        for ip in [
            "::10.0.0.1",                           // IPv4-compatible
            "::127.0.0.1",                          // IPv4-compatible loopback
            "::ffff:192.168.0.1",                   // IPv4-mapped
            "64:ff9b::10.0.0.1",                    // NAT64
            "64:ff9b:1::a00:1",                     // local-use NAT64
            "2002:0a00:0001::1",                    // 6to4 of 10.0.0.1
            "2002:0808:0808::1",                    // 6to4, even of a public address
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
            "fec0::1",                              // site-local
            "100::1",                               // discard-only
            "::ffff:0:a00:1",                       // IPv4-translated 10.0.0.1
            "4000::1",                              // not global unicast
            "fd12:3456::1",                         // unique local
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
    }

    #[test]
    fn public_addresses() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "192.168.1.1",
            "172.16.0.1",
            "fe80::1",
            "::",
            "240.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
