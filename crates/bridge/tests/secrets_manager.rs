//! The signing key from Secrets Manager: through a real local server (moto) for the
//! happy paths, and through an SDK mock for the faults moto cannot produce.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::{InternalServiceError, ResourceNotFoundException};
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{mock, mock_client};
use bridge::SecretsManagerSource;
use testkit::*;
use xaa::{KeyError, KeySource, KeyStore};

#[tokio::test]
async fn the_key_is_read_from_a_real_secrets_manager_by_name_and_by_arn() {
    let moto = Moto::start();
    let arn = moto
        .put_secret("xaa/agent-key", &rfc7520_jwk().to_string())
        .await;
    for id in ["xaa/agent-key", arn.as_str()] {
        let source = Arc::new(SecretsManagerSource::new(moto.client(), id));
        let store = KeyStore::new(source, RFC7520_KID, Duration::from_secs(3600));
        let key = store.get().await.expect("key loads");
        assert_eq!(key.kid(), RFC7520_KID);
        // Cached: the second get is the same parsed key.
        assert!(Arc::ptr_eq(&key, &store.get().await.unwrap()));
    }
    let jwks = serde_json::json!({"keys": [rfc7520_jwk()]}).to_string();
    moto.put_secret("xaa/agent-jwks", &jwks).await;
    let store = KeyStore::new(
        Arc::new(SecretsManagerSource::new(moto.client(), "xaa/agent-jwks")),
        RFC7520_KID,
        Duration::from_secs(3600),
    );
    store
        .get()
        .await
        .expect("a JWKS with one private key loads");
}

#[tokio::test]
async fn a_missing_secret_and_a_public_only_key_are_key_errors_naming_no_material() {
    let moto = Moto::start();
    let source = SecretsManagerSource::new(moto.client(), "does/not/exist");
    assert_eq!(
        source.fetch().await.unwrap_err(),
        KeyError::SecretNotFound {
            secret_id: "does/not/exist".into()
        }
    );

    let mut public = rfc7520_jwk();
    public.as_object_mut().unwrap().remove("d");
    moto.put_secret("xaa/public-only", &public.to_string())
        .await;
    let store = KeyStore::new(
        Arc::new(SecretsManagerSource::new(moto.client(), "xaa/public-only")),
        RFC7520_KID,
        Duration::from_secs(3600),
    );
    let message = store.get().await.unwrap_err().to_string();
    assert!(message.contains("public key only"), "{message}");
    assert!(
        !message.contains(public["n"].as_str().unwrap()),
        "{message}"
    );
}

#[tokio::test]
async fn sdk_faults_become_key_errors() {
    let not_found = mock!(Client::get_secret_value).then_error(|| {
        GetSecretValueError::ResourceNotFoundException(
            ResourceNotFoundException::builder().message("nope").build(),
        )
    });
    let client = mock_client!(aws_sdk_secretsmanager, [&not_found]);
    let err = SecretsManagerSource::new(client, "s")
        .fetch()
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::SecretNotFound { .. }));

    let internal = mock!(Client::get_secret_value).then_error(|| {
        GetSecretValueError::InternalServiceError(
            InternalServiceError::builder().message("boom").build(),
        )
    });
    let client = mock_client!(aws_sdk_secretsmanager, [&internal]);
    let err = SecretsManagerSource::new(client, "s")
        .fetch()
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::SecretUnreadable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("secretsmanager:GetSecretValue"),
        "{err}"
    );

    let binary = mock!(Client::get_secret_value).then_output(|| {
        GetSecretValueOutput::builder()
            .secret_binary(aws_smithy_types::Blob::new(b"\x01\x02".to_vec()))
            .build()
    });
    let client = mock_client!(aws_sdk_secretsmanager, [&binary]);
    let err = SecretsManagerSource::new(client, "s")
        .fetch()
        .await
        .unwrap_err();
    assert!(matches!(err, KeyError::SecretNotText { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn the_key_is_reloaded_after_its_maximum_age() {
    let keys = StaticKeys::new(vec![Ok(rfc7520_jwk().to_string())]);
    let store = KeyStore::new(keys.clone(), RFC7520_KID, Duration::from_secs(60));
    store.get().await.unwrap();
    store.get().await.unwrap();
    assert_eq!(keys.fetches(), 1);
    tokio::time::advance(Duration::from_secs(61)).await;
    store.get().await.unwrap();
    assert_eq!(keys.fetches(), 2);
}

fn unreadable() -> Result<String, KeyError> {
    Err(KeyError::SecretUnreadable {
        secret_id: "xaa/agent-key".into(),
        code: "InternalServiceError".into(),
    })
}

#[tokio::test(start_paused = true)]
async fn an_aging_key_keeps_signing_while_a_refresh_fails_with_backoff_then_rotates() {
    let (key_a, _) = ec_p256_jwk("agent-key");
    let (key_b, public_b) = ec_p256_jwk("agent-key");
    let keys = StaticKeys::new(vec![
        Ok(key_a.to_string()),
        unreadable(),
        unreadable(),
        Ok(key_b.to_string()),
    ]);
    let store = KeyStore::new(keys.clone(), "agent-key", Duration::from_secs(60));
    let a = store.get().await.unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    // Too old, and Secrets Manager fails: key A keeps signing.
    assert!(Arc::ptr_eq(&store.get().await.unwrap(), &a));
    assert_eq!(keys.fetches(), 2);
    // Inside the back-off nobody fetches again.
    for _ in 0..20 {
        assert!(Arc::ptr_eq(&store.get().await.unwrap(), &a));
    }
    assert_eq!(keys.fetches(), 2, "every call must not retry the fetch");
    // After 5 s one retry (fails again), then 10 s of back-off.
    tokio::time::advance(Duration::from_secs(6)).await;
    assert!(Arc::ptr_eq(&store.get().await.unwrap(), &a));
    assert_eq!(keys.fetches(), 3);
    tokio::time::advance(Duration::from_secs(6)).await;
    store.get().await.unwrap();
    assert_eq!(keys.fetches(), 3, "the back-off doubled");
    // Secrets Manager is back with a rotated key: B signs, and verifies with B's public key.
    tokio::time::advance(Duration::from_secs(5)).await;
    let b = store.get().await.unwrap();
    assert_eq!(keys.fetches(), 4);
    assert!(!Arc::ptr_eq(&a, &b));
    let signed = b.sign(&serde_json::json!({"sub": "x"})).unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(public_b).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<serde_json::Value>(
        signed.expose(),
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .expect("signed with the rotated key B");
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_is_bounded() {
    let keys = StaticKeys::new(vec![Ok(rfc7520_jwk().to_string()), unreadable()]);
    let store = KeyStore::new(keys.clone(), RFC7520_KID, Duration::from_secs(60));
    store.get().await.unwrap();
    tokio::time::advance(Duration::from_secs(121)).await;
    let err = store.get().await.unwrap_err();
    assert!(matches!(err, KeyError::SecretUnreadable { .. }), "{err:?}");
}
