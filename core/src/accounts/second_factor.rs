//! The second factor: a TOTP app, with one-time recovery codes for a lost
//! phone. Optional for account members unless their account's owner
//! requires it; required of support staff before their first staff action.
//! The secret is sealed with the master key; recovery codes are kept only
//! as keyed hashes.

use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Serialize};

use super::{Accounts, Principal, Staff};
use crate::audit;
use crate::error::{Error, Result};
use crate::ids::random_bytes;
use crate::password::Password;
use crate::store;
use crate::totp;

mod required;

pub const RECOVERY_CODES: usize = 10;
/// One limit per user for every code check (the log-in's code step, the
/// set-up's first code, new recovery codes, turning the factor off): five
/// wrong codes, then waits of 1 s, 2 s, 4 s … up to an hour; forgotten
/// after an hour without a wrong code, and cleared only by a right code.
/// A million six-digit codes then take an attacker years, whatever the
/// number of sessions, passwords or addresses.
pub const CODE_POLICY: crate::throttle::Policy = crate::throttle::Policy {
    free_failures: 5,
    max_lock_secs: 3600,
    reset_secs: 3600,
};
const ISSUER: &str = "Portcullis";

/// Whoever is signed in: an account member or a staff member.
#[derive(Debug, Clone, Copy)]
pub enum Person<'a> {
    Member(&'a Principal),
    Staff(&'a Staff),
}

impl Person<'_> {
    pub fn user_id(&self) -> &str {
        match self {
            Person::Member(p) => &p.user_id,
            Person::Staff(s) => &s.user_id,
        }
    }

    pub fn email(&self) -> &str {
        match self {
            Person::Member(p) => &p.email,
            Person::Staff(s) => &s.email,
        }
    }
}

/// What the set-up page shows: the secret for the app, as text and as the
/// address a QR code carries. Shown until confirmed, never stored in clear.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub secret_text: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrollment(..)")
    }
}

/// How a second-factor code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    Totp,
    RecoveryCode { left: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Whether this person may turn it off (not staff, not required).
    pub may_turn_off: bool,
}

fn sealed_context(user_id: &str) -> String {
    format!("totp:{user_id}")
}

/// A recovery code as typed: case, spaces and dashes do not matter.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `xxxxx-xxxxx`: 50 random bits in lower-case base32.
fn new_recovery_code() -> String {
    let text = BASE32_NOPAD
        .encode(&random_bytes::<7>())
        .to_ascii_lowercase();
    format!("{}-{}", &text[..5], &text[5..10])
}

fn not_enabled() -> Error {
    Error::invalid("code", "Two-factor authentication is not on.")
}

fn wrong_code() -> Error {
    Error::invalid(
        "code",
        "That code is not right. Type the 6 digits your app shows now.",
    )
}

impl Accounts {
    /// Counts a code attempt against the user's limit before it is checked
    /// (so codes sent at once get no more tries than codes sent in turn),
    /// or refuses it while the user waits.
    async fn reserve_code(&self, user_id: &str, now: crate::clock::Epoch) -> Result<()> {
        self.code_throttle()
            .reserve_everywhere(user_id, None, now)
            .await
            .map_err(|retry_after_secs| Error::Throttled { retry_after_secs })
    }

    /// Settles a reserved attempt: a right code clears the user's limit, a
    /// wrong one stays counted (on every node, with Redis).
    async fn settle_code(&self, user_id: &str, right: bool, now: crate::clock::Epoch) {
        if right {
            self.code_throttle()
                .record_success_everywhere(user_id)
                .await;
        } else {
            self.code_throttle()
                .record_reserved_failure_everywhere(user_id, None, now)
                .await;
        }
    }

    /// Checks a code under the user's code limit: a right one clears the
    /// limit, a wrong one counts and is written to the audit log of the
    /// user's account (`during` says where it was typed). `Ok(None)`: wrong.
    pub(crate) async fn checked_code(
        &self,
        user_id: &str,
        code: &str,
        allow_recovery: bool,
        client_ip: Option<std::net::IpAddr>,
        during: &str,
    ) -> Result<Option<Accepted>> {
        let now = self.clock().now();
        self.reserve_code(user_id, now).await?;
        let accepted = self
            .check_second_factor(user_id, code, allow_recovery)
            .await?;
        self.settle_code(user_id, accepted.is_some(), now).await;
        if accepted.is_some() {
            return Ok(accepted);
        }
        match store::accounts::first_membership(self.db(), user_id).await {
            Ok(Some(mut p)) => {
                p.client_ip = client_ip;
                audit::record_or_log(
                    self.db(),
                    audit::Event::by(
                        &p,
                        "user.second_factor_failed",
                        ("user", user_id),
                        None,
                        format!("a wrong two-factor code {during}"),
                    ),
                    now,
                )
                .await;
            }
            Ok(None) => tracing::warn!(staff_id = %user_id, "a wrong two-factor code {during}"),
            Err(e) => tracing::error!(error = %e, "cannot audit a wrong two-factor code"),
        }
        Ok(None)
    }

    fn recovery_hash(&self, user_id: &str, code: &str) -> String {
        hex::encode(self.master().secret_hash(&format!(
            "recovery:{user_id}:{}",
            normalize_recovery_code(code)
        )))
    }

    async fn audit_self(&self, who: Person<'_>, action: &'static str, detail: &str) {
        match who {
            Person::Member(p) => {
                audit::record_or_log(
                    self.db(),
                    audit::Event::by(p, action, ("user", &p.user_id), None, detail.into()),
                    self.clock().now(),
                )
                .await
            }
            Person::Staff(s) => tracing::info!(staff_id = %s.user_id, action, "{detail}"),
        }
    }

    pub async fn second_factor_status(&self, who: Person<'_>) -> Result<Status> {
        let row = store::second_factor::get(self.db(), who.user_id()).await?;
        let enabled = row.is_some_and(|r| r.confirmed_at.is_some());
        let left = if enabled {
            store::second_factor::unused_recovery_codes(self.db(), who.user_id()).await?
        } else {
            0
        };
        let may_turn_off = match who {
            Person::Member(p) => !p.second_factor_required,
            Person::Staff(_) => false,
        };
        Ok(Status {
            enabled,
            recovery_codes_left: left,
            may_turn_off,
        })
    }

    /// A fresh secret to put into an app; replaces an unconfirmed one. Takes
    /// the password: a stolen session must not plant its own factor.
    pub async fn begin_second_factor(
        &self,
        who: Person<'_>,
        password: &Password,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<Enrollment> {
        self.check_own_password(who, password, client_ip, "password")
            .await?;
        let secret = random_bytes::<{ totp::SECRET_LEN }>();
        let sealed = self.master().seal(&sealed_context(who.user_id()), &secret);
        let now = self.clock().now();
        if !store::second_factor::put_unconfirmed(self.db(), who.user_id(), &sealed, now).await? {
            return Err(Error::conflict("Two-factor authentication is already on. Turn it off first to move it to another app."));
        }
        Ok(Enrollment {
            secret_text: totp::secret_text(&secret),
            otpauth_uri: totp::otpauth_uri(ISSUER, who.email(), &secret),
        })
    }

    /// Turns the factor on with a first right code; the recovery codes,
    /// shown once.
    pub async fn confirm_second_factor(&self, who: Person<'_>, code: &str) -> Result<Vec<String>> {
        let row = store::second_factor::get(self.db(), who.user_id())
            .await?
            .ok_or_else(|| {
                Error::invalid("code", "Start the set-up again: no secret is waiting.")
            })?;
        if row.confirmed_at.is_some() {
            return Err(Error::conflict("Two-factor authentication is already on."));
        }
        let secret = self
            .master()
            .open(&sealed_context(who.user_id()), &row.secret_sealed)?;
        let now = self.clock().now();
        // The unconfirmed factor's codes share the user's code limit too.
        self.reserve_code(who.user_id(), now).await?;
        let step = totp::matching_step(&secret, code, now, row.last_step);
        self.settle_code(who.user_id(), step.is_some(), now).await;
        let step = step.ok_or_else(wrong_code)?;
        let mut tx = self.db().begin().await?;
        if !store::second_factor::use_step(&mut *tx, who.user_id(), step, now).await? {
            return Err(wrong_code());
        }
        let codes = self.replace_recovery_codes(&mut tx, who.user_id()).await?;
        tx.commit().await?;
        self.audit_self(
            who,
            "user.second_factor_on",
            "turned on two-factor authentication",
        )
        .await;
        Ok(codes)
    }

    async fn replace_recovery_codes(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        user_id: &str,
    ) -> Result<Vec<String>> {
        store::second_factor::delete_recovery_codes(&mut **tx, user_id).await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        for code in &codes {
            store::second_factor::insert_recovery_code(
                &mut **tx,
                user_id,
                &self.recovery_hash(user_id, code),
            )
            .await?;
        }
        Ok(codes)
    }

    /// New recovery codes (the old ones stop working), after the password
    /// and a right TOTP code (a recovery code is permanent: a stolen
    /// session must not mint itself some).
    pub async fn new_recovery_codes(
        &self,
        who: Person<'_>,
        password: &Password,
        code: &str,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<Vec<String>> {
        self.check_own_password(who, password, client_ip, "password")
            .await?;
        let accepted = self
            .checked_code(
                who.user_id(),
                code,
                false,
                client_ip,
                "for new recovery codes",
            )
            .await?;
        if accepted != Some(Accepted::Totp) {
            return Err(wrong_code());
        }
        let mut tx = self.db().begin().await?;
        let codes = self.replace_recovery_codes(&mut tx, who.user_id()).await?;
        tx.commit().await?;
        self.audit_self(who, "user.recovery_codes_new", "made new recovery codes")
            .await;
        Ok(codes)
    }

    /// Turns the factor off, after the password (throttled like a log-in)
    /// and a code from the app or a recovery code (under the code limit).
    pub async fn turn_off_second_factor(
        &self,
        who: Person<'_>,
        password: &Password,
        code: &str,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<()> {
        match who {
            Person::Staff(_) => {
                return Err(Error::refused(
                    "Support staff must keep two-factor authentication on.",
                ))
            }
            Person::Member(p) if p.second_factor_required => {
                return Err(Error::refused(
                    "Your account requires two-factor authentication; only an owner can lift that.",
                ))
            }
            Person::Member(_) => {}
        }
        self.check_own_password(who, password, client_ip, "password")
            .await?;
        let accepted = self
            .checked_code(who.user_id(), code, true, client_ip, "to turn it off")
            .await?;
        if accepted.is_none() {
            return Err(Error::InvalidCode);
        }
        let mut tx = self.db().begin().await?;
        if !store::second_factor::delete(&mut *tx, who.user_id()).await? {
            return Err(not_enabled());
        }
        store::second_factor::delete_recovery_codes(&mut *tx, who.user_id()).await?;
        tx.commit().await?;
        self.audit_self(
            who,
            "user.second_factor_off",
            "turned off two-factor authentication",
        )
        .await;
        Ok(())
    }

    /// Checks a TOTP code (each works once) or, if allowed, spends a
    /// recovery code.
    pub(crate) async fn check_second_factor(
        &self,
        user_id: &str,
        code: &str,
        allow_recovery: bool,
    ) -> Result<Option<Accepted>> {
        let Some(row) = store::second_factor::get(self.db(), user_id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_none() {
            return Ok(None);
        }
        let secret = self
            .master()
            .open(&sealed_context(user_id), &row.secret_sealed)?;
        let now = self.clock().now();
        if let Some(step) = totp::matching_step(&secret, code, now, row.last_step) {
            let fresh = store::second_factor::use_step(self.db(), user_id, step, now).await?;
            return Ok(fresh.then_some(Accepted::Totp));
        }
        if !allow_recovery || normalize_recovery_code(code).len() != 10 {
            return Ok(None);
        }
        let hash = self.recovery_hash(user_id, code);
        if store::second_factor::spend_recovery_code(self.db(), user_id, &hash, now).await? {
            let left = store::second_factor::unused_recovery_codes(self.db(), user_id).await?;
            return Ok(Some(Accepted::RecoveryCode { left }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
