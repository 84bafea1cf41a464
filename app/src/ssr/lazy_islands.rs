//! Preload links for the lazy islands a page renders, so the browser
//! fetches their files with the page instead of after the main bundle has
//! started. Leptos's own preloading follows a lazy function that runs on
//! the server, and an island's loader runs only in the browser; so each
//! island names itself ([`crate::island_hydrated`]), and this looks up its
//! files in the split manifest (`{snake_name}_loader_{hash}`, as
//! `#[island(lazy)]` names it) and adds a `<link rel="preload">` to the
//! page's head for each file not yet named by another island.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_meta::Link;

/// The manifest tools/wasm-bundle wrote beside the bundle (scripts/build-site).
const MANIFEST: &str = "__wasm_split_manifest.json";

/// The files one render has named already (islands share chunks).
#[derive(Clone, Default)]
pub struct Preloaded(Arc<Mutex<HashSet<String>>>);

/// Island loader (`new_project_form_loader`) to the files it loads (`chunk_12`, …,
/// `split_new_project_form_loader_…`). Read once: the bundle does not
/// change under a running server. Empty without a split bundle (a server
/// built alone, the tests of `app`).
fn islands(options: &LeptosOptions) -> &'static HashMap<String, Vec<String>> {
    static ISLANDS: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    ISLANDS.get_or_init(|| {
        let path = Path::new(options.site_root.as_ref())
            .join(options.site_pkg_dir.as_ref())
            .join(MANIFEST);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return HashMap::new();
        };
        match serde_json::from_str::<HashMap<String, Vec<String>>>(&text) {
            Ok(manifest) => manifest
                .into_iter()
                .filter_map(|(key, files)| Some((island_of(&key)?.to_owned(), files)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "{} is not a split manifest: no preload links", path.display());
                HashMap::new()
            }
        }
    })
}

/// `new_project_form_loader` of `new_project_form_loader_1039895822032136847`.
fn island_of(key: &str) -> Option<&str> {
    let (loader, hash) = key.rsplit_once('_')?;
    let digits = !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_digit());
    (digits && loader.ends_with("_loader")).then_some(loader)
}

/// `NewProjectForm` → `new_project_form_loader`: `#[island(lazy)]` names the
/// loader `{Name}_loader` and Leptos's `#[lazy]` turns that into snake
/// case with `convert_case`, so this does the same (digits and acronyms
/// split as it splits them).
fn loader_of(component: &str) -> String {
    use convert_case::{Case, Casing};
    format!("{component}_loader").to_case(Case::Snake)
}

/// Names `component`'s files in the page's head if it is a lazy island.
pub fn preload(component: &str) {
    let (Some(state), Some(named)) = (use_context::<super::AppState>(), use_context::<Preloaded>())
    else {
        return;
    };
    let options = &state.leptos_options;
    let Some(files) = islands(options).get(&loader_of(component)) else {
        return;
    };
    let mut named = named.0.lock().unwrap_or_else(|p| p.into_inner());
    for file in files {
        if named.insert(file.clone()) {
            let href = format!("/{}/{file}.wasm", options.site_pkg_dir);
            // Rendering a leptos_meta tag registers it for the head.
            let _ = view! {
                <Link rel="preload" href=href as_="fetch" type_="application/wasm" crossorigin="anonymous" />
            }
            .to_html();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{island_of, loader_of};

    #[test]
    fn names_match_the_manifest_s() {
        assert_eq!(loader_of("NewProjectForm"), "new_project_form_loader");
        assert_eq!(loader_of("LogOutButton"), "log_out_button_loader");
        assert_eq!(
            island_of("new_project_form_loader_1039895822032136847"),
            Some("new_project_form_loader")
        );
        assert_eq!(island_of("chunk_12"), None);
        assert_eq!(island_of("x_loader_"), None);
        assert_eq!(island_of("x_loader_12a"), None);
    }
}
