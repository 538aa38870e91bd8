//! Encryption at rest for [`FileStore`](super::FileStore): AES-256-GCM with a random nonce per
//! write and the file's magic as associated data.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;

/// What an encrypted token file starts with.
pub(crate) const MAGIC: &[u8] = b"oauth-templates tokens, encrypted v1\n";

/// A 256-bit key for token files. `Debug` shows nothing of it.
pub struct EncryptionKey {
    key: LessSafeKey,
}

impl EncryptionKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        match UnboundKey::new(&AES_256_GCM, bytes) {
            Ok(key) => EncryptionKey {
                key: LessSafeKey::new(key),
            },
            // AES-256-GCM takes exactly 32 bytes, which the type guarantees.
            Err(_) => unreachable!("a 32-byte key is an AES-256 key"),
        }
    }

    /// The key written as standard Base64 (44 characters, as `openssl rand -base64 32` prints).
    pub fn from_base64(text: &str) -> Result<Self, InvalidKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| InvalidKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| InvalidKey)?;
        Ok(Self::from_bytes(&bytes))
    }

    pub(crate) fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "could not be encrypted: the system's random source failed")?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(MAGIC),
                &mut sealed,
            )
            .map_err(|_| "could not be encrypted")?;
        let mut file = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&nonce);
        file.extend_from_slice(&sealed);
        Ok(file)
    }

    /// Opens what [`EncryptionKey::seal`] wrote (without the magic, already stripped).
    pub(crate) fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, &'static str> {
        const WRONG: &str = "cannot be decrypted with the key given (a different key, or the \
                             file was altered)";
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or(WRONG)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| WRONG)?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(MAGIC), &mut buffer)
            .map_err(|_| WRONG)?;
        Ok(plaintext.to_vec())
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([REDACTED])")
    }
}

/// The text given is not 32 bytes in standard Base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidKey;

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an encryption key must be 32 bytes in standard Base64 (make one with \
             `openssl rand -base64 32`)",
        )
    }
}

impl std::error::Error for InvalidKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_with_the_same_key_only() {
        let key = EncryptionKey::from_bytes(&[7; 32]);
        let file = key.seal(b"{\"a\":1}").unwrap();
        assert!(file.starts_with(MAGIC));
        assert!(!file.windows(7).any(|w| w == b"{\"a\":1}"));
        let sealed = &file[MAGIC.len()..];
        assert_eq!(key.open(sealed).unwrap(), b"{\"a\":1}");
        assert!(EncryptionKey::from_bytes(&[8; 32]).open(sealed).is_err());
        let mut altered = sealed.to_vec();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(key.open(&altered).is_err());
        assert!(key.open(&sealed[..5]).is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let text = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        assert!(EncryptionKey::from_base64(&text).is_ok());
        assert_eq!(
            EncryptionKey::from_base64("c2hvcnQ=").err(),
            Some(InvalidKey)
        );
        assert_eq!(
            EncryptionKey::from_base64("not base64!").err(),
            Some(InvalidKey)
        );
        assert_eq!(
            format!("{:?}", EncryptionKey::from_bytes(&[1; 32])),
            "EncryptionKey([REDACTED])"
        );
    }
}
