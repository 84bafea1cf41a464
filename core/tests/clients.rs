//! The client lifecycle's rules on an in-memory database, through the same
//! `Clients` service the console, the management API and support call: the
//! cap on live clients (two during a rotation, temporary ones beside them),
//! retirement now or within 90 days, and what a retired client refuses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_core::clients::{
    ClientStatus, LIVE_CLIENTS_PER_PROJECT_MAX, TEMPORARY_CLIENTS_PER_PROJECT_MAX,
};
use portcullis_core::projects::NewProject;
use portcullis_core::{manage, store, Clock, Error};

#[path = "support/world.rs"]
mod world;
use world::{claims, world};

#[tokio::test]
async fn a_project_holds_two_live_clients_and_its_temporary_ones_apart() {
    let w = world().await;
    let mut live = Vec::new();
    for _ in 0..LIVE_CLIENTS_PER_PROJECT_MAX {
        live.push(w.create(None).await.unwrap());
    }
    assert!(matches!(w.create(None).await, Err(Error::StateConflict(_))));
    // Temporary clients have their own cap, beside the long-lived ones.
    for _ in 0..TEMPORARY_CLIENTS_PER_PROJECT_MAX {
        w.create(Some(24)).await.unwrap();
    }
    assert!(matches!(
        w.create(Some(24)).await,
        Err(Error::StateConflict(_))
    ));
    // Retiring one makes room again.
    w.clients
        .retire(w.by.manager().unwrap(), &live[0], None)
        .await
        .unwrap();
    assert_eq!(w.status(&live[0]).await, ClientStatus::Disabled);
    w.create(None).await.unwrap();
    // Out of range lifetimes are the field's fault.
    for bad in [0, 721, -1] {
        assert!(matches!(
            w.create(Some(bad)).await,
            Err(Error::Invalid {
                field: "expires_in_hours",
                ..
            })
        ));
    }
}

#[tokio::test]
async fn retirement_is_now_or_within_90_days_and_happens_when_due() {
    let w = world().await;
    let id = w.create(None).await.unwrap();
    let now = w.clock.now();
    let too_far = now + 90 * 86_400 + 1;
    assert!(matches!(
        w.clients
            .retire(w.by.manager().unwrap(), &id, Some(too_far))
            .await,
        Err(Error::Invalid {
            field: "retire_at",
            ..
        })
    ));
    let at = now + 3_600;
    let scheduled = w
        .clients
        .retire(w.by.manager().unwrap(), &id, Some(at))
        .await
        .unwrap();
    assert!(scheduled.retire_at.is_some_and(|r| r <= at && r > now));
    assert_eq!(
        scheduled.status,
        ClientStatus::Active,
        "still live until then"
    );
    assert_eq!(w.clients.retire_due().await.unwrap(), 0);
    w.clock.advance(3_601);
    assert_eq!(w.clients.retire_due().await.unwrap(), 1);
    assert_eq!(w.status(&id).await, ClientStatus::Disabled);
    // A time in the past means now.
    let other = w.create(None).await.unwrap();
    let retired = w
        .clients
        .retire(w.by.manager().unwrap(), &other, Some(0))
        .await
        .unwrap();
    assert_eq!(retired.status, ClientStatus::Disabled);
}

#[tokio::test]
async fn a_retired_client_refuses_every_change_but_deletion() {
    let w = world().await;
    let id = w.create(None).await.unwrap();
    let live = w.create(None).await.unwrap();
    assert!(matches!(
        w.clients.delete(w.by.manager().unwrap(), &live).await,
        Err(Error::StateConflict(_))
    ));
    w.clients
        .retire(w.by.manager().unwrap(), &id, None)
        .await
        .unwrap();
    let narrowed = ["applications:read".to_owned()];
    assert!(matches!(
        w.clients
            .narrow(w.by.manager().unwrap(), &id, &narrowed)
            .await,
        Err(Error::StateConflict(_))
    ));
    assert!(matches!(
        w.clients.rotate(w.by.manager().unwrap(), &id).await,
        Err(Error::StateConflict(_))
    ));
    assert!(matches!(
        w.clients.retire(w.by.manager().unwrap(), &id, None).await,
        Err(Error::StateConflict(_))
    ));
    w.clients
        .delete(w.by.manager().unwrap(), &id)
        .await
        .unwrap();
    assert!(matches!(
        w.clients.delete(w.by.manager().unwrap(), &id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn another_account_finds_nothing() {
    let w = world().await;
    let id = w.create(None).await.unwrap();
    let stranger = manage::principal(&claims("pcl_other", "acc_2"), None);
    assert!(matches!(
        w.clients.list(&stranger, &w.project).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        w.clients
            .retire(stranger.manager().unwrap(), &id, None)
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        w.clients.rotate(stranger.manager().unwrap(), &id).await,
        Err(Error::NotFound)
    ));
}

/// One tenant cannot grow every node's and gate's memory without bound:
/// projects and clients per account are capped, with a clear refusal and
/// nothing written.
#[tokio::test]
async fn an_account_holds_at_most_its_caps_of_projects_and_clients() {
    use portcullis_core::clients::CLIENTS_PER_ACCOUNT_MAX;
    use portcullis_core::projects::PROJECTS_PER_ACCOUNT_MAX;
    use portcullis_core::store::clients::ClientRow;
    use portcullis_core::store::projects::ProjectRow;
    let w = world().await;
    // Fill the account to the caps (the rows are what count).
    for i in 1..PROJECTS_PER_ACCOUNT_MAX {
        let row = ProjectRow {
            id: format!("prj_fill{i}"),
            account_id: "acc_1".into(),
            name: format!("Filler {i}"),
            description: String::new(),
            api_id: "partner".into(),
            token_ttl_secs: 3600,
            created_at: 0,
            archived_at: Some(1),
            rate_per_sec: 10,
            rate_burst: 20,
            keys_only: 0,
            dormant_after_days: None,
            daily_token_quota: None,
        };
        store::projects::insert(&w.db, &row).await.unwrap();
    }
    let input = NewProject {
        name: "One too many".into(),
        api_id: "partner".into(),
        ..NewProject::default()
    };
    match w
        .projects
        .create_project(w.by.manager().unwrap(), input)
        .await
    {
        Err(Error::StateConflict(m)) => assert!(m.contains("at most 1000 projects"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store::projects::count(&w.db, "acc_1").await.unwrap(),
        PROJECTS_PER_ACCOUNT_MAX
    );

    let mut tx = w.db.begin().await.unwrap();
    for i in 0..CLIENTS_PER_ACCOUNT_MAX {
        let row = ClientRow {
            id: format!("pcl_fill{i}"),
            account_id: "acc_1".into(),
            project_id: w.project.clone(),
            name: "Old".into(),
            secret_hash: format!("{i:064}"),
            scopes: "applications:read".into(),
            created_at: 0,
            last_used_at: None,
            disabled_at: Some(1),
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
        store::clients::insert(&mut *tx, &row, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    match w.create(None).await {
        Err(Error::StateConflict(m)) => assert!(m.contains("at most 5000 clients"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store::clients::count(&w.db, "acc_1").await.unwrap(),
        CLIENTS_PER_ACCOUNT_MAX
    );
}

#[tokio::test]
async fn a_retirement_shows_when_each_connected_gate_applied_it() {
    use portcullis_core::gate_reach::{GateReach, Reached, Report};
    let w = world().await;
    let id = w.create(None).await.unwrap();
    let reach = GateReach::new(w.db.clone(), w.clock.clone());
    fn report<'a>(gate: &'a str, position: i64, applied: &'a [(i64, u64)]) -> Report<'a> {
        Report {
            gate_id: gate,
            api_id: "partner",
            instance: "i1",
            peer: [10, 0, 0, 7].into(),
            version: "0.1.0",
            position,
            applied,
        }
    }
    let start = store::changes::latest(&w.db).await.unwrap();
    reach
        .report(report("gate_a", start, &[]), start)
        .await
        .unwrap();
    reach
        .report(report("gate_b", start, &[]), start)
        .await
        .unwrap();
    assert!(reach.reach(&w.by, &id).await.unwrap().is_none());

    w.clients
        .retire(w.by.manager().unwrap(), &id, None)
        .await
        .unwrap();
    let seq = store::changes::latest(&w.db).await.unwrap();
    let cut = reach.reach(&w.by, &id).await.unwrap().unwrap();
    assert_eq!(cut.action, "client.retire");
    let states = |c: &portcullis_core::gate_reach::CutOffReach| {
        c.gates.iter().map(|g| g.reached).collect::<Vec<_>>()
    };
    assert_eq!(states(&cut), [Reached::Pending, Reached::Pending]);
    // Another account learns nothing of it.
    let other = manage::principal(&claims("pcl_other", "acc_2"), None);
    assert!(reach.reach(&other, &id).await.unwrap().is_none());

    // gate_a applied it 0.3 s before its report; gate_b falls silent.
    let applied = [(seq, 300)];
    reach
        .report(report("gate_a", seq, &applied), seq)
        .await
        .unwrap();
    let cut = reach.reach(&w.by, &id).await.unwrap().unwrap();
    assert!(matches!(cut.gates[0].reached, Reached::Applied(Some(ms)) if ms < 5_000));
    assert_eq!(cut.gates[1].reached, Reached::Pending);
    assert_eq!(cut.applied(), 1);
    w.clock.advance(11);
    reach.report(report("gate_a", seq, &[]), seq).await.unwrap();
    let cut = reach.reach(&w.by, &id).await.unwrap().unwrap();
    assert_eq!(cut.gates[1].reached, Reached::Gone);

    // A report that names no process the product could store is refused.
    let bad = Report {
        instance: "not an id",
        ..report("gate_a", seq, &[])
    };
    assert!(reach.report(bad, seq).await.is_err());
}

#[tokio::test]
async fn a_gate_behind_counts_from_when_it_fell_behind_and_a_silent_one_by_its_silence() {
    use portcullis_core::gate_reach::{GateReach, Report};
    let w = world().await;
    let reach = GateReach::new(w.db.clone(), w.clock.clone());
    let report = |position| Report {
        gate_id: "gate_1",
        api_id: "partner",
        instance: "i1",
        peer: [10, 0, 0, 7].into(),
        version: "0.1.0",
        position,
        applied: &[],
    };
    let lag = || async {
        let all = reach.lag_by_gate().await.unwrap();
        (all[0].changes_behind, all[0].lag_secs)
    };
    reach.report(report(10), 10).await.unwrap();
    assert_eq!(lag().await, (0, 0));
    // Behind from now on, and still two seconds later: behind since now.
    reach.report(report(10), 12).await.unwrap();
    w.clock.advance(2);
    reach.report(report(11), 12).await.unwrap();
    w.clock.advance(1);
    assert_eq!(lag().await, (1, 3));
    // Caught up.
    reach.report(report(12), 12).await.unwrap();
    assert_eq!(lag().await, (0, 0));
    // Then silent: its silence is its lag.
    w.clock.advance(30);
    assert_eq!(lag().await, (0, 30));
    // A new process of the same credential speaks for it.
    reach
        .report(
            Report {
                instance: "i2",
                ..report(12)
            },
            12,
        )
        .await
        .unwrap();
    assert_eq!(lag().await, (0, 0));
}
