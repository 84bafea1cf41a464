//! One module per screen of the console.

mod auth_forms;
mod console;
mod form;
mod project_page;
mod projects_list;
mod sections;
mod widgets;

pub use auth_forms::{LoginPage, SignupPage};
pub use console::{ConsoleLayout, Home, NotFound};
pub use project_page::ProjectPage;
pub use projects_list::ProjectsPage;
pub use sections::{AuditPage, SettingsPage, TeamPage};
