//! Strict parsing of what the org authorization server issues for each [`Resource`]:
//! `issued_token_type` must repeat the requested type; a vaulted secret needs
//! `vaulted_secret` (a small map of strings), a service account both `username` and
//! `password`, a token a non-empty `access_token`. Everything else is a protocol error
//! whose reason never repeats a value of the body.

use std::collections::BTreeMap;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::credentials::{Resource, Secret, SecretMap};
use crate::rejection::OktaError;
use crate::response::{is_json_object, parse_expires_in};
use crate::sensitive::{AccessToken, IdJag, SecretValue};

/// At most this many values in a vaulted secret.
pub const MAX_SECRET_FIELDS: usize = 64;
/// The longest name of a secret value.
pub const MAX_SECRET_NAME_BYTES: usize = 128;
/// The longest secret value (a key file fits; the whole answer is capped at 64 KiB).
pub const MAX_SECRET_VALUE_BYTES: usize = 16 * 1024;

/// A JSON value that is either a string (kept in a zeroizing buffer) or anything else
/// (skipped without being copied), so a wrong type is a reason, not a parse failure.
enum Text {
    Str(Zeroizing<String>),
    NotText,
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text::Str(Zeroizing::new(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text, E> {
                Ok(Text::Str(Zeroizing::new(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text::NotText)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
                Ok(Text::NotText)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
                Ok(Text::NotText)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
                Ok(Text::NotText)
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text::NotText)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::NotText)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::NotText)
            }
        }
        d.deserialize_any(V)
    }
}

impl Text {
    fn non_empty(self) -> Option<Zeroizing<String>> {
        match self {
            Text::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// The members of a JSON object in order (duplicates kept, so they can be refused),
/// or `None` for any other JSON value.
struct Entries(Option<Vec<(String, Text)>>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Text>()? {
                    out.push(entry);
                }
                Ok(Entries(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Entries(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_unit<E>(self) -> Result<Entries, E> {
                Ok(Entries(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct CredentialBody {
    access_token: Option<Text>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    issued_token_type: Option<String>,
    scope: Option<String>,
    vaulted_secret: Option<Entries>,
    service_account: Option<Entries>,
}

/// A credential as parsed, before its expiry is worked out.
#[derive(Debug)]
pub struct ParsedCredential {
    pub secret: Secret,
    pub issued_token_type: &'static str,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

/// Parse a 2xx answer to a token exchange for `resource`.
pub fn parse_credential(resource: &Resource, body: &[u8]) -> Result<ParsedCredential, OktaError> {
    let leg = resource.leg();
    let protocol = |reason: &str| OktaError::Protocol {
        leg,
        reason: reason.to_string(),
    };
    if !is_json_object(body) {
        return Err(protocol("the body is not a JSON token response"));
    }
    let parsed: CredentialBody = serde_json::from_slice(body)
        .map_err(|_| protocol("the body is not a JSON token response"))?;
    let requested = resource.requested_token_type();
    match parsed.issued_token_type.as_deref() {
        Some(issued) if issued == requested => {}
        Some(_) => {
            return Err(protocol(&format!(
                "issued_token_type is not the requested `{requested}`"
            )))
        }
        None => return Err(protocol("`issued_token_type` is missing")),
    }
    let token = || {
        parsed
            .access_token
            .and_then(Text::non_empty)
            .ok_or_else(|| protocol("`access_token` is missing, empty or not a string"))
    };
    let secret = match resource {
        Resource::IdJag { .. } => Secret::IdJag(IdJag::new(token()?.as_str())),
        Resource::OAuthSts { .. } => {
            if parsed
                .token_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("dpop"))
            {
                return Err(protocol(
                    "token_type is `DPoP`; a sender-constrained token cannot be used as a bearer token",
                ));
            }
            Secret::AccessToken(AccessToken::new(token()?.as_str()))
        }
        Resource::VaultedSecret { .. } => {
            let entries = parsed
                .vaulted_secret
                .ok_or_else(|| protocol("`vaulted_secret` is missing"))?;
            Secret::VaultedSecret(secret_map(entries).map_err(&protocol)?)
        }
        Resource::ServiceAccount { .. } => {
            let entries = parsed
                .service_account
                .and_then(|e| e.0)
                .ok_or_else(|| protocol("`service_account` is missing or not an object"))?;
            let (mut username, mut password) = (None, None);
            for (name, value) in entries {
                let slot = match name.as_str() {
                    "username" => &mut username,
                    "password" => &mut password,
                    _ => continue,
                };
                if slot.is_some() {
                    return Err(protocol("`service_account` names a member twice"));
                }
                *slot = Some(value);
            }
            let field = |v: Option<Text>, what: &str| {
                v.and_then(Text::non_empty)
                    .filter(|s| s.len() <= MAX_SECRET_VALUE_BYTES)
                    .map(|s| SecretValue::new(s.as_str()))
                    .ok_or_else(|| {
                        protocol(&format!(
                            "the service account's `{what}` is missing, empty, too long or not a string"
                        ))
                    })
            };
            Secret::ServiceAccount {
                username: field(username, "username")?,
                password: field(password, "password")?,
            }
        }
    };
    Ok(ParsedCredential {
        secret,
        issued_token_type: requested,
        expires_in: parse_expires_in(leg, parsed.expires_in)?,
        scope: parsed.scope,
    })
}

/// A vaulted secret's values: an object of 1 to [`MAX_SECRET_FIELDS`] string members
/// with printable, distinct names.
fn secret_map(entries: Entries) -> Result<SecretMap, &'static str> {
    let entries = entries.0.ok_or("`vaulted_secret` is not an object")?;
    if entries.is_empty() {
        return Err("`vaulted_secret` holds no values");
    }
    if entries.len() > MAX_SECRET_FIELDS {
        return Err("`vaulted_secret` holds more than 64 values");
    }
    let mut map = BTreeMap::new();
    for (name, value) in entries {
        let name_ok = !name.is_empty()
            && name.len() <= MAX_SECRET_NAME_BYTES
            && name.bytes().all(|b| (0x20..0x7f).contains(&b));
        if !name_ok {
            return Err(
                "a name in `vaulted_secret` is empty, longer than 128 bytes or not printable ASCII",
            );
        }
        let value = match value {
            Text::Str(s) if s.len() <= MAX_SECRET_VALUE_BYTES => SecretValue::new(s.as_str()),
            Text::Str(_) => return Err("a value in `vaulted_secret` is longer than 16 KiB"),
            Text::NotText => return Err("a value in `vaulted_secret` is not a string"),
        };
        if map.insert(name, value).is_some() {
            return Err("`vaulted_secret` names a value twice");
        }
    }
    Ok(SecretMap(map))
}
