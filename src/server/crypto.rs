//! Endpoint secrets at rest: AES-256-GCM with a random nonce per value, stored as
//! `nonce || ciphertext`. The key comes from config or a generated key file.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::path::Path;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8]) -> anyhow::Result<Self> {
        if key.len() != 32 {
            bail!("the secret key must be 32 bytes (base64 of 32 random bytes)");
        }
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        })
    }

    /// From `--secret-key` when given, else from `<data_dir>/secret.key`, created on first use.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(encoded) = configured {
            let key = BASE64
                .decode(encoded.trim())
                .context("HERALD_SECRET_KEY is not base64")?;
            return Self::new(&key);
        }
        let path = data_dir.join("secret.key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let key = BASE64
                .decode(existing.trim())
                .with_context(|| format!("{} is not base64", path.display()))?;
            return Self::new(&key);
        }
        let key = Aes256Gcm::generate_key(OsRng);
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        write_private(&path, &BASE64.encode(key))?;
        tracing::info!(path = %path.display(), "generated a new key for endpoint secrets");
        Self::new(&key)
    }

    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("AES-GCM encryption cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn decrypt(&self, stored: &[u8]) -> anyhow::Result<String> {
        if stored.len() <= NONCE_LEN {
            bail!("encrypted secret is too short");
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| anyhow!("cannot decrypt an endpoint secret: wrong HERALD_SECRET_KEY?"))?;
        String::from_utf8(plain).context("decrypted secret is not UTF-8")
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_differ_each_time() {
        let sbox = SecretBox::new(&[9u8; 32]).unwrap();
        let a = sbox.encrypt("whsec_abc");
        let b = sbox.encrypt("whsec_abc");
        assert_ne!(a, b, "a fresh nonce each time");
        assert_eq!(sbox.decrypt(&a).unwrap(), "whsec_abc");
        let other = SecretBox::new(&[8u8; 32]).unwrap();
        assert!(other.decrypt(&a).is_err());
        assert!(SecretBox::new(&[1u8; 16]).is_err());
        assert_eq!(format!("{sbox:?}"), "SecretBox(<redacted>)");
    }

    #[test]
    fn a_key_file_is_generated_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("herald-key-{}", std::process::id()));
        let first = SecretBox::load(None, &dir).unwrap();
        let second = SecretBox::load(None, &dir).unwrap();
        assert_eq!(second.decrypt(&first.encrypt("x")).unwrap(), "x");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
