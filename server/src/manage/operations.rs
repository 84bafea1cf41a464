//! The management API, one declaration per operation: method and path,
//! handler, and what the document says of it (summary, request body,
//! success status and answer). [`super::router`] routes from this list and
//! `/openapi.json` describes it (`crate::apis::manage_doc::paths`); the
//! scope each needs is the role table's (`access::table::MANAGE`), found
//! by method and path for both.

use axum::routing::MethodRouter;
use portcullis_core::clients::RETIRE_WITHIN_SECS;
use serde_json::{json, Value};

use super::account::{audit_export, audit_log, members, usage_export};
use super::answers::*;
use super::bodies::*;
use super::clients::{
    create_client, delete_client, keep_client, narrow_client, retire_client, rotate_client,
    set_client_keys, set_client_workload,
};
use super::projects::{
    archive_project, create_project, dormancy, keys_only, list_projects, quota, rate_limit,
    read_project, update_project, usage,
};
use super::{webhooks, ManageState};
use crate::apis::manage_doc::{
    answer, body, endpoint_rules, evidence_file, key_rules, no_rules, nullable, optional,
    Vocabulary,
};

/// One operation of the management API.
pub(crate) struct Operation {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// Under `/manage/v1`.
    pub path: &'static str,
    pub summary: &'static str,
    pub success: u16,
    /// The request body, as the document states it.
    pub request: Option<fn(&Vocabulary) -> Value>,
    /// The success answer's schema; `None`: no body.
    pub returns: Option<fn() -> Value>,
    /// The handler behind its scope (and, for a write, idempotency).
    pub(super) route: fn(&ManageState) -> MethodRouter<ManageState>,
}

/// An [`Operation`] whose route is `handler` at its own method and path.
macro_rules! operation {
    ($method:literal $path:literal => $handler:expr, $summary:expr, $success:literal,
     request: $request:expr, returns: $returns:expr $(,)?) => {
        Operation {
            method: $method,
            path: $path,
            summary: $summary,
            success: $success,
            request: $request,
            returns: $returns,
            route: |s| super::op($method, $path, $handler, s),
        }
    };
}

fn project() -> Value {
    answer::<ProjectAnswer>()
}

fn client() -> Value {
    answer::<ClientAnswer>()
}

fn endpoint() -> Value {
    answer::<EndpointAnswer>()
}

/// Every management operation, in the document's order.
// One operation per entry: method, path and handler, then the words.
#[rustfmt::skip]
pub(crate) fn operations() -> Vec<Operation> {
    vec![
        operation!("GET" "/projects" => list_projects, "The account's projects", 200,
            request: None,
            returns: Some(|| json!({ "type": "object", "required": ["projects"], "properties": { "projects": { "type": "array", "items": project() } } }))),
        operation!("POST" "/projects" => create_project, "Create a project", 201,
            request: Some(|v| body::<NewProject>(v, no_rules())),
            returns: Some(project)),
        operation!("GET" "/projects/{id}" => read_project, "A project with its clients (never secrets)", 200,
            request: None, returns: Some(project)),
        operation!("POST" "/projects/{id}" => update_project, "Rename, describe, or change the token lifetime (new tokens only); a field left out stays as it is", 200,
            request: Some(|v| body::<ProjectChange>(v, no_rules())),
            returns: Some(project)),
        operation!("POST" "/projects/{id}/archive" => archive_project, "Archive: its clients stop getting tokens and its tokens stop passing at once", 200,
            request: None, returns: Some(project)),
        operation!("POST" "/projects/{id}/rate-limit" => rate_limit, "Set the project's bucket", 200,
            request: Some(|v| body::<RateLimit>(v, json!([{ "rule": "not-below", "field": "burst", "other": "per_sec" }]))),
            returns: Some(project)),
        operation!("POST" "/projects/{id}/keys-only" => keys_only, "Keys only: no secret can be made in the project, secrets stop working and every token it mints is DPoP-bound (RFC 9449). Turning it on while a live client holds a secret: 409, naming them", 200,
            request: Some(|v| body::<KeysOnly>(v, no_rules())),
            returns: Some(project)),
        operation!("GET" "/projects/{id}/usage" => usage, "The project's use on every node and gate: tokens minted (per client too), calls let through, refused and rate limited; `span=minute` (the default: the last 48 hours) or `span=hour` (the last 30 days). A node adds its counts every few seconds", 200,
            request: None, returns: Some(answer::<UsageAnswer>)),
        operation!("POST" "/projects/{id}/quota" => quota, "Set the project's daily token quota (UTC days, all nodes together; null: none). Past it, /oauth/token answers 429 `quota_exceeded` with Retry-After to 00:00 UTC; `project.quota_warning` at 80 %, `project.quota_exhausted` at the first refusal", 200,
            request: Some(|v| body::<Quota>(v, no_rules())),
            returns: Some(project)),
        operation!("POST" "/projects/{id}/dormancy" => dormancy, "Retire the project's clients unused for 30, 60 or 90 days (0: never; null: as the account's setting). Seven days before, `client.dormant`; a use in between cancels it; the retirement's reason is \"unused for N days\"", 200,
            request: Some(|v| body::<Dormancy>(v, no_rules())),
            returns: Some(project)),
        operation!("POST" "/projects/{id}/clients" => create_client, "Create a client (temporary with expires_in_hours); its secret is in this answer only. With public_keys or jwks_uri it authenticates with private_key_jwt (RFC 7523), with workload it trusts a workload identity issuer; neither has a secret. Scopes of another API than the project's: 409", 201,
            request: Some(|v| body::<NewClient>(v, key_rules(v, false))),
            returns: Some(answer::<ClientWithSecret>)),
        operation!("POST" "/clients/{id}/keys" => set_client_keys, "Replace a key client's public keys (one or two: add the new key beside the old, then remove the old); tokens already issued stay good. A secret client: 409", 200,
            request: Some(|v| body::<Keys>(v, key_rules(v, true))),
            returns: Some(client)),
        operation!("POST" "/clients/{id}/workload" => set_client_workload, "Replace a workload identity client's trust (issuer or JWK Set, audience, conditions); tokens already issued stay good. A secret or key client: 409", 200,
            request: Some(|v| body::<Workload>(v, json!([{ "rule": "workload-trust", "field": "conditions", "private_targets": v.private_key_fetch, "audience": v.issuer }]))),
            returns: Some(client)),
        operation!("POST" "/clients/{id}/narrow" => narrow_client, "Narrow a client's scopes; a scope it lacks, or no change: 409", 200,
            request: Some(|v| body::<Narrow>(v, no_rules())),
            returns: Some(client)),
        operation!("POST" "/clients/{id}/rotate" => rotate_client, "Start a rotation: a successor with the same scopes, its secret in this answer only", 201,
            request: None, returns: Some(answer::<ClientWithSecret>)),
        operation!("POST" "/clients/{id}/retire" => retire_client, "Retire now (no body) or at a time", 200,
            request: Some(|v| optional(body::<Retire>(v, json!([{ "rule": "within-secs-of-now", "field": "at", "secs": RETIRE_WITHIN_SECS }])))),
            returns: Some(client)),
        operation!("POST" "/clients/{id}/keep" => keep_client, "Cancel a scheduled retirement", 204,
            request: None, returns: None),
        operation!("DELETE" "/clients/{id}" => delete_client, "Delete a retired or expired client", 204,
            request: None, returns: None),
        operation!("GET" "/audit" => audit_log, "The audit log, newest first; filters as in the console; `before` continues from `next`", 200,
            request: None,
            returns: Some(answer::<AuditPage>)),
        operation!("GET" "/audit/export" => audit_export, "Evidence for auditors: the audit log as filtered (the filters of /audit), newest first, as one streamed file: `format=json` (the default) or `format=csv` (`#` lines give the account, the range and when it was made; the last line is `# complete: N rows`). Entries written while it is made are not in it", 200,
            request: None,
            returns: Some(|| evidence_file(&["id", "at", "actor_kind", "actor", "action", "target_kind", "target_id", "project_id", "client_ip", "detail"]))),
        operation!("GET" "/usage/export" => usage_export, "Evidence for auditors: each day's tokens minted per client and calls let through, refused and rate limited per project (`client_id` null), summed over every node and gate, oldest day first, as one streamed file (`format=json` or `csv`, as /audit/export). `from` and `to` are UTC dates within the last 30 days (by default all of them)", 200,
            request: None,
            returns: Some(|| evidence_file(&["day", "project_id", "project_name", "client_id", "client_name", "tokens_minted", "calls_allowed", "calls_refused", "rate_limited"]))),
        operation!("GET" "/members" => members, "The account's members", 200,
            request: None,
            returns: Some(answer::<MembersAnswer>)),
        operation!("GET" "/webhooks" => webhooks::list, "The account's webhook endpoints", 200,
            request: None,
            returns: Some(|| json!({ "type": "object", "required": ["endpoints"], "properties": { "endpoints": { "type": "array", "items": endpoint() } } }))),
        operation!("POST" "/webhooks" => webhooks::create, "Register an endpoint; its signing secret (whsec_…) is in this answer only", 201,
            request: Some(|v| body::<EndpointBody>(v, endpoint_rules(v))),
            returns: Some(answer::<EndpointWithSecret>)),
        operation!("GET" "/webhooks/{id}" => webhooks::read, "One endpoint", 200,
            request: None, returns: Some(endpoint)),
        operation!("POST" "/webhooks/{id}" => webhooks::update, "Change an endpoint's URL, events and description (its secret stays); a field left out stays as it is", 200,
            request: Some(|v| body::<EndpointChange>(v, endpoint_rules(v))),
            returns: Some(endpoint)),
        operation!("DELETE" "/webhooks/{id}" => webhooks::delete, "Delete an endpoint and its delivery log", 204,
            request: None, returns: None),
        operation!("POST" "/webhooks/{id}/enable" => webhooks::enable, "Turn an endpoint on again; its pending retries resume", 200,
            request: None, returns: Some(endpoint)),
        operation!("POST" "/webhooks/{id}/disable" => webhooks::disable, "Turn an endpoint off; events meanwhile are not kept for it", 200,
            request: None, returns: Some(endpoint)),
        operation!("GET" "/webhooks/{id}/deliveries" => webhooks::deliveries, "The endpoint's delivery log, newest first (30 days); `before` continues from `next`", 200,
            request: None,
            returns: Some(|| json!({ "type": "object", "required": ["deliveries", "next"], "properties": { "deliveries": { "type": "array", "items": answer::<DeliveryAnswer>() }, "next": nullable("string") } }))),
        operation!("POST" "/webhooks/{id}/deliveries/{message_id}/resend" => webhooks::resend, "Send a delivery again now, with 24 fresh hours of retries", 200,
            request: None, returns: Some(answer::<DeliveryAnswer>)),
    ]
}
