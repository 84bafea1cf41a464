//! Request filters that apply across the console.

pub mod csrf;
pub mod page_guard;
pub mod security_headers;
