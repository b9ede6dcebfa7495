//! Newtypes for every secret the bridge handles: the user's ID token, the client
//! assertion, the ID-JAG, the access token and private key material.
//!
//! They have a hand-written redacted `Debug`, no `Display`, no `Serialize`, and wipe
//! their memory on drop, so a stray `{:?}` or `tracing` field can never leak one.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Arc<Zeroizing<String>>);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(Arc::new(Zeroizing::new(value.into())))
            }

            /// The raw value, for the one place that must put it on the wire.
            pub fn expose(&self) -> &str {
                self.0.as_str()
            }

            pub fn len(&self) -> usize {
                self.0.len()
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "(<redacted {} bytes>)"), self.0.len())
            }
        }
    };
}

secret_string!(
    /// The signed-in user's OIDC ID token, as received in the event.
    IdToken,
    "IdToken"
);
secret_string!(
    /// A `private_key_jwt` client assertion (RFC 7523), single use.
    ClientAssertion,
    "ClientAssertion"
);
secret_string!(
    /// The Identity Assertion JWT Authorization Grant returned by leg 1.
    IdJag,
    "IdJag"
);
secret_string!(
    /// The scoped access token returned by leg 2 and handed to the agent.
    AccessToken,
    "AccessToken"
);

secret_string!(
    /// The subject token of a token exchange: the person's ID token (user access) or an
    /// access token of a custom authorization server (machine access).
    SubjectToken,
    "SubjectToken"
);
secret_string!(
    /// One value of a vaulted secret, or a service account's username or password.
    SecretValue,
    "SecretValue"
);
secret_string!(
    /// A client secret (client credentials grant): from Secrets Manager or a file,
    /// never from a command line.
    ClientSecret,
    "ClientSecret"
);

/// Raw private key bytes (DER or JWK text); wiped on drop, never printable.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for SecretBytes {
    /// Takes the string's buffer as is: no copy is left behind to wipe.
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<redacted {} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_of_every_secret_is_redacted() {
        let raw = "eyJhbGciOiJSUzI1NiJ9.secret-payload.signature";
        assert_eq!(
            format!("{:?}", IdToken::new(raw)),
            "IdToken(<redacted 45 bytes>)"
        );
        assert_eq!(
            format!("{:?}", ClientAssertion::new(raw)),
            "ClientAssertion(<redacted 45 bytes>)"
        );
        assert_eq!(
            format!("{:?}", IdJag::new(raw)),
            "IdJag(<redacted 45 bytes>)"
        );
        assert_eq!(
            format!("{:?}", AccessToken::new(raw)),
            "AccessToken(<redacted 45 bytes>)"
        );
        for shown in [
            format!("{:?}", SubjectToken::new(raw)),
            format!("{:?}", SecretValue::new(raw)),
            format!("{:?}", ClientSecret::new(raw)),
        ] {
            assert!(shown.ends_with("(<redacted 45 bytes>)"), "{shown}");
        }
        assert_eq!(
            format!("{:?}", SecretBytes::from(raw.to_string())),
            "SecretBytes(<redacted 45 bytes>)"
        );
        // Nested in a struct and pretty-printed, still nothing leaks.
        let nested = format!("{:#?}", Some((IdToken::new(raw), AccessToken::new(raw))));
        assert!(!nested.contains("secret-payload"), "{nested}");
    }

    #[test]
    fn expose_returns_the_exact_value() {
        assert_eq!(AccessToken::new("abc").expose(), "abc");
        assert_eq!(SecretBytes::new(vec![1, 2]).expose(), &[1, 2]);
    }
}
