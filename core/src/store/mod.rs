//! SQL, one module per aggregate. Every query on tenant-owned rows made on a
//! caller's behalf takes the account id as a required argument; the few that
//! read across accounts (`all`) feed the in-memory registry at start-up.

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod clients;
pub mod gate_credentials;
pub mod idempotency;
pub mod nodes;
pub mod password_resets;
pub mod projects;
pub mod revoked_tokens;
pub mod second_factor;
pub mod signing_keys;
pub mod staff;
pub mod team;
pub mod users;
pub mod webhooks;
