//! `serve --auth`: HTTP Basic authentication (RFC 7617). A [`Credential`]
//! is parsed from a `USER:PASSWORD` spec where the password may be given
//! clear, as `sha256:HEX`, or as an argon2 (`$argon2...`) or bcrypt
//! (`$2b$...`) hash string, so no clear password need sit in shell history.
//!
//! Clear and `sha256:` secrets are kept as SHA-256 digests and compared in
//! constant time. Argon2 and bcrypt are slow on purpose, and the event loop
//! must not pay that on every request of a keep-alive client: a successful
//! slow verification is remembered per loop (a thread-local table of at
//! most [`CACHE_CAP`] SHA-256 digests of the `Authorization` value, cleared
//! when full), so a repeat of the same header costs one SHA-256.
//! A leaf: it uses nothing else in the crate.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

/// The challenge sent with every 401 (RFC 7617 sections 2 and 2.1).
pub const CHALLENGE: &str = "Basic realm=\"wirecat\", charset=\"UTF-8\"";
/// Successful slow verifications remembered per loop.
pub const CACHE_CAP: usize = 64;

/// One `--auth` user.
#[derive(Clone)]
pub struct Credential {
    user: String,
    secret: Secret,
}

#[derive(Clone)]
enum Secret {
    /// SHA-256 of the password (clear or `sha256:HEX`).
    Digest([u8; 32]),
    /// A PHC string, checked to parse at startup.
    Argon2(String),
    /// A `$2b$` (or `$2a$`, `$2y$`) string, checked to parse at startup.
    Bcrypt(String),
}

/// Never prints the secret, not even a hash of it.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({:?}, <secret>)", self.user)
    }
}

/// What the `Authorization` header of a request proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid, and known to this loop already (or cheap to check).
    Allowed,
    /// Valid, verified now by a slow hash.
    Verified,
    /// No Basic credentials at all: a first request, not an attack.
    Missing,
    /// Credentials that match no user.
    Wrong,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Equality of two digests whose time does not depend on where they differ.
pub fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Parses `USER:PASSWORD`; the error says what is wrong without echoing
/// the password.
pub fn parse_spec(spec: &str) -> Result<Credential, String> {
    let (user, pass) = spec
        .split_once(':')
        .ok_or("--auth: expected USER:PASSWORD")?;
    if user.is_empty() || user.chars().any(char::is_control) {
        return Err("--auth: the user name must be non-empty, without control characters".into());
    }
    let secret = if let Some(hex) = pass.strip_prefix("sha256:") {
        Secret::Digest(parse_hex(hex).ok_or(format!(
            "--auth {user}: sha256: needs 64 hex digits (the SHA-256 of the password)"
        ))?)
    } else if pass.starts_with("$argon2") {
        argon2::PasswordHash::new(pass)
            .map_err(|e| format!("--auth {user}: not an argon2 hash string: {e}"))?;
        Secret::Argon2(pass.to_string())
    } else if pass.starts_with("$2") {
        pass.parse::<bcrypt::HashParts>()
            .map_err(|e| format!("--auth {user}: not a bcrypt hash string: {e}"))?;
        Secret::Bcrypt(pass.to_string())
    } else if pass.is_empty() {
        return Err(format!("--auth {user}: the password is empty"));
    } else {
        Secret::Digest(sha256(pass.as_bytes()))
    };
    Ok(Credential {
        user: user.to_string(),
        secret,
    })
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// The user and password of a `Basic` credential (scheme case-insensitive,
/// RFC 7617 section 2); `None` for any other scheme or a malformed one.
pub fn basic_credentials(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    Some((raw[..colon].to_vec(), raw[colon + 1..].to_vec()))
}

impl Credential {
    /// Whether `user`/`pass` are this credential's. The user names are
    /// compared by digest in constant time; a slow hash is only run for
    /// the right user, so a wrong name costs no argon2 or bcrypt.
    fn matches(&self, user: &[u8], pass: &[u8]) -> bool {
        if !ct_eq(&sha256(user), &sha256(self.user.as_bytes())) {
            return false;
        }
        match &self.secret {
            Secret::Digest(d) => ct_eq(&sha256(pass), d),
            Secret::Argon2(phc) => {
                use argon2::PasswordVerifier;
                argon2::Argon2::default()
                    .verify_password(pass, phc.as_str())
                    .is_ok()
            }
            Secret::Bcrypt(h) => bcrypt::verify(pass, h).unwrap_or(false),
        }
    }

    fn is_slow(&self) -> bool {
        !matches!(self.secret, Secret::Digest(_))
    }
}

thread_local! {
    /// Digests of `Authorization` values a slow hash accepted on this loop.
    static VERIFIED: RefCell<HashMap<[u8; 32], ()>> = RefCell::new(HashMap::new());
}

/// Checks a request's `Authorization` value against the users.
pub fn check(creds: &[Credential], header: Option<&[u8]>) -> Verdict {
    let Some(value) = header else {
        return Verdict::Missing;
    };
    let Some((user, pass)) = basic_credentials(value) else {
        return Verdict::Missing;
    };
    let key = sha256(value);
    if VERIFIED.with(|v| v.borrow().contains_key(&key)) {
        return Verdict::Allowed;
    }
    let Some(cred) = creds.iter().find(|c| c.matches(&user, &pass)) else {
        return Verdict::Wrong;
    };
    if !cred.is_slow() {
        return Verdict::Allowed;
    }
    VERIFIED.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= CACHE_CAP {
            v.clear();
        }
        v.insert(key, ());
    });
    Verdict::Verified
}

/// A request-target with any `user:pass@` of an absolute-form URL removed,
/// for the access log.
pub fn redact_target(target: &str) -> Cow<'_, str> {
    let Some(scheme_end) = target.find("://") else {
        return Cow::Borrowed(target);
    };
    let rest = &target[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{}", &target[..scheme_end + 3], &rest[at + 1..])),
        None => Cow::Borrowed(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, pass: &str) -> Vec<u8> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        format!("Basic {token}").into_bytes()
    }

    fn hex(d: [u8; 32]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn specs() {
        let sha = format!("bob:sha256:{}", hex(sha256(b"pw")));
        for good in ["ann:pw", "ann:a:b:c", sha.as_str()] {
            assert!(parse_spec(good).is_ok(), "{good}");
        }
        let bad = [
            ("nocolon", "expected USER:PASSWORD"),
            (":pw", "user name"),
            ("ann:", "empty"),
            ("ann:sha256:abc", "64 hex digits"),
            ("ann:$argon2id$nonsense", "not an argon2"),
            ("ann:$2b$nonsense", "not a bcrypt"),
        ];
        for (spec, want) in bad {
            let e = parse_spec(spec).unwrap_err();
            assert!(e.contains(want), "{spec}: {e}");
            assert!(!e.contains("nonsense"), "the secret is not echoed: {e}");
        }
        assert!(!format!("{:?}", parse_spec("ann:hunter2").unwrap()).contains("hunter2"));
    }

    #[test]
    fn constant_time_compare() {
        let a = sha256(b"a");
        let mut b = a;
        assert!(ct_eq(&a, &b));
        for i in [0, 15, 31] {
            b = a;
            b[i] ^= 1;
            assert!(!ct_eq(&a, &b), "{i}");
        }
    }

    #[test]
    fn basic_header_parsing() {
        assert_eq!(
            basic_credentials(&header("ann", "p:w")),
            Some((b"ann".to_vec(), b"p:w".to_vec()))
        );
        assert!(basic_credentials(b"bAsIc YW5uOnB3").is_some());
        for bad in [&b"Bearer x"[..], b"Basic !!!", b"Basic YW5u", b"Basic", b""] {
            assert_eq!(basic_credentials(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn each_hash_kind() {
        use argon2::password_hash::PasswordHasher;
        let params = argon2::Params::new(1024, 1, 1, None).unwrap();
        let a2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, Default::default(), params)
            .hash_password_with_salt(b"pw", b"saltsaltsalt")
            .unwrap()
            .to_string();
        let bc = bcrypt::hash("pw", 4).unwrap();
        let specs = [
            "u1:pw".to_string(),
            format!("u2:sha256:{}", hex(sha256(b"pw"))),
            format!("u3:{a2}"),
            format!("u4:{bc}"),
        ];
        let creds: Vec<_> = specs.iter().map(|s| parse_spec(s).unwrap()).collect();
        let cases = [
            ("u1", "pw", Verdict::Allowed),
            ("u2", "pw", Verdict::Allowed),
            ("u3", "pw", Verdict::Verified),
            ("u3", "pw", Verdict::Allowed), // remembered
            ("u4", "pw", Verdict::Verified),
            ("u1", "no", Verdict::Wrong),
            ("u3", "no", Verdict::Wrong),
            ("u4", "no", Verdict::Wrong),
            ("nobody", "pw", Verdict::Wrong),
        ];
        for (user, pass, want) in cases {
            assert_eq!(
                check(&creds, Some(&header(user, pass))),
                want,
                "{user}:{pass}"
            );
        }
        assert_eq!(check(&creds, None), Verdict::Missing);
    }

    #[test]
    fn userinfo_is_not_logged() {
        let cases = [
            ("/a@b", "/a@b"),
            ("http://u:p@h/x", "http://h/x"),
            ("http://u:p@h", "http://h"),
            ("http://h/x@y", "http://h/x@y"),
            ("*", "*"),
        ];
        for (target, want) in cases {
            assert_eq!(redact_target(target), want, "{target}");
        }
    }
}
