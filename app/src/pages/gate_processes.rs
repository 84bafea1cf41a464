//! The staff page's gate processes: every `portcullis gate` (or library
//! gate) that reported its feed position in the last day, from whichever
//! node it follows. Rendered on the server only: nothing of it reaches the
//! browser's bundle.

use leptos::either::Either;
use leptos::prelude::*;

use super::widgets::When;
use crate::gate_credentials::{staff_gates, GateConnectionInfo};

#[component]
pub fn GateConnections() -> impl IntoView {
    let view_data = Resource::new(|| (), |_| staff_gates());
    view! {
        <section class="card" data-test-id="gate-processes">
            <h2>"Gates following the feed"</h2>
            <p class="muted">"Each gate process reports every 2 s the feed position it has applied. Lag counts the changes and seconds it trails; a gate silent for 10 s is gone, and listed for a day."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Err(e) => Either::Left(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
                        Ok(v) => Either::Right(view! { <ConnectionTable connections=v.connections /> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Every gate process heard from in the last day, from whichever node it
/// follows: where it is in the feed, and how far behind.
#[component]
fn ConnectionTable(connections: Vec<GateConnectionInfo>) -> impl IntoView {
    let body = if connections.is_empty() {
        Either::Left(view! {
            <p class="muted" data-test-id="gate-connections-none">"No gate in another process has reported in the last day."</p>
        })
    } else {
        Either::Right(view! {
            <table class="table stack" data-test-id="gate-connections">
                <thead><tr>
                    <th scope="col">"Gate"</th><th scope="col">"API"</th><th scope="col">"Address"</th>
                    <th scope="col">"Since"</th><th scope="col">"Version"</th><th scope="col">"Position"</th>
                    <th scope="col">"Lag"</th>
                </tr></thead>
                <tbody>
                    {connections.into_iter().map(|c| {
                        let lag = if c.connected {
                            format!("{} changes, {} s", c.changes_behind, c.lag_secs)
                        } else {
                            format!("gone {} s", c.lag_secs)
                        };
                        view! {
                            <tr data-test-id="gate-connection" data-gate-id=c.gate_id
                                data-connected=c.connected.to_string()>
                                <td data-label="Gate">{c.gate_name}" "<code class="muted">{c.instance}</code></td>
                                <td data-label="API">{c.api_name}</td>
                                <td data-label="Address"><code>{c.peer}</code></td>
                                <td data-label="Since"><When at=Some(c.first_seen) /></td>
                                <td data-label="Version">{c.version}</td>
                                <td data-label="Position" data-test-id="gate-position">{c.position}</td>
                                <td data-label="Lag" data-test-id="gate-lag">{lag}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        })
    };
    body
}
