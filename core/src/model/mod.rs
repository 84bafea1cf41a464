//! The shapes the domain and storage layers share, one file per subject:
//! who acts ([`people`]: a member's `Role`, a signed-in `Principal`,
//! `Staff`), an account's members and invitations ([`team`]), audit entries
//! and their filters ([`audit`]). Storage (`crate::store`) reads and writes
//! these and its own row structs, and imports no domain module; the domain
//! modules add the behaviour (`crate::audit::Filter::from_text`,
//! `crate::audit::Cursor::decode`, …) and re-export these under their own
//! names.

pub mod audit;
pub mod people;
pub mod team;

pub use audit::{Cursor, Entry, Filter};
pub use people::{Principal, Role, Staff};
pub use team::{Invite, Member};
