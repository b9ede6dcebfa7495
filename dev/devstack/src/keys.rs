//! Fresh RSA signing keys, generated at start, and their JWK forms.
//!
//! aws-lc-rs generates the key and exports PKCS#8; `pkcs8`/`pkcs1` unwrap it to the
//! RSA parameters a private JWK carries. Keys never touch the disk.

use std::io;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{json, Value};

/// One RSA 2048 key with its key id, ready to sign (RS256) and verify.
pub(crate) struct RsaKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub public_jwk: Value,
    pub private_jwk: Value,
}

fn other(what: &str) -> io::Error {
    io::Error::other(format!("devstack: {what}"))
}

impl RsaKey {
    pub fn generate(kid: &str) -> io::Result<RsaKey> {
        let pair =
            KeyPair::generate(KeySize::Rsa2048).map_err(|_| other("RSA key generation failed"))?;
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .map_err(|_| other("PKCS#8 export failed"))?;
        let info = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_ref())
            .map_err(|_| other("PKCS#8 parse failed"))?;
        let rsa = pkcs1::RsaPrivateKey::try_from(info.private_key)
            .map_err(|_| other("PKCS#1 parse failed"))?;
        let b64 = |u: pkcs1::UintRef<'_>| URL_SAFE_NO_PAD.encode(u.as_bytes());
        let (n, e) = (b64(rsa.modulus), b64(rsa.public_exponent));
        let public_jwk =
            json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e});
        let private_jwk = json!({
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e,
            "d": b64(rsa.private_exponent), "p": b64(rsa.prime1), "q": b64(rsa.prime2),
            "dp": b64(rsa.exponent1), "dq": b64(rsa.exponent2), "qi": b64(rsa.coefficient),
        });
        Ok(RsaKey {
            kid: kid.to_string(),
            // jsonwebtoken's RSA signer takes PKCS#1 DER, which is what PKCS#8 wraps.
            encoding: EncodingKey::from_rsa_der(info.private_key),
            decoding: DecodingKey::from_rsa_raw_components(
                rsa.modulus.as_bytes(),
                rsa.public_exponent.as_bytes(),
            ),
            public_jwk,
            private_jwk,
        })
    }

    /// Sign `claims` with RS256 and this key's `kid` (and `typ` when given).
    pub fn sign(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("RS256 signing with a generated key cannot fail")
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk] })
    }
}

/// A short random suffix, so keys from different runs get different `kid`s.
pub(crate) fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_jwk_signs_tokens_the_public_jwk_verifies() {
        let key = RsaKey::generate("k1").unwrap();
        let jwt = key.sign(None, &json!({"sub": "x"}));
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
        let mut v = jsonwebtoken::Validation::new(Algorithm::RS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
        for field in [
            "n", "e", "d", "p", "q", "dp", "dq", "qi", "kid", "alg", "kty",
        ] {
            assert!(key.private_jwk[field].is_string(), "{field}");
        }
        assert!(key.public_jwk.get("d").is_none());
    }
}
