//! Server CPU per token at `/oauth/token`: a client with a secret next to
//! a `private_key_jwt` client (a fresh ES256 assertion per request, signed
//! by the load generator), each as a multiple of one ES256 signature
//! measured in the same run. Issue 22's target: a key client costs no more
//! than one signature verification's worth of CPU over a secret client.
//!
//! Server CPU is every thread of this process but the load generator's
//! (`/proc/self/task/*/schedstat`, nanoseconds on a CPU); the two kinds
//! alternate in rounds so drift hits both alike.

use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use bytes::Bytes;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};

use crate::http::{self, Console};
use crate::load::{self, RequestSpec};

/// Nanoseconds this thread has run.
fn thread_ns() -> Result<u64, String> {
    schedstat("/proc/thread-self/schedstat")
}

fn schedstat(path: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{path}: unreadable"))
}

/// Nanoseconds every thread of this process has run.
fn process_ns() -> Result<u64, String> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").map_err(|e| e.to_string())? {
        let path = task.map_err(|e| e.to_string())?.path().join("schedstat");
        // A thread that ended meanwhile is not counted.
        total += schedstat(&path.to_string_lossy()).unwrap_or(0);
    }
    Ok(total)
}

/// Server CPU: the process's minus this (the load generator's) thread's.
fn server_ns() -> Result<u64, String> {
    Ok(process_ns()?.saturating_sub(thread_ns()?))
}

/// µs of this thread's CPU per call of `f`, over about 300 ms.
fn cost_us(mut f: impl FnMut()) -> Result<f64, String> {
    let (t0, c0) = (Instant::now(), thread_ns()?);
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_millis(300) {
        f();
        n += 1;
    }
    Ok((thread_ns()? - c0) as f64 / 1_000.0 / n as f64)
}

fn es256_key() -> Result<EcdsaKeyPair, String> {
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|e| e.to_string())?;
    EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).map_err(|e| e.to_string())
}

pub async fn run(
    addr: &str,
    connections: usize,
    rounds: usize,
    slice: Duration,
) -> Result<(), String> {
    let key = Rc::new(es256_key()?);
    let rng = SystemRandom::new();
    let message = [7u8; 300];
    let sign_us = cost_us(|| {
        let _ = key.sign(&rng, &message);
    })?;
    let sig = key.sign(&rng, &message).map_err(|e| e.to_string())?;
    let public = key.public_key().as_ref().to_vec();
    let verify_us = cost_us(|| {
        let _ = signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
            .verify(&message, sig.as_ref());
    })?;

    // A secret client and a key client, each in a project of its own (so
    // neither's bucket is what is measured).
    let secret = http::provision(addr, "applications:read").await?;
    let mut console = Console::new(addr, &format!("http://{addr}"));
    let project = console.sign_up_with_project().await?;
    let point = key.public_key().as_ref();
    let jwk = serde_json::json!({ "kty": "EC", "crv": "P-256", "kid": "bench",
        "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..]) });
    let keyed = console
        .key_client(&project, "applications:read", &jwk.to_string())
        .await?;
    let meta = http::get_json(addr, "/.well-known/oauth-authorization-server").await?;
    let audience = meta["issuer"]
        .as_str()
        .ok_or("no issuer in the metadata")?
        .to_owned();

    let secret_spec = RequestSpec::post(
        "/oauth/token",
        &secret.basic(),
        "grant_type=client_credentials&scope=applications%3Aread",
    );
    let mut keyed_spec = RequestSpec::post("/oauth/token", "", "");
    keyed_spec.next_body = Some(Rc::new(move || assertion_body(&key, &keyed, &audience)));

    println!(
        "\n{:<34} {:>10} {:>12} {:>10} {:>10} {:>11}",
        "token endpoint, by client auth", "requests", "req/s", "p50 ms", "p99 ms", "CPU µs/tok"
    );
    let mut cpu = [Vec::new(), Vec::new()];
    for round in 1..=rounds {
        for (i, (name, spec)) in [
            ("client_secret_basic", &secret_spec),
            ("private_key_jwt", &keyed_spec),
        ]
        .into_iter()
        .enumerate()
        {
            let before = server_ns()?;
            let report = load::run(addr, spec, connections, Duration::ZERO, slice).await?;
            let used = server_ns()?.saturating_sub(before);
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
            cpu[i].push(per);
        }
    }
    let (s, k) = (load::median(&mut cpu[0]), load::median(&mut cpu[1]));
    println!(
        "one ES256 signature: {sign_us:.1} µs, one verification: {verify_us:.1} µs (this thread, this run)"
    );
    println!(
        "median CPU per token: secret {s:.1} µs = {:.2}× a signature; private_key_jwt {k:.1} µs = {:.2}×; difference {:.1} µs = {:.2}× a verification",
        s / sign_us,
        k / sign_us,
        k - s,
        (k - s) / verify_us
    );
    println!(
        "target: private_key_jwt adds <= one verification: {}",
        if k - s <= verify_us { "met" } else { "MISSED" }
    );
    Ok(())
}

/// A form with a fresh one-minute assertion (RFC 7523 §3), signed now.
fn assertion_body(key: &EcdsaKeyPair, client_id: &str, audience: &str) -> Bytes {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = B64URL.encode(r#"{"alg":"ES256","kid":"bench"}"#);
    let claims = B64URL.encode(format!(
        r#"{{"iss":"{client_id}","sub":"{client_id}","aud":"{audience}","iat":{now},"exp":{},"jti":"bench-{now}-{}"}}"#,
        now + 60,
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let input = format!("{header}.{claims}");
    let sig = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map(|s| B64URL.encode(s.as_ref()))
        .unwrap_or_default();
    Bytes::from(format!(
        "grant_type=client_credentials&scope=applications%3Aread\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &client_assertion={input}.{sig}"
    ))
}
