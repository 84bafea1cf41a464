use super::*;

#[test]
fn reconnect_waits_are_spread_between_half_and_all_of_the_back_off() {
    let waits: Vec<Duration> = (0..200).map(|_| jittered(RETRY_MAX)).collect();
    assert!(waits.iter().all(|w| *w >= RETRY_MAX / 2 && *w <= RETRY_MAX));
    let (lo, hi) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
    assert!(*hi - *lo > RETRY_MAX / 4, "spread out, not in step");
}

#[test]
fn events_are_split_across_chunks_and_comments_skipped() {
    let mut p = SseParser::default();
    assert!(p
        .push(b": keep-alive\n\nid: 7\nevent: rev")
        .unwrap()
        .is_empty());
    let got = p
        .push(b"oked\ndata: {\"a\":\ndata: 1}\n\nid: 8\r\ndata: x\r\n\r\n")
        .unwrap();
    assert_eq!(
        got,
        vec![
            Sse {
                id: Some("7".into()),
                event: "revoked".into(),
                data: "{\"a\":\n1}".into()
            },
            Sse {
                id: Some("8".into()),
                event: String::new(),
                data: "x".into()
            }
        ]
    );
}

#[test]
fn a_long_event_in_many_chunks_is_read_once_and_a_too_long_one_refused() {
    let mut p = SseParser::default();
    // A 1 MiB event, one byte at a time after its first line, then a
    // blank line split between chunks.
    assert!(p.push(b"id: 9\ndata: ").unwrap().is_empty());
    for _ in 0..(1 << 20) {
        assert!(p.push(b"x").unwrap().is_empty());
    }
    assert!(p.push(b"\n").unwrap().is_empty());
    let got = p.push(b"\n").unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].id.as_deref(), got[0].data.len()),
        (Some("9"), 1 << 20)
    );
    // Past the bound: an error, not unbounded memory.
    let mut p = SseParser::with_max(1000);
    p.push(b"id: 1\ndata: ").unwrap();
    p.push(&[b'x'; 900]).unwrap();
    assert_eq!(p.push(&[b'x'; 100]), Err(EventTooLarge(1000)));
    // Events up to the bound still pass.
    let mut p = SseParser::with_max(1000);
    assert_eq!(
        p.push(&[b"data: ", &[b'y'; 900][..], b"\n\n"].concat())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_credential_never_prints_its_secret() {
    let c = Credential::new("gate_1", "s3cr3t-value");
    assert!(!format!("{c:?}").contains("s3cr3t"));
}
