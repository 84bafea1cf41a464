//! Proof that every gate is current, from outside: a `portcullis gate`
//! process follows one node; staff on another node see it connected (its
//! address, version and position), and after staff revoke a client there,
//! staff see when that gate applied the revocation and the client's
//! account reads that every gate applied it. A stopped gate shows as gone.

use std::time::Duration;

use serde_json::{json, Value};

use crate::cluster::{within, Cluster};
use crate::gate_process::GateProcess;

fn line(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn staff_see_every_gate_and_when_each_applied_a_revocation() {
    let cluster = Cluster::start_on_test_backend(2).await;
    let made = cluster.cli(
        &["gates", "add", "--api", "partner", "--name", "orders nginx"],
        "",
    );
    let credential = (
        line(&made, "GATE_CLIENT_ID"),
        line(&made, "GATE_CLIENT_SECRET"),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut gate =
        GateProcess::start_in(dir.path(), &cluster.nodes[0].base, &credential, &[]).await;

    // Staff on the other node see the gate, reported to node 0.
    let staff = cluster.staff(1).await;
    let connections = || async {
        let (status, view) = cluster.call(1, &staff, "staff_gates", &[("", "")]).await;
        assert_eq!(status, 200, "{view}");
        view["connections"].as_array().unwrap().clone()
    };
    within(Duration::from_secs(15), "the gate listed", || async {
        connections().await.iter().any(|c| c["connected"] == true)
    })
    .await;
    let c = connections().await[0].clone();
    assert_eq!(c["gate_id"], credential.0);
    assert_eq!(c["gate_name"], "orders nginx");
    assert_eq!(c["api_name"], "Partner API");
    assert_eq!(c["peer"], "127.0.0.1");
    assert_eq!(c["version"], env!("CARGO_PKG_VERSION"));
    assert!(c["position"].as_i64().unwrap() > 0, "{c}");
    assert_eq!(c["instance"].as_str().unwrap().len(), 16);

    // Changes to another API's clients move the feed past the gate with
    // nothing for it: it is told so, and stays current.
    let owner = cluster.owner(0, "reach@example.com").await;
    let (status, body) = cluster
        .call(
            0,
            &owner,
            "project_create",
            &[
                ("name", "Elsewhere"),
                ("api_id", "caas"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let newest = |c: &Value| c["position"].as_i64().unwrap();
    let before = newest(&c);
    within(
        Duration::from_secs(15),
        "the gate current past it",
        || async {
            let c = connections().await[0].clone();
            newest(&c) > before && c["changes_behind"] == 0 && c["lag_secs"] == 0
        },
    )
    .await;

    // Staff revoke a client on node 1; the gate follows node 0.
    let project = cluster.project(0, &owner, "Reached").await;
    let creds = cluster
        .client(0, &owner, &project, &["applications:read"])
        .await;
    let (status, body) = cluster
        .call(
            1,
            &staff,
            "staff_revoke",
            &[
                ("client_id", creds.id.as_str()),
                ("reason", "Leaked in a log"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Staff see, by the gate's name and address, when it applied it.
    let found = || async {
        let (status, found) = cluster
            .call(1, &staff, "staff_search", &[("query", creds.id.as_str())])
            .await;
        assert_eq!(status, 200, "{found}");
        found[0]["cut_off"].clone()
    };
    let took = within(Duration::from_secs(15), "the gate applied it", || async {
        found().await["gates"][0]["state"]
            .get("Applied")
            .is_some_and(Value::is_number)
    })
    .await;
    let seen = found().await;
    assert_eq!(seen["action"], "client.revoke");
    assert_eq!(seen["gates"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["gates"][0]["label"], "orders nginx at 127.0.0.1");
    let ms = seen["gates"][0]["state"]["Applied"].as_i64().unwrap();
    eprintln!("the gate applied the revocation {ms} ms after it committed (seen after {took:?})");
    assert!((0..5_000).contains(&ms), "{seen}");

    // The account sees it in one sentence, without the gate's name.
    let (status, detail) = cluster
        .call(0, &owner, "project", &[("id", project.as_str())])
        .await;
    assert_eq!(status, 200, "{detail}");
    let sentence = detail["clients"][0]["cut_off"].as_str().unwrap();
    assert!(
        sentence
            .starts_with("Applied by every connected gate of Partner API (1 gate), the slowest"),
        "{sentence}"
    );
    assert!(!detail.to_string().contains("orders nginx"));
    assert!(!detail.to_string().contains("127.0.0.1"));

    // A report naming a process no one could tell apart is refused.
    let bad = reqwest::Client::new()
        .post(cluster.url(0, portcullis_gate::remote::POSITION_PATH))
        .basic_auth(&credential.0, Some(&credential.1))
        .json(&json!({ "position": 1, "instance": "no spaces here" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // A gate that stops is listed as gone, not forgotten.
    gate.stop();
    within(
        Duration::from_secs(25),
        "the gate listed as gone",
        || async {
            connections()
                .await
                .iter()
                .all(|c| c["connected"] == false && c["lag_secs"].as_i64().unwrap() > 10)
        },
    )
    .await;
}
