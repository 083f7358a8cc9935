//! Issuing and validating access tokens; the JWKS and OpenID discovery documents.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_crypto::RsaSignAlgorithm;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Identity;
use crate::error::{IdentityError, TokenError};
use crate::model::Principal;
use crate::tokens::{Claims, check_times, encode_jwt, normalize_audience, parse};

/// A freshly issued token.
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until expiry, as OAuth reports it.
    pub expires_in: u64,
    /// Expiry, unix seconds.
    pub expires_on: u64,
    /// The audience it was issued for.
    pub resource: String,
}

/// What an API requires of a token.
#[derive(Debug, Clone)]
pub struct Expectation<'a> {
    /// Accepted audiences (any of them).
    pub audiences: &'a [String],
    /// The tenant the target resource belongs to, when known.
    pub tenant: Option<Uuid>,
}

/// The caller behind a valid token.
#[derive(Debug, Clone)]
pub struct AuthenticatedPrincipal {
    /// The principal, as stored now.
    pub principal: Principal,
    /// The token's claims.
    pub claims: Claims,
}

impl Identity {
    /// Maps a scope (`{resource}/.default`, or a bare resource) to a configured audience.
    pub fn audience_for_scope(&self, scope: &str) -> Result<String, IdentityError> {
        let first = scope.split_whitespace().next().unwrap_or_default();
        let resource = first.strip_suffix("/.default").unwrap_or(first);
        let wanted = normalize_audience(resource);
        self.settings
            .audiences
            .iter()
            .find(|a| normalize_audience(a) == wanted)
            .cloned()
            .ok_or_else(|| IdentityError::InvalidScope(first.chars().take(200).collect()))
    }

    /// Issues a token for `principal` and `scope` (a configured audience).
    pub async fn issue_token(
        &self,
        principal: &Principal,
        scope: &str,
    ) -> Result<IssuedToken, IdentityError> {
        let audience = self.audience_for_scope(scope)?;
        self.mint(principal, audience, false).await
    }

    /// Issues a token for one of keyhold's own in-process service calls on behalf of
    /// `principal` (a managed identity), for `audience`: a local vault's, or a remote vault's
    /// own audience (which need not be one this keyhold accepts). It carries the service
    /// marker that a vault firewall's trusted-services bypass requires; it is never handed to
    /// a client.
    pub async fn issue_service_token(
        &self,
        principal: &Principal,
        audience: &str,
    ) -> Result<IssuedToken, IdentityError> {
        if !matches!(
            principal.kind,
            crate::model::PrincipalKind::SystemAssigned { .. }
                | crate::model::PrincipalKind::UserAssigned { .. }
        ) {
            return Err(IdentityError::InvalidName {
                what: "principal",
                reason: "service tokens are for managed identities only".into(),
            });
        }
        self.mint(principal, audience.trim_end_matches('/').to_owned(), true)
            .await
    }

    async fn mint(
        &self,
        principal: &Principal,
        audience: String,
        service: bool,
    ) -> Result<IssuedToken, IdentityError> {
        if !principal.enabled {
            return Err(IdentityError::PrincipalDisabled(
                principal.client_id.to_string(),
            ));
        }
        let now = Self::now();
        let exp = now + self.settings.token_lifetime_secs;
        let claims = Claims {
            aud: audience.clone(),
            iss: self.issuer(principal.tenant_id),
            iat: now,
            nbf: now,
            exp,
            sub: principal.object_id.to_string(),
            oid: principal.object_id.to_string(),
            tid: principal.tenant_id.to_string(),
            appid: principal.client_id.to_string(),
            azp: principal.client_id.to_string(),
            idtyp: "app".into(),
            ver: "2.0".into(),
            uti: URL_SAFE_NO_PAD.encode(keyhold_crypto::random_bytes(16)?),
            keyhold_service: service,
        };
        let key = self.keys.active(principal.tenant_id, now).await?;
        let access_token = encode_jwt(&key.kid, &claims, |input| {
            key.key.sign(RsaSignAlgorithm::Rs256, input)
        })?;
        Ok(IssuedToken {
            access_token,
            expires_in: exp - now - 1,
            expires_on: exp,
            resource: audience,
        })
    }

    /// Validates a bearer token now.
    pub async fn validate_token(
        &self,
        token: &str,
        expect: &Expectation<'_>,
    ) -> Result<AuthenticatedPrincipal, TokenError> {
        self.validate_token_at(token, expect, Self::now()).await
    }

    /// Validates a bearer token at time `now`: shape and algorithm, signing key, signature,
    /// issuer, audience, times, tenant, and the principal's current existence and state.
    pub async fn validate_token_at(
        &self,
        token: &str,
        expect: &Expectation<'_>,
        now: u64,
    ) -> Result<AuthenticatedPrincipal, TokenError> {
        if let Some((claims, tenant)) = self.verified_tokens.get(token) {
            return self.check_local(claims, tenant, expect, now).await;
        }
        let unverified = parse(token)?;
        let kid = unverified
            .header
            .kid
            .clone()
            .ok_or(TokenError::Malformed("no kid"))?;
        let kid = kid.as_str();
        if let Some(external) = &self.external
            && let Some(trusted) = external.find(&unverified.claims.iss)
        {
            return self
                .validate_external(token, unverified, (external, trusted), kid, expect, now)
                .await;
        }
        match self.tenant(unverified.tenant).await {
            Ok(_) => {}
            Err(IdentityError::TenantNotFound(_)) => return Err(TokenError::UnknownSigningKey),
            Err(_) => return Err(TokenError::Unavailable),
        }
        let key = self
            .keys
            .public_key(unverified.tenant, kid, now)
            .await
            .map_err(|_| TokenError::Unavailable)?
            .ok_or(TokenError::UnknownSigningKey)?;
        unverified.verify_signature(token, &key)?;
        self.verified_tokens
            .insert(token, &unverified.claims, unverified.tenant, now);
        self.check_local(unverified.claims, unverified.tenant, expect, now)
            .await
    }

    /// The checks made on every request for a locally issued token whose signature verified:
    /// issuer, audience, times, tenant, and the principal's current existence and state.
    async fn check_local(
        &self,
        claims: crate::tokens::Claims,
        tenant: Uuid,
        expect: &Expectation<'_>,
        now: u64,
    ) -> Result<AuthenticatedPrincipal, TokenError> {
        if claims.iss != self.issuer(tenant) {
            return Err(TokenError::InvalidIssuer);
        }
        let aud = normalize_audience(&claims.aud);
        if !expect
            .audiences
            .iter()
            .any(|a| normalize_audience(a) == aud)
        {
            return Err(TokenError::InvalidAudience(
                claims.aud.chars().take(100).collect(),
            ));
        }
        check_times(&claims, now, self.settings.clock_skew_secs)?;
        if expect.tenant.is_some_and(|t| t != tenant) {
            return Err(TokenError::WrongTenant);
        }
        let oid =
            Uuid::parse_str(&claims.oid).map_err(|_| TokenError::Malformed("oid is not a GUID"))?;
        let principal = match self.principal(oid).await {
            Ok(p) => p,
            Err(IdentityError::PrincipalNotFound(_)) => return Err(TokenError::PrincipalNotFound),
            Err(_) => return Err(TokenError::Unavailable),
        };
        if principal.tenant_id != tenant {
            return Err(TokenError::WrongTenant);
        }
        if !principal.enabled {
            return Err(TokenError::PrincipalDisabled);
        }
        Ok(AuthenticatedPrincipal { principal, claims })
    }

    async fn validate_external(
        &self,
        token: &str,
        unverified: crate::tokens::Unverified,
        (external, trusted): (
            &crate::external::ExternalIssuers,
            &crate::external::TrustedIssuer,
        ),
        kid: &str,
        expect: &Expectation<'_>,
        now: u64,
    ) -> Result<AuthenticatedPrincipal, TokenError> {
        let key = external.key(&trusted.issuer, kid).await?;
        unverified.verify_signature(token, &key)?;
        let mut claims = unverified.claims;
        // Only this keyhold's own service calls are trusted services.
        claims.keyhold_service = false;
        let aud = normalize_audience(&claims.aud);
        if !expect
            .audiences
            .iter()
            .any(|a| normalize_audience(a) == aud)
        {
            return Err(TokenError::InvalidAudience(
                claims.aud.chars().take(100).collect(),
            ));
        }
        check_times(&claims, now, self.settings.clock_skew_secs)?;
        if expect.tenant.is_some_and(|t| t != trusted.tenant) {
            return Err(TokenError::WrongTenant);
        }
        let oid =
            Uuid::parse_str(&claims.oid).map_err(|_| TokenError::Malformed("oid is not a GUID"))?;
        let client = Uuid::parse_str(&claims.appid).unwrap_or(Uuid::nil());
        // External principals live in their own namespace: an issuer may name any `oid`,
        // including a local principal's, so the local object id is derived from the pair.
        let principal = Principal {
            object_id: crate::external::external_object_id(&trusted.issuer, oid),
            tenant_id: trusted.tenant,
            client_id: client,
            display_name: format!("external principal of {}", trusted.issuer),
            enabled: true,
            created: claims.iat,
            kind: crate::model::PrincipalKind::External {
                issuer: trusted.issuer.clone(),
            },
            secrets: vec![],
        };
        Ok(AuthenticatedPrincipal { principal, claims })
    }

    /// The tenant's JSON Web Key Set.
    pub async fn jwks(&self, tenant: Uuid) -> Result<Value, IdentityError> {
        self.tenant(tenant).await?;
        let now = Self::now();
        let keys = self
            .keys
            .published(
                tenant,
                now,
                self.settings.token_lifetime_secs + self.settings.clock_skew_secs,
            )
            .await?;
        let keys: Vec<Value> = keys
            .into_iter()
            .map(|(kid, key)| {
                json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                    "n": URL_SAFE_NO_PAD.encode(key.n()), "e": URL_SAFE_NO_PAD.encode(key.e()),
                    "issuer": self.issuer(tenant),
                })
            })
            .collect();
        Ok(json!({ "keys": keys }))
    }

    /// Retires the tenant's signing key and starts a new one. Tokens signed by the old key
    /// stay valid until they expire.
    pub async fn rotate_signing_key(&self, tenant: Uuid) -> Result<String, IdentityError> {
        self.tenant(tenant).await?;
        self.keys.rotate(tenant, Self::now()).await
    }

    /// The OpenID Connect discovery document MSAL reads.
    pub async fn openid_configuration(&self, tenant: Uuid) -> Result<Value, IdentityError> {
        self.tenant(tenant).await?;
        let base = format!("{}/{tenant}", self.settings.authority);
        Ok(json!({
            "issuer": self.issuer(tenant),
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
            "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
            "jwks_uri": format!("{base}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "appid", "azp", "ver"],
            "request_uri_parameter_supported": false,
            "tenant_region_scope": null,
            "cloud_instance_name": "localhost",
            "cloud_graph_host_name": "graph.localhost",
            "msgraph_host": "graph.localhost",
            "rbac_url": self.settings.authority,
        }))
    }
}
