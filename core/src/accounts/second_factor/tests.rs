use super::*;

#[test]
fn recovery_codes_are_typed_loosely_and_random() {
    let code = new_recovery_code();
    assert_eq!(code.len(), 11);
    assert_eq!(&code[5..6], "-");
    assert_eq!(normalize_recovery_code(&code).len(), 10);
    assert_eq!(
        normalize_recovery_code(" ABCDE - fghij "),
        normalize_recovery_code("abcdefghij")
    );
    assert_ne!(new_recovery_code(), new_recovery_code());
}

#[test]
fn enrollment_debug_hides_the_secret() {
    let e = Enrollment {
        secret_text: "GEZDGNBV".into(),
        otpauth_uri: "otpauth://totp/x?secret=GEZDGNBV".into(),
    };
    assert!(!format!("{e:?}").contains("GEZDGNBV"));
}
