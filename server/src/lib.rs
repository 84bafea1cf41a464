//! The Portcullis server: wires the console (Leptos pages and server
//! functions), and later `/oauth/*` and the APIs, onto one axum router.

pub mod config;
pub mod error;
pub mod middleware;
pub mod router;
pub mod sessions;

pub use config::Config;
pub use error::StartupError;
pub use router::{build, Built};
