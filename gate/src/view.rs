//! The gate's view of the issuer: the clients of one API it must refuse,
//! the projects it has seen, and revoked token ids; changed only by feed
//! events (and by the issuer's answers about projects), read on every call.
//! It grows with what the gate must refuse and the projects that send it
//! traffic, not with every client of every tenant (issue 23).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::clock::Epoch;
use crate::events::{ClientState, Event, ProjectAnswer, ProjectState, REFUSAL_KEPT_SECS};
use crate::limits::Limit;
use crate::token::{Claims, Rejected};

/// A project as the gate knows it: `None` when the issuer said its API has
/// no such project.
pub type Known = Option<Arc<ProjectState>>;

#[derive(Default)]
pub struct View {
    /// Clients to refuse; a client not here is in good standing (its
    /// token's signature proves it existed when the token was issued).
    clients: RwLock<HashMap<String, Arc<ClientState>>>,
    projects: RwLock<Projects>,
    /// Revoked jti → the token's exp.
    revoked: RwLock<HashMap<String, Epoch>>,
}

#[derive(Default)]
struct Projects {
    /// Each with the feed position its state is at least as new as.
    seen: HashMap<String, (i64, Known)>,
    /// The newest feed position whose project change this gate did not
    /// apply (the project was not held): an answer about a project from
    /// before it may miss that change, so it is not kept.
    skipped: i64,
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
    /// Applies the event at feed position `seq`, at `now` (key changes are
    /// the gate's, not the view's).
    pub fn apply(&self, seq: i64, now: Epoch, event: &Event) {
        match event {
            Event::Snapshot(s) => {
                *write(&self.clients) = s
                    .clients
                    .iter()
                    .filter(|c| c.refuses())
                    .map(|c| (c.id.clone(), Arc::new(c.clone())))
                    .collect();
                *write(&self.projects) = Projects {
                    seen: s
                        .projects
                        .iter()
                        .map(|p| (p.id.clone(), (seq, Some(Arc::new(p.clone())))))
                        .collect(),
                    skipped: seq,
                };
                *write(&self.revoked) = s.revoked.iter().map(|r| (r.jti.clone(), r.exp)).collect();
            }
            Event::Client(c) if c.refuses() => {
                write(&self.clients).insert(c.id.clone(), Arc::new(c.clone()));
            }
            Event::Client(ClientState { id, .. }) => {
                write(&self.clients).remove(id);
            }
            // Gone with no tombstone (deleted by an older issuer): refused
            // for as long as a token of it may be live.
            Event::ClientGone { id } => {
                let gone = ClientState {
                    id: id.clone(),
                    account_id: String::new(),
                    project_id: String::new(),
                    disabled: true,
                    expires_at: None,
                    retire_at: None,
                    revoked_before: None,
                    until: Some(now + REFUSAL_KEPT_SECS),
                };
                write(&self.clients).insert(id.clone(), Arc::new(gone));
            }
            Event::Project(p) => {
                let mut projects = write(&self.projects);
                match projects.seen.get_mut(&p.id) {
                    // An event made before an answer the gate holds is older.
                    Some((at, held)) if seq >= *at => {
                        *at = seq;
                        *held = Some(Arc::new(p.clone()));
                    }
                    Some(_) => {}
                    None => projects.skipped = projects.skipped.max(seq),
                }
            }
            Event::ProjectGone { id } => {
                let mut projects = write(&self.projects);
                projects.seen.remove(id);
                projects.skipped = projects.skipped.max(seq);
            }
            Event::Revoked(r) => {
                write(&self.revoked).insert(r.jti.clone(), r.exp);
            }
            Event::Keys { .. } => {}
        }
    }

    /// Whether the token's id is revoked or its client is one to refuse.
    pub fn refusal(&self, claims: &Claims, now: Epoch) -> Result<(), Rejected> {
        if read(&self.revoked).contains_key(&claims.jti) {
            return Err(Rejected::Revoked);
        }
        let Some(client) = read(&self.clients).get(&claims.client_id).cloned() else {
            return Ok(());
        };
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
        Ok(())
    }

    /// The project, if the gate has seen it (`Some(None)`: it does not exist).
    pub fn project(&self, id: &str) -> Option<Known> {
        read(&self.projects)
            .seen
            .get(id)
            .map(|(_, known)| known.clone())
    }

    /// Keeps the issuer's answer about project `id` unless the gate knows
    /// it already (a feed event is newer: that is returned) or the answer
    /// may be older than a change the gate skipped (`None`: ask again).
    pub fn learn(&self, id: &str, answer: ProjectAnswer) -> Option<Known> {
        let mut projects = write(&self.projects);
        if let Some((_, known)) = projects.seen.get(id) {
            return Some(known.clone());
        }
        if answer.position < projects.skipped {
            return None;
        }
        let known = answer.project.filter(|p| p.id == id).map(Arc::new);
        projects
            .seen
            .insert(id.to_owned(), (answer.position, known.clone()));
        Some(known)
    }

    /// Drops revocations of tokens that have expired anyway, and clients
    /// whose refused tokens all have.
    pub fn prune(&self, now: Epoch) {
        write(&self.revoked).retain(|_, exp| *exp > now);
        write(&self.clients).retain(|_, c| c.until.is_none_or(|until| until > now));
    }

    /// (clients, projects, revoked ids) held.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            read(&self.clients).len(),
            read(&self.projects).seen.len(),
            read(&self.revoked).len(),
        )
    }
}

/// The project a token may be charged to: one the issuer knows, of the
/// token's account, not archived.
pub fn usable(known: Known, claims: &Claims) -> Result<Arc<ProjectState>, Rejected> {
    match known {
        Some(p) if !p.archived && p.account_id == claims.account_id => Ok(p),
        _ => Err(Rejected::ClientUnusable),
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
            until: None,
        }
    }

    fn project(archived: bool, burst: i64) -> ProjectState {
        ProjectState {
            id: "prj_1".into(),
            account_id: "acc_1".into(),
            archived,
            rate_per_sec: 5,
            rate_burst: burst,
        }
    }

    fn snapshot(clients: Vec<ClientState>, projects: Vec<ProjectState>) -> Event {
        Event::Snapshot(Snapshot {
            issuer: "https://issuer".into(),
            audience: "https://issuer/api".into(),
            api_id: "api".into(),
            clients,
            projects,
            revoked: vec![],
            jwks: serde_json::json!({"keys": []}),
        })
    }

    fn answer(position: i64, project: Option<ProjectState>) -> ProjectAnswer {
        ProjectAnswer { position, project }
    }

    #[test]
    fn clients_are_held_only_while_they_refuse() {
        let v = View::default();
        // An older issuer's snapshot names every client: only refusals stay.
        let mut other = client(false, None);
        other.id = "pcl_2".into();
        v.apply(1, 0, &snapshot(vec![client(false, None), other], vec![]));
        assert_eq!(v.sizes().0, 0);
        assert!(
            v.refusal(&claims(), 150).is_ok(),
            "not held: in good standing"
        );

        v.apply(2, 0, &Event::Client(client(false, Some(150))));
        assert_eq!(v.refusal(&claims(), 150), Err(Rejected::ClientUnusable));
        assert!(v.refusal(&claims(), 149).is_ok());

        let mut wholesale = client(false, None);
        wholesale.revoked_before = Some(100);
        v.apply(3, 0, &Event::Client(wholesale));
        assert_eq!(v.refusal(&claims(), 150), Err(Rejected::Revoked), "iat 100");
        let mut later = claims();
        later.iat = 101;
        assert!(v.refusal(&later, 150).is_ok(), "issued after");

        let mut scheduled = client(false, None);
        scheduled.retire_at = Some(150);
        v.apply(4, 0, &Event::Client(scheduled));
        assert_eq!(v.refusal(&claims(), 150), Err(Rejected::ClientUnusable));
        assert!(v.refusal(&claims(), 149).is_ok());

        // A token of another project with a refused client's id.
        let mut elsewhere = claims();
        elsewhere.project_id = "prj_2".into();
        assert_eq!(v.refusal(&elsewhere, 149), Err(Rejected::ClientUnusable));

        // Switched back on: nothing to refuse, nothing held.
        v.apply(5, 0, &Event::Client(client(false, None)));
        assert_eq!(v.sizes().0, 0);
        assert!(v.refusal(&claims(), 150).is_ok());

        // Deleted: its tombstone refuses until no token can be live.
        let mut tombstone = client(true, None);
        tombstone.until = Some(300);
        v.apply(6, 0, &Event::Client(tombstone));
        assert_eq!(v.refusal(&claims(), 150), Err(Rejected::ClientUnusable));
        v.prune(299);
        assert_eq!(v.sizes().0, 1);
        v.prune(300);
        assert_eq!(v.sizes().0, 0, "forgotten once no token can need it");

        // Gone without a tombstone (an older issuer deleted it): refused
        // for a token's longest life from now.
        v.apply(8, 1_000, &Event::ClientGone { id: "pcl_1".into() });
        assert_eq!(v.refusal(&claims(), 150), Err(Rejected::ClientUnusable));
        v.prune(1_000 + REFUSAL_KEPT_SECS - 1);
        assert_eq!(v.sizes().0, 1);
        v.prune(1_000 + REFUSAL_KEPT_SECS);
        assert_eq!(v.sizes().0, 0);

        v.apply(
            9,
            0,
            &Event::Revoked(RevokedToken {
                jti: "j1".into(),
                exp: 200,
            }),
        );
        assert_eq!(v.refusal(&claims(), 150), Err(Rejected::Revoked));
        v.prune(200);
        assert!(v.refusal(&claims(), 150).is_ok());
    }

    #[test]
    fn projects_are_learnt_once_and_kept_current() {
        let v = View::default();
        v.apply(10, 0, &snapshot(vec![], vec![]));
        assert_eq!(v.project("prj_1"), None, "not seen yet");

        // An answer from before the snapshot may miss a change: ask again.
        assert_eq!(v.learn("prj_1", answer(9, Some(project(false, 10)))), None);
        let known = v
            .learn("prj_1", answer(10, Some(project(false, 10))))
            .unwrap();
        assert_eq!(usable(known, &claims()).unwrap().limit().burst, 10);

        // Held: the feed's changes apply, and a late answer does not undo them.
        v.apply(11, 0, &Event::Project(project(false, 20)));
        let late = v
            .learn("prj_1", answer(10, Some(project(false, 10))))
            .unwrap();
        assert_eq!(late.unwrap().rate_burst, 20);
        // An event made before the answer held is older than it.
        let mut third = project(false, 30);
        third.id = "prj_5".into();
        v.learn("prj_5", answer(11, Some(third.clone()))).unwrap();
        third.archived = true;
        v.apply(11, 0, &Event::Project(third.clone()));
        third.archived = false;
        third.rate_burst = 1;
        v.apply(10, 0, &Event::Project(third));
        assert!(v.project("prj_5").unwrap().unwrap().archived, "not undone");
        v.apply(12, 0, &Event::Project(project(true, 20)));
        assert_eq!(
            usable(v.project("prj_1").unwrap(), &claims()).unwrap_err(),
            Rejected::ClientUnusable,
            "archived"
        );

        // A change to a project not held is skipped; answers older than it
        // are not kept.
        let mut other = project(false, 30);
        other.id = "prj_2".into();
        v.apply(13, 0, &Event::Project(other.clone()));
        assert_eq!(v.project("prj_2"), None);
        assert_eq!(v.learn("prj_2", answer(12, Some(other.clone()))), None);
        assert!(v.learn("prj_2", answer(13, Some(other))).is_some());

        // No such project (or another API's, or another account's).
        let gone = v.learn("prj_3", answer(13, None)).unwrap();
        assert_eq!(
            usable(gone, &claims()).unwrap_err(),
            Rejected::ClientUnusable
        );
        assert_eq!(v.project("prj_3"), Some(None), "the answer is kept");
        let mut theirs = project(false, 10);
        theirs.account_id = "acc_2".into();
        assert_eq!(
            usable(Some(Arc::new(theirs)), &claims()).unwrap_err(),
            Rejected::ClientUnusable
        );
        // An answer about another id than asked is not believed.
        assert_eq!(
            v.learn("prj_4", answer(13, Some(project(false, 10)))),
            Some(None)
        );

        v.apply(14, 0, &Event::ProjectGone { id: "prj_1".into() });
        assert_eq!(v.project("prj_1"), None);
        assert_eq!(v.sizes().1, 4);
    }
}
