//! Log-in: the password step under the throttle, then, for a user with a
//! second factor, the code step ([`Accounts::finish_log_in`]).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{second_factor, Accounts, Principal, Staff};
use crate::clock::Epoch;
use crate::error::{Error, Result};
use crate::password::Password;
use crate::{store, validate};

/// Who a successful log-in is.
#[derive(Debug, Clone)]
pub enum SignedIn {
    Member(Principal),
    Staff(Staff),
}

/// What a right password leads to: in, or one more step.
#[derive(Debug, Clone)]
pub enum LogIn {
    Done(SignedIn),
    /// The user has a second factor: ask for a code, then call
    /// [`Accounts::finish_log_in`] with this pending log-in.
    NeedsCode(PendingLogIn),
}

/// A log-in whose password was right, waiting for the second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogIn {
    pub user_id: String,
    pub email: String,
    pub started_at: crate::clock::Epoch,
    /// Wrong codes so far; at [`PENDING_WRONG_CODES_MAX`] the log-in ends.
    #[serde(default)]
    pub wrong_codes: u32,
}

/// How long the code step may take after the password step.
pub const PENDING_LOG_IN_SECS: i64 = 5 * 60;
/// Wrong codes one log-in may take before it starts again at the password
/// (the user's own code limit, [`second_factor::CODE_POLICY`], holds
/// across log-ins).
pub const PENDING_WRONG_CODES_MAX: u32 = 3;

impl Accounts {
    /// Checks an email and password. A wrong email and a wrong password give
    /// the same error after the same amount of work. A user with a second
    /// factor is not in yet: [`LogIn::NeedsCode`].
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn log_in(
        &self,
        email: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<LogIn> {
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
        let signed_in = match (verified, &user) {
            (true, Some(u)) => self.signed_in_as(&u.id).await?,
            _ => None,
        };
        let Some(signed_in) = signed_in else {
            self.throttle
                .record_reserved_failure_everywhere(&email, client_ip, now)
                .await;
            tracing::info!("sign-in refused");
            return Err(Error::InvalidCredentials);
        };
        self.throttle.record_success_everywhere(&email).await;
        self.throttle.refund_ip(client_ip);
        let (user_id, has_factor) = match &signed_in {
            SignedIn::Member(p) => (p.user_id.clone(), p.second_factor),
            SignedIn::Staff(s) => (s.user_id.clone(), s.second_factor),
        };
        tracing::Span::current().record("user_id", &user_id);
        if has_factor {
            tracing::info!("password accepted; waiting for the second factor");
            return Ok(LogIn::NeedsCode(PendingLogIn {
                user_id,
                email,
                started_at: now,
                wrong_codes: 0,
            }));
        }
        Ok(LogIn::Done(self.signed_in(signed_in, client_ip, now).await))
    }

    /// The second step of a log-in: a TOTP code or an unused recovery code,
    /// under the user's code limit and the address's log-in limit. A wrong
    /// code counts in `pending`; the [`PENDING_WRONG_CODES_MAX`]th ends the
    /// log-in (`Unauthenticated`: start again at the password).
    #[tracing::instrument(skip_all, fields(user_id = %pending.user_id))]
    pub async fn finish_log_in(
        &self,
        pending: &mut PendingLogIn,
        code: &str,
        client_ip: Option<IpAddr>,
    ) -> Result<SignedIn> {
        let now = self.clock.now();
        if now - pending.started_at >= PENDING_LOG_IN_SECS
            || pending.wrong_codes >= PENDING_WRONG_CODES_MAX
        {
            return Err(Error::Unauthenticated);
        }
        if let Some(ip) = client_ip {
            self.throttle
                .reserve_everywhere("", Some(ip), now)
                .await
                .map_err(|retry_after_secs| Error::Throttled { retry_after_secs })?;
        }
        let accepted = self
            .checked_code(&pending.user_id, code, true, client_ip, "at sign-in")
            .await?;
        let signed_in = match accepted {
            Some(how) => {
                let who = self.signed_in_as(&pending.user_id).await?;
                who.map(|w| (w, how))
            }
            None => None,
        };
        let Some((signed_in, how)) = signed_in else {
            if let Some(ip) = client_ip {
                self.throttle
                    .record_reserved_failure_everywhere("", Some(ip), now)
                    .await;
            }
            pending.wrong_codes += 1;
            tracing::info!(wrong_codes = pending.wrong_codes, "second factor refused");
            if pending.wrong_codes >= PENDING_WRONG_CODES_MAX {
                return Err(Error::Unauthenticated);
            }
            return Err(Error::InvalidCode);
        };
        self.throttle.refund_ip(client_ip);
        if let (SignedIn::Member(p), second_factor::Accepted::RecoveryCode { left }) =
            (&signed_in, how)
        {
            let mut p = p.clone();
            p.client_ip = client_ip;
            self.audit(
                &p,
                "user.recovery_code_used",
                format!("signed in with a recovery code; {left} left"),
                now,
            )
            .await;
        }
        Ok(self.signed_in(signed_in, client_ip, now).await)
    }

    /// The member or staff member `user_id` is, if either.
    async fn signed_in_as(&self, user_id: &str) -> Result<Option<SignedIn>> {
        if let Some(p) = store::accounts::first_membership(&self.db, user_id).await? {
            return Ok(Some(SignedIn::Member(p)));
        }
        Ok(store::staff::get(&self.db, user_id)
            .await?
            .map(SignedIn::Staff))
    }

    /// Logs and audits a completed sign-in.
    async fn signed_in(&self, who: SignedIn, client_ip: Option<IpAddr>, now: Epoch) -> SignedIn {
        match who {
            SignedIn::Staff(staff) => {
                tracing::info!(staff_id = %staff.user_id, "support staff signed in");
                SignedIn::Staff(staff)
            }
            SignedIn::Member(mut p) => {
                tracing::info!("signed in");
                p.client_ip = client_ip;
                self.audit(&p, "user.sign_in", "signed in to the console".into(), now)
                    .await;
                SignedIn::Member(p)
            }
        }
    }
}
