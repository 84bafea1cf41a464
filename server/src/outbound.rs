//! Requests this server makes to URLs its tenants typed (webhook targets,
//! a key client's `jwks_uri`, a workload identity issuer's discovery
//! document and keys): a multi-tenant server must not become a way into
//! its own network. Names are resolved here and only the addresses
//! the operator allows are connected to; no proxy from the environment
//! (it would connect for us, past the check); no redirects.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::remote_keys::KeyFetcher;
use portcullis_core::webhooks::Targets;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves names as usual, then drops the addresses the operator does not
/// allow (so a public name that resolves to a private address is refused
/// at connect time, not only when the URL was typed).
pub struct AllowedOnly(pub Targets);

impl Resolve for AllowedOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let targets = self.0;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| targets.allows(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(
                    format!("{} has no address this server may send to", name.as_str()).into(),
                );
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// IP-literal hosts skip the resolver, so they are checked here: true when
/// `url` names no address, or one `targets` allows.
pub fn literal_allowed(targets: Targets, url: &str) -> bool {
    let literal = url::Url::parse(url).ok().and_then(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    });
    literal.is_none_or(|ip| targets.allows(ip))
}

/// A JWK Set is a few KiB; a larger answer is not read.
const JWKS_MAX_BYTES: usize = 64 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches key clients' JWK Sets (see `portcullis_core::remote_keys`).
pub struct JwksFetcher {
    client: reqwest::Client,
    targets: Targets,
}

impl JwksFetcher {
    pub fn new(targets: Targets) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("Portcullis/", env!("CARGO_PKG_VERSION")))
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(AllowedOnly(targets)))
            .build()?;
        Ok(Self { client, targets })
    }

    async fn get(&self, url: &str) -> Result<String, String> {
        // A discovery document may name an http jwks_uri: keys are read
        // over https only, unless the operator allows private targets.
        if !url.starts_with("https://") && self.targets != Targets::AnyHttp {
            return Err("keys are fetched over https:// only".into());
        }
        if !literal_allowed(self.targets, url) {
            return Err("the address is not one this server may fetch from".into());
        }
        let mut res = self
            .client
            .get(url)
            .header("accept", "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "no answer within 5 s".to_owned()
                } else {
                    "the host could not be reached".to_owned()
                }
            })?;
        if !res.status().is_success() {
            return Err(format!("it answered {}", res.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|_| "the answer broke off".to_owned())?
        {
            if body.len() + chunk.len() > JWKS_MAX_BYTES {
                return Err("the answer is larger than 64 KiB".into());
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| "the answer is not text".into())
    }
}

impl KeyFetcher for JwksFetcher {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + 'a>>
    {
        Box::pin(self.get(url))
    }
}
