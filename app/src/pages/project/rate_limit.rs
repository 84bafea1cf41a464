//! The project's bucket: its setting, the last hour's traffic on every
//! node and gate as a chart that follows changes while the page is open,
//! and (for those who may change it) the form, an island that reloads the
//! page after a change.

use leptos::prelude::*;
use server_fn::ServerFn;

use crate::pages::boundary::erased_on_server;
use crate::pages::form::{last_error, on_success, submit_to, FormError};
use crate::pages::reload::reload_page;
use crate::projects::{MinuteTraffic, SetRateLimit};

#[component]
pub(super) fn RateLimitCard(
    id: String,
    per_sec: i64,
    burst: i64,
    traffic: Vec<MinuteTraffic>,
    editable: bool,
) -> impl IntoView {
    view! {
        <section class="card">
            <div class="card-head">
                <h2>"Rate limit"</h2>
            </div>
            <p class="hint">
                "One bucket for this project: its token requests and every API call made with its tokens. "
                "Over the limit, callers get 429 with Retry-After."
            </p>
            <p data-test-id="rate-limit-current">
                <strong>{per_sec}</strong>
                {if per_sec == 1 { " request per second, bursts of " } else { " requests per second, bursts of " }}
                <strong>{burst}</strong>
            </p>
            <LiveTraffic project_id=id.clone() traffic />
            {editable.then(|| view! { <RateLimitForm id per_sec burst /> })}
        </section>
    }
    .into_any()
}

#[island(lazy)]
fn RateLimitForm(id: String, per_sec: i64, burst: i64) -> impl IntoView {
    crate::island_hydrated("RateLimitForm");
    let action = ServerAction::<SetRateLimit>::new();
    let error = last_error(action);
    on_success(action, |_| reload_page());
    erased_on_server(view! {
        <form action=SetRateLimit::url() method="post" on:submit=submit_to(action)
            data-test-id="rate-limit-form" class="inline-form">
            <FormError error />
            <input type="hidden" name="id" value=id />
            <div class="field">
                <label for="rate_per_sec">"Requests per second"</label>
                <input id="rate_per_sec" name="rate_per_sec" type="number" min="1" max="100000"
                    value=per_sec.to_string() required data-test-id="rate-per-sec" />
            </div>
            <div class="field">
                <label for="rate_burst">"Burst"</label>
                <input id="rate_burst" name="rate_burst" type="number" min="1" max="100000"
                    value=burst.to_string() required data-test-id="rate-burst" />
            </div>
            <button type="submit" class="button primary" data-test-id="save-rate-limit">"Save limit"</button>
        </form>
        <p class="hint">"Takes effect on the next request; no restart."</p>
    })
}

/// The last hour's traffic as a chart and totals, drawn again when the
/// project's use moves on any node (the page's live stream).
#[island(lazy)]
fn LiveTraffic(project_id: String, traffic: Vec<MinuteTraffic>) -> impl IntoView {
    crate::island_hydrated("LiveTraffic");
    let traffic = RwSignal::new(traffic);
    let id = StoredValue::new(project_id.clone());
    crate::live::listen(&project_id, &["usage", "project"], move || {
        leptos::task::spawn_local(async move {
            // A failed fetch keeps what is shown; the next change tries again.
            // Quietly: a page following changes is not activity.
            if let Ok(d) = crate::projects::project_refresh(id.get_value()).await {
                traffic.set(d.traffic);
            }
        });
    });
    erased_on_server(view! {
        {move || {
            let traffic = traffic.get();
            let allowed: u64 = traffic.iter().map(|m| m.allowed).sum();
            let limited: u64 = traffic.iter().map(|m| m.limited).sum();
            let refused: u64 = traffic.iter().map(|m| m.refused).sum();
            view! {
                <TrafficChart traffic />
                <p class="traffic-totals">
                    "Last hour: "
                    <span class="legend allowed"></span><strong data-test-id="traffic-allowed">{allowed}</strong>" allowed, "
                    <span class="legend limited"></span><strong data-test-id="traffic-limited">{limited}</strong>" limited; "
                    <strong data-test-id="traffic-refused">{refused}</strong>" calls refused (401 or 403). Every node and gate counts, adding its counts every few seconds; this chart follows them while the page is open."
                </p>
            }
        }}
    })
}

/// Allowed and limited requests per minute over the last hour, as bars;
/// each bar names its numbers on hover.
#[component]
fn TrafficChart(traffic: Vec<MinuteTraffic>) -> impl IntoView {
    const W: f64 = 600.0;
    const H: f64 = 100.0;
    let peak = traffic
        .iter()
        .map(|m| m.allowed + m.limited)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = W / traffic.len().max(1) as f64;
    let bars = traffic
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let x = i as f64 * slot + 1.0;
            let w = (slot - 2.0).max(1.0);
            let ha = m.allowed as f64 / peak * H;
            let hl = m.limited as f64 / peak * H;
            let label = format!(
                "{}: {} allowed, {} limited",
                portcullis_calendar::hour_minute(m.at),
                m.allowed,
                m.limited
            );
            view! {
                <g class="bar">
                    <title>{label}</title>
                    <rect x=format!("{x:.1}") y="0" width=format!("{w:.1}") height=H.to_string() class="hover" />
                    <rect x=format!("{x:.1}") y=format!("{:.1}", H - ha) width=format!("{w:.1}")
                        height=format!("{ha:.1}") class="allowed" />
                    <rect x=format!("{x:.1}") y=format!("{:.1}", H - ha - hl) width=format!("{w:.1}")
                        height=format!("{hl:.1}") class="limited" />
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-test-id="traffic-chart">
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img"
                aria-label="Allowed and limited requests per minute, last hour">
                {bars}
            </svg>
            <figcaption class="hint">"Requests per minute, last 60 minutes (UTC). Hover a bar for its numbers."</figcaption>
        </figure>
    }
    .into_any()
}
