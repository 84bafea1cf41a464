//! Accounts (tenants) and signing in: sign-up creates an account and its
//! owner; log-in checks a password under the throttle.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::audit;
use crate::clock::Clock;
use crate::db::{is_unique_violation, Db};
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::password::{self, PasswordHasher};
use crate::secret::Password;
use crate::store;
use crate::throttle::LoginThrottle;
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Developer,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    /// Owners and developers manage projects and clients; viewers only look.
    pub fn can_manage_credentials(self) -> bool {
        matches!(self, Role::Owner | Role::Developer)
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "developer" => Some(Role::Developer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A signed-in user acting within one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub account_id: String,
    pub account_name: String,
    pub role: Role,
    /// Where the request came from, for the audit log (set per request).
    pub client_ip: Option<IpAddr>,
}

/// A support staff member: a platform user in no account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Staff {
    pub user_id: String,
    pub email: String,
}

/// Who a successful log-in is.
#[derive(Debug, Clone)]
pub enum SignedIn {
    Member(Principal),
    Staff(Staff),
}

#[derive(Debug)]
pub struct SignUp {
    pub account_name: String,
    pub email: String,
    pub password: Password,
    pub client_ip: Option<IpAddr>,
}

pub struct Accounts {
    db: Db,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    clock: Arc<dyn Clock>,
}

impl Accounts {
    pub fn new(
        db: Db,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            db,
            hasher,
            throttle,
            clock,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) async fn hash_password(&self, password: &Password) -> Result<String> {
        self.hasher.hash(password).await
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Creates the account and its first user, who owns it.
    #[tracing::instrument(skip_all, fields(account_id, user_id))]
    pub async fn sign_up(&self, input: SignUp) -> Result<Principal> {
        let account_name = validate::account_name(&input.account_name)?;
        let email = validate::email(&input.email)?;
        password::check_policy(&input.password)?;
        // Cheap check first so a duplicate does not cost an argon2 run; the
        // unique index below settles races.
        if store::users::email_exists(&self.db, &email).await? {
            return Err(Error::EmailTaken);
        }
        let hash = self.hasher.hash(&input.password).await?;

        let now = self.clock.now();
        let account_id = new_id("acc");
        let user_id = new_id("usr");
        let mut tx = self.db.begin().await?;
        store::accounts::insert(&mut *tx, &account_id, &account_name, now).await?;
        store::users::insert(&mut *tx, &user_id, &email, &hash, now)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::EmailTaken
                } else {
                    Error::Database(e)
                }
            })?;
        store::accounts::add_member(&mut *tx, &account_id, &user_id, Role::Owner, now).await?;
        tx.commit().await?;

        tracing::Span::current()
            .record("account_id", &account_id)
            .record("user_id", &user_id);
        tracing::info!("account created");
        let principal = Principal {
            user_id,
            email,
            account_id,
            account_name,
            role: Role::Owner,
            client_ip: input.client_ip,
        };
        self.audit(
            &principal,
            "account.sign_up",
            format!("account {:?} created", principal.account_name),
            now,
        )
        .await;
        Ok(principal)
    }

    /// Checks an email and password. A wrong email and a wrong password give
    /// the same error after the same amount of work.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn log_in(
        &self,
        email: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<SignedIn> {
        let email = validate::email(email).map_err(|_| Error::InvalidCredentials)?;
        let now = self.clock.now();
        // Reserved (counted as a failure) before argon2 runs: concurrent
        // guesses for one email get no more tries than sequential ones.
        self.throttle
            .reserve_everywhere(&email, client_ip, now)
            .await
            .map_err(|retry_after_secs| Error::Throttled { retry_after_secs })?;

        let user = store::users::find_by_email(&self.db, &email).await?;
        let verified = match &user {
            Some(u) => self.hasher.verify(password, &u.password_hash).await?,
            None => self.hasher.verify_decoy(password).await?,
        };
        let principal = match (verified, &user) {
            (true, Some(u)) => store::accounts::first_membership(&self.db, &u.id).await?,
            _ => None,
        };
        if let (true, Some(u), None) = (verified, &user, &principal) {
            if let Some(staff) = store::staff::get(&self.db, &u.id).await? {
                self.throttle.record_success_everywhere(&email).await;
                self.throttle.refund_ip(client_ip);
                tracing::info!(staff_id = %staff.user_id, "support staff signed in");
                return Ok(SignedIn::Staff(staff));
            }
        }
        match principal {
            Some(mut p) => {
                self.throttle.record_success_everywhere(&email).await;
                self.throttle.refund_ip(client_ip);
                tracing::Span::current().record("user_id", &p.user_id);
                tracing::info!("signed in");
                p.client_ip = client_ip;
                self.audit(&p, "user.sign_in", "signed in to the console".into(), now)
                    .await;
                Ok(SignedIn::Member(p))
            }
            None => {
                self.throttle
                    .record_reserved_failure_everywhere(&email, client_ip, now)
                    .await;
                tracing::info!("sign-in refused");
                Err(Error::InvalidCredentials)
            }
        }
    }

    async fn audit(
        &self,
        p: &Principal,
        action: &'static str,
        detail: String,
        now: crate::clock::Epoch,
    ) {
        audit::record_or_log(
            &self.db,
            audit::Event {
                account_id: &p.account_id,
                actor: audit::Actor::of(p),
                action,
                target_kind: "user",
                target_id: &p.user_id,
                project_id: None,
                client_ip: p.client_ip,
                detail,
            },
            now,
        )
        .await;
    }

    /// Creates a support staff member (`portcullis staff add`).
    pub async fn add_staff(&self, email: &str, password: &Password) -> Result<Staff> {
        let email = validate::email(email)?;
        password::check_policy(password)?;
        if store::users::email_exists(&self.db, &email).await? {
            return Err(Error::EmailTaken);
        }
        let hash = self.hasher.hash(password).await?;
        let user_id = new_id("usr");
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        store::users::insert(&mut *tx, &user_id, &email, &hash, now)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::EmailTaken
                } else {
                    e.into()
                }
            })?;
        store::staff::insert(&mut *tx, &user_id, now).await?;
        tx.commit().await?;
        tracing::info!(staff_id = %user_id, "support staff member added");
        Ok(Staff { user_id, email })
    }

    /// The staff member, if they still are one.
    pub async fn staff(&self, user_id: &str) -> Result<Option<Staff>> {
        store::staff::get(&self.db, user_id).await
    }

    /// The user as a member of the account, if both still exist and the
    /// membership stands.
    pub async fn principal(&self, user_id: &str, account_id: &str) -> Result<Option<Principal>> {
        store::accounts::principal(&self.db, user_id, account_id).await
    }
}
