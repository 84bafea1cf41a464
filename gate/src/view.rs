//! The gate's view of the issuer: clients, projects and revoked token ids of
//! one API, changed only by feed events, read on every call.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::clock::Epoch;
use crate::events::{ClientState, Event, ProjectState};
use crate::limits::Limit;
use crate::token::{Claims, Rejected};

#[derive(Default)]
pub struct View {
    clients: RwLock<HashMap<String, Arc<ClientState>>>,
    projects: RwLock<HashMap<String, Arc<ProjectState>>>,
    /// Revoked jti → the token's exp.
    revoked: RwLock<HashMap<String, Epoch>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl ProjectState {
    pub fn limit(&self) -> Limit {
        Limit {
            per_sec: self.rate_per_sec,
            burst: self.rate_burst,
        }
    }
}

impl View {
    /// Applies one event (key changes are the gate's, not the view's).
    pub fn apply(&self, event: &Event) {
        match event {
            Event::Snapshot(s) => {
                *write(&self.clients) = s
                    .clients
                    .iter()
                    .map(|c| (c.id.clone(), Arc::new(c.clone())))
                    .collect();
                *write(&self.projects) = s
                    .projects
                    .iter()
                    .map(|p| (p.id.clone(), Arc::new(p.clone())))
                    .collect();
                *write(&self.revoked) = s.revoked.iter().map(|r| (r.jti.clone(), r.exp)).collect();
            }
            Event::Client(c) => {
                write(&self.clients).insert(c.id.clone(), Arc::new(c.clone()));
            }
            Event::ClientGone { id } => {
                write(&self.clients).remove(id);
            }
            Event::Project(p) => {
                write(&self.projects).insert(p.id.clone(), Arc::new(p.clone()));
            }
            Event::ProjectGone { id } => {
                write(&self.projects).remove(id);
            }
            Event::Revoked(r) => {
                write(&self.revoked).insert(r.jti.clone(), r.exp);
            }
            Event::Keys { .. } => {}
        }
    }

    /// The project to charge if the token's id is not revoked and its
    /// client and project may still be used.
    pub fn standing(&self, claims: &Claims, now: Epoch) -> Result<Arc<ProjectState>, Rejected> {
        if read(&self.revoked).contains_key(&claims.jti) {
            return Err(Rejected::Revoked);
        }
        let client = read(&self.clients)
            .get(&claims.client_id)
            .cloned()
            .ok_or(Rejected::ClientUnusable)?;
        if client.revoked_before.is_some_and(|at| claims.iat <= at) {
            return Err(Rejected::Revoked);
        }
        if client.disabled
            || client.expires_at.is_some_and(|at| at <= now)
            || client.retire_at.is_some_and(|at| at <= now)
            || client.account_id != claims.account_id
            || client.project_id != claims.project_id
        {
            return Err(Rejected::ClientUnusable);
        }
        let project = self
            .project(&claims.project_id)
            .ok_or(Rejected::ClientUnusable)?;
        if project.archived {
            return Err(Rejected::ClientUnusable);
        }
        Ok(project)
    }

    pub fn project(&self, id: &str) -> Option<Arc<ProjectState>> {
        read(&self.projects).get(id).cloned()
    }

    /// Drops revocations of tokens that have expired anyway.
    pub fn prune(&self, now: Epoch) {
        write(&self.revoked).retain(|_, exp| *exp > now);
    }

    /// (clients, projects, revoked ids) held.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            read(&self.clients).len(),
            read(&self.projects).len(),
            read(&self.revoked).len(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::events::{RevokedToken, Snapshot};

    fn claims() -> Claims {
        Claims {
            iss: "https://issuer".into(),
            sub: "pcl_1".into(),
            client_id: "pcl_1".into(),
            aud: "https://issuer/api".into(),
            iat: 100,
            nbf: None,
            exp: 200,
            jti: "j1".into(),
            scope: "a b".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            cnf: None,
        }
    }

    fn client(disabled: bool, expires_at: Option<Epoch>) -> ClientState {
        ClientState {
            id: "pcl_1".into(),
            account_id: "acc_1".into(),
            project_id: "prj_1".into(),
            disabled,
            expires_at,
            retire_at: None,
            revoked_before: None,
        }
    }

    fn project(archived: bool) -> ProjectState {
        ProjectState {
            id: "prj_1".into(),
            account_id: "acc_1".into(),
            archived,
            rate_per_sec: 5,
            rate_burst: 10,
        }
    }

    #[test]
    fn standing_follows_the_events() {
        let v = View::default();
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::ClientUnusable
        );
        v.apply(&Event::Snapshot(Snapshot {
            issuer: "https://issuer".into(),
            audience: "https://issuer/api".into(),
            api_id: "api".into(),
            clients: vec![client(false, None)],
            projects: vec![project(false)],
            revoked: vec![],
            jwks: serde_json::json!({"keys": []}),
        }));
        assert_eq!(v.standing(&claims(), 150).unwrap().limit().burst, 10);

        v.apply(&Event::Client(client(false, Some(150))));
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::ClientUnusable
        );
        assert!(v.standing(&claims(), 149).is_ok());

        let mut wholesale = client(false, None);
        wholesale.revoked_before = Some(100);
        v.apply(&Event::Client(wholesale));
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::Revoked,
            "iat 100"
        );
        let mut later = claims();
        later.iat = 101;
        assert!(v.standing(&later, 150).is_ok(), "issued after");

        let mut scheduled = client(false, None);
        scheduled.retire_at = Some(150);
        v.apply(&Event::Client(scheduled));
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::ClientUnusable
        );
        assert!(v.standing(&claims(), 149).is_ok());

        v.apply(&Event::Client(client(true, None)));
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::ClientUnusable
        );

        v.apply(&Event::Client(client(false, None)));
        v.apply(&Event::Project(project(true)));
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::ClientUnusable
        );

        v.apply(&Event::Project(project(false)));
        v.apply(&Event::Revoked(RevokedToken {
            jti: "j1".into(),
            exp: 200,
        }));
        assert_eq!(v.standing(&claims(), 150).unwrap_err(), Rejected::Revoked);
        v.prune(200);
        assert!(v.standing(&claims(), 150).is_ok());

        // A token of another project with this client's id is refused.
        let mut other = claims();
        other.project_id = "prj_2".into();
        assert_eq!(
            v.standing(&other, 150).unwrap_err(),
            Rejected::ClientUnusable
        );

        v.apply(&Event::ClientGone { id: "pcl_1".into() });
        assert_eq!(
            v.standing(&claims(), 150).unwrap_err(),
            Rejected::ClientUnusable
        );
        assert_eq!(v.sizes(), (0, 1, 0));
    }
}
