//! The token service end to end over a real store: issue → validate for each audience, and the
//! negative suite, each case with its own error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{MGMT, VAULT, identity_in, identity_over as identity_with_authority};
use keyhold_identity::{
    BootstrapOutcome, Expectation, Identity, IdentityError, InvalidClientReason, TokenError,
};
use keyhold_store::RedbRecordStore;

fn expect(aud: &[String]) -> Expectation<'_> {
    Expectation {
        audiences: aud,
        tenant: None,
    }
}

fn tamper_claims(token: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    f(&mut claims);
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

#[tokio::test]
async fn bootstrap_issue_validate_and_every_negative_case() {
    let dir = tempfile::tempdir().unwrap();
    let records = Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let id = identity_with_authority(records.clone(), "https://localhost:8443");
    // Same directory and keys, other authority: validly signed tokens with another issuer.
    let elsewhere = identity_with_authority(records, "https://elsewhere:9443");
    let BootstrapOutcome::Created {
        tenant,
        subscription,
        admin,
        secret,
    } = id.bootstrap().await.unwrap()
    else {
        panic!("first bootstrap creates");
    };
    assert!(
        matches!(
            id.bootstrap().await.unwrap(),
            BootstrapOutcome::Existing { .. }
        ),
        "idempotent"
    );
    assert!(
        id.check_access(
            admin.object_id,
            &format!("/subscriptions/{}", subscription.id),
            "Microsoft.Resources/subscriptions/resourceGroups/write"
        )
        .await
        .unwrap()
    );

    // Client credentials.
    let p = id
        .authenticate_client_secret(
            tenant.id,
            &admin.client_id.to_string(),
            secret.expose_secret(),
        )
        .await
        .unwrap();
    assert_eq!(p.object_id, admin.object_id);
    assert!(matches!(
        id.authenticate_client_secret(tenant.id, &admin.client_id.to_string(), "nope")
            .await,
        Err(IdentityError::InvalidClient {
            reason: InvalidClientReason::WrongSecret,
            ..
        })
    ));
    assert!(matches!(
        id.authenticate_client_secret(tenant.id, &uuid::Uuid::new_v4().to_string(), "x")
            .await,
        Err(IdentityError::InvalidClient {
            reason: InvalidClientReason::UnknownClient,
            ..
        })
    ));
    assert!(matches!(
        id.issue_token(&admin, "https://elsewhere/.default").await,
        Err(IdentityError::InvalidScope(_))
    ));

    let mgmt = vec![MGMT.to_owned()];
    let vault = vec![VAULT.to_owned()];
    let token = id
        .issue_token(&admin, &format!("{MGMT}/.default"))
        .await
        .unwrap();
    assert_eq!(token.resource, MGMT);
    let ok = id
        .validate_token(&token.access_token, &expect(&mgmt))
        .await
        .unwrap();
    assert_eq!(ok.principal.object_id, admin.object_id);
    let vault_token = id.issue_token(&admin, VAULT).await.unwrap();
    id.validate_token(&vault_token.access_token, &expect(&vault))
        .await
        .unwrap();

    let t = &token.access_token;
    let now = Identity::now();
    // alg=none, and HS256 "signed" with the public key.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        t.split('.').nth(1).unwrap()
    );
    let jwks = id.jwks(tenant.id).await.unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let hs_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        t.split('.').nth(1).unwrap()
    );
    let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, n.as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&hmac_key, hs_input.as_bytes()))
    );
    let unknown_kid = {
        let parts: Vec<&str> = t.split('.').collect();
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"nope","typ":"JWT"}"#),
            parts[1],
            parts[2]
        )
    };
    let tampered = tamper_claims(t, |c| {
        c["oid"] = serde_json::json!(uuid::Uuid::new_v4().to_string())
    });
    let wrong_issuer = elsewhere
        .issue_token(&admin, MGMT)
        .await
        .unwrap()
        .access_token;
    let cases: Vec<(&str, String, Vec<String>, u64, TokenError)> = vec![
        ("alg none", none, mgmt.clone(), now, TokenError::Unsigned),
        (
            "HS256 with the public key",
            hs256,
            mgmt.clone(),
            now,
            TokenError::UnsupportedAlgorithm("HS256".into()),
        ),
        (
            "unknown kid",
            unknown_kid,
            mgmt.clone(),
            now,
            TokenError::UnknownSigningKey,
        ),
        (
            "tampered payload",
            tampered,
            mgmt.clone(),
            now,
            TokenError::InvalidSignature,
        ),
        (
            "wrong issuer",
            wrong_issuer,
            mgmt.clone(),
            now,
            TokenError::InvalidIssuer,
        ),
        (
            "expired",
            t.clone(),
            mgmt.clone(),
            now + 3600 + 61,
            TokenError::Expired,
        ),
        (
            "not yet valid",
            t.clone(),
            mgmt.clone(),
            now.saturating_sub(120),
            TokenError::NotYetValid,
        ),
        (
            "wrong audience",
            t.clone(),
            vault.clone(),
            now,
            TokenError::InvalidAudience(MGMT.into()),
        ),
        (
            "malformed base64",
            "a.b!.c".into(),
            mgmt.clone(),
            now,
            TokenError::BadEncoding,
        ),
        (
            "malformed json",
            format!("{}.e30.AA", URL_SAFE_NO_PAD.encode("{")),
            mgmt.clone(),
            now,
            TokenError::BadJson,
        ),
        (
            "not a JWT",
            "just-a-string".into(),
            mgmt.clone(),
            now,
            TokenError::Malformed("a JWT has three parts"),
        ),
        (
            "oversized",
            "x".repeat(20_000),
            mgmt.clone(),
            now,
            TokenError::Oversized(16 * 1024),
        ),
    ];
    let mut codes = std::collections::BTreeSet::new();
    for (name, token, aud, at, expected) in cases {
        let err = id
            .validate_token_at(&token, &expect(&aud), at)
            .await
            .err()
            .unwrap_or_else(|| panic!("{name} accepted"));
        assert_eq!(err, expected, "{name}");
        codes.insert(err.code());
    }
    assert_eq!(codes.len(), 12, "every case has its own code: {codes:?}");

    // Other tenant: a token valid in tenant B presented where tenant A is expected.
    let other = id.create_tenant("other").await.unwrap();
    let (b_sp, _) = id.create_service_principal(other.id, "b").await.unwrap();
    let b_token = id.issue_token(&b_sp, MGMT).await.unwrap();
    let exp_a = Expectation {
        audiences: &mgmt,
        tenant: Some(tenant.id),
    };
    assert_eq!(
        id.validate_token(&b_token.access_token, &exp_a).await.err(),
        Some(TokenError::WrongTenant)
    );

    // Disabled, then deleted principal: refused at once, with a still-unexpired token.
    id.set_enabled(b_sp.object_id, false).await.unwrap();
    assert_eq!(
        id.validate_token(&b_token.access_token, &expect(&mgmt))
            .await
            .err(),
        Some(TokenError::PrincipalDisabled)
    );
    assert!(matches!(
        id.issue_token(&id.principal(b_sp.object_id).await.unwrap(), MGMT)
            .await,
        Err(IdentityError::PrincipalDisabled(_))
    ));
    id.delete_principal(b_sp.object_id).await.unwrap();
    assert_eq!(
        id.validate_token(&b_token.access_token, &expect(&mgmt))
            .await
            .err(),
        Some(TokenError::PrincipalNotFound)
    );
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_keys_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token;
    let tenant;
    {
        let id = identity_in(dir.path());
        let BootstrapOutcome::Created {
            tenant: t, admin, ..
        } = id.bootstrap().await.unwrap()
        else {
            panic!()
        };
        tenant = t;
        token = id.issue_token(&admin, MGMT).await.unwrap().access_token;
        let before = id.jwks(tenant.id).await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len();
        id.rotate_signing_key(tenant.id).await.unwrap();
        let after = id.jwks(tenant.id).await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!((before, after), (1, 2), "the retired key stays published");
        let mgmt = vec![MGMT.to_owned()];
        id.validate_token(&token, &expect(&mgmt)).await.unwrap();
        let new_token = id.issue_token(&admin, MGMT).await.unwrap().access_token;
        assert_ne!(
            new_token.split('.').next(),
            token.split('.').next(),
            "new kid"
        );
    }
    // A new service instance (a restart) unseals the same keys.
    let id = identity_in(dir.path());
    let mgmt = vec![MGMT.to_owned()];
    id.validate_token(&token, &expect(&mgmt)).await.unwrap();
    let doc = id.openid_configuration(tenant.id).await.unwrap();
    assert_eq!(
        doc["issuer"],
        format!("https://localhost:8443/{}/v2.0", tenant.id)
    );
    assert!(id.openid_configuration(uuid::Uuid::new_v4()).await.is_err());
}

#[tokio::test]
async fn managed_identities_and_workload_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let id = identity_in(dir.path());
    let BootstrapOutcome::Created {
        tenant,
        subscription,
        ..
    } = id.bootstrap().await.unwrap()
    else {
        panic!()
    };
    let rid = format!(
        "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u1",
        subscription.id
    );
    let (ua, created) = id.put_user_assigned(tenant.id, &rid, "u1").await.unwrap();
    assert!(created);
    let (again, created) = id
        .put_user_assigned(
            tenant.id,
            &rid.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"),
            "u1",
        )
        .await
        .unwrap();
    assert!(
        !created && again.object_id == ua.object_id,
        "resource ids are case-insensitive"
    );
    let sys = id
        .ensure_system_assigned(
            tenant.id,
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
            "a",
        )
        .await
        .unwrap();
    assert_eq!(
        id.list_user_assigned(&format!("/subscriptions/{}", subscription.id))
            .await
            .unwrap()
            .len(),
        1
    );

    let (_, secret) = id
        .create_workload_binding(vec![ua.object_id, sys.object_id])
        .await
        .unwrap();
    use keyhold_identity::WorkloadSelector;
    let got = id
        .resolve_workload(secret.expose_secret(), &WorkloadSelector::Default)
        .await
        .unwrap();
    assert_eq!(got.object_id, ua.object_id);
    let got = id
        .resolve_workload(
            secret.expose_secret(),
            &WorkloadSelector::ClientId(sys.client_id.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(got.object_id, sys.object_id);
    assert!(
        id.resolve_workload("wrong", &WorkloadSelector::Default)
            .await
            .is_err()
    );
    let token = id.issue_token(&got, VAULT).await.unwrap();
    let vault = vec![VAULT.to_owned()];
    assert_eq!(
        id.validate_token(&token.access_token, &expect(&vault))
            .await
            .unwrap()
            .principal
            .object_id,
        sys.object_id
    );

    assert!(id.delete_for_resource(&rid).await.unwrap());
    assert!(
        id.managed_identity_for_resource(&rid)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!id.delete_for_resource(&rid).await.unwrap());
}
