//! Integration tests: the real server on a loopback port, a fresh SQLite
//! database per test, and a clock the test moves.

mod binary;
mod csrf;
mod headers;
mod login;
mod pages;
mod sessions;
mod signup;
mod support;
