//! The gate's verified-token cache past its bound: how many calls must
//! verify a signature again, and what a call costs, for the cache the gate
//! uses (`portcullis_gate::cache`, quick_cache) against the design it
//! replaced (one map, emptied whole when full), in one run.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use portcullis_gate::cache::{VerifiedTokens, VERIFIED_MAX};
use portcullis_gate::token::Claims;

/// The replaced design, kept here as the baseline: when full, expired
/// entries go, and if that is not enough, all of them.
#[derive(Default)]
struct ClearedWhole {
    map: RwLock<HashMap<Box<str>, Arc<Claims>>>,
}

impl ClearedWhole {
    fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    fn insert(&self, token: &str, claims: Arc<Claims>, now: i64) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= VERIFIED_MAX {
            map.retain(|_, c| c.exp > now);
            if map.len() >= VERIFIED_MAX {
                map.clear();
            }
        }
        map.insert(token.into(), claims);
    }
}

fn claims() -> Arc<Claims> {
    Arc::new(Claims {
        iss: "https://issuer.example".into(),
        sub: "pcl_1".into(),
        client_id: "pcl_1".into(),
        aud: "https://issuer.example/partner/v1".into(),
        iat: 0,
        nbf: None,
        exp: i64::MAX,
        jti: "jti".into(),
        scope: "applications:read".into(),
        account_id: "acc_1".into(),
        project_id: "prj_1".into(),
        cnf: None,
    })
}

/// A small, fast, fixed-seed generator: the same calls for both designs.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Calls spread over `live` tokens, a tenth of them taking half the calls
/// (a few busy integrations, many quiet ones). Returns (misses, ns per call).
fn run(
    live: usize,
    calls: usize,
    get: &dyn Fn(&str) -> bool,
    insert: &dyn Fn(&str),
) -> (usize, f64) {
    let tokens: Vec<String> = (0..live).map(|i| format!("eyJ.token-{i:08}.sig")).collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut misses = 0;
    let start = Instant::now();
    for _ in 0..calls {
        let i = if rng.below(2) == 0 {
            rng.below(live / 10)
        } else {
            rng.below(live)
        };
        let t = &tokens[i];
        if !get(t) {
            misses += 1;
            insert(t);
        }
    }
    (misses, start.elapsed().as_nanos() as f64 / calls as f64)
}

/// Microseconds for one ES256 signature check (what a miss costs).
fn verify_micros() -> f64 {
    use ring::rand::SystemRandom;
    use ring::signature::{self, EcdsaKeyPair, KeyPair};
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let Ok(pkcs8) = EcdsaKeyPair::generate_pkcs8(alg, &rng) else {
        return f64::NAN;
    };
    let Ok(key) = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng) else {
        return f64::NAN;
    };
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwY2xfMSJ9";
    let Ok(sig) = key.sign(&rng, message) else {
        return f64::NAN;
    };
    let public = signature::UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        key.public_key().as_ref().to_vec(),
    );
    let n = 2_000;
    let start = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(public.verify(message, sig.as_ref()));
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

pub fn report() {
    let calls = 2_000_000;
    let verify = verify_micros();
    println!("\nverified-token cache (bound {VERIFIED_MAX}; {calls} calls; a miss verifies ES256, {verify:.1} µs here):");
    println!(
        "{:<14} {:<28} {:>10} {:>12} {:>16}",
        "live tokens", "design", "misses", "ns/lookup", "µs/call w/ verify"
    );
    let mut table = format!(
        "| live tokens (bound {}) | calls that verified a signature: the gate's cache | the old design (emptied whole) | old ÷ gate's |\n|---|---|---|---|\n",
        crate::readme::thousands(VERIFIED_MAX as f64)
    );
    for live in [10_000, 25_000, 40_000] {
        let mut rows = Vec::new();
        let kept = VerifiedTokens::default();
        let (m, ns) = run(live, calls, &|t| kept.get(t).is_some(), &|t| {
            kept.insert(t, claims())
        });
        rows.push(("quick_cache (the gate's)", m, ns));
        let old = ClearedWhole::default();
        let (m, ns) = run(live, calls, &|t| old.get(t).is_some(), &|t| {
            old.insert(t, claims(), 0)
        });
        rows.push(("emptied whole (replaced)", m, ns));
        for (design, misses, ns) in &rows {
            let miss_rate = *misses as f64 / calls as f64;
            println!(
                "{live:<14} {design:<28} {:>9.2}% {ns:>12.0} {:>16.2}",
                miss_rate * 100.0,
                ns / 1000.0 + miss_rate * verify
            );
        }
        let ratio = rows[1].1 as f64 / rows[0].1.max(1) as f64;
        println!("{live:<14} replaced/gate's misses = {ratio:.2}");
        let pct = |misses: usize| misses as f64 / calls as f64 * 100.0;
        table.push_str(&format!(
            "| {} | {:.1} % | {:.1} % | {ratio:.1}× |\n",
            crate::readme::thousands(live as f64),
            pct(rows[0].1),
            pct(rows[1].1),
        ));
    }
    table.push_str(&format!(
        "\nOne ES256 verification (what a miss costs) {verify:.1} µs here; {} lookups per row.\n",
        crate::readme::thousands(calls as f64)
    ));
    crate::readme::record("token-cache", table);
}
