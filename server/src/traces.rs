//! OpenTelemetry traces over OTLP/HTTP (protobuf), on when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set: every `tracing` span (a request, minting, client
//! authentication, a staff revocation, a webhook delivery, a gate
//! credential's use) becomes an OpenTelemetry span, and the W3C
//! `traceparent` of a request from a trusted proxy makes it part of the
//! caller's trace. The exporter's own `OTEL_*` settings apply (endpoint,
//! headers, timeout, batch delay, sampler).
//!
//! The spans are sent from the SDK's batch thread with a blocking client of
//! the reqwest the product already uses: the OTLP crate's own client would
//! bring a second reqwest into the build.

use bytes::Bytes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Whether traces are to be sent.
pub fn wanted() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

/// The tracer provider for `service` (flush it with `shutdown` before the
/// process exits), and the layer that feeds it from `tracing`.
pub fn provider(service: &'static str) -> Result<SdkTracerProvider, String> {
    use opentelemetry_otlp::WithHttpConfig as _;
    // The exporter's own timeout bounds its retries; each request's is
    // this client's, from the same settings (milliseconds; 10 s unset).
    let timeout_ms = [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.trim().parse::<u64>().ok())
    .unwrap_or(10_000);
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .build()
        .map_err(|e| format!("an HTTP client for OTLP: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Blocking(client))
        .build()
        .map_err(|e| format!("the OTLP exporter: {e}"))?;
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service)
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build())
}

/// The `tracing` layer that turns spans into `provider`'s.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("portcullis"))
}

/// Makes `span` a child of the trace named in `headers`' `traceparent`
/// (W3C Trace Context), if there is one. Call it for requests from a
/// trusted proxy only: the parent's "sampled" flag decides whether the
/// request is traced, which is not a caller's to choose. Nothing happens
/// with traces off.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    // An error says there is nothing to join: traces off, the span
    // disabled, or already started.
    let _ = span.set_parent(parent);
}

/// reqwest's blocking client, run on the SDK's batch thread.
#[derive(Debug)]
struct Blocking(reqwest::blocking::Client);

#[async_trait::async_trait]
impl HttpClient for Blocking {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::blocking::Request::try_from(request)?;
        let response = self.0.execute(request)?;
        let mut answer = Response::builder().status(response.status().as_u16());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        Ok(answer.body(response.bytes()?)?)
    }
}
