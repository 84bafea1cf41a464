//! How far a client's newest cut-off (a revocation, a retirement, a
//! narrowing) has reached: when each gate in another process applied it.
//! The account sees its gates numbered; staff see their names and
//! addresses.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReachState {
    /// Applied this many milliseconds after the cut-off (`None`: applied,
    /// time unknown).
    Applied(Option<i64>),
    Pending,
    Gone,
    /// Went silent, and came back as a new process past it.
    Restarted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateReachedInfo {
    pub label: String,
    pub state: ReachState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutOffInfo {
    /// The audit action, e.g. `client.revoke`.
    pub action: String,
    /// When it was made (seconds since the epoch).
    pub at: i64,
    pub api_name: String,
    /// The gates in other processes connected when it was made.
    pub gates: Vec<GateReachedInfo>,
}

impl CutOffInfo {
    /// One sentence: every gate applied it and how fast, or which have not.
    pub fn summary(&self) -> String {
        let n = self.gates.len();
        let applied: Vec<Option<i64>> = self
            .gates
            .iter()
            .filter_map(|g| match g.state {
                ReachState::Applied(ms) => Some(ms),
                ReachState::Restarted => Some(None),
                _ => None,
            })
            .collect();
        let api = &self.api_name;
        if n == 0 {
            return format!(
                "No gate of {api} in another process was connected; gates inside Portcullis applied it before it answered."
            );
        }
        if applied.len() == n {
            let gates = if n == 1 { "gate" } else { "gates" };
            return match applied.iter().flatten().max() {
                Some(ms) => format!(
                    "Applied by every connected gate of {api} ({n} {gates}), the slowest {} after.",
                    seconds(*ms)
                ),
                None => format!("Applied by every connected gate of {api} ({n} {gates})."),
            };
        }
        let pending = self
            .gates
            .iter()
            .filter(|g| g.state == ReachState::Pending)
            .count();
        let gone = n - applied.len() - pending;
        let mut s = format!("{} of {n} gates of {api} have applied it", applied.len());
        if pending > 0 {
            s.push_str(&format!("; {pending} not yet"));
        }
        if gone > 0 {
            s.push_str(&format!("; {gone} went away before applying it"));
        }
        s.push('.');
        s
    }
}

/// `1234` → `"1.2 s"`.
pub fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

impl ReachState {
    pub fn describe(self) -> String {
        match self {
            Self::Applied(Some(ms)) => format!("applied {} after", seconds(ms)),
            Self::Applied(None) => "applied".into(),
            Self::Pending => "not yet".into(),
            Self::Gone => "went away first".into(),
            Self::Restarted => "restarted, and started past it".into(),
        }
    }
}

/// Who asks: a member of the client's account (gates numbered) or staff
/// (named, with their addresses).
#[cfg(feature = "ssr")]
pub enum Asker<'a> {
    Member(&'a portcullis_core::Principal),
    Staff(portcullis_core::access::Support<'a>, &'a str),
}

/// `client_id`'s newest cut-off in the last day, as `by` may see it.
#[cfg(feature = "ssr")]
pub async fn cut_off(
    state: &crate::ssr::AppState,
    by: Asker<'_>,
    client_id: &str,
) -> Result<Option<CutOffInfo>, portcullis_core::Error> {
    use portcullis_core::gate_reach::Reached;
    let staff = matches!(by, Asker::Staff(..));
    let reach = match by {
        Asker::Member(p) => state.reach.reach(p, client_id).await?,
        Asker::Staff(s, account_id) => {
            state
                .reach
                .reach_for_support(s, account_id, client_id)
                .await?
        }
    };
    let Some(reach) = reach else {
        return Ok(None);
    };
    let api_name = state
        .catalogue
        .api(&reach.api_id)
        .map_or_else(|| reach.api_id.clone(), |a| a.name.clone());
    let gates = reach
        .gates
        .iter()
        .enumerate()
        .map(|(i, g)| GateReachedInfo {
            label: if staff {
                format!("{} at {}", g.gate_name, g.peer)
            } else {
                format!("Gate {}", i + 1)
            },
            state: match g.reached {
                Reached::Applied(ms) => ReachState::Applied(ms),
                Reached::Pending => ReachState::Pending,
                Reached::Gone => ReachState::Gone,
                Reached::Restarted => ReachState::Restarted,
            },
        })
        .collect();
    Ok(Some(CutOffInfo {
        action: reach.action,
        at: reach.at_ms.div_euclid(1000),
        api_name,
        gates,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(states: &[ReachState]) -> CutOffInfo {
        CutOffInfo {
            action: "client.revoke".into(),
            at: 0,
            api_name: "Partner API".into(),
            gates: states
                .iter()
                .map(|s| GateReachedInfo {
                    label: "g".into(),
                    state: *s,
                })
                .collect(),
        }
    }

    #[test]
    fn the_summary_names_the_slowest_gate_or_those_not_there_yet() {
        use ReachState::*;
        assert_eq!(
            info(&[Applied(Some(420)), Applied(Some(80))]).summary(),
            "Applied by every connected gate of Partner API (2 gates), the slowest 0.4 s after."
        );
        assert_eq!(
            info(&[Applied(Some(80)), Pending, Gone]).summary(),
            "1 of 3 gates of Partner API have applied it; 1 not yet; 1 went away before applying it."
        );
        assert!(info(&[]).summary().starts_with("No gate of Partner API"));
    }
}
