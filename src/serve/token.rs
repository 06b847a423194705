//! The TCP bearer token (DESIGN §6): 32 bytes from the OS CSPRNG, hex in `run/serve.token`
//! (0600 from the first byte), compared in constant time. Its path is printed, never its value.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::store;

pub struct Token(Zeroizing<String>);

impl Token {
    /// Reuse a well-formed private token at `path`, or write a fresh one (always with `rotate`).
    pub fn load_or_create(path: &Path, rotate: bool) -> Result<Token> {
        if !rotate && let Some(t) = Self::load_existing(path)? {
            return Ok(t);
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        getrandom::fill(raw.as_mut()).context("reading the OS random number generator")?;
        let hex = Zeroizing::new(hex::encode(&raw[..]));
        let mut bytes = Zeroizing::new(hex.as_bytes().to_vec());
        bytes.push(b'\n');
        if fs::symlink_metadata(path).is_ok() {
            // Replace: the temp file is created 0600 and renamed over the old one.
            store::atomic_write(path, &bytes, store::PRIVATE_FILE)?;
        } else {
            store::create_private_new(path, &bytes)?;
        }
        Ok(Token(hex))
    }

    fn load_existing(path: &Path) -> Result<Option<Token>> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("inspecting {}", path.display())),
        };
        if !meta.is_file() || meta.uid() != store::current_uid() || meta.mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "token file not private; writing a new token");
            return Ok(None);
        }
        let text = Zeroizing::new(store::read_to_string(path)?);
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            tracing::warn!(path = %path.display(), "token file malformed; writing a new token");
            return Ok(None);
        }
        Ok(Some(Token(Zeroizing::new(t.to_string()))))
    }

    /// Does an `Authorization` header value carry this token? Constant time in the token bytes.
    pub fn verify(&self, authorization: Option<&str>) -> bool {
        let Some(v) = authorization else { return false };
        let v = v.trim();
        let Some((scheme, presented)) = v.split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return false;
        }
        let presented = presented.trim().as_bytes();
        let expected = self.0.as_bytes();
        // ct_eq on slices of different lengths is false without comparing contents.
        bool::from(presented.ct_eq(expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_private_reused_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("serve.token");
        let a = Token::load_or_create(&p, false).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let b = Token::load_or_create(&p, false).unwrap();
        assert_eq!(*a.0, *b.0);
        let c = Token::load_or_create(&p, true).unwrap();
        assert_ne!(*a.0, *c.0);
        assert!(c.verify(Some(&format!("Bearer {}", *c.0))));
        assert!(c.verify(Some(&format!("bearer  {}", *c.0))));
        assert!(!c.verify(Some(&format!("Bearer {}", *a.0))));
        assert!(!c.verify(Some(&format!("Basic {}", *c.0))));
        assert!(!c.verify(None));
    }
}
