//! The role table: who may call each console server function (by its
//! endpoint, `/api/<name>`) and each management operation (by method and
//! path under `/manage/v1`). The server checks it at the edge, before a
//! request is read; a function or operation that is not here answers 404
//! (the console) or 403 (the management API), so a new one is unreachable
//! until it is listed. The management API's scope declarations and its
//! document come from [`MANAGE`]. `server/tests/it/roles.rs` calls every
//! entry as every kind of caller and compares each answer with this table.

use super::{Principal, Role, Staff};
use crate::error::{Error, Result};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Anyone, signed in or not: sign-up, log-in, one-time links.
    Anyone,
    /// A visitor whose password was right and whose code is awaited.
    PendingLogIn,
    /// Members whose role is at least this (viewer < developer < owner),
    /// once they have the second factor their account requires.
    Members(Role),
    /// Any member, before the second factor their account requires (to
    /// learn who they are and set it up).
    MembersBeforeSecondFactor,
    /// A member or a support staff member, before any second-factor rule:
    /// their own password and second factor.
    SignedIn,
    /// Support staff with a second factor.
    Staff,
    /// A management client whose token carries this scope.
    Client(&'static str),
}

/// Whoever calls, as the edge found them.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// Signed out; `pending_log_in` when a code is awaited.
    Visitor {
        pending_log_in: bool,
    },
    Member(&'a Principal),
    Staff(&'a Staff),
    /// A management client's token, with its scopes.
    Client {
        scopes: &'a str,
    },
}

impl Role {
    fn rank(self) -> u8 {
        match self {
            Role::Viewer => 0,
            Role::Developer => 1,
            Role::Owner => 2,
        }
    }
}

impl Allow {
    /// `Ok` when `caller` may call; otherwise the refusal it gets:
    /// `Unauthenticated` for a visitor, `SecondFactorRequired` for whom
    /// owes one, `Forbidden` for anyone else.
    pub fn check(self, caller: Caller<'_>) -> Result<()> {
        let refused = |c: Caller<'_>| match c {
            Caller::Visitor { .. } => Error::Unauthenticated,
            _ => Error::Forbidden,
        };
        match (self, caller) {
            (Allow::Anyone, _) => Ok(()),
            (Allow::PendingLogIn, Caller::Visitor { pending_log_in }) => {
                if pending_log_in {
                    Ok(())
                } else {
                    Err(Error::Unauthenticated)
                }
            }
            (Allow::Members(min), Caller::Member(p)) => {
                if p.acting_client.is_some() || p.role.rank() < min.rank() {
                    Err(Error::Forbidden)
                } else if p.must_set_up_second_factor() {
                    Err(Error::SecondFactorRequired)
                } else {
                    Ok(())
                }
            }
            (Allow::MembersBeforeSecondFactor, Caller::Member(p))
            | (Allow::SignedIn, Caller::Member(p)) => {
                if p.acting_client.is_some() {
                    Err(Error::Forbidden)
                } else {
                    Ok(())
                }
            }
            (Allow::SignedIn, Caller::Staff(_)) => Ok(()),
            (Allow::Staff, Caller::Staff(s)) => s.support().map(|_| ()),
            (Allow::Client(scope), Caller::Client { scopes }) => {
                if scopes.split_whitespace().any(|s| s == scope) {
                    Ok(())
                } else {
                    Err(Error::Forbidden)
                }
            }
            (_, c) => Err(refused(c)),
        }
    }
}

use Allow::*;
use Role::{Developer, Owner, Viewer};

/// Every console server function, by endpoint name.
pub const CONSOLE: &[(&str, Allow)] = &[
    // Signing up and in, and one-time links.
    ("signup", Anyone),
    ("login", Anyone),
    ("login_code", PendingLogIn),
    ("logout", Anyone),
    ("invite_preview", Anyone),
    ("join", Anyone),
    ("password_reset_preview", Anyone),
    ("password_reset", Anyone),
    // Who am I, and one's own security.
    ("me", MembersBeforeSecondFactor),
    ("security", SignedIn),
    ("second_factor_begin", SignedIn),
    ("second_factor_confirm", SignedIn),
    ("recovery_codes_new", SignedIn),
    ("second_factor_off", SignedIn),
    ("password_change", SignedIn),
    // Reading the account.
    ("projects", Members(Viewer)),
    ("project", Members(Viewer)),
    // The same read, for a page following changes: not activity.
    ("project_refresh", Members(Viewer)),
    ("audit", Members(Viewer)),
    ("team", Members(Viewer)),
    ("webhooks", Members(Viewer)),
    ("webhook_deliveries", Members(Viewer)),
    // Projects and clients.
    ("project_create", Members(Developer)),
    ("project_update", Members(Developer)),
    ("project_rate_limit", Members(Developer)),
    ("project_archive", Members(Developer)),
    ("project_keys_only", Members(Developer)),
    ("project_dormancy", Members(Developer)),
    ("project_quota", Members(Developer)),
    ("client_create", Members(Developer)),
    ("client_narrow", Members(Developer)),
    ("client_test_token", Members(Developer)),
    ("client_rotate", Members(Developer)),
    ("client_set_keys", Members(Developer)),
    ("client_set_workload", Members(Developer)),
    ("client_retire", Members(Developer)),
    ("client_keep", Members(Developer)),
    ("client_delete", Members(Developer)),
    // The team, the account's security and its webhooks: owners.
    ("team_invite", Members(Owner)),
    ("team_withdraw", Members(Owner)),
    ("team_remove", Members(Owner)),
    ("team_password_reset", Members(Owner)),
    ("second_factor_require", Members(Owner)),
    ("account_dormancy", Members(Owner)),
    ("webhook_create", Members(Owner)),
    ("webhook_update", Members(Owner)),
    ("webhook_enabled", Members(Owner)),
    ("webhook_delete", Members(Owner)),
    ("webhook_resend", Members(Owner)),
    // Support staff.
    ("staff_me", Staff),
    ("staff_find", Staff),
    ("staff_search", Staff),
    ("staff_revoke", Staff),
    ("staff_audit", Staff),
    ("staff_gates", Staff),
    ("staff_gate_create", Staff),
    ("staff_gate_revoke", Staff),
];

/// Every console path under `/api/` that is not a server function: a
/// `GET` that streams, a download or a page's live events. Checked at the
/// same edge as [`CONSOLE`].
pub const CONSOLE_STREAMS: &[(&str, Allow)] = &[
    ("audit_export", Members(Viewer)),
    ("usage_export", Members(Viewer)),
    // Not activity: opening it does not renew the session's idle timer.
    ("project_live", Members(Viewer)),
];

/// Whether a call of `name` is a page following changes (its live stream,
/// or a fetch the stream set off) rather than a person's activity: it does
/// not renew the session's idle timer.
pub fn is_quiet(name: &str) -> bool {
    matches!(name, "project_live" | "project_refresh")
}

/// Every management operation: method, path under `/manage/v1`, and the
/// scope its token must carry.
pub const MANAGE: &[(&str, &str, &str)] = &[
    ("GET", "/projects", "manage:projects:read"),
    ("POST", "/projects", "manage:projects:write"),
    ("GET", "/projects/{id}", "manage:projects:read"),
    ("POST", "/projects/{id}", "manage:projects:write"),
    ("POST", "/projects/{id}/archive", "manage:projects:write"),
    ("POST", "/projects/{id}/rate-limit", "manage:projects:write"),
    ("POST", "/projects/{id}/keys-only", "manage:projects:write"),
    ("GET", "/projects/{id}/usage", "manage:projects:read"),
    ("POST", "/projects/{id}/dormancy", "manage:projects:write"),
    ("POST", "/projects/{id}/quota", "manage:projects:write"),
    ("POST", "/projects/{id}/clients", "manage:clients:write"),
    ("POST", "/clients/{id}/narrow", "manage:clients:write"),
    ("POST", "/clients/{id}/keys", "manage:clients:write"),
    ("POST", "/clients/{id}/workload", "manage:clients:write"),
    ("POST", "/clients/{id}/rotate", "manage:clients:write"),
    ("POST", "/clients/{id}/retire", "manage:clients:write"),
    ("POST", "/clients/{id}/keep", "manage:clients:write"),
    ("DELETE", "/clients/{id}", "manage:clients:delete"),
    ("GET", "/audit", "manage:audit:read"),
    ("GET", "/audit/export", "manage:audit:read"),
    ("GET", "/usage/export", "manage:projects:read"),
    ("GET", "/members", "manage:members:read"),
    ("GET", "/webhooks", "manage:webhooks:read"),
    ("POST", "/webhooks", "manage:webhooks:write"),
    ("GET", "/webhooks/{id}", "manage:webhooks:read"),
    ("POST", "/webhooks/{id}", "manage:webhooks:write"),
    ("DELETE", "/webhooks/{id}", "manage:webhooks:write"),
    ("POST", "/webhooks/{id}/enable", "manage:webhooks:write"),
    ("POST", "/webhooks/{id}/disable", "manage:webhooks:write"),
    ("GET", "/webhooks/{id}/deliveries", "manage:webhooks:read"),
    (
        "POST",
        "/webhooks/{id}/deliveries/{message_id}/resend",
        "manage:webhooks:write",
    ),
];

/// Who may call the console function or download `name`; `None` if it
/// is not listed.
pub fn console(name: &str) -> Option<Allow> {
    CONSOLE
        .iter()
        .chain(CONSOLE_STREAMS)
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
}

/// The scope the management operation needs; `None` if it is not listed.
pub fn manage_scope(method: &str, path: &str) -> Option<&'static str> {
    MANAGE
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_once_and_scopes_are_the_catalogue_s() {
        let mut names: Vec<&str> = CONSOLE
            .iter()
            .chain(CONSOLE_STREAMS)
            .map(|(n, _)| *n)
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a console function is listed twice");
        let api = crate::manage::api();
        for (m, p, scope) in MANAGE {
            assert!(api.scope(scope).is_some(), "{m} {p}: {scope}");
            assert_eq!(
                MANAGE
                    .iter()
                    .filter(|(m2, p2, _)| m2 == m && p2 == p)
                    .count(),
                1
            );
        }
    }

    #[test]
    fn visitors_are_unauthenticated_and_clients_need_the_scope() {
        let visitor = Caller::Visitor {
            pending_log_in: false,
        };
        assert!(matches!(
            Members(Viewer).check(visitor),
            Err(Error::Unauthenticated)
        ));
        assert!(Anyone.check(visitor).is_ok());
        assert!(PendingLogIn.check(visitor).is_err());
        assert!(PendingLogIn
            .check(Caller::Visitor {
                pending_log_in: true
            })
            .is_ok());
        let client = Caller::Client {
            scopes: "manage:projects:read manage:audit:read",
        };
        assert!(Client("manage:audit:read").check(client).is_ok());
        assert!(matches!(
            Client("manage:projects:write").check(client),
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            Members(Viewer).check(client),
            Err(Error::Forbidden)
        ));
    }
}
