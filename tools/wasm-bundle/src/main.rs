//! Turns the console's compiled wasm into the files a page loads
//! (scripts/build-site), in two steps a Leptos build orchestrator would run:
//!
//! 1. **split** (the Leptos project's `wasm_split_cli_support`, as
//!    `cargo leptos build --split` uses it): each `#[island(lazy)]` moves
//!    into a file of its own (the wasm must be linked with `--emit-relocs`),
//!    so a page downloads the code of the islands it shows and no others;
//! 2. **bindgen** (`wasm-bindgen-cli-support`, the library the
//!    `wasm-bindgen` command is a front end for): the JS glue for the main
//!    module, with the options `wasm-bindgen --target web --no-typescript
//!    --keep-lld-exports --no-demangle` gives.
//!
//! `wasm-bundle INPUT.wasm OUT_DIR NAME` writes `OUT_DIR/NAME.wasm` and
//! `NAME.js` (the main module and its glue), one `.wasm` per lazy chunk, the
//! JS that loads them and `__wasm_split_manifest.json`. A workspace member,
//! so `Cargo.lock` pins both libraries and a first build installs nothing
//! (the `wasm-bindgen-cli` install alone took about 3 minutes of it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

/// The loader module the split wasm imports, as cargo-leptos names it:
/// the same length as the placeholder the `#[lazy]` macro writes.
const LINK_NAME: &str = "./__wasm_split.______________________.js"; // app/src/lib.rs SPLIT_LOADER

type Fault = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: wasm-bundle INPUT.wasm OUT_DIR NAME");
        return ExitCode::from(2);
    };
    let out_dir = PathBuf::from(out_dir);
    match split(input.into(), &out_dir, name).and_then(|chunks| {
        bindgen(&out_dir, name)?;
        Ok(chunks)
    }) {
        Ok(chunks) => {
            println!("wasm-bundle: {chunks} lazy chunks");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-bundle: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where the split leaves the main module for [`bindgen`].
fn split_main(out_dir: &Path, name: &str) -> PathBuf {
    out_dir.join(format!("{name}_split.wasm"))
}

fn split(input: PathBuf, out_dir: &Path, name: &str) -> Result<usize, Fault> {
    let wasm = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let main_out = split_main(out_dir, name);
    let main_module = format!("./{name}.js");
    let mut opts = wasm_split_cli_support::Options::new(&wasm);
    opts.output_dir = out_dir;
    opts.main_out_path = &main_out;
    opts.main_module = &main_module;
    opts.link_name = LINK_NAME;
    let split = wasm_split_cli_support::transform(opts).map_err(|e| format!("split: {e:#}"))?;
    // Which files each lazy island needs: the server reads this to name
    // them for preloading (app/src/ssr/lazy_islands.rs).
    let manifest: std::collections::BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    std::fs::write(
        out_dir.join("__wasm_split_manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(split.split_modules.len())
}

/// The main module's JS glue as `NAME.js`; the module itself, as the glue
/// leaves it, renamed from `NAME_bg.wasm` to `NAME.wasm` (the name the
/// page links, `LEPTOS_OUTPUT_NAME` in .cargo/config.toml).
fn bindgen(out_dir: &Path, name: &str) -> Result<(), Fault> {
    let input = split_main(out_dir, name);
    // The command line's defaults where they differ from the library's
    // (`omit_default_module_path`; `reference_types`, which the library
    // also reads from WASM_BINDGEN_EXTERNREF), so the glue is what the CLI
    // wrote.
    #[allow(deprecated)]
    Bindgen::new()
        .reference_types(false)
        .input_path(&input)
        .web(true)?
        .typescript(false)
        .keep_lld_exports(true)
        .demangle(false)
        .omit_default_module_path(false)
        .out_name(name)
        .generate(out_dir)
        .map_err(|e| format!("bindgen: {e:#}"))?;
    std::fs::remove_file(&input)?;
    std::fs::rename(
        out_dir.join(format!("{name}_bg.wasm")),
        out_dir.join(format!("{name}.wasm")),
    )?;
    Ok(())
}
