//! OpenTelemetry traces, read by the OpenTelemetry project's own protobuf
//! types (`opentelemetry-proto`, decoded with `prost`): a node with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set sends its spans over OTLP/HTTP to a
//! receiver in this test; a token request that carried a W3C `traceparent`
//! through a trusted proxy is part of the caller's trace, with client
//! authentication and minting as its children; no secret or token is in
//! any span, even a secret sent where the client id goes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::cluster::{within, Cluster};

/// The caller's trace and span, as in W3C Trace Context's example.
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP receiver on loopback: every request body it was sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/v1/traces",
        post({
            let got = got.clone();
            move |body: Bytes| async move {
                got.lock().unwrap().push(body);
                // An empty ExportTraceServiceResponse: all accepted.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), got)
}

fn spans(got: &Mutex<Vec<Bytes>>) -> Vec<(String, Span)> {
    let mut all = Vec::new();
    for body in got.lock().unwrap().iter() {
        let request = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
        for resource in request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            let service = match service {
                Some(AnyValue::StringValue(s)) => s,
                other => format!("{other:?}"),
            };
            for scope in resource.scope_spans {
                all.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
    }
    all
}

#[tokio::test]
async fn a_token_request_joins_the_callers_trace_over_otlp() {
    let (endpoint, got) = receiver().await;
    let cluster = Cluster::start_on_test_backend_with(
        1,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            // The nodes are given a proxy that refuses every connection
            // (see `Cluster`); the exporter follows the usual variables.
            ("NO_PROXY", "127.0.0.1"),
            // A trace is joined from a trusted proxy only.
            ("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let owner = cluster.owner(0, "traced@example.com").await;
    let project = cluster.project(0, &owner, "Traced").await;
    let creds = cluster
        .client(0, &owner, &project, &["applications:read"])
        .await;
    // First a caller that swapped its id and secret: refused, and the
    // secret it sent as an id is in no span.
    let swapped = reqwest::Client::new()
        .post(cluster.url(0, "/oauth/token"))
        .basic_auth(&creds.secret, Some(&creds.id))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(swapped.status(), 401);
    let res = reqwest::Client::new()
        .post(cluster.url(0, "/oauth/token"))
        .header("traceparent", format!("00-{TRACE}-{CALLER_SPAN}-01"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "applications:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let in_trace = || {
        spans(&got)
            .into_iter()
            .filter(|(_, s)| hex::encode(&s.trace_id) == TRACE)
            .collect::<Vec<_>>()
    };
    within(Duration::from_secs(15), "the spans arrived", || {
        let spans = in_trace();
        let found = ["request", "authenticate", "mint"]
            .iter()
            .all(|name| spans.iter().any(|(_, s)| s.name == *name));
        async move { found }
    })
    .await;
    let spans = in_trace();
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    let named = |name: &str| {
        spans
            .iter()
            .find(|(_, s)| s.name == name)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no {name} span in {names:?}"))
    };
    let request = named("request");
    assert_eq!(hex::encode(&request.parent_span_id), CALLER_SPAN);
    for child in ["authenticate", "mint"] {
        assert_eq!(
            named(child).parent_span_id,
            request.span_id,
            "{child} is the request's"
        );
    }
    assert!(spans.iter().all(|(service, _)| service == "portcullis"));

    // Nothing secret in what was sent, anywhere.
    for body in got.lock().unwrap().iter() {
        for secret in [&creds.secret, &token] {
            let leaked = body.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!leaked, "a span carries a secret or token");
        }
    }
}
