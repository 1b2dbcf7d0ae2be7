//! Decoding a NATS JWT as `jwt.Decode` (nats-io/jwt v2) does: three base64url chunks, a header
//! of type `JWT` and algorithm `ed25519-nkey`, claims of a known kind and version, an Ed25519
//! signature by the `iss` key over `header.payload`, and an issuer of the expected kind.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::JwtError;

/// `jwt.MaxTokenSize`: longer tokens are refused before any decoding.
pub const MAX_TOKEN_SIZE: usize = 1024 * 1024;

/// The highest claims version the library understands (`libVersion`).
const LIB_VERSION: i64 = 2;

/// Go's `base64.RawURLEncoding` (no padding; Go is not strict about trailing bits).
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Decodes base64url without padding, as the JWT library does for every chunk.
pub fn b64_decode(s: &str) -> Result<Vec<u8>, JwtError> {
    RAW_URL
        .decode(s)
        .map_err(|e| JwtError::Base64(e.to_string()))
}

/// Encodes base64url without padding (used by tests and to sign).
pub fn b64_encode(data: &[u8]) -> String {
    RAW_URL.encode(data)
}

/// The kind of key that may issue a claim (nkeys prefix bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Operator,
    Account,
    User,
}

impl KeyKind {
    /// Whether `key` is a valid public key of this kind.
    pub fn accepts(self, key: &str) -> bool {
        let prefix = match self {
            KeyKind::Operator => 'O',
            KeyKind::Account => 'A',
            KeyKind::User => 'U',
        };
        key.starts_with(prefix) && nkeys::KeyPair::from_public_key(key).is_ok()
    }
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    typ: String,
    #[serde(default)]
    alg: String,
}

/// `Header.Valid`: type `JWT` (any case), algorithm `ed25519-nkey` or the v1 `ed25519`.
fn check_header(chunk: &str) -> Result<(), JwtError> {
    let raw = b64_decode(chunk)?;
    let h: Header = serde_json::from_slice(&raw).map_err(|e| JwtError::Json(e.to_string()))?;
    if !h.typ.eq_ignore_ascii_case("JWT") {
        return Err(JwtError::Header(format!("not supported type {:?}", h.typ)));
    }
    let alg = h.alg.to_ascii_lowercase();
    if alg != "ed25519" && alg != "ed25519-nkey" {
        return Err(JwtError::Header(format!(
            "unexpected {:?} algorithm",
            h.alg
        )));
    }
    Ok(())
}

/// The fields every claim kind shares, read first to pick the kind (`identifier`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Identifier {
    #[serde(rename = "type")]
    v1_type: String,
    nats: IdentifierNats,
    iss: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IdentifierNats {
    #[serde(rename = "type")]
    kind: String,
    version: i64,
}

/// Decodes and verifies `token` as a claim of `kind` (`"operator"`, `"account"`, `"user"`),
/// whose issuer must be one of `issuers`. Returns the claims.
pub fn decode<T: DeserializeOwned>(
    token: &str,
    kind: &str,
    issuers: &[KeyKind],
) -> Result<T, JwtError> {
    if token.len() > MAX_TOKEN_SIZE {
        return Err(JwtError::TooLarge(token.len()));
    }
    let chunks: Vec<&str> = token.split('.').collect();
    if chunks.len() != 3 {
        return Err(JwtError::Chunks);
    }
    check_header(chunks[0])?;
    let payload = b64_decode(chunks[1])?;
    let id: Identifier =
        serde_json::from_slice(&payload).map_err(|e| JwtError::Json(e.to_string()))?;
    let (found, version) = if id.v1_type.is_empty() {
        (id.nats.kind.as_str(), id.nats.version)
    } else {
        (id.v1_type.as_str(), 1)
    };
    if version > LIB_VERSION {
        return Err(JwtError::NewerVersion);
    }
    if version < 2 {
        // nsc has written v2 claims since 2020; v1 tokens (signed over the payload only) are
        // not supported here.
        return Err(JwtError::V1);
    }
    if found != kind {
        return Err(JwtError::Kind(format!("not {kind} claim")));
    }
    let claims: T = serde_json::from_slice(&payload).map_err(|e| JwtError::Json(e.to_string()))?;
    let sig = b64_decode(chunks[2])?;
    let signed = &token[..chunks[0].len() + 1 + chunks[1].len()];
    let key = nkeys::KeyPair::from_public_key(&id.iss).map_err(|_| JwtError::Signature)?;
    key.verify(signed.as_bytes(), &sig)
        .map_err(|_| JwtError::Signature)?;
    if !issuers.iter().any(|k| k.accepts(&id.iss)) {
        return Err(JwtError::IssuerKind);
    }
    Ok(claims)
}

/// `jwt.ParseDecoratedJWT`: the token inside the first `-----BEGIN ...-----` armour of a
/// `.jwt` or `.creds` file, or the contents unchanged when there is none (a stray newline
/// then makes the token invalid, as in Go).
pub fn parse_decorated(contents: &str) -> String {
    let lines: Vec<&str> = contents.split('\n').collect();
    let is_armour = |l: &str| {
        let l = l.trim_end_matches('\r');
        l.len() >= 6 && l.starts_with("---") && l.ends_with("---")
    };
    for (i, line) in lines.iter().enumerate() {
        if is_armour(line)
            && let (Some(token), Some(end)) = (lines.get(i + 1), lines.get(i + 2))
            && is_armour(end)
        {
            return token.trim_end_matches('\r').trim_start().to_string();
        }
    }
    contents.to_string()
}
