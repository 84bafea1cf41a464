//! SQL, one module per aggregate. Every query on tenant-owned rows takes the
//! account id as a required argument.

pub mod accounts;
pub mod users;
