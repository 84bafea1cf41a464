//! One module per screen of the console.

mod audit_page;
mod auth_forms;
mod boundary;
mod console;
mod cut_off;
mod form;
mod gate_credentials;
mod gate_processes;
mod project;
mod projects_list;
mod reload;
mod sections;
mod security_page;
mod staff_page;
mod team_page;
mod webhooks_page;
mod widgets;

pub use audit_page::AuditPage;
pub use auth_forms::{CodePage, LoginPage, ResetPage, SignupPage};
pub use console::{ConsoleLayout, Home, NotFound};
pub use project::ProjectPage;
pub use projects_list::ProjectsPage;
pub use sections::SettingsPage;
pub use security_page::{SecurityPage, StaffSecurityPage};
pub use staff_page::StaffPage;
pub use team_page::{JoinPage, TeamPage};
pub use webhooks_page::WebhooksPage;
