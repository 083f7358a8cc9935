//! The authorization matrix: every route of every API, called by five callers that must not
//! reach tenant A's objects — a principal with no roles, a Reader of A's subscription, a
//! Contributor of another resource group, a workload holding a user-assigned identity's token,
//! and the administrator of another tenant — each with the outcome its grants allow.
//!
//! The route table is walked from the server's own route kinds, so a route added without a
//! row here fails the test (`every_route_kind_has_a_row`). Each read row is first called by
//! someone who may (the administrator, or the account's API key on the AI plane), so a row
//! that would be refused for a bad path or a missing object proves nothing and fails instead.
//! Rows naming an object also have an absent twin: callers without rights must get the same
//! answer for an object that does not exist as for one that does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use keyhold_server::routes::{HostKind, Route, RouteKind, classify_host};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{Server, start, temp_parent};

const VAULT: &str = "mx-kv";
const ACCOUNT: &str = "mx-ai";
const RG: &str = "rg-main";
const OTHER_RG: &str = "rg-other";

/// What a route's grants allow, by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Answers everyone alike (it checks the credentials it is sent, if any).
    Public,
    /// Any valid token: answers with the caller's own things.
    Caller,
    /// A read in A's subscription (Reader may).
    Read,
    /// A write or action in A's subscription (nobody of the five may).
    Write,
    /// An action at the directory root (the operator's only).
    Root,
    /// A directory action in tenant A.
    TenantA,
    /// Binding A's user-assigned identity to a workload: needs assign/action on it.
    Binding,
    /// A key operation on A's vault.
    VaultData,
    /// A data action on A's AI account.
    AiData,
    /// Any caller of A's tenant, answered with only what it may read (generic resource lists,
    /// filtered per item) or what is the same for everyone (resource providers).
    Filtered,
    /// A Microsoft Graph read: every caller gets an answer, from its own tenant only (another
    /// tenant's administrator sees nothing of A).
    GraphRead,
    /// A Graph read of one of A's objects: A's callers see it, another tenant's does not (404).
    GraphNamed,
    /// A Graph write on one of A's objects: A's callers without the directory action get 403,
    /// another tenant's administrator (who holds it in its own tenant) finds nothing (404).
    GraphWrite,
    /// A Graph creation: A's callers without the directory action get 403; another tenant's
    /// administrator acts in its own tenant only (neither refused nor reaching A).
    GraphCreate,
}

/// "Neither 401 nor 403": an answer about the caller's own tenant.
const OWN_TENANT: u16 = 1;

/// The five callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoRoles,
    Reader,
    OtherGroup,
    Workload,
    OtherTenant,
}

const EVERYONE: [Who; 5] = [
    Who::NoRoles,
    Who::Reader,
    Who::OtherGroup,
    Who::Workload,
    Who::OtherTenant,
];

/// The status a caller must get for a route of `class` (`None`: whatever anonymous gets;
/// 200: any success). A Reader gets what the checking caller got (`read`).
fn expected(class: Class, who: Who, read: Option<u16>) -> Option<u16> {
    use Who::*;
    match (class, who) {
        (Class::Public, _) => None,
        (Class::Caller, _) => Some(200),
        (Class::Filtered, OtherTenant) => Some(401),
        (Class::Filtered, _) => Some(200),
        (Class::GraphRead, _) => Some(read.unwrap_or(200)),
        (Class::GraphNamed | Class::GraphWrite, OtherTenant) => Some(404),
        (Class::GraphNamed, _) => Some(200),
        (Class::GraphWrite | Class::GraphCreate, Reader | NoRoles | OtherGroup | Workload) => {
            Some(403)
        }
        (Class::GraphCreate, OtherTenant) => Some(OWN_TENANT),
        (Class::Read, Reader) => Some(read.unwrap_or(200)),
        (
            Class::Read | Class::Write | Class::TenantA | Class::VaultData | Class::AiData,
            OtherTenant,
        ) => Some(401),
        (Class::Read | Class::Write | Class::TenantA | Class::VaultData | Class::AiData, _) => {
            Some(403)
        }
        (Class::Root | Class::Binding, _) => Some(403),
    }
}

/// Which host a row is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Service,
    Vault,
    Ai,
    /// The service host with a Graph-audience token.
    Graph,
}

/// One route, as a caller would send it.
struct Row {
    class: Class,
    method: Method,
    host: Host,
    path: String,
    body: Option<Value>,
    /// The same request naming an object that does not exist.
    absent: Option<String>,
    /// The status the checking caller (administrator or API key) gets; `None` for writes,
    /// which are not sent by it (they would change what the other rows read).
    check: Option<u16>,
}

fn row(class: Class, method: Method, host: Host, path: impl Into<String>) -> Row {
    let reads = matches!(method, Method::GET | Method::HEAD);
    Row {
        class,
        check: (reads && !matches!(class, Class::Public | Class::Caller)).then_some(200),
        method,
        host,
        path: path.into(),
        body: None,
        absent: None,
    }
}

impl Row {
    fn body(mut self, body: Value) -> Row {
        self.body = Some(body);
        self
    }
    fn absent(mut self, path: impl Into<String>) -> Row {
        self.absent = Some(path.into());
        self
    }
    fn check(mut self, status: u16) -> Row {
        self.check = Some(status);
        self
    }
    fn unchecked(mut self) -> Row {
        self.check = None;
        self
    }
}

/// The objects the rows name.
struct Fixture {
    tenant: String,
    sub: String,
    operation: String,
    assignment: String,
    app_id: String,
    uai_id: String,
    file_id: String,
    job_id: String,
    key_version: String,
    other_tenant_id: String,
    /// A finished template deployment's operation id and its long-running operation id.
    deployment_op: String,
    deployment_status: String,
    /// The service principal (object id) and application object id of `app_id`.
    sp_object_id: String,
    app_object_id: String,
}

fn rows(f: &Fixture) -> Vec<Row> {
    use Class::*;
    use Host::*;
    let (t, s) = (&f.tenant, &f.sub);
    let sub = format!("/subscriptions/{s}");
    let rg = format!("{sub}/resourceGroups/{RG}");
    let kv = format!("{rg}/providers/Microsoft.KeyVault/vaults/{VAULT}");
    let ai = format!("{rg}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT}");
    let cs = format!("{sub}/providers/Microsoft.CognitiveServices");
    let auth = "providers/Microsoft.Authorization";
    let v = |p: &str| format!("{p}?api-version=7.6");
    let arm = |p: &str, version: &str| format!("{p}?api-version={version}");
    const RGV: &str = "2024-11-01";
    const KVV: &str = "2024-11-01";
    const CSV: &str = "2025-06-01";
    const MIV: &str = "2023-01-31";
    const MLV: &str = "2025-09-01";
    const AZV: &str = "2022-04-01";
    let oai = |p: &str| format!("/openai/{p}?api-version=2024-10-21");
    let kver = &f.key_version;
    const DPV: &str = "2025-04-01";
    let dep = format!("{rg}/providers/Microsoft.Resources/deployments/mx-dep");
    let rsa = json!({"alg": "RSA-OAEP-256", "value": "AAAA"});
    vec![
        // The service host's own routes.
        row(Public, Method::GET, Service, "/healthz"),
        row(Public, Method::GET, Service, "/readyz"),
        row(Public, Method::GET, Service, format!("/{t}/v2.0/.well-known/openid-configuration")),
        row(Public, Method::GET, Service, format!("/{t}/discovery/v2.0/keys")),
        row(Public, Method::POST, Service, format!("/{t}/oauth2/v2.0/token")),
        row(Public, Method::GET, Service, "/msi/token?resource=https://management.localhost"),
        row(Root, Method::GET, Service, "/metrics"),
        // ARM.
        row(Caller, Method::GET, Service, "/tenants?api-version=2022-12-01"),
        row(Caller, Method::GET, Service, "/subscriptions?api-version=2022-12-01"),
        row(Read, Method::GET, Service, arm(&sub, RGV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/resourcegroups"), RGV)),
        row(Read, Method::GET, Service, arm(&rg, RGV))
            .absent(arm(&format!("{sub}/resourceGroups/rg-none"), RGV)),
        row(Write, Method::DELETE, Service, arm(&rg, RGV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"), MIV)),
        row(Read, Method::GET, Service, arm(&f.uai_id, MIV))
            .absent(arm(&format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai-none"), MIV)),
        row(Write, Method::PUT, Service, arm(&f.uai_id, MIV)).body(json!({"location": "westeurope"})),
        row(Read, Method::GET, Service, arm(&format!("{rg}/providers/Microsoft.KeyVault/vaults"), KVV)),
        row(Read, Method::GET, Service, arm(&kv, KVV))
            .absent(arm(&format!("{rg}/providers/Microsoft.KeyVault/vaults/kv-none"), KVV)),
        row(Write, Method::DELETE, Service, arm(&kv, KVV)),
        row(Write, Method::PUT, Service, arm(&format!("{kv}/accessPolicies/add"), KVV))
            .body(json!({"properties": {"accessPolicies": []}})),
        row(Read, Method::GET, Service, arm(&format!("{sub}/providers/Microsoft.KeyVault/deletedVaults"), KVV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/mx-delkv"), KVV))
            .absent(arm(&format!("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv-none"), KVV)),
        row(Write, Method::POST, Service, arm(&format!("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/mx-delkv/purge"), KVV))
            .absent(arm(&format!("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv-none/purge"), KVV)),
        row(Read, Method::POST, Service, arm(&format!("{sub}/providers/Microsoft.KeyVault/checkNameAvailability"), KVV))
            .body(json!({"name": "any-vault-name", "type": "Microsoft.KeyVault/vaults"}))
            .check(200),
        row(Read, Method::GET, Service, arm(&format!("{cs}/accounts"), CSV)),
        row(Read, Method::GET, Service, arm(&ai, CSV))
            .absent(arm(&format!("{rg}/providers/Microsoft.CognitiveServices/accounts/ai-none"), CSV)),
        row(Write, Method::DELETE, Service, arm(&ai, CSV)),
        row(Write, Method::POST, Service, arm(&format!("{ai}/listKeys"), CSV))
            .absent(arm(&format!("{rg}/providers/Microsoft.CognitiveServices/accounts/ai-none/listKeys"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{ai}/usages"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/providers/Microsoft.MachineLearningServices/workspaces"), MLV)),
        row(Read, Method::GET, Service, arm(&format!("{rg}/providers/Microsoft.MachineLearningServices/workspaces/mx-hub"), MLV)),
        row(Write, Method::DELETE, Service, arm(&format!("{rg}/providers/Microsoft.MachineLearningServices/workspaces/mx-hub"), MLV)),
        row(Read, Method::GET, Service, arm(&format!("{ai}/projects"), CSV))
            .absent(arm(&format!("{rg}/providers/Microsoft.CognitiveServices/accounts/ai-none/projects"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{ai}/projects/p1"), CSV)),
        row(Write, Method::PUT, Service, arm(&format!("{ai}/projects/p2"), CSV))
            .body(json!({"location": "westeurope", "properties": {}})),
        row(Read, Method::GET, Service, arm(&format!("{ai}/deployments"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{ai}/deployments/d1"), CSV))
            .absent(arm(&format!("{rg}/providers/Microsoft.CognitiveServices/accounts/ai-none/deployments/d1"), CSV)),
        row(Write, Method::DELETE, Service, arm(&format!("{ai}/deployments/d1"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{ai}/reprocess"), CSV)).check(404),
        row(Write, Method::POST, Service, arm(&format!("{ai}/reprocess"), CSV)).body(json!({"mode": "rewrap"})),
        row(Read, Method::GET, Service, arm(&format!("{cs}/deletedAccounts"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{cs}/locations/westeurope/resourceGroups/{RG}/deletedAccounts/mx-del"), CSV))
            .absent(arm(&format!("{cs}/locations/westeurope/resourceGroups/{RG}/deletedAccounts/ai-none"), CSV)),
        row(Write, Method::DELETE, Service, arm(&format!("{cs}/locations/westeurope/resourceGroups/{RG}/deletedAccounts/mx-del"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{cs}/locations/westeurope/operationResults/{}", f.operation), CSV))
            .absent(arm(&format!("{cs}/locations/westeurope/operationResults/{}", uuid::Uuid::new_v4()), CSV)),
        row(Write, Method::PUT, Service, arm(&format!("{cs}/cmkRequests/SpeechServices"), CSV)),
        row(Write, Method::POST, Service, arm(&format!("{cs}/cmkRequests/SpeechServices/approve"), CSV)),
        row(Read, Method::GET, Service, arm(&format!("{rg}/{auth}/roleAssignments"), AZV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/{auth}/roleAssignments/{}", f.assignment), AZV))
            .absent(arm(&format!("{sub}/{auth}/roleAssignments/{}", uuid::Uuid::new_v4()), AZV)),
        row(Write, Method::DELETE, Service, arm(&format!("{sub}/{auth}/roleAssignments/{}", f.assignment), AZV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/{auth}/roleDefinitions"), AZV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/{auth}/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"), AZV)),
        // Template deployments and control-plane keys.
        row(Read, Method::GET, Service, arm(&format!("{rg}/providers/Microsoft.Resources/deployments"), DPV)),
        row(Read, Method::GET, Service, arm(&format!("{sub}/providers/Microsoft.Resources/deployments"), DPV)),
        row(Read, Method::GET, Service, arm(&dep, DPV))
            .absent(arm(&format!("{rg}/providers/Microsoft.Resources/deployments/dep-none"), DPV)),
        row(Write, Method::PUT, Service, arm(&dep, DPV)).body(json!({"properties": {"mode": "Incremental", "template": empty_template()}})),
        row(Write, Method::DELETE, Service, arm(&dep, DPV)),
        row(Write, Method::POST, Service, arm(&format!("{dep}/validate"), DPV))
            .body(json!({"properties": {"mode": "Incremental", "template": empty_template()}})),
        row(Write, Method::POST, Service, arm(&format!("{dep}/whatIf"), DPV))
            .body(json!({"properties": {"mode": "Incremental", "template": empty_template()}})),
        row(Write, Method::POST, Service, arm(&format!("{dep}/exportTemplate"), DPV)),
        row(Write, Method::POST, Service, arm(&format!("{dep}/cancel"), DPV)),
        row(Read, Method::GET, Service, arm(&format!("{rg}/deployments/mx-dep/operations"), DPV))
            .absent(arm(&format!("{rg}/deployments/dep-none/operations"), DPV)),
        row(Read, Method::GET, Service, arm(&format!("{dep}/operations/{}", f.deployment_op), DPV))
            .absent(arm(&format!("{dep}/operations/0000000000000000"), DPV)),
        row(Read, Method::GET, Service, arm(&format!("{dep}/operationStatuses/{}", f.deployment_status), DPV))
            .absent(arm(&format!("{dep}/operationStatuses/{}", uuid::Uuid::new_v4()), DPV)),
        row(Read, Method::GET, Service, arm(&format!("{kv}/keys"), KVV)),
        row(Read, Method::GET, Service, arm(&format!("{kv}/keys/k1"), KVV))
            .absent(arm(&format!("{kv}/keys/none"), KVV)),
        row(Write, Method::PUT, Service, arm(&format!("{kv}/keys/k2"), KVV))
            .body(json!({"properties": {"kty": "RSA", "keySize": 2048}})),
        row(Filtered, Method::GET, Service, arm(&format!("{sub}/resources"), RGV)),
        row(Filtered, Method::GET, Service, arm(&format!("{rg}/resources"), RGV)),
        row(Filtered, Method::GET, Service, arm(&format!("{sub}/providers"), RGV)),
        row(Filtered, Method::GET, Service, arm(&format!("{sub}/providers/Microsoft.KeyVault"), RGV)),
        row(Filtered, Method::POST, Service, arm(&format!("{sub}/providers/Microsoft.KeyVault/register"), RGV)),
        // Microsoft Graph.
        row(GraphRead, Method::GET, Graph, "/v1.0/me").check(400),
        row(GraphRead, Method::GET, Graph, "/v1.0/organization"),
        row(GraphRead, Method::GET, Graph, "/v1.0/users"),
        row(GraphRead, Method::GET, Graph, "/v1.0/servicePrincipals"),
        row(GraphRead, Method::GET, Graph, "/v1.0/applications"),
        row(GraphRead, Method::POST, Graph, "/v1.0/directoryObjects/getByIds")
            .body(json!({"ids": [f.sp_object_id], "types": ["servicePrincipal"]}))
            .check(200),
        row(GraphNamed, Method::GET, Graph, format!("/v1.0/servicePrincipals/{}", f.sp_object_id))
            .absent(format!("/v1.0/servicePrincipals/{}", uuid::Uuid::new_v4())),
        row(GraphNamed, Method::GET, Graph, format!("/v1.0/applications/{}", f.app_object_id))
            .absent(format!("/v1.0/applications/{}", uuid::Uuid::new_v4())),
        row(GraphWrite, Method::DELETE, Graph, format!("/v1.0/servicePrincipals/{}", f.sp_object_id))
            .absent(format!("/v1.0/servicePrincipals/{}", uuid::Uuid::new_v4())),
        row(GraphWrite, Method::PATCH, Graph, format!("/v1.0/applications/{}", f.app_object_id))
            .body(json!({"displayName": "renamed"}))
            .absent(format!("/v1.0/applications/{}", uuid::Uuid::new_v4())),
        row(GraphWrite, Method::POST, Graph, format!("/v1.0/applications/{}/addPassword", f.app_object_id))
            .body(json!({"passwordCredential": {"displayName": "intruder"}}))
            .absent(format!("/v1.0/applications/{}/addPassword", uuid::Uuid::new_v4())),
        row(GraphWrite, Method::POST, Graph, format!("/v1.0/applications/{}/removePassword", f.app_object_id))
            .body(json!({"keyId": uuid::Uuid::new_v4()}))
            .absent(format!("/v1.0/applications/{}/removePassword", uuid::Uuid::new_v4())),
        row(GraphCreate, Method::POST, Graph, "/v1.0/applications").body(json!({"displayName": "mx-graph-app"})),
        row(GraphCreate, Method::POST, Graph, "/v1.0/servicePrincipals").body(json!({"appId": f.app_id})),
        // The directory API.
        row(TenantA, Method::GET, Service, format!("/keyhold/v1/tenants/{t}/servicePrincipals")),
        row(TenantA, Method::POST, Service, format!("/keyhold/v1/tenants/{t}/servicePrincipals"))
            .body(json!({"displayName": "intruder"})),
        row(TenantA, Method::GET, Service, format!("/keyhold/v1/tenants/{t}/servicePrincipals/{}", f.app_id)),
        row(TenantA, Method::PATCH, Service, format!("/keyhold/v1/tenants/{t}/servicePrincipals/{}", f.app_id))
            .body(json!({"accountEnabled": false})),
        row(TenantA, Method::DELETE, Service, format!("/keyhold/v1/tenants/{t}/servicePrincipals/{}", f.app_id)),
        row(TenantA, Method::POST, Service, format!("/keyhold/v1/tenants/{t}/servicePrincipals/{}/resetSecret", f.app_id)),
        row(TenantA, Method::GET, Service, format!("/keyhold/v1/tenants/{t}/externalPrincipals?issuer=x&objectId={}", uuid::Uuid::new_v4()))
            .unchecked(),
        row(TenantA, Method::POST, Service, format!("/keyhold/v1/tenants/{t}/rotateSigningKey")),
        row(Binding, Method::POST, Service, "/keyhold/v1/workloadBindings")
            .body(json!({"identities": [f.uai_id]})),
        row(Caller, Method::GET, Service, "/keyhold/v1/whoami"),
        row(Root, Method::GET, Service, "/keyhold/v1/audit"),
        row(Root, Method::GET, Service, "/keyhold/v1/tenants"),
        row(Root, Method::POST, Service, "/keyhold/v1/tenants").body(json!({"displayName": "x"})),
        row(TenantA, Method::GET, Service, format!("/keyhold/v1/tenants/{t}/subscriptions")),
        row(TenantA, Method::POST, Service, format!("/keyhold/v1/tenants/{t}/subscriptions"))
            .body(json!({"displayName": "x"})),
        row(Write, Method::POST, Service, format!("/keyhold/v1/subscriptions/{s}/changeTenant"))
            .body(json!({"targetTenantId": f.other_tenant_id, "ownerObjectId": uuid::Uuid::new_v4()})),
        // A vault's data plane.
        row(VaultData, Method::GET, Vault, v("/keys")),
        row(VaultData, Method::POST, Vault, v("/keys/new/create")).body(json!({"kty": "RSA"})),
        row(VaultData, Method::PUT, Vault, v("/keys/imported")).body(json!({"key": {}})),
        row(VaultData, Method::GET, Vault, v("/keys/k1")).absent(v("/keys/none")),
        row(VaultData, Method::GET, Vault, v(&format!("/keys/k1/{kver}"))),
        row(VaultData, Method::PATCH, Vault, v("/keys/k1")).body(json!({"attributes": {"enabled": false}})),
        row(VaultData, Method::DELETE, Vault, v("/keys/k1")),
        row(VaultData, Method::GET, Vault, v("/keys/k1/versions")),
        row(VaultData, Method::POST, Vault, v("/keys/k1/backup")),
        row(VaultData, Method::POST, Vault, v("/keys/restore")).body(json!({"value": "AAAA"})),
        row(VaultData, Method::POST, Vault, v("/keys/k1/rotate")),
        row(VaultData, Method::GET, Vault, v("/keys/k1/rotationpolicy")),
        row(VaultData, Method::PUT, Vault, v("/keys/k1/rotationpolicy")).body(json!({})),
        row(VaultData, Method::POST, Vault, v(&format!("/keys/k1/{kver}/encrypt"))).body(rsa.clone()),
        row(VaultData, Method::POST, Vault, v("/keys/k1/decrypt")).body(rsa.clone()),
        row(VaultData, Method::POST, Vault, v("/keys/k1/wrapkey")).body(rsa.clone()),
        row(VaultData, Method::POST, Vault, v("/keys/k1/unwrapkey")).body(rsa.clone()),
        row(VaultData, Method::POST, Vault, v("/keys/k1/sign")).body(json!({"alg": "RS256", "value": "AAAA"})),
        row(VaultData, Method::POST, Vault, v("/keys/k1/verify")).body(json!({"alg": "RS256", "digest": "AAAA", "value": "AAAA"})),
        row(VaultData, Method::GET, Vault, v("/deletedkeys")),
        row(VaultData, Method::GET, Vault, v("/deletedkeys/kdel")).absent(v("/deletedkeys/none")),
        row(VaultData, Method::DELETE, Vault, v("/deletedkeys/kdel")),
        row(VaultData, Method::POST, Vault, v("/deletedkeys/kdel/recover")),
        row(VaultData, Method::POST, Vault, v("/rng")).body(json!({"count": 8})).check(200),
        // An AI account's data plane.
        row(AiData, Method::GET, Ai, oai("files")),
        row(AiData, Method::POST, Ai, oai("files")),
        row(AiData, Method::GET, Ai, oai(&format!("files/{}", f.file_id))).absent(oai("files/file-none")),
        row(AiData, Method::DELETE, Ai, oai(&format!("files/{}", f.file_id))),
        row(AiData, Method::GET, Ai, oai(&format!("files/{}/content", f.file_id))),
        row(AiData, Method::GET, Ai, oai("fine_tuning/jobs")),
        row(AiData, Method::POST, Ai, oai("fine_tuning/jobs")).body(json!({"model": "x", "training_file": "y"})),
        row(AiData, Method::GET, Ai, oai(&format!("fine_tuning/jobs/{}", f.job_id))).absent(oai("fine_tuning/jobs/ftjob-none")),
        row(AiData, Method::GET, Ai, oai(&format!("fine_tuning/jobs/{}/events", f.job_id))),
        row(AiData, Method::GET, Ai, oai(&format!("fine_tuning/jobs/{}/checkpoints", f.job_id))),
        row(AiData, Method::POST, Ai, oai(&format!("fine_tuning/jobs/{}/cancel", f.job_id))),
        row(AiData, Method::GET, Ai, oai("models")),
        row(AiData, Method::GET, Ai, oai("models/gpt-4o-mini-2024-07-18")),
        row(AiData, Method::DELETE, Ai, oai("models/gpt-4o-mini-2024-07-18.ft-none")),
        row(AiData, Method::POST, Ai, oai("deployments/d1/chat/completions"))
            .body(json!({"messages": [{"role": "user", "content": "hi"}]}))
            .check(200),
    ]
}

/// A template with nothing in it.
fn empty_template() -> Value {
    json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": []})
}

/// Tokens of one caller for the three audiences.
struct Tokens {
    management: String,
    vault: String,
    ai: String,
    graph: String,
}

struct Harness {
    server: Server,
    http: reqwest::Client,
    boot: Value,
}

const MGMT: &str = "https://management.localhost";
const AI_AUDIENCE: &str = "https://cognitiveservices.localhost";
const GRAPH_AUDIENCE: &str = "https://graph.localhost";

impl Harness {
    fn base(&self) -> String {
        format!("https://localhost:{}", self.server.port())
    }

    fn host_url(&self, host: Host, path: &str) -> String {
        let port = self.server.port();
        match host {
            Host::Service => format!("https://localhost:{port}{path}"),
            Host::Vault => format!("https://{VAULT}.vault.localhost:{port}{path}"),
            Host::Ai => format!("https://{ACCOUNT}.openai.localhost:{port}{path}"),
            Host::Graph => format!("https://localhost:{port}{path}"),
        }
    }

    async fn token(&self, tenant: &str, client_id: &str, secret: &str, audience: &str) -> String {
        let scope = format!("{audience}/.default");
        common::client_credentials_token(
            &self.http,
            &self.base(),
            tenant,
            client_id,
            secret,
            &scope,
        )
        .await
    }

    async fn tokens(&self, tenant: &str, client_id: &str, secret: &str) -> Tokens {
        let vault = format!("https://vault.localhost:{}", self.server.port());
        Tokens {
            management: self.token(tenant, client_id, secret, MGMT).await,
            vault: self.token(tenant, client_id, secret, &vault).await,
            ai: self.token(tenant, client_id, secret, AI_AUDIENCE).await,
            graph: self.token(tenant, client_id, secret, GRAPH_AUDIENCE).await,
        }
    }

    /// Sends one request; answers the status and the error code (if any).
    async fn send(
        &self,
        method: &Method,
        host: Host,
        path: &str,
        auth: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> (u16, String, Value) {
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
        let mut request = self.http.request(method, self.host_url(host, path));
        if let Some((name, value)) = auth {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        } else if path.contains("oauth2") {
            request = request.form(&[("grant_type", "client_credentials")]);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = value["error"]["code"]
            .as_str()
            .or_else(|| value["error"].as_str())
            .unwrap_or_default()
            .to_owned();
        (status, code, value)
    }

    async fn arm(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }
}

fn read_boot(server: &Server) -> Value {
    serde_json::from_slice(&std::fs::read(server.data_dir.join("bootstrap.json")).unwrap()).unwrap()
}

#[test]
fn every_route_kind_has_a_row() {
    let fixture = Fixture {
        tenant: "t".into(),
        sub: "s".into(),
        operation: "o".into(),
        assignment: uuid::Uuid::new_v4().to_string(),
        app_id: "a".into(),
        uai_id: "/subscriptions/s/resourceGroups/rg-main/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u".into(),
        file_id: "f".into(),
        job_id: "j".into(),
        key_version: "0123456789abcdef0123456789abcdef".into(),
        other_tenant_id: "o".into(),
        deployment_op: "0123456789ABCDEF".into(),
        deployment_status: "d".into(),
        sp_object_id: uuid::Uuid::new_v4().to_string(),
        app_object_id: uuid::Uuid::new_v4().to_string(),
    };
    let kinds = row_kinds(&fixture);
    let missing: Vec<String> = RouteKind::all()
        .into_iter()
        .filter(|k| !kinds.contains(k))
        .map(RouteKind::name)
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
}

/// The route kind of every row, parsed as the server parses it.
fn row_kinds(fixture: &Fixture) -> BTreeSet<RouteKind> {
    let mut kinds = BTreeSet::new();
    for r in rows(fixture) {
        let host_name = match r.host {
            Host::Service => "localhost:8443".to_owned(),
            Host::Vault => format!("{VAULT}.vault.localhost:8443"),
            Host::Ai => format!("{ACCOUNT}.openai.localhost:8443"),
            Host::Graph => "graph.localhost:8443".to_owned(),
        };
        let host = classify_host(&host_name, "vault.localhost", "openai.localhost");
        assert!(
            !matches!((&host, r.host), (HostKind::Service, Host::Vault | Host::Ai)),
            "{host_name}"
        );
        let path = r.path.split('?').next().unwrap();
        let route = Route::parse(&host, &r.method, path)
            .unwrap_or_else(|e| panic!("{} {path}: {e:?}", r.method));
        kinds.insert(route.kind());
    }
    kinds
}

#[tokio::test(flavor = "multi_thread")]
async fn no_caller_reaches_what_it_was_not_granted() {
    let parent = temp_parent();
    let server = start(&parent.path().join("data"), &[], &[]);
    let http = server.client(&[
        &format!("{VAULT}.vault.localhost"),
        &format!("{ACCOUNT}.openai.localhost"),
    ]);
    let boot = read_boot(&server);
    let h = Harness { server, http, boot };
    let (fixture, callers, admin, api_key) = setup(&h).await;

    let mut failures = Vec::new();
    for r in rows(&fixture) {
        let label = format!("{} {}", r.method, r.path);
        // The row is valid: someone who may gets the expected answer.
        if let Some(status) = r.check {
            let auth_value;
            let auth = match r.host {
                Host::Ai => Some(("api-key", api_key.as_str())),
                Host::Vault => {
                    auth_value = format!("Bearer {}", admin.vault);
                    Some(("authorization", auth_value.as_str()))
                }
                Host::Service => {
                    auth_value = format!("Bearer {}", admin.management);
                    Some(("authorization", auth_value.as_str()))
                }
                Host::Graph => {
                    auth_value = format!("Bearer {}", admin.graph);
                    Some(("authorization", auth_value.as_str()))
                }
            };
            let (got, code, _) = h
                .send(&r.method, r.host, &r.path, auth, r.body.as_ref())
                .await;
            if got != status {
                failures.push(format!(
                    "{label}: the checking caller got {got} {code}, expected {status}"
                ));
            }
        }
        let anonymous = h
            .send(&r.method, r.host, &r.path, None, r.body.as_ref())
            .await;
        for who in EVERYONE {
            let tokens = &callers[who as usize];
            let token = match r.host {
                Host::Service => &tokens.management,
                Host::Vault => &tokens.vault,
                Host::Ai => &tokens.ai,
                Host::Graph => &tokens.graph,
            };
            let bearer = format!("Bearer {token}");
            let auth = Some(("authorization", bearer.as_str()));
            let (got, code, answer) = h
                .send(&r.method, r.host, &r.path, auth, r.body.as_ref())
                .await;
            // A filtered list shows A's objects to none of the callers but its Reader.
            if r.class == Class::Filtered && who != Who::Reader {
                let text = answer.to_string();
                if text.contains(VAULT) || text.contains(ACCOUNT) {
                    failures.push(format!("{label} as {who:?} lists A's objects: {text}"));
                }
            } else if r.class == Class::Filtered && r.path.contains("/resources?") {
                let text = answer.to_string();
                if !text.contains(VAULT) || !text.contains(ACCOUNT) {
                    failures.push(format!(
                        "{label}: the Reader does not see A's objects: {text}"
                    ));
                }
            }
            // Graph answers about the caller's own tenant only.
            if matches!(r.class, Class::GraphRead | Class::GraphCreate) && who == Who::OtherTenant {
                let text = answer.to_string();
                // (A creation may echo the appId it was sent; it must not show A's tenant.)
                let named = r.class == Class::GraphRead && text.contains(&fixture.app_id);
                if text.contains(&fixture.tenant) || named {
                    failures.push(format!("{label} as {who:?} shows tenant A: {text}"));
                }
            }
            match expected(r.class, who, r.check) {
                None => {
                    if got != anonymous.0 || got == 401 || got == 403 {
                        failures.push(format!(
                            "{label} as {who:?}: {got} {code}, anonymous got {}",
                            anonymous.0
                        ));
                    }
                }
                Some(OWN_TENANT) => {
                    if got == 401 || got == 403 || got >= 500 {
                        failures.push(format!("{label} as {who:?}: {got} {code}, expected an answer about its own tenant"));
                    }
                }
                Some(want) => {
                    let ok = if want == 200 {
                        StatusCode::from_u16(got).unwrap().is_success()
                    } else {
                        got == want
                    };
                    if !ok {
                        failures.push(format!("{label} as {who:?}: {got} {code}, expected {want}"));
                    }
                    // Absent and forbidden look alike to a caller without rights.
                    if let Some(absent) = &r.absent
                        && want != 200
                    {
                        let (a_status, a_code, _) = h
                            .send(&r.method, r.host, absent, auth, r.body.as_ref())
                            .await;
                        if (a_status, a_code.as_str()) != (got, code.as_str()) {
                            failures.push(format!(
                                "{label} as {who:?}: {got} {code} for the object, {a_status} {a_code} for an absent one"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} authorization failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Tenant A's objects, the five callers, the administrator's tokens and the account's key.
async fn setup(h: &Harness) -> (Fixture, Vec<Tokens>, Tokens, String) {
    let boot = &h.boot;
    let tenant = boot["tenantId"].as_str().unwrap().to_owned();
    let sub = boot["subscriptionId"].as_str().unwrap().to_owned();
    let admin = h
        .tokens(
            &tenant,
            boot["clientId"].as_str().unwrap(),
            boot["clientSecret"].as_str().unwrap(),
        )
        .await;
    let a = &admin.management;
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;
    let s = format!("/subscriptions/{sub}");
    let rg = format!("{s}/resourceGroups/{RG}");
    for group in [RG, OTHER_RG] {
        h.arm(
            put.clone(),
            &format!("{s}/resourcegroups/{group}?api-version=2024-11-01"),
            a,
            json!({"location": "westeurope"}),
        )
        .await;
    }
    // Principals of tenant A: no roles, Reader of the subscription, Contributor of rg-other.
    let mut sp = Vec::new();
    for name in ["mx-none", "mx-reader", "mx-other"] {
        let created = h
            .arm(
                post.clone(),
                &format!("/keyhold/v1/tenants/{tenant}/servicePrincipals"),
                a,
                json!({"displayName": name}),
            )
            .await;
        sp.push(created);
    }
    let assign = |scope: String, principal: &Value, role: &str| {
        let path = format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
            uuid::Uuid::new_v4()
        );
        let body = json!({"properties": {
            "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": principal["id"]}});
        (path, body)
    };
    let (path, body) = assign(s.clone(), &sp[1], "acdd72a7-3385-48ef-bd42-f606fba81ae7");
    h.arm(put.clone(), &path, a, body).await;
    let assignment = path
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let (path, body) = assign(
        format!("{s}/resourceGroups/{OTHER_RG}"),
        &sp[2],
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
    );
    h.arm(put.clone(), &path, a, body).await;

    // A vault with a key and a deleted key, a deleted vault.
    let kv_body = |purge: bool| {
        json!({"location": "westeurope", "properties": {
            "tenantId": tenant, "sku": {"family": "A", "name": "standard"},
            "softDeleteRetentionInDays": 7, "enablePurgeProtection": purge,
            "accessPolicies": [{"tenantId": tenant, "objectId": boot["objectId"],
                "permissions": {"keys": ["get", "list", "create", "delete", "purge", "wrapKey", "unwrapKey", "encrypt", "decrypt", "getrotationpolicy"]}}]}})
    };
    h.arm(
        put.clone(),
        &format!("{rg}/providers/Microsoft.KeyVault/vaults/{VAULT}?api-version=2024-11-01"),
        a,
        kv_body(false),
    )
    .await;
    h.arm(
        put.clone(),
        &format!("{rg}/providers/Microsoft.KeyVault/vaults/mx-delkv?api-version=2024-11-01"),
        a,
        kv_body(false),
    )
    .await;
    let deleted = h
        .http
        .delete(format!(
            "{}{rg}/providers/Microsoft.KeyVault/vaults/mx-delkv?api-version=2024-11-01",
            h.base()
        ))
        .bearer_auth(a)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    let vault_call = |method: reqwest::Method, path: &str, body: Value| {
        h.http
            .request(
                method,
                h.host_url(Host::Vault, &format!("{path}?api-version=7.6")),
            )
            .bearer_auth(&admin.vault)
            .json(&body)
            .send()
    };
    let key: Value = vault_call(
        post.clone(),
        "/keys/k1/create",
        json!({"kty": "RSA", "key_size": 2048}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let key_version = key["key"]["kid"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    vault_call(post.clone(), "/keys/kdel/create", json!({"kty": "RSA"}))
        .await
        .unwrap();
    let gone = vault_call(reqwest::Method::DELETE, "/keys/kdel", json!({}))
        .await
        .unwrap();
    assert!(gone.status().is_success());

    // An AI account with a project, a deployment, a file and a job; a deleted account.
    let account = |name: &str| {
        format!("{rg}/providers/Microsoft.CognitiveServices/accounts/{name}?api-version=2025-06-01")
    };
    let account_body = json!({"location": "westeurope", "kind": "AIServices", "sku": {"name": "S0"},
        "identity": {"type": "SystemAssigned"}, "properties": {"allowProjectManagement": true}});
    let created = h
        .http
        .put(format!("{}{}", h.base(), account(ACCOUNT)))
        .bearer_auth(a)
        .json(&account_body)
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let operation = created.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .split("operationResults/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    h.arm(put.clone(), &account("mx-del"), a, account_body.clone())
        .await;
    let gone = h
        .http
        .delete(format!("{}{}", h.base(), account("mx-del")))
        .bearer_auth(a)
        .send()
        .await
        .unwrap();
    assert!(gone.status().is_success());
    let ai = format!("{rg}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT}");
    h.arm(
        put.clone(),
        &format!("{ai}/projects/p1?api-version=2025-06-01"),
        a,
        json!({"location": "westeurope", "properties": {}}),
    )
    .await;
    h.arm(put.clone(), &format!("{ai}/deployments/d1?api-version=2025-06-01"), a,
        json!({"properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}}, "sku": {"name": "Standard", "capacity": 1}}))
        .await;
    h.arm(put.clone(), &format!("{rg}/providers/Microsoft.MachineLearningServices/workspaces/mx-hub?api-version=2025-09-01"), a,
        json!({"location": "westeurope", "kind": "Hub", "identity": {"type": "SystemAssigned"}}))
        .await;
    let keys = h
        .arm(
            post.clone(),
            &format!("{ai}/listKeys?api-version=2025-06-01"),
            a,
            json!({}),
        )
        .await;
    let api_key = keys["key1"].as_str().unwrap().to_owned();
    let training = (0..10)
        .map(|i| json!({"messages": [{"role": "user", "content": format!("q{i}")}, {"role": "assistant", "content": format!("a{i}")}]}).to_string() + "\n")
        .collect::<String>();
    let form = reqwest::multipart::Form::new()
        .text("purpose", "fine-tune")
        .part(
            "file",
            reqwest::multipart::Part::bytes(training.into_bytes()).file_name("t.jsonl"),
        );
    let file: Value = h
        .http
        .post(h.host_url(Host::Ai, "/openai/files?api-version=2024-10-21"))
        .header("api-key", &api_key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file_id = file["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload: {file}"))
        .to_owned();
    let job: Value = h
        .http
        .post(h.host_url(Host::Ai, "/openai/fine_tuning/jobs?api-version=2024-10-21"))
        .header("api-key", &api_key)
        .json(&json!({"model": "gpt-4o-mini-2024-07-18", "training_file": file_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job_id = job["id"]
        .as_str()
        .unwrap_or_else(|| panic!("job: {job}"))
        .to_owned();

    // A user-assigned identity (no roles, no vault access) bound to a workload.
    let uai_id = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mx-uai");
    h.arm(
        put.clone(),
        &format!("{uai_id}?api-version=2023-01-31"),
        a,
        json!({"location": "westeurope"}),
    )
    .await;
    let binding = h
        .arm(
            post.clone(),
            "/keyhold/v1/workloadBindings",
            a,
            json!({"identities": [uai_id]}),
        )
        .await;
    let header = binding["identityHeader"].as_str().unwrap().to_owned();
    let msi = |resource: String| {
        let header = header.clone();
        async move {
            let v: Value = h
                .http
                .get(format!("{}/msi/token", h.base()))
                .query(&[
                    ("resource", resource.as_str()),
                    ("api-version", "2019-08-01"),
                ])
                .header("x-identity-header", header)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("msi: {v}"))
                .to_owned()
        }
    };
    let workload = Tokens {
        management: msi(MGMT.into()).await,
        vault: msi(format!("https://vault.localhost:{}", h.server.port())).await,
        ai: msi(AI_AUDIENCE.into()).await,
        graph: msi(GRAPH_AUDIENCE.into()).await,
    };

    // A finished template deployment with one resource.
    let dep_path =
        format!("{rg}/providers/Microsoft.Resources/deployments/mx-dep?api-version=2025-04-01");
    let template = json!({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "apiVersion": "2023-01-31", "name": "mx-dep-id", "location": "westeurope"}]});
    let accepted = h
        .http
        .put(format!("{}{dep_path}", h.base()))
        .bearer_auth(a)
        .json(&json!({"properties": {"mode": "Incremental", "template": template}}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    let deployment_status = accepted.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .split("operationStatuses/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut finished = Value::Null;
    for _ in 0..200 {
        finished = h.arm(reqwest::Method::GET, &dep_path, a, Value::Null).await;
        if finished["properties"]["provisioningState"] == "Succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        finished["properties"]["provisioningState"], "Succeeded",
        "{finished}"
    );
    let operations = h
        .arm(
            reqwest::Method::GET,
            &format!("{rg}/deployments/mx-dep/operations?api-version=2025-04-01"),
            a,
            Value::Null,
        )
        .await;
    let deployment_op = operations["value"][0]["operationId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Tenant B and its administrator.
    let b = h
        .arm(
            post.clone(),
            "/keyhold/v1/tenants",
            a,
            json!({"displayName": "tenant-b"}),
        )
        .await;
    let other_tenant_id = b["tenantId"].as_str().unwrap().to_owned();
    let b_admin = h
        .tokens(
            &other_tenant_id,
            b["admin"]["appId"].as_str().unwrap(),
            b["admin"]["clientSecret"].as_str().unwrap(),
        )
        .await;

    let mut callers = Vec::new();
    for p in &sp {
        callers.push(
            h.tokens(
                &tenant,
                p["appId"].as_str().unwrap(),
                p["clientSecret"].as_str().unwrap(),
            )
            .await,
        );
    }
    callers.push(workload);
    callers.push(b_admin);
    // The Graph ids of mx-none: its service principal's and its application's.
    let app_id = sp[0]["appId"].as_str().unwrap().to_owned();
    let apps: Value = h
        .http
        .get(format!("{}/v1.0/applications", h.base()))
        .query(&[("$filter", format!("appId eq '{app_id}'"))])
        .bearer_auth(&admin.graph)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app_object_id = apps["value"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("applications: {apps}"))
        .to_owned();
    let fixture = Fixture {
        sp_object_id: sp[0]["id"].as_str().unwrap().to_owned(),
        app_object_id,
        tenant,
        sub,
        operation,
        assignment,
        app_id: sp[0]["appId"].as_str().unwrap().to_owned(),
        uai_id,
        file_id,
        job_id,
        key_version,
        other_tenant_id,
        deployment_op,
        deployment_status,
    };
    (fixture, callers, admin, api_key)
}
