use super::*;

fn project(archived: bool) -> ProjectRow {
    ProjectRow {
        id: "prj_1".into(),
        account_id: "acc_1".into(),
        name: "P".into(),
        description: String::new(),
        api_id: "partner".into(),
        token_ttl_secs: 3600,
        created_at: 0,
        archived_at: archived.then_some(5),
        rate_per_sec: 25,
        rate_burst: 50,
        keys_only: 0,
        dormant_after_days: None,
        daily_token_quota: None,
    }
}

fn client(disabled_at: Option<Epoch>, expires_at: Option<Epoch>) -> ClientRow {
    ClientRow {
        id: "pcl_1".into(),
        account_id: "acc_1".into(),
        project_id: "prj_1".into(),
        name: "C".into(),
        secret_hash: "00".repeat(32),
        scopes: "b a a".into(),
        created_at: 0,
        last_used_at: Some(7),
        disabled_at,
        disabled_reason: None,
        expires_at,
        retire_at: None,
        revoked_before: None,
        auth_method: "client_secret".into(),
        public_keys: None,
        jwks_uri: None,
        workload_trust: None,
        last_workload: None,
    }
}

#[test]
fn disabled_expired_and_archived_clients_are_unusable() {
    let r = Registry::default();
    r.put_project(&project(false));
    r.put_client(&client(None, Some(100)));
    let c = r.client("pcl_1").unwrap();
    assert_eq!(
        c.scopes.iter().map(|s| &**s).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(r.usable(&c, 99).is_ok());
    assert_eq!(r.usable(&c, 100).unwrap_err(), Unusable::Expired);

    r.put_client(&client(Some(50), None));
    let c = r.client("pcl_1").unwrap();
    assert_eq!(r.usable(&c, 60).unwrap_err(), Unusable::Disabled);
    // Replacing an entry keeps its usage.
    assert_eq!(c.usage.last_used(), Some(7));

    r.put_client(&client(None, None));
    r.put_project(&project(true));
    let c = r.client("pcl_1").unwrap();
    assert_eq!(r.usable(&c, 60).unwrap_err(), Unusable::ProjectArchived);
}

#[test]
fn revocations_are_forgotten_after_the_token_expires() {
    let r = Registry::default();
    r.put_project(&project(false));
    r.put_client(&client(None, None));
    r.revoke("j1", 100);
    r.revoke("j2", 200);
    assert!(r.is_revoked("j1"));
    r.prune_revoked(150);
    assert!(!r.is_revoked("j1"));
    assert!(r.is_revoked("j2"));
}
