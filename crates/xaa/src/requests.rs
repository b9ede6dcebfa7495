//! [`OktaClient`]'s requests beyond the two legs of the bridge: a token exchange for
//! any [`Resource`], the client credentials grant, and the revocation of a third-party
//! token. They share the client's key, retry policy and typed errors.

use crate::client::{Authn, Error, OktaClient};
use crate::client_credentials::{ClientAuth, ClientCredentialsRequest};
use crate::credentials::{Credential, Resource, Secret, Subject, SubjectTokenType};
use crate::deadline::Deadline;
use crate::grants;
use crate::org::OktaConfig;
use crate::rejection::{Leg, OktaError, Rejection};
use crate::resources::parse_credential;
use crate::response::parse_success;
use crate::sensitive::AccessToken;

impl OktaConfig {
    /// The org authorization server's revocation endpoint: `{base}/oauth2/v1/revoke`.
    pub fn org_revoke_url(&self) -> String {
        format!("{}/oauth2/v1/revoke", self.base_url)
    }
}

impl OktaClient {
    pub fn config(&self) -> &OktaConfig {
        &self.cfg
    }

    /// A token exchange at the org authorization server for `resource`, signed with the
    /// agent's key. `interaction_required` is [`OktaError::ConsentRequired`]; the same
    /// call succeeds once the person consented.
    pub async fn exchange_credential(
        &self,
        subject: &Subject,
        resource: &Resource,
        deadline: Deadline,
    ) -> Result<Credential, Error> {
        let leg = resource.leg();
        let authn = Authn::Key {
            client_id: &self.cfg.agent_client_id,
            act: None,
        };
        let pairs = grants::credential_exchange_pairs(subject, resource);
        let parsed = self
            .send(
                leg,
                &self.cfg.org_token_url,
                deadline,
                authn,
                |auth| grants::form(&pairs, auth),
                |body| parse_credential(resource, body),
            )
            .await
            .map_err(|e| subject_refused(e, subject.kind))?;
        let token = match &parsed.secret {
            Secret::IdJag(t) => t.expose(),
            Secret::AccessToken(t) => t.expose(),
            _ => "",
        };
        Ok(Credential {
            expires_at: self.expiry(leg, parsed.expires_in, token)?,
            secret: parsed.secret,
            issued_token_type: Some(parsed.issued_token_type),
            scope: parsed.scope,
        })
    }

    /// The client credentials grant at the request's custom authorization server.
    /// `private_key_jwt` signs with this client's key (its `kid`), whatever the client id.
    pub async fn client_credentials(
        &self,
        request: &ClientCredentialsRequest,
        deadline: Deadline,
    ) -> Result<Credential, Error> {
        let leg = Leg::ClientCredentials;
        let authn = match &request.auth {
            ClientAuth::PrivateKeyJwt => Authn::Key {
                client_id: &request.client_id,
                act: request.act.as_ref(),
            },
            auth => Authn::Secret {
                client_id: &request.client_id,
                auth,
                act: request.act.as_ref(),
            },
        };
        let pairs = grants::client_credentials_pairs(request);
        let issued = self
            .send(
                leg,
                &request.token_url,
                deadline,
                authn,
                |auth| grants::form(&pairs, auth),
                |body| parse_success(leg, body),
            )
            .await?;
        Ok(Credential {
            expires_at: self.expiry(leg, issued.expires_in, &issued.token)?,
            secret: Secret::AccessToken(AccessToken::new(issued.token.as_str())),
            issued_token_type: None,
            scope: issued.scope,
        })
    }

    /// Revoke a third-party (`oauth-sts`) token at the org authorization server
    /// (RFC 7009, `token_type_hint=oauth_sts`). Vaulted secrets and service accounts
    /// have no revocation.
    pub async fn revoke_oauth_sts(
        &self,
        token: &AccessToken,
        deadline: Deadline,
    ) -> Result<(), Error> {
        let authn = Authn::Key {
            client_id: &self.cfg.agent_client_id,
            act: None,
        };
        let pairs = grants::revoke_pairs(token);
        self.send(
            Leg::Revoke,
            &self.cfg.org_revoke_url(),
            deadline,
            authn,
            |auth| grants::form(&pairs, auth),
            |_| Ok(()),
        )
        .await
    }
}

/// For machine access the subject is an access token, so Okta's `invalid_grant` on an
/// ID-JAG request is not about an ID token: name it for what it is.
fn subject_refused(error: Error, kind: SubjectTokenType) -> Error {
    match error {
        Error::Okta(OktaError::Rejected {
            leg,
            status,
            code,
            rejection: Rejection::IdTokenRejected,
        }) if kind == SubjectTokenType::AccessToken => Error::Okta(OktaError::Rejected {
            leg,
            status,
            code,
            rejection: Rejection::SubjectTokenRejected,
        }),
        other => other,
    }
}
