//! One account with one Partner API project on an in-memory database,
//! and the `Clients` service acting for it: shared by the client tests.

use std::path::Path;
use std::sync::Arc;

use portcullis_core::catalogue::SigningAlg;
use portcullis_core::clients::ClientStatus;
use portcullis_core::feed::Feed;
use portcullis_core::keyring::Keyring;
use portcullis_core::limits::RateLimiter;
use portcullis_core::master_key::MasterKey;
use portcullis_core::projects::NewProject;
use portcullis_core::registry::Registry;
use portcullis_core::{
    db, manage, store, Catalogue, Clients, Clock, Error, Issuer, ManualClock, Principal, Projects,
};

pub struct World {
    pub clients: Clients,
    pub projects: Projects,
    pub db: portcullis_core::Db,
    pub clock: Arc<ManualClock>,
    pub by: Principal,
    pub project: String,
}

/// One account with one Partner API project, acted on by a management
/// client of that account (a developer's rights).
pub async fn world() -> World {
    // A database of its own per test, in memory: shared by the pool's
    // connections, gone with the last of them.
    let name = portcullis_core::ids::new_id("mem");
    let url = format!("sqlite:file:{name}?mode=memory&cache=shared");
    let db = db::connect(&url).await.unwrap();
    db::migrate(&db).await.unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let now = clock.now();
    let master = Arc::new(MasterKey::from_hex(&"5a".repeat(32)).unwrap());
    let scopes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scopes.toml");
    let catalogue = Arc::new(Catalogue::load(&scopes).unwrap());
    store::accounts::insert(&db, "acc_1", "Acme Lending", now)
        .await
        .unwrap();
    let applied = store::changes::latest(&db).await.unwrap();
    let keyring = Arc::new(
        Keyring::open(db.clone(), master.clone(), &[SigningAlg::ES256], now)
            .await
            .unwrap(),
    );
    let registry = Arc::new(Registry::load(&db, now).await.unwrap());
    let feed = Arc::new(Feed::new(
        db.clone(),
        registry.clone(),
        keyring,
        clock.clone(),
        applied,
    ));
    let issuer = Arc::new(Issuer::new(
        "https://issuer.example".into(),
        catalogue.clone(),
        master.clone(),
        clock.clone(),
        feed.clone(),
        Arc::new(RateLimiter::local()),
    ));
    let projects = Projects::new(feed.clone(), catalogue.clone(), clock.clone());
    let clients = Clients::new(feed, registry, catalogue, issuer, master, clock.clone());
    let by = manage::principal(&claims("pcl_pipeline", "acc_1"), None);
    let input = NewProject {
        name: "Loan intake".into(),
        api_id: "partner".into(),
        ..NewProject::default()
    };
    let project = projects
        .create_project(by.manager().unwrap(), input)
        .await
        .unwrap()
        .id;
    World {
        clients,
        projects,
        db,
        clock,
        by,
        project,
    }
}

impl World {
    pub async fn create(&self, hours: Option<i64>) -> Result<String, Error> {
        let scopes = ["applications:read".to_owned()];
        let made = self
            .clients
            .create(
                self.by.manager().unwrap(),
                &self.project,
                "Primary",
                &scopes,
                hours,
            )
            .await?;
        Ok(made.0.id)
    }

    pub async fn status(&self, id: &str) -> ClientStatus {
        let list = self.clients.list(&self.by, &self.project).await.unwrap();
        list.iter().find(|c| c.id == id).unwrap().status
    }
}

/// What a verified management token says of its client and account.
pub fn claims(client_id: &str, account_id: &str) -> portcullis_gate::Claims {
    portcullis_gate::Claims {
        iss: "https://issuer.example".into(),
        sub: client_id.into(),
        client_id: client_id.into(),
        aud: "https://issuer.example/manage/v1".into(),
        iat: 0,
        nbf: None,
        exp: i64::MAX,
        jti: "jti".into(),
        scope: String::new(),
        account_id: account_id.into(),
        project_id: "prj_manage".into(),
        cnf: None,
    }
}
