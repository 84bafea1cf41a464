//! The global allocator of every binary that links `portcullis-server`
//! (the server, `make bench`, the integration tests): mimalloc. The
//! server's and the bench's `main` call [`configure`] first, so that freed
//! memory goes back to the system soon; the integration tests' in-
//! process servers keep mimalloc's defaults (nothing there measures memory).
//!
//! Why (issue 23): in alternating runs of `portcullis-bench --against-only`
//! built with each allocator, glibc's malloc cost more CPU per token (its
//! arena lock showed as futex wake-ups when one worker freed what another
//! allocated). With mimalloc's own defaults a node holding 200,000 clients
//! took half as much memory again per client as with glibc (v3 keeps freed
//! pages for a second); with [`configure`]'s settings it takes less than
//! with glibc (`make bench` writes the figure into README).
//!
//! This crate is the workspace's one use of `unsafe`: the calls into
//! mimalloc's C API in [`configure`].

use std::os::raw::c_int;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's `mi_option_e` values (`include/mimalloc.h`), which
/// libmimalloc-sys does not name as constants for this version.
const ARENA_EAGER_COMMIT: c_int = 4;
const PURGE_DELAY: c_int = 15;

// The numbers above are v3's: a libmimalloc-sys that builds another
// version (v2 has 38 options) stops the build here instead of setting
// the wrong option.
const _: () = assert!(libmimalloc_sys::_mi_option_last == 47);

/// How long freed pages wait before they go back to the system, in ms
/// (mimalloc v3's default is 1,000). At once (0) made a small request cost
/// about 2 µs more CPU at 80,000 requests a second (`portcullis-bench
/// --remote-gate-only` with `MIMALLOC_PURGE_DELAY` 0 against 10: pages
/// given back and faulted in again); 10 ms keeps that cost off and a
/// node's memory still follows what it holds.
const PURGE_DELAY_MS: std::os::raw::c_long = 10;

/// Sets mimalloc's options; call it first in `main`, before threads start.
/// An option its `MIMALLOC_*` environment variable sets is left as the
/// operator set it.
///
/// - `purge_delay` [`PURGE_DELAY_MS`] (`MIMALLOC_PURGE_DELAY`): pages
///   freed go back to the system within a fraction of a second, not after
///   a second (ten for whole arenas), so memory follows what the node
///   holds.
/// - `arena_eager_commit` 0 (`MIMALLOC_ARENA_EAGER_COMMIT`): arenas are
///   committed as they are used, not up front.
///
/// The crate's `no_thp` feature stops mimalloc asking for transparent
/// huge pages (on this machine's `madvise` setting and a purge delay of 0,
/// that took an idle node from 24 to 7 MiB); where the system's setting is `always` the kernel
/// still uses them unless `MIMALLOC_ALLOW_THP=0` is set.
pub fn configure() {
    for (option, value, variable) in [
        (PURGE_DELAY, PURGE_DELAY_MS, "MIMALLOC_PURGE_DELAY"),
        (ARENA_EAGER_COMMIT, 0, "MIMALLOC_ARENA_EAGER_COMMIT"),
    ] {
        if std::env::var_os(variable).is_some() {
            continue;
        }
        // SAFETY: `mi_option_set` takes an option number and a value and
        // touches only mimalloc's option table (it checks the number's
        // bounds). Both numbers are options of the mimalloc version
        // libmimalloc-sys builds (checked above), and calling it before
        // other threads exist avoids its documented lack of thread safety.
        unsafe { libmimalloc_sys::mi_option_set(option, value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(option: c_int) -> std::os::raw::c_long {
        // SAFETY: reads one entry of mimalloc's option table (see
        // `configure`); this is the crate's only test, so no other test
        // thread sets options meanwhile.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    /// The numbers name the options meant: before `configure` each holds
    /// mimalloc v3's own default for it (1,000 ms, 2), after it ours. A
    /// wrong number would read some other option's default. (What the
    /// settings do to a node's memory, `make bench` measures.)
    #[test]
    fn the_numbers_name_purge_delay_and_arena_eager_commit() {
        if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("MIMALLOC_")) {
            return;
        }
        assert_eq!((get(PURGE_DELAY), get(ARENA_EAGER_COMMIT)), (1000, 2));
        configure();
        assert_eq!(
            (get(PURGE_DELAY), get(ARENA_EAGER_COMMIT)),
            (PURGE_DELAY_MS, 0)
        );
    }
}
