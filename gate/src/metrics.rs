//! The gate's decisions as a counter through the `metrics` facade,
//! `portcullis_gate_decisions_total{result, …}`: whatever recorder the
//! embedding process installed gets them (Portcullis serves them as
//! Prometheus text; a Rust resource server gets them with its own), and
//! with none installed they cost nothing. The handles are made once per
//! gate, so a decision is one atomic add, not a registry lookup.

/// The counter's name.
pub const DECISIONS: &str = "portcullis_gate_decisions_total";

/// How a call through the gate ended (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let through to the capability.
    Allowed,
    /// No usable token or proof (401, or 400 for a malformed request).
    Unauthorized,
    /// A good token without the route's scope or binding (403).
    Forbidden,
    /// The project's bucket is empty (429).
    RateLimited,
    /// The gate cannot decide: no word from the issuer (503).
    Unavailable,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Allowed,
        Outcome::Unauthorized,
        Outcome::Forbidden,
        Outcome::RateLimited,
        Outcome::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Forbidden => "forbidden",
            Outcome::RateLimited => "rate_limited",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// Says what the counter means to a recorder that shows descriptions
/// (Prometheus `# HELP`); call once after installing the recorder.
pub fn describe() {
    metrics::describe_counter!(
        DECISIONS,
        "Calls the gate decided, by result (allowed, unauthorized, forbidden, rate_limited, unavailable)"
    );
}

/// One counter handle per outcome, with the gate's labels.
pub(crate) struct Decisions {
    counters: [metrics::Counter; 5],
}

impl Decisions {
    /// `labels`: bounded values that name the gate (its API, or its gate
    /// credential), never a client, token or address.
    pub(crate) fn new(labels: &[(&'static str, String)]) -> Self {
        let counter = |o: Outcome| {
            let mut all: Vec<metrics::Label> = labels
                .iter()
                .map(|(k, v)| metrics::Label::new(*k, v.clone()))
                .collect();
            all.push(metrics::Label::new("result", o.as_str()));
            metrics::counter!(DECISIONS, all)
        };
        Self {
            counters: Outcome::ALL.map(counter),
        }
    }

    pub(crate) fn count(&self, o: Outcome) {
        self.counters[o as usize].increment(1);
    }
}
