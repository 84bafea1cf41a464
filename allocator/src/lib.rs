//! The global allocator of every binary that serves Portcullis (the
//! server, `make bench`, the integration tests): mimalloc, set to give
//! freed memory back to the system at once.
//!
//! Why (issue 23; `make bench`, 2026-12-06): against glibc's malloc it
//! took about 4 µs of CPU off each token (42 against 46 µs per token in
//! alternating runs), much of glibc's cost being its arena lock when one
//! worker frees what another allocated. With mimalloc's defaults a node
//! holding 200,000 clients grew from 961 to 1,426 bytes per client (it
//! keeps freed pages for a second); with [`configure`]'s settings and
//! transparent huge pages off (the `no_thp` feature) it holds about 660,
//! and an idle node 7 MiB.
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

/// Sets mimalloc's options; call it first in `main`, before threads start.
///
/// - `purge_delay` 0: pages freed are returned to the system at once, not
///   a second later (the default), so memory follows what the node holds.
/// - `arena_eager_commit` 0: arenas are committed as they are used, not
///   up front (with transparent huge pages, up front meant tens of MiB of
///   resident memory for an idle node).
pub fn configure() {
    // SAFETY: `mi_option_set` takes an option number and a value and
    // touches only mimalloc's option table. Both numbers are options of
    // the mimalloc version libmimalloc-sys builds (v3, the default; the
    // lock file pins it), and calling it before other threads exist
    // avoids its documented lack of thread safety.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident anonymous memory of this process, in KiB.
    fn rss_anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Memory freed goes back to the system at once: with mimalloc's
    /// default delay (or a wrong option number) 64 MiB freed is still
    /// resident right after.
    #[test]
    fn freed_memory_leaves_at_once() {
        configure();
        let before = rss_anon_kib();
        let blocks: Vec<Vec<u8>> = (0..4096).map(|i| vec![i as u8; 16 * 1024]).collect();
        let held = rss_anon_kib();
        assert!(held >= before + 60 * 1024, "{before} KiB -> {held} KiB");
        drop(blocks);
        let after = rss_anon_kib();
        assert!(
            after < before + 16 * 1024,
            "{before} KiB, {held} KiB held, {after} KiB after"
        );
    }
}
