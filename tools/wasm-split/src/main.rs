//! Splits the console's wasm (linked with `--emit-relocs`) at its lazy
//! islands, as `cargo leptos build --split` does, so each page downloads
//! the code of the islands it shows and no others (issue 23).
//!
//! `wasm-split INPUT.wasm OUT_DIR NAME` writes `OUT_DIR/NAME_split.wasm`
//! (the main module, for wasm-bindgen), one `.wasm` per lazy chunk, the
//! JS that loads them and `__wasm_split_manifest.json`. The work is the
//! Leptos project's own `wasm_split_cli_support`; this is only its
//! command line, a workspace member so `Cargo.lock` pins it and a first
//! build needs no separate install.

use std::path::PathBuf;
use std::process::ExitCode;

/// The loader module the split wasm imports, as cargo-leptos names it:
/// the same length as the placeholder the `#[lazy]` macro writes.
const LINK_NAME: &str = "./__wasm_split.______________________.js"; // app/src/lib.rs SPLIT_LOADER

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: wasm-split INPUT.wasm OUT_DIR NAME");
        return ExitCode::from(2);
    };
    match split(input.into(), out_dir.into(), name) {
        Ok(chunks) => {
            println!("wasm-split: {chunks} lazy chunks");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-split: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(
    input: PathBuf,
    out_dir: PathBuf,
    name: &str,
) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let main_out = out_dir.join(format!("{name}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut opts = wasm_split_cli_support::Options::new(&wasm);
    opts.output_dir = &out_dir;
    opts.main_out_path = &main_out;
    opts.main_module = &main_module;
    opts.link_name = LINK_NAME;
    let split = wasm_split_cli_support::transform(opts).map_err(|e| format!("{e:#}"))?;
    // Which files each lazy island needs: the server reads this to name
    // them for preloading (app/src/ssr/lazy_islands.rs).
    let manifest: std::collections::BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    std::fs::write(
        out_dir.join("__wasm_split_manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(split.split_modules.len())
}
