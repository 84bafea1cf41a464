//! Integration tests: the real server on a loopback port, a fresh SQLite
//! database per test, and a clock the test moves.

// Helpers here are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account_security;
mod apis;
mod audit;
mod binary;
mod binary_databases;
mod cluster;
mod contract;
mod csrf;
mod dpop;
mod evidence;
mod example_resource_server;
mod gate_process;
mod gate_reach;
mod harness;
mod headers;
mod keys_only;
mod listener;
mod login;
mod manage;
mod metrics;
mod migrations;
mod nginx_gate;
mod nodes;
mod oauth_client_auth;
mod oauth_discovery;
mod oauth_introspect;
mod oauth_token;
mod observability;
mod pages;
mod partner_client;
mod private_key_jwt;
mod project_live;
mod projects;
mod projects_access;
mod quotas;
mod races;
mod readiness;
mod remote_gate;
mod roles;
mod rotation;
mod secret_reports;
mod sessions;
mod signup;
mod staff;
mod team;
mod traces;
mod usage;
mod webhooks;
mod workload_identity;
mod workload_identity_jwks;
