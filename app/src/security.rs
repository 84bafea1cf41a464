//! The Security page's server functions: password change, the second
//! factor (set up, recovery codes, turn off) and, for owners, requiring it
//! of the whole account. Members and staff alike; each is a thin shell over
//! `portcullis_core::Accounts`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;
use crate::redacted::Redacted;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub email: String,
    pub staff: bool,
    pub second_factor: bool,
    pub recovery_codes_left: i64,
    pub may_turn_off: bool,
    /// Why this person is held here until they set one up, if they are.
    pub must_set_up: Option<String>,
    /// For owners: the account-wide switch and its state.
    pub owner: bool,
    pub account_requires: bool,
}

/// A secret to add to an authenticator app, shown until confirmed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetUp {
    pub secret_text: String,
    pub otpauth_uri: String,
    /// The same address as a QR code: an SVG `data:` URL for an `<img>`.
    pub qr_data_url: String,
}

impl std::fmt::Debug for SetUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetUp(..)")
    }
}

#[server(endpoint = "security")]
pub async fn security() -> Result<SecurityView, ConsoleError> {
    use crate::ssr::{self, Someone};
    ssr::respond(async move {
        let (state, who) = ssr::require_someone().await?;
        let status = state.accounts.second_factor_status(who.person()).await?;
        let view = match &who {
            Someone::Member(p) => SecurityView {
                email: p.email().to_owned(),
                staff: false,
                second_factor: status.enabled,
                recovery_codes_left: status.recovery_codes_left,
                may_turn_off: status.may_turn_off,
                must_set_up: p.must_set_up_second_factor().then(|| {
                    format!("{} requires two-factor authentication of every member. Set it up to continue.", p.account_name())
                }),
                owner: p.role() == portcullis_core::Role::Owner,
                account_requires: p.second_factor_required(),
            },
            Someone::Staff(s) => SecurityView {
                email: s.email().to_owned(),
                staff: true,
                second_factor: status.enabled,
                recovery_codes_left: status.recovery_codes_left,
                may_turn_off: false,
                must_set_up: (!s.has_second_factor()).then(|| {
                    "Support staff must use two-factor authentication. Set it up before your first staff action.".to_owned()
                }),
                owner: false,
                account_requires: false,
            },
        };
        Ok(view)
    })
    .await
}

#[server(endpoint = "second_factor_begin")]
pub async fn second_factor_begin(
    #[server(default)] password: Redacted,
) -> Result<SetUp, ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;
    ssr::respond(async move {
        let (state, who) = ssr::require_someone().await?;
        let ip = ssr::client_ip(&state).await;
        let password = Password::new(password.into_inner());
        let e = state
            .accounts
            .begin_second_factor(who.person(), &password, ip)
            .await?;
        let qr_data_url = qr_data_url(&e.otpauth_uri)?;
        Ok(SetUp {
            secret_text: e.secret_text,
            otpauth_uri: e.otpauth_uri,
            qr_data_url,
        })
    })
    .await
}

/// The QR code of `uri` as an SVG image in a `data:` URL (the page's CSP
/// allows `data:` images, and an `<img>` runs no markup).
#[cfg(feature = "ssr")]
fn qr_data_url(uri: &str) -> Result<String, ConsoleError> {
    use base64::Engine;
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "cannot draw the set-up QR code");
        ConsoleError::Internal
    })?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// Turns the second factor on with a first code; the recovery codes.
#[server(endpoint = "second_factor_confirm")]
pub async fn second_factor_confirm(
    #[server(default)] code: Redacted,
) -> Result<Vec<String>, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, who) = ssr::require_someone().await?;
        Ok(state
            .accounts
            .confirm_second_factor(who.person(), code.expose())
            .await?)
    })
    .await
}

/// New recovery codes: the password and a code from the app.
#[server(endpoint = "recovery_codes_new")]
pub async fn recovery_codes_new(
    #[server(default)] password: Redacted,
    #[server(default)] code: Redacted,
) -> Result<Vec<String>, ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;
    ssr::respond(async move {
        let (state, who) = ssr::require_someone().await?;
        let ip = ssr::client_ip(&state).await;
        let password = Password::new(password.into_inner());
        Ok(state
            .accounts
            .new_recovery_codes(who.person(), &password, code.expose(), ip)
            .await?)
    })
    .await
}

/// Turns the second factor off: the password and a code (from the app, or
/// a recovery code).
#[server(endpoint = "second_factor_off")]
pub async fn second_factor_off(
    #[server(default)] password: Redacted,
    #[server(default)] code: Redacted,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;
    ssr::respond(async move {
        let (state, who) = ssr::require_someone().await?;
        let ip = ssr::client_ip(&state).await;
        let password = Password::new(password.into_inner());
        state
            .accounts
            .turn_off_second_factor(who.person(), &password, code.expose(), ip)
            .await?;
        Ok(())
    })
    .await
}

/// Changes the password; this session carries on, the user's others end.
#[server(endpoint = "password_change")]
pub async fn password_change(
    #[server(default)] current_password: Redacted,
    #[server(default)] new_password: Redacted,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;
    ssr::respond(async move {
        let (state, who) = ssr::require_someone().await?;
        let session = ssr::session().await?;
        let ip = ssr::client_ip(&state).await;
        let epoch = state
            .accounts
            .change_password(
                who.person(),
                &Password::new(current_password.into_inner()),
                &Password::new(new_password.into_inner()),
                ip,
            )
            .await?;
        ssr::keep_after_password_change(&session, epoch).await?;
        Ok(())
    })
    .await
}

/// An owner requires (or stops requiring) a second factor of every member.
#[server(endpoint = "second_factor_require")]
pub async fn second_factor_require(#[server(default)] required: bool) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state
            .accounts
            .set_second_factor_required(p.owner()?, required)
            .await?;
        Ok(())
    })
    .await
}
