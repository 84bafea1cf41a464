//! The master key: the one secret Portcullis needs from outside. Two working
//! keys are derived from it (HKDF-SHA256): the pepper that client-secret
//! hashes are keyed with, and the AES-256-GCM key that seals signing keys at
//! rest. Lose it and every client secret and signing key must be replaced.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::{aead, hkdf, hmac};

use crate::error::{Error, Result};
use crate::ids::random_bytes;

const SALT: &[u8] = b"portcullis/master-key/v1";
const NONCE_LEN: usize = 12;

pub struct MasterKey {
    pepper: hmac::Key,
    seal: aead::LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// From 64 hex digits (32 bytes), e.g. `openssl rand -hex 32`.
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                Error::Setup(
                    "the master key must be 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`"
                        .into(),
                )
            })?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Reads the key file, or creates it (mode 0600, folder included) with a
    /// fresh random key when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                refuse_if_shared(path)?;
                Self::from_hex(&text).map_err(|e| Error::Setup(format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = random_bytes::<32>();
                write_new_private_file(path, &hex::encode(bytes))?;
                tracing::warn!(
                    "created a new master key at {}: back it up; without it client secrets and signing keys are lost",
                    path.display()
                );
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) => Err(Error::Setup(format!(
                "cannot read the master key file {}: {e}",
                path.display()
            ))),
        }
    }

    fn from_bytes(ikm: &[u8; 32]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(ikm);
        let pepper = prk
            .expand(&[b"client-secret-pepper"], hmac::HMAC_SHA256)
            .map(hmac::Key::from);
        let seal = prk
            .expand(&[b"signing-key-seal"], &aead::AES_256_GCM)
            .map(aead::UnboundKey::from);
        match (pepper, seal) {
            (Ok(pepper), Ok(seal)) => Self {
                pepper,
                seal: aead::LessSafeKey::new(seal),
            },
            // HKDF-SHA256 only refuses outputs longer than 255 * 32 bytes.
            _ => unreachable!("HKDF output lengths are fixed and valid"),
        }
    }

    /// The keyed hash stored for a client secret.
    pub fn secret_hash(&self, secret: &str) -> [u8; 32] {
        let tag = hmac::sign(&self.pepper, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Constant-time check of a presented secret against a stored hash.
    pub fn verify_secret(&self, secret: &str, hash: &[u8; 32]) -> bool {
        hmac::verify(&self.pepper, secret.as_bytes(), hash).is_ok()
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the key id) so a
    /// sealed value cannot be moved to another row.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        let nonce = aead::Nonce::assume_unique_for_key(nonce_bytes);
        match self.seal.seal_in_place_append_tag(
            nonce,
            aead::Aad::from(context.as_bytes()),
            &mut buf,
        ) {
            Ok(()) => {}
            // Only fails for inputs of more than 64 GiB.
            Err(_) => unreachable!("AES-GCM sealing a small buffer"),
        }
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        B64.encode(out)
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>> {
        let wrong = || {
            Error::Crypto(format!(
                "cannot decrypt {context}: it was sealed with another master key, or the row is damaged"
            ))
        };
        let raw = B64.decode(sealed).map_err(|_| wrong())?;
        if raw.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut body = body.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, aead::Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| wrong())?;
        Ok(plain.to_vec())
    }
}

/// A key file that group or others can read is refused: whoever reads it
/// can unseal the signing keys stored in the database and test guessed
/// client secrets against their hashes offline.
fn refuse_if_shared(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::Setup(format!("{}: {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::Setup(format!(
                "the master key file {} can be read by group or others (mode {:o}): run `chmod 600 {}` and start again",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    Ok(())
}

fn write_new_private_file(path: &Path, contents: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::Setup(format!(
            "cannot create the master key file {}: {e}",
            path.display()
        ))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)?;
    file.write_all(b"\n").map_err(fail)?;
    file.sync_all().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.secret_hash("s"), b.secret_hash("s"));
        let sealed = a.seal("kid1", b"private");
        assert_eq!(b.open("kid1", &sealed).unwrap(), b"private");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).unwrap();
        for mode in [0o640, 0o604, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = MasterKey::load_or_create(&path).err().unwrap().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(
            MasterKey::load_or_create(&path).is_ok(),
            "read-only for the owner is fine"
        );
    }

    #[test]
    fn sealed_values_are_bound_to_key_and_context() {
        let a = MasterKey::from_hex(&"11".repeat(32)).unwrap();
        let b = MasterKey::from_hex(&"22".repeat(32)).unwrap();
        let sealed = a.seal("kid1", b"private");
        assert!(a.open("kid2", &sealed).is_err());
        assert!(b.open("kid1", &sealed).is_err());
        assert!(a.open("kid1", "not base64!").is_err());
        assert!(!a.verify_secret("x", &b.secret_hash("x")));
        assert!(a.verify_secret("x", &a.secret_hash("x")));
    }

    #[test]
    fn bad_hex_is_refused_with_a_hint() {
        let e = MasterKey::from_hex("abc").unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{e}");
    }
}
