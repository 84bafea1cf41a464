//! Accounts (tenants) and signing in: sign-up creates an account and its
//! owner; log-in (`log_in`) checks a password under the throttle.

use std::net::IpAddr;
use std::sync::Arc;

use crate::audit;
use crate::clock::{Clock, Epoch};
use crate::db::{is_unique_violation, Db};
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::master_key::MasterKey;
use crate::password::Password;
use crate::password::{self, PasswordHasher};
use crate::store;
use crate::throttle::{LoginThrottle, Policy, ThrottlePolicy};
use crate::validate;

pub use crate::model::{Principal, Role, Staff};

/// The second factor: TOTP and recovery codes, a part of signing in.
pub mod second_factor;

mod log_in;
pub use log_in::{LogIn, PendingLogIn, SignedIn, PENDING_LOG_IN_SECS, PENDING_WRONG_CODES_MAX};

/// Sign-ups and invitation joins per client address, across every node
/// when Redis is configured (under keys of their own).
fn sign_up_throttle(
    per_address: u32,
    shared: Option<Arc<crate::shared_limits::SharedLimits>>,
) -> LoginThrottle {
    let hour = Policy {
        free_failures: per_address,
        max_lock_secs: 3600,
        reset_secs: 3600,
    };
    LoginThrottle::shared(
        ThrottlePolicy {
            per_email: hour,
            per_ip: hour,
        },
        shared,
    )
    .in_namespace("signup:")
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
    /// Every second-factor code check, per user: only a right code clears
    /// it (a right password does not).
    codes: LoginThrottle,
    /// Sign-ups and invitation joins per client address (each one counted
    /// as an attempt).
    sign_ups: LoginThrottle,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

/// Sign-ups one address may make before it has to wait (1 s, 2 s, 4 s …
/// up to an hour); the count is forgotten after an hour without one.
pub const SIGN_UPS_PER_ADDRESS: u32 = 10;

impl Accounts {
    pub fn new(
        db: Db,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        master: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // Keyed by user id, under keys of its own in Redis.
        let codes = LoginThrottle::shared(
            ThrottlePolicy {
                per_email: second_factor::CODE_POLICY,
                per_ip: second_factor::CODE_POLICY,
            },
            throttle.shared_limits(),
        )
        .in_namespace("code:");
        let sign_ups = sign_up_throttle(SIGN_UPS_PER_ADDRESS, throttle.shared_limits());
        Self {
            db,
            hasher,
            throttle,
            codes,
            sign_ups,
            master,
            clock,
        }
    }

    /// Another per-address sign-up allowance (`PORTCULLIS_SIGN_UPS_PER_ADDRESS`).
    pub fn with_sign_ups_per_address(mut self, n: u32) -> Self {
        self.sign_ups = sign_up_throttle(n, self.throttle.shared_limits());
        self
    }

    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    pub(crate) fn throttle(&self) -> &LoginThrottle {
        &self.throttle
    }

    pub(crate) fn code_throttle(&self) -> &LoginThrottle {
        &self.codes
    }

    /// Counts a sign-up or join from `client_ip` (each one, whatever
    /// comes of it), or refuses it while the address waits.
    pub(crate) async fn count_sign_up(&self, client_ip: Option<IpAddr>, now: Epoch) -> Result<()> {
        let Some(ip) = client_ip else { return Ok(()) };
        self.sign_ups
            .reserve_everywhere("", Some(ip), now)
            .await
            .map_err(|retry_after_secs| Error::Throttled { retry_after_secs })?;
        self.sign_ups
            .record_reserved_failure_everywhere("", Some(ip), now)
            .await;
        Ok(())
    }

    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.hasher
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

    /// Creates the account and its first user, who owns it. An email that
    /// already has a sign-in gets the same answer after the same work (an
    /// argon2 hash), so sign-up tells nobody which emails exist; that
    /// user's accounts are told in their audit logs instead. Either way the
    /// person then logs in.
    #[tracing::instrument(skip_all, fields(account_id, user_id))]
    pub async fn sign_up(&self, input: SignUp) -> Result<()> {
        let account_name = validate::account_name(&input.account_name)?;
        let email = validate::email(&input.email)?;
        password::check_policy(&input.password)?;
        let now = self.clock.now();
        self.count_sign_up(input.client_ip, now).await?;
        let hash = self.hasher.hash(&input.password).await?;

        let account_id = new_id("acc");
        let user_id = new_id("usr");
        let mut tx = self.db.begin().await?;
        store::accounts::insert(&mut *tx, &account_id, &account_name, now).await?;
        match store::users::insert(&mut *tx, &user_id, &email, &hash, now).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                self.tell_existing_user(&email, input.client_ip, now, "tried to sign up again")
                    .await;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
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
            session_epoch: 0,
            second_factor: false,
            second_factor_required: false,
            acting_client: None,
        };
        self.audit(
            &principal,
            "account.sign_up",
            format!("account {:?} created", principal.account_name),
            now,
        )
        .await;
        Ok(())
    }

    /// A sign-up with an email that has a sign-in already: its accounts
    /// read about it in their audit logs (a staff member's is only logged).
    pub(crate) async fn tell_existing_user(
        &self,
        email: &str,
        client_ip: Option<IpAddr>,
        now: Epoch,
        what: &str,
    ) {
        let memberships = match store::users::memberships_by_email(&self.db, email).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot look up the user of a repeated sign-up");
                return;
            }
        };
        if memberships.is_empty() {
            tracing::warn!("a sign-up used a support staff member's email");
        }
        for (user_id, account_id) in memberships {
            audit::record_or_log(
                &self.db,
                audit::Event {
                    account_id: &account_id,
                    actor: audit::Actor::System,
                    action: "account.sign_up_repeated",
                    target_kind: "user",
                    target_id: &user_id,
                    project_id: None,
                    client_ip,
                    detail: format!(
                        "someone {what} with {email}; no account or membership was made and the password was not changed"
                    ),
                },
                now,
            )
            .await;
        }
    }

    async fn audit(&self, p: &Principal, action: &'static str, detail: String, now: Epoch) {
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
        Ok(Staff {
            user_id,
            email,
            session_epoch: 0,
            second_factor: false,
        })
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
