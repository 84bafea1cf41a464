//! One module per screen of the console.

mod auth_forms;
mod console;
mod form;
mod sections;

pub use auth_forms::{LoginPage, SignupPage};
pub use console::{ConsoleLayout, Home, NotFound};
pub use sections::{AuditPage, ProjectsPage, SettingsPage, TeamPage};
