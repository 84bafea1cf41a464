//! Domain values to wire types.

use portcullis_core::catalogue::Api;
use portcullis_core::clients::Client;
use portcullis_core::issuer::Minted;
use portcullis_core::projects::Project;

use super::model::*;
use crate::ssr::AppState;

pub fn api(state: &AppState, api: &Api) -> ApiInfo {
    ApiInfo {
        id: api.id.clone(),
        name: api.name.clone(),
        description: api.description.clone(),
        audience: state.issuer.audience(&api.base_path),
        signing_alg: api.signing_alg.as_str().into(),
        groups: api
            .groups()
            .into_iter()
            .map(|(name, scopes)| ScopeGroup {
                name: name.into(),
                scopes: scopes
                    .into_iter()
                    .map(|s| ScopeInfo {
                        name: s.name.clone(),
                        description: s.description.clone(),
                        destructive: s.destructive,
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub fn project(
    state: &AppState,
    p: Project,
    live_clients: i64,
    secret_clients: i64,
) -> ProjectInfo {
    let api_name = state
        .catalogue
        .api(&p.api_id)
        .map_or_else(|| p.api_id.clone(), |a| a.name.clone());
    ProjectInfo {
        id: p.id,
        name: p.name,
        description: p.description,
        api_id: p.api_id,
        api_name,
        token_ttl_secs: p.token_ttl_secs,
        created_at: p.created_at,
        archived_at: p.archived_at,
        live_clients,
        secret_clients,
        keys_only: p.keys_only,
        rate_per_sec: p.rate_limit.per_sec,
        rate_burst: p.rate_limit.burst,
        dormant_after_days: p.dormant_after_days,
        daily_token_quota: p.daily_token_quota,
    }
}

pub fn client(c: Client) -> ClientInfo {
    ClientInfo {
        id: c.id,
        name: c.name,
        scopes: c.scopes,
        created_at: c.created_at,
        last_used_at: c.last_used_at,
        status: c.status.into(),
        disabled_reason: c.disabled_reason,
        expires_at: c.expires_at,
        retire_at: c.retire_at,
        minted_last_5m: c.minted_last_5m,
        minted_last_hour: c.minted_last_hour,
        reuse_warning: c.reuse_warning,
        ends_soon: c.ends_soon,
        dormant_notice: c.dormant_notice,
        jwks_uri: c.jwks_uri,
        workload: c.workload.map(|t| t.describe()),
        last_workload: c.last_workload,
        cut_off: None,
        keys: c.keys.map(|keys| {
            keys.into_iter()
                .map(|k| KeyInfo {
                    kid: k.kid,
                    alg: k.alg,
                    thumbprint: k.thumbprint,
                })
                .collect()
        }),
    }
}

pub fn test_token(m: Minted) -> TestToken {
    let header_json = m
        .access_token
        .split('.')
        .next()
        .and_then(|h| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default();
    TestToken {
        claims_json: serde_json::to_string_pretty(&m.claims).unwrap_or_default(),
        header_json,
        scope: m.claims.scope.clone(),
        expires_in: m.expires_in,
        access_token: m.access_token,
    }
}

/// The last hour's use, a minute each (minutes with nothing included), oldest
/// first.
pub(super) fn last_hour(u: &portcullis_core::usage_totals::ProjectUsage) -> Vec<MinuteTraffic> {
    let by_minute: std::collections::HashMap<i64, &portcullis_core::usage_totals::Counts> =
        u.series.iter().map(|(m, c)| (*m, c)).collect();
    (u.from..=u.to)
        .map(|minute| {
            let c = by_minute.get(&minute).copied().copied().unwrap_or_default();
            MinuteTraffic {
                at: minute * 60,
                allowed: c.minted + c.gated,
                limited: c.limited,
                refused: c.refused,
            }
        })
        .collect()
}

/// Clients ending soon, soonest first, with their projects' names.
pub(super) fn ending(
    list: Vec<portcullis_core::store::lifecycle::Ending>,
    names: &std::collections::HashMap<String, String>,
    now: i64,
) -> Vec<EndingInfo> {
    let mut out: Vec<EndingInfo> = list
        .into_iter()
        .filter_map(|e| {
            let (at, retires) = e.end()?;
            Some(EndingInfo {
                when: portcullis_core::lifecycle::ends_phrase(at, retires, now),
                client_id: e.id,
                client_name: e.name,
                project_name: names.get(&e.project_id).cloned().unwrap_or_default(),
                project_id: e.project_id,
                at,
            })
        })
        .collect();
    out.sort_by_key(|e| e.at);
    out
}

/// Tokens the project minted since 00:00 UTC, on every node.
pub(super) async fn tokens_today(
    state: &AppState,
    p: &portcullis_core::Principal,
    project_id: &str,
) -> Result<u64, crate::error::ConsoleError> {
    use portcullis_core::usage_totals::Span;
    let now = state.accounts.clock().now();
    let hours = now.rem_euclid(86_400) / 3600 + 1;
    let usage = state
        .usage
        .project_last(p, project_id, Span::Hour, hours)
        .await?;
    Ok(usage.totals.minted)
}
