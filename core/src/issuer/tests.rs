use super::*;

fn granted() -> Vec<String> {
    vec!["a:read".into(), "b:write".into()]
}

#[test]
fn scope_requests_are_subsets_of_the_grant() {
    assert_eq!(
        parse_scope_request(Some("b:write a:read a:read"), &granted()).unwrap(),
        vec!["a:read", "b:write"]
    );
    for bad in [
        None,
        Some(""),
        Some("  "),
        Some("c:read"),
        Some("a:read c"),
        Some("a\"b"),
    ] {
        assert!(
            matches!(
                parse_scope_request(bad, &granted()),
                Err(Error::InvalidScope(_))
            ),
            "{bad:?}"
        );
    }
}
