//! Portcullis domain core: accounts, credentials and their storage.
//!
//! Nothing here knows about HTTP or Leptos, so the console's server functions
//! and the `/oauth/*` endpoints call the same code paths.

pub mod accounts;
pub mod catalogue;
pub mod client_ip;
pub mod clock;
pub mod db;
pub mod error;
pub mod ids;
pub mod password;
pub mod secret;
pub mod store;
pub mod throttle;
pub mod validate;

pub use accounts::{Accounts, Principal, Role, SignUp};
pub use catalogue::Catalogue;
pub use clock::{Clock, ManualClock, SystemClock};
pub use db::Db;
pub use error::{Error, Result};
pub use secret::Password;
