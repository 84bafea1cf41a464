use super::*;

fn due(id: &str, account: &str) -> store::webhooks::DueRow {
    store::webhooks::DueRow {
        id: id.into(),
        endpoint_id: format!("whe_{id}"),
        account_id: account.into(),
        payload: "{}".into(),
        attempts: 0,
        give_up_at: 0,
        url: "https://hooks.example.com/".into(),
        secret_sealed: String::new(),
    }
}

#[test]
fn claims_go_round_robin_across_accounts_within_each_account_s_share() {
    // Account a has a backlog of six, older than b's and c's one each.
    let mut candidates: Vec<_> = (0..6).map(|i| due(&format!("a{i}"), "a")).collect();
    candidates.push(due("b0", "b"));
    candidates.push(due("c0", "c"));
    let ids = |v: Vec<store::webhooks::DueRow>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let none = std::collections::HashMap::new();
    assert_eq!(
        ids(fair_pick(candidates.clone(), 4, &none, 2)),
        ["a0", "b0", "c0", "a1"]
    );
    // Two of a's already sending: a gets nothing more.
    let busy = std::collections::HashMap::from([("a".to_owned(), 2)]);
    assert_eq!(
        ids(fair_pick(candidates.clone(), 8, &busy, 2)),
        ["b0", "c0"]
    );
    // A lone account still gets no more than its share.
    assert_eq!(
        ids(fair_pick(candidates[..6].to_vec(), 8, &none, 2)),
        ["a0", "a1"]
    );
}

#[test]
fn retries_grow_and_end_at_the_24_hour_mark() {
    let start = 1_000_000;
    let give_up = start + RETRY_FOR_SECS;
    assert_eq!(next_attempt(1, start, give_up), Some(start + 5));
    assert_eq!(next_attempt(2, start, give_up), Some(start + 30));
    assert_eq!(next_attempt(40, start, give_up), Some(start + 28_800));
    assert_eq!(next_attempt(40, give_up - 10, give_up), Some(give_up));
    assert_eq!(next_attempt(41, give_up, give_up), None);
    // Following the schedule from the first attempt: about 13 tries.
    let (mut now, mut n) = (start, 1);
    while let Some(at) = next_attempt(n, now, give_up) {
        now = at;
        n += 1;
    }
    assert_eq!(now, give_up);
    assert!((10..20).contains(&n), "{n} attempts");
}
