use super::*;

fn input(issuer: &str, conditions: &[(&str, &str)]) -> TrustInput {
    TrustInput {
        preset: "custom".into(),
        issuer: issuer.into(),
        jwks: String::new(),
        audience: "https://portcullis.example".into(),
        conditions: conditions
            .iter()
            .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
            .collect(),
    }
}

const OURS: &str = "https://portcullis.example";

fn ok(u: &str) -> Result<String> {
    Ok(u.to_owned())
}

#[test]
fn patterns() {
    for (p, v, m) in [
        ("acme/api", "acme/api", true),
        ("acme/api", "acme/apis", false),
        ("acme/*", "acme/api", true),
        ("acme/*", "acme/", true),
        ("acme/*", "acme", false),
        (
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/x:ref:refs/heads/main",
            true,
        ),
        (
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/x:ref:refs/heads/dev",
            false,
        ),
        ("*", "", true),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("", "", true),
        ("", "x", false),
    ] {
        assert_eq!(matches(p, v), m, "{p} ~ {v}");
    }
}

#[test]
fn a_trust_must_name_its_workloads() {
    let github = "https://token.actions.githubusercontent.com";
    let err = |i: &TrustInput| {
        WorkloadTrust::from_input(i, OURS, ok)
            .unwrap_err()
            .to_string()
    };
    assert!(err(&input("https://k8s.example", &[])).contains("at least one condition"));
    assert!(err(&input("https://k8s.example", &[("sub", "**")])).contains("at least one"));
    assert!(err(&input(github, &[("ref", "refs/heads/main")])).contains("repository"));
    assert!(err(&input(github, &[("repository", "*/api")])).contains("names your own"));
    assert!(
        WorkloadTrust::from_input(&input(github, &[("repository", "acme/*")]), OURS, ok).is_ok()
    );
    assert!(err(&input(github, &[("sub", "repo:*")])).contains("names your own"));
    // A prefix of an owner's name is no owner: acme-evil begins so too.
    for (claim, pattern) in [
        ("repository", "acme*"),
        ("repository_owner", "acme*"),
        ("repository_id", "1*"),
        ("sub", "repo:a*"),
        ("job_workflow_ref", "*/x"),
    ] {
        assert!(
            err(&input(github, &[(claim, pattern)])).contains("names your own"),
            "{claim}={pattern}"
        );
    }
    for (claim, pattern) in [
        ("repository_owner", "acme"),
        ("repository_id", "74"),
        ("job_workflow_ref", "acme/ci/.github/workflows/*"),
    ] {
        assert!(
            WorkloadTrust::from_input(&input(github, &[(claim, pattern)]), OURS, ok).is_ok(),
            "{claim}={pattern}"
        );
    }
    // The audience names this server, not another service.
    let mut elsewhere = input("https://k8s.example", &[("sub", "a")]);
    elsewhere.audience = "sts.amazonaws.com".into();
    assert!(err(&elsewhere).contains("must name this server"));
    elsewhere.audience = "https://portcullis.example.evil".into();
    assert!(err(&elsewhere).contains("must name this server"));
    elsewhere.audience = "https://portcullis.example/clients/pcl_1".into();
    assert!(WorkloadTrust::from_input(&elsewhere, OURS, ok).is_ok());
    // Pasted keys need an issuer, but for SPIFFE, which names an ID.
    let key = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"jwt-svid"}]}"#;
    let mut pasted = input("", &[("sub", "spiffe://acme.example/sync")]);
    pasted.jwks = key.into();
    assert!(err(&pasted).contains("only SPIFFE"));
    pasted.preset = "spiffe".into();
    assert!(
        WorkloadTrust::from_input(&pasted, OURS, ok).is_ok(),
        "a SPIRE bundle's jwt-svid key"
    );
    pasted.conditions = vec![("sub".into(), "spiffe://*".into())];
    assert!(err(&pasted).contains("SPIFFE ID"));
    assert!(err(&input("https://k8s.example/?x=1", &[("sub", "a")])).contains("no query"));
    assert!(WorkloadTrust::from_input(&input(github, &[("sub", "repo:acme/*")]), OURS, ok).is_ok());
    assert!(err(&input(
        "https://k8s.example",
        &[("sub", "a"), (" sub", "b")]
    ))
    .contains("two"));
    assert!(err(&input("https://k8s.example", &[("s b", "a")])).contains("claim name"));
    assert!(err(&input("", &[("sub", "a")])).contains("issuer URL"));
    let mut no_aud = input("https://k8s.example", &[("sub", "a")]);
    no_aud.audience = " ".into();
    assert!(err(&no_aud).contains("audience"));
    let refused = |_: &str| Err(Error::invalid("workload_issuer", "Use an https:// URL."));
    assert!(
        WorkloadTrust::from_input(&input("http://x", &[("sub", "a")]), OURS, refused).is_err(),
        "discovery URLs pass the outbound rule"
    );
}

#[test]
fn stored_and_read_back() {
    let t = WorkloadTrust::from_input(
        &input(
            "https://k8s.example",
            &[("sub", "system:serviceaccount:pay:api")],
        ),
        OURS,
        ok,
    )
    .unwrap();
    assert_eq!(WorkloadTrust::from_stored(&t.to_json()).unwrap(), t);
    assert!(t.describe().contains("sub=system:serviceaccount:pay:api"));
}
