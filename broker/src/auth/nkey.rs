//! NKey authentication: the nonce a server puts in INFO and the check of the client's Ed25519
//! signature of it (nats-server's `nkey.go` and the nkey branch of `auth.go`).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Random bytes in a nonce (`nonceRawLen`); base64url without padding makes 15 characters.
const NONCE_RAW_LEN: usize = 11;

/// Go's `base64.RawURLEncoding` as nats-server decodes `sig`: no padding, and (Go is not
/// strict) non-zero trailing bits accepted.
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Go's `base64.StdEncoding`, the fallback for `sig`.
const STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A fresh nonce for INFO: 11 random bytes, base64url without padding.
pub fn new_nonce() -> String {
    let mut raw = [0u8; NONCE_RAW_LEN];
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut raw).is_err() {
        // The OS random source failing is not recoverable in any useful way; fall back to a
        // non-cryptographic source rather than sending a constant nonce.
        raw.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    RAW_URL.encode(raw)
}

/// Whether `sig` (base64url without padding, or standard base64) is `nkey`'s signature of
/// `nonce`. Each failure is logged at debug level with nats-server's words.
pub fn signature_ok(nkey: &str, nonce: &[u8], sig: &str) -> bool {
    if sig.is_empty() {
        tracing::debug!("Signature missing");
        return false;
    }
    let Ok(sig) = RAW_URL.decode(sig).or_else(|_| STD.decode(sig)) else {
        tracing::debug!("Signature not valid base64");
        return false;
    };
    let key = match nkeys::KeyPair::from_public_key(nkey) {
        Ok(k) => k,
        Err(e) => {
            tracing::debug!("User nkey not valid: {e}");
            return false;
        }
    };
    if key.verify(nonce, &sig).is_err() {
        tracing::debug!("Signature not verified");
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_15_url_safe_chars_and_fresh() {
        let a = new_nonce();
        assert_eq!(a.len(), 15);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, new_nonce());
    }

    #[test]
    fn signatures_in_both_encodings_verify() {
        let kp = nkeys::KeyPair::new_user();
        let nonce = new_nonce();
        let sig = kp.sign(nonce.as_bytes()).expect("sign");
        let url = RAW_URL.encode(&sig);
        let std = STD.encode(&sig);
        assert!(signature_ok(&kp.public_key(), nonce.as_bytes(), &url));
        assert!(signature_ok(&kp.public_key(), nonce.as_bytes(), &std));
        assert!(!signature_ok(&kp.public_key(), b"other nonce", &url));
        assert!(!signature_ok(&kp.public_key(), nonce.as_bytes(), ""));
        assert!(!signature_ok(&kp.public_key(), nonce.as_bytes(), "!!!"));
        let other = nkeys::KeyPair::new_user();
        assert!(!signature_ok(&other.public_key(), nonce.as_bytes(), &url));
        assert!(!signature_ok("UNOTAKEY", nonce.as_bytes(), &url));
    }
}
