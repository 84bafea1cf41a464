//! SQL, one module per aggregate. Every query on tenant-owned rows made on a
//! caller's behalf takes the account id as a required argument; the few that
//! read across accounts (`all`) feed the in-memory registry at start-up.

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod client_tombstones;
pub mod clients;
pub mod evidence;
pub mod gate_credentials;
pub mod gate_reach;
pub mod idempotency;
pub mod lifecycle;
pub mod nodes;
pub mod password_resets;
pub mod projects;
pub mod quotas;
pub mod revoked_tokens;
pub mod second_factor;
pub mod signing_keys;
pub mod staff;
pub mod team;
pub mod usage;
pub mod used_once;
pub mod users;
pub mod webhooks;

#[cfg(test)]
mod debug_tests {
    use super::*;

    /// No row or entry that holds a secret's hash or a sealed secret shows
    /// it in `Debug` (log lines, panics, `{:?}` in errors).
    #[test]
    fn debug_never_shows_hashes_or_sealed_secrets() {
        const SECRET: &str = "s3cr3t-hash-value";
        let client = clients::ClientRow {
            id: "cli_1".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            name: "n".into(),
            secret_hash: SECRET.into(),
            scopes: "a".into(),
            created_at: 0,
            last_used_at: None,
            disabled_at: None,
            disabled_reason: None,
            expires_at: None,
            retire_at: None,
            revoked_before: None,
            auth_method: "client_secret".into(),
            public_keys: None,
            jwks_uri: None,
            workload_trust: None,
            last_workload: None,
        };
        let endpoint = webhooks::EndpointRow {
            id: "whe_1".into(),
            account_id: "acc_1".into(),
            url: "https://example.com/".into(),
            events: "client.revoked".into(),
            description: String::new(),
            secret_sealed: SECRET.into(),
            created_at: 0,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
        };
        let due = webhooks::DueRow {
            id: "msg_1".into(),
            endpoint_id: "whe_1".into(),
            account_id: "acc_1".into(),
            payload: "{}".into(),
            attempts: 0,
            give_up_at: 0,
            url: "https://example.com/".into(),
            secret_sealed: SECRET.into(),
        };
        let factor = second_factor::FactorRow {
            secret_sealed: SECRET.into(),
            confirmed_at: None,
            last_step: 0,
        };
        let gate = gate_credentials::GateCredentialRow {
            id: "gte_1".into(),
            api_id: "a".into(),
            name: "n".into(),
            secret_hash: SECRET.into(),
            created_at: 0,
            created_by: "x".into(),
            revoked_at: None,
        };
        for shown in [
            format!("{client:?}"),
            format!("{endpoint:?}"),
            format!("{due:?}"),
            format!("{factor:?}"),
            format!("{gate:?}"),
        ] {
            assert!(!shown.contains(SECRET), "{shown}");
        }
        assert!(format!("{client:?}").contains("cli_1"));
    }
}
