//! Request filters that apply across the console.

pub mod access;
pub mod compression;
pub mod csrf;
pub mod page_guard;
pub mod request_id;
pub mod security_headers;
pub mod stamped;
