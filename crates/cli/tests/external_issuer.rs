//! Trusted external issuers with two real servers: server B accepts tokens issued by server A
//! for B's default tenant, fetching A's keys over HTTPS (OIDC discovery); access still needs a
//! role assignment on B; an untrusted issuer's token is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{start, temp_parent};
use serde_json::{Value, json};

async fn token(client: &reqwest::Client, boot: &Value) -> String {
    common::admin_token(client, boot, "https://management.localhost/.default").await
}

fn bootstrap(data: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn second_server_trusts_the_first() {
    let parent = temp_parent();
    let data_a = parent.path().join("a");
    let a = start(&data_a, &[], &[]);
    let boot_a = bootstrap(&data_a);
    let issuer_a = format!(
        "{}/{}/v2.0",
        boot_a["authority"].as_str().unwrap(),
        boot_a["tenantId"].as_str().unwrap()
    );

    let config = parent.path().join("b.toml");
    std::fs::write(
        &config,
        format!(
            "[[trusted_issuer]]\nissuer = \"{issuer_a}\"\ntenant = \"default\"\nca_file = \"{}\"\n",
            data_a.join("tls/ca.pem").display()
        ),
    )
    .unwrap();
    let data_b = parent.path().join("b");
    let b = start(&data_b, &["--config", config.to_str().unwrap()], &[]);
    let boot_b = bootstrap(&data_b);

    let client_a = a.client(&[]);
    let client_b = b.client(&[]);
    let token_a = token(&client_a, &boot_a).await;
    let token_b = token(&client_b, &boot_b).await;
    let subs_b = format!(
        "https://localhost:{}/subscriptions?api-version=2022-12-01",
        b.port()
    );

    // Valid on B, but no role there yet: authenticated, sees nothing.
    let response = client_b
        .get(&subs_b)
        .bearer_auth(&token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 0);

    // On B, A's principal has an object id of its own (derived from A's issuer and its oid):
    // B's admin looks it up and gives it Reader on B's subscription (principalType: not in
    // B's directory).
    let resolved: Value = client_b
        .get(format!(
            "https://localhost:{}/keyhold/v1/tenants/{}/externalPrincipals",
            b.port(),
            boot_b["tenantId"].as_str().unwrap()
        ))
        .query(&[
            ("issuer", issuer_a.as_str()),
            ("objectId", boot_a["objectId"].as_str().unwrap()),
        ])
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let oid_a = resolved["objectId"].as_str().unwrap().to_owned();
    assert_ne!(oid_a, boot_a["objectId"].as_str().unwrap());
    let whoami: Value = client_b
        .get(format!("https://localhost:{}/keyhold/v1/whoami", b.port()))
        .bearer_auth(&token_a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["objectId"].as_str(), Some(oid_a.as_str()));
    let assign = format!(
        "https://localhost:{}/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
        b.port(),
        boot_b["subscriptionId"].as_str().unwrap(),
        uuid::Uuid::new_v4()
    );
    let response = client_b
        .put(&assign)
        .bearer_auth(&token_b)
        .json(&json!({"properties": {
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "principalId": oid_a, "principalType": "ServicePrincipal"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = client_b
        .get(&subs_b)
        .bearer_auth(&token_a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["value"][0]["subscriptionId"], boot_b["subscriptionId"]);

    // A does not trust B: B's token is unknown to A.
    let subs_a = format!(
        "https://localhost:{}/subscriptions?api-version=2022-12-01",
        a.port()
    );
    let response = client_a
        .get(&subs_a)
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["code"],
        "InvalidAuthenticationTokenSigningKey"
    );
}
