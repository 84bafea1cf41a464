use super::*;

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(backoff(1), Duration::from_secs(1));
    assert_eq!(backoff(2), Duration::from_secs(2));
    assert_eq!(backoff(20), Duration::from_secs(30));
}

#[test]
fn debug_hides_the_secret() {
    let s = TokenSource::new("http://x/oauth/token", "pcl_x", "pcs_secret");
    assert!(!format!("{s:?}").contains("pcs_secret"));
}
