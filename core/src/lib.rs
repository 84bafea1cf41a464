//! Portcullis domain core: accounts, projects, OAuth clients, signing keys
//! and access tokens, with their storage.
//!
//! Nothing here knows about HTTP or Leptos, so the console's server functions
//! and the `/oauth/*` endpoints call the same code paths.

/// `Debug` that shows only the named fields: for rows and entries that hold
/// a secret's hash or a sealed secret, which must never reach a log line.
#[macro_export]
macro_rules! debug_fields {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

pub mod access;
pub mod accounts;
pub mod audit;
pub use portcullis_calendar as calendar;
pub mod catalogue;
pub mod client_assertion;
pub mod client_ip;
pub mod client_keys;
pub mod clients;
pub mod db;
pub mod dpop_nonce;
pub mod error;
pub mod evidence;
pub mod feed;
pub mod gate_credentials;
pub mod gate_reach;
pub mod idempotency;
pub mod ids;
pub mod issuer;
pub mod keyring;
pub mod lifecycle;
pub mod manage;
pub mod master_key;
pub mod model;
pub mod password;
pub mod password_reset;
pub mod projects;
pub mod quotas;
pub mod readiness;
pub mod registry;
pub mod remote_keys;
pub mod secret_format;
pub mod secret_reports;
pub mod shared_limits;
pub mod signing;
pub mod staff;
pub mod store;
pub mod team;
pub mod throttle;
pub mod totp;
pub mod usage_totals;
pub mod used_once;
pub mod validate;
pub mod webhooks;
pub mod workload_identity;

/// Time as a dependency; shared with the gate, which checks token times.
pub use portcullis_gate::clock;
/// Project buckets; shared with the gate, which charges them too.
pub use portcullis_gate::limits;

pub use accounts::second_factor;
pub use accounts::{Accounts, LogIn, PendingLogIn, Principal, Role, SignUp, SignedIn, Staff};
pub use catalogue::Catalogue;
pub use clients::Clients;
pub use clock::{Clock, ManualClock, SystemClock};
pub use db::Db;
pub use error::{Error, Result};
pub use issuer::Issuer;
pub use password::Password;
pub use projects::Projects;
pub use second_factor::Person;
