//! The Portcullis server: wires the console (Leptos pages and server
//! functions), the `/oauth/*` endpoints and discovery onto one axum router.

pub mod apis;
pub mod background;
pub mod config;
pub mod error;
pub mod evidence;
pub mod gate_api;
pub mod gate_bounds;
pub mod gate_cmd;
pub mod listen;
pub mod manage;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod outbound;
pub mod project_live;
pub mod readyz;
pub mod router;
pub mod sessions;
pub mod traces;
pub mod webhook_delivery;

pub use config::Config;
pub use error::StartupError;
/// Call first in `main`: every binary that links this crate allocates
/// with mimalloc (see `portcullis_allocator`).
pub use portcullis_allocator::configure as configure_allocator;
pub use router::{build, Built};
