#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::atomic::AtomicUsize;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use super::*;
use crate::clock::ManualClock;
use crate::events::{ClientState, ProjectAnswer, ProjectState, RevokedToken, Snapshot};

const ISS: &str = "https://issuer.test";
const AUD: &str = "https://issuer.test/api";

struct Key {
    kid: String,
    pair: EcdsaKeyPair,
}

impl Key {
    fn new(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Self {
            kid: kid.into(),
            pair,
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({ "kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
                "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65]) })
    }

    fn sign(&self, header: Value, claims: &Claims) -> String {
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(serde_json::to_vec(claims).unwrap())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", B64URL.encode(sig.as_ref()))
    }

    fn token(&self, claims: &Claims) -> String {
        self.sign(
            json!({ "alg": "ES256", "typ": "at+jwt", "kid": self.kid }),
            claims,
        )
    }
}

fn claims(now: crate::clock::Epoch) -> Claims {
    Claims {
        iss: ISS.into(),
        sub: "pcl_1".into(),
        client_id: "pcl_1".into(),
        aud: AUD.into(),
        iat: now,
        nbf: None,
        exp: now + 300,
        jti: "j1".into(),
        scope: "a:read".into(),
        account_id: "acc_1".into(),
        project_id: "prj_1".into(),
        cnf: None,
    }
}

fn snapshot(keys: &[&Key]) -> Event {
    Event::Snapshot(Snapshot {
        issuer: ISS.into(),
        audience: AUD.into(),
        api_id: "api".into(),
        clients: vec![ClientState {
            id: "pcl_1".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            disabled: false,
            expires_at: None,
            retire_at: None,
            revoked_before: None,
            until: None,
        }],
        projects: vec![ProjectState {
            id: "prj_1".into(),
            account_id: "acc_1".into(),
            archived: false,
            rate_per_sec: 1000,
            rate_burst: 1000,
        }],
        revoked: vec![],
        jwks: json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }),
    })
}

/// An issuer whose JWKS holds `keys`, counting the fetches.
struct FakeIssuer {
    jwks: Value,
    fetches: AtomicUsize,
    active: bool,
}

impl Upstream for FakeIssuer {
    fn jwks(&self) -> BoxFuture<'_, Result<Value, String>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let jwks = self.jwks.clone();
        Box::pin(async move { Ok(jwks) })
    }
    fn introspect<'a>(&'a self, _token: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        let active = self.active;
        Box::pin(async move { Ok(active) })
    }
}

fn rejected(r: Result<Admitted, Refused>) -> Rejected {
    match r {
        Err(Refused::Token(why)) => why,
        other => panic!("expected a token refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn every_check_in_order() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let key = Key::new("k1");
    let gate = Gate::builder().clock(clock.clone()).in_process().build();
    let good = key.token(&claims(clock.now()));
    assert!(
        matches!(gate.admit(&good).await, Err(Refused::Unavailable(_))),
        "no snapshot yet"
    );
    gate.apply(1, &snapshot(&[&key]));
    let admitted = gate.admit(&good).await.unwrap();
    assert_eq!(admitted.claims.client_id, "pcl_1");
    assert_eq!(admitted.decision.unwrap().limit.burst, 1000);

    // Header: the key decides the algorithm; typ must be at+jwt.
    let c = claims(clock.now());
    let none_alg = key.sign(json!({ "alg": "RS256", "typ": "at+jwt", "kid": "k1" }), &c);
    assert_eq!(
        rejected(gate.admit(&none_alg).await),
        Rejected::BadSignature
    );
    let id_token = key.sign(json!({ "alg": "ES256", "typ": "JWT", "kid": "k1" }), &c);
    assert_eq!(
        rejected(gate.admit(&id_token).await),
        Rejected::BadSignature
    );
    let stranger = Key::new("k1").token(&c);
    assert_eq!(
        rejected(gate.admit(&stranger).await),
        Rejected::BadSignature
    );
    // Claims: issuer, audience, time.
    let mut other = claims(clock.now());
    other.iss = "https://evil.test".into();
    assert_eq!(
        rejected(gate.admit(&key.token(&other)).await),
        Rejected::BadSignature
    );
    let mut other = claims(clock.now());
    other.aud = "https://issuer.test/other".into();
    assert_eq!(
        rejected(gate.admit(&key.token(&other)).await),
        Rejected::WrongAudience
    );
    let mut other = claims(clock.now());
    other.nbf = Some(clock.now() + 31);
    assert_eq!(
        rejected(gate.admit(&key.token(&other)).await),
        Rejected::NotYetValid
    );
    clock.advance(300);
    assert_eq!(
        rejected(gate.admit(&good).await),
        Rejected::Expired,
        "in-process: no grace"
    );
    clock.advance(-300);

    // Standing, from events.
    gate.apply(
        2,
        &Event::Revoked(RevokedToken {
            jti: "j1".into(),
            exp: clock.now() + 300,
        }),
    );
    assert_eq!(rejected(gate.admit(&good).await), Rejected::Revoked);
    assert_eq!(gate.position(), 2);
}

#[tokio::test]
async fn a_remote_gate_has_exp_grace_and_fails_closed_when_the_feed_is_silent() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let key = Key::new("k1");
    let gate = Gate::builder()
        .clock(clock.clone())
        .when_stale(Duration::from_millis(50), OnStale::FailClosed)
        .build();
    gate.apply(1, &snapshot(&[&key]));
    let token = key.token(&claims(clock.now()));
    clock.advance(300 + DEFAULT_EXP_LEEWAY_SECS - 1);
    assert!(gate.admit(&token).await.is_ok(), "within the grace");
    clock.advance(1);
    assert_eq!(rejected(gate.admit(&token).await), Rejected::Expired);
    clock.advance(-300 - DEFAULT_EXP_LEEWAY_SECS);
    tokio::time::sleep(Duration::from_millis(80)).await;
    match gate.admit(&token).await {
        Err(Refused::Unavailable(why)) => assert!(why.contains("feed"), "{why}"),
        other => panic!("expected 503, got {other:?}"),
    }
    gate.touch();
    assert!(
        gate.admit(&token).await.is_ok(),
        "back once the feed speaks"
    );
}

#[tokio::test]
async fn an_unknown_key_fetches_the_jwks_again_at_most_every_few_seconds() {
    let old = Key::new("old");
    let new = Key::new("new");
    let issuer = Arc::new(FakeIssuer {
        jwks: json!({ "keys": [old.jwk(), new.jwk()] }),
        fetches: AtomicUsize::new(0),
        active: true,
    });
    let gate = Gate::builder().upstream(issuer.clone()).build();
    gate.apply(1, &snapshot(&[&old]));
    let c = claims(crate::clock::SystemClock.now());
    assert!(gate.admit(&new.token(&c)).await.is_ok());
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
    let unknown = Key::new("unknown").token(&c);
    assert_eq!(rejected(gate.admit(&unknown).await), Rejected::UnknownKey);
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        1,
        "not again within 5 s"
    );
}

#[tokio::test]
async fn a_stale_gate_set_to_introspect_asks_the_issuer() {
    let key = Key::new("k1");
    for active in [true, false] {
        let issuer = Arc::new(FakeIssuer {
            jwks: json!({ "keys": [] }),
            fetches: AtomicUsize::new(0),
            active,
        });
        let gate = Gate::builder()
            .upstream(issuer)
            .when_stale(Duration::from_millis(20), OnStale::Introspect)
            .build();
        gate.apply(1, &snapshot(&[&key]));
        // Revoked meanwhile, but the feed cannot say so: the issuer can.
        tokio::time::sleep(Duration::from_millis(40)).await;
        let token = key.token(&claims(crate::clock::SystemClock.now()));
        assert_eq!(gate.admit(&token).await.is_ok(), active);
    }
}

/// An issuer that knows one project (`rate` a second, as its burst too),
/// takes `delay` to answer and counts the questions about it.
struct Projects {
    asks: AtomicUsize,
    reachable: std::sync::atomic::AtomicBool,
    delay: Duration,
    rate: i64,
}

impl Projects {
    fn new(delay: Duration, rate: i64) -> Self {
        Self {
            asks: AtomicUsize::new(0),
            reachable: std::sync::atomic::AtomicBool::new(false),
            delay,
            rate,
        }
    }
}

impl ProjectSource for Projects {
    fn project<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ProjectAnswer, String>> {
        self.asks.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if !self.reachable.load(Ordering::SeqCst) {
                return Err("connection refused".to_owned());
            }
            Ok(ProjectAnswer {
                position: 1,
                project: (id == "prj_1").then(|| ProjectState {
                    id: "prj_1".into(),
                    account_id: "acc_1".into(),
                    archived: false,
                    rate_per_sec: self.rate,
                    rate_burst: self.rate,
                }),
            })
        })
    }
}

#[tokio::test]
async fn a_project_is_asked_about_once() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let key = Key::new("k1");
    let source = Arc::new(Projects::new(Duration::ZERO, 7));
    let gate = Gate::builder()
        .clock(clock.clone())
        .project_source(source.clone())
        .in_process()
        .build();
    let Event::Snapshot(mut s) = snapshot(&[&key]) else {
        unreachable!()
    };
    s.clients.clear();
    s.projects.clear();
    gate.apply(1, &Event::Snapshot(s));
    let good = key.token(&claims(clock.now()));
    assert!(
        matches!(gate.admit(&good).await, Err(Refused::Unavailable(_))),
        "the issuer cannot be asked: 503, not a guess"
    );
    source.reachable.store(true, Ordering::SeqCst);
    let admitted = gate.admit(&good).await.unwrap();
    assert_eq!(admitted.decision.unwrap().limit.burst, 7);
    gate.admit(&good).await.unwrap();
    assert_eq!(
        source.asks.load(Ordering::SeqCst),
        2,
        "one failed, one kept"
    );

    let mut elsewhere = claims(clock.now());
    elsewhere.project_id = "prj_9".into();
    let token = key.token(&elsewhere);
    assert_eq!(rejected(gate.admit(&token).await), Rejected::ClientUnusable);
    assert_eq!(rejected(gate.admit(&token).await), Rejected::ClientUnusable);
    assert_eq!(source.asks.load(Ordering::SeqCst), 3, "the no is kept too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_arrive_together_share_one_ask() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let key = Key::new("k1");
    // Slow enough for every call to arrive while it is asked.
    let source = Arc::new(Projects::new(Duration::from_millis(50), 100));
    let gate = Gate::builder()
        .clock(clock.clone())
        .project_source(source.clone())
        .in_process()
        .build();
    let Event::Snapshot(mut s) = snapshot(&[&key]) else {
        unreachable!()
    };
    s.clients.clear();
    s.projects.clear();
    gate.apply(1, &Event::Snapshot(s));
    let good = key.token(&claims(clock.now()));

    let together = |n: usize| {
        let (gate, good) = (gate.clone(), good.clone());
        async move {
            let calls: Vec<_> = (0..n)
                .map(|_| {
                    let (gate, good) = (gate.clone(), good.clone());
                    tokio::spawn(async move { gate.admit(&good).await.map(|_| ()) })
                })
                .collect();
            let mut outcomes = Vec::new();
            for call in calls {
                outcomes.push(call.await.unwrap());
            }
            outcomes
        }
    };
    // The issuer does not answer: the calls share the one failure (they
    // do not each wait for their own).
    let outcomes = together(16).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(Refused::Unavailable(_)))),
        "{outcomes:?}"
    );
    assert_eq!(
        source.asks.load(Ordering::SeqCst),
        1,
        "one ask failed for all"
    );
    assert!(gate.inner.asking.is_empty(), "a failure is not remembered");
    source.reachable.store(true, Ordering::SeqCst);

    // A call given up on while it asks leaves no trace.
    let gave_up = tokio::time::timeout(Duration::from_millis(10), gate.admit(&good)).await;
    assert!(gave_up.is_err(), "the slow ask outlasts the timeout");
    assert!(gate.inner.asking.is_empty(), "a cancelled call leaves");
    assert_eq!(source.asks.load(Ordering::SeqCst), 2);

    for outcome in together(16).await {
        outcome.unwrap();
    }
    assert_eq!(
        source.asks.load(Ordering::SeqCst),
        3,
        "sixteen calls at once, one ask (after the failed and the cancelled)"
    );
    assert!(gate.inner.asking.is_empty(), "nobody is left asking");
}
