//! `keyhold login` and `keyhold identity …`: thin commands over the token endpoint and the
//! directory API, plus (in `managed_identity_cmd.rs`) user-assigned managed identities and
//! workload bindings. Secrets appear only where the API returns them once (new or reset client
//! secrets, a binding's header).

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use keyhold_client::{Credentials, KeyholdClient, default_credentials_path};

use crate::common::{client, describe, runtime};
use crate::managed_identity_cmd as managed;
use crate::output::Output;
use reqwest::Method;
use serde_json::{Value, json};

/// `keyhold login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Use the server's bootstrap file (e.g. ./keyhold-data/bootstrap.json) as credentials.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["endpoint", "tenant", "client_id"])]
    bootstrap: Option<PathBuf>,
    /// Service endpoint, e.g. https://localhost:8443.
    #[arg(long, requires_all = ["tenant", "client_id"])]
    endpoint: Option<String>,
    /// Tenant id.
    #[arg(long)]
    tenant: Option<String>,
    /// Client (application) id.
    #[arg(long)]
    client_id: Option<String>,
    /// Read the client secret from this file instead of standard input.
    #[arg(long, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,
    /// CA certificate to trust (the server's tls/ca.pem).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Default subscription for later commands (default: the bootstrap file's, else the only
    /// subscription the principal can see).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold identity …`.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Print an access token for a scope (e.g. https://vault.localhost/.default).
    Token {
        /// The scope to request.
        #[arg(long)]
        scope: String,
    },
    /// Service principals.
    #[command(subcommand)]
    Sp(SpCommand),
    /// Start a new token-signing key for the tenant (old tokens stay valid until they expire).
    RotateSigningKey,
    /// Show who the saved credentials authenticate as.
    Whoami,
    /// Create a user-assigned managed identity.
    Create(managed::CreateArgs),
    /// List user-assigned managed identities.
    List(managed::ListArgs),
    /// Show a user-assigned managed identity.
    Show(managed::IdentityName),
    /// Delete a user-assigned managed identity.
    Delete(managed::IdentityName),
    /// Workload bindings: managed-identity tokens for a local process.
    #[command(subcommand)]
    Binding(managed::BindingCommand),
}

/// `keyhold identity sp …`.
#[derive(Debug, Subcommand)]
pub enum SpCommand {
    /// Create a service principal; prints its appId and (once) its secret.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List the tenant's principals.
    List,
    /// Show one principal.
    Show {
        /// Client (application) id.
        #[arg(long)]
        app_id: String,
    },
    /// Delete a principal (and its role assignments).
    Delete {
        /// Client id.
        #[arg(long)]
        app_id: String,
    },
    /// Replace its secrets with a new one; prints the new secret once.
    ResetSecret {
        /// Client id.
        #[arg(long)]
        app_id: String,
    },
    /// Disable it: its tokens stop working at once.
    Disable {
        /// Client id.
        #[arg(long)]
        app_id: String,
    },
    /// Enable it again.
    Enable {
        /// Client id.
        #[arg(long)]
        app_id: String,
    },
}

/// Runs `keyhold login`: checks the credentials by getting a token, then saves them.
pub fn login(args: LoginArgs, out: &Output) -> Result<(), String> {
    let mut creds = if let Some(path) = &args.bootstrap {
        Credentials::load(path).map_err(|e| e.to_string())?
    } else {
        let (Some(endpoint), Some(tenant), Some(client_id)) =
            (args.endpoint, args.tenant, args.client_id)
        else {
            return Err("give --bootstrap FILE, or --endpoint, --tenant and --client-id".into());
        };
        let mut secret = String::new();
        match &args.client_secret_file {
            Some(path) => {
                secret = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            }
            None => {
                std::io::stdin()
                    .read_to_string(&mut secret)
                    .map_err(|e| format!("cannot read the secret from stdin: {e}"))?;
            }
        }
        Credentials {
            endpoint,
            tenant_id: tenant,
            client_id,
            client_secret: secret.trim().to_owned(),
            subscription_id: None,
            ca_certificate: None,
            vault_domain: None,
            management_scope: "https://management.localhost/.default".into(),
        }
    };
    if let Some(ca) = args.ca {
        creds.ca_certificate = Some(
            std::fs::canonicalize(&ca)
                .map_err(|e| format!("cannot use CA {}: {e}", ca.display()))?,
        );
    }
    if args.subscription.is_some() {
        creds.subscription_id = args.subscription;
    }
    let scope = creds.management_scope.clone();
    let client = KeyholdClient::from_credentials(creds.clone()).map_err(|e| e.to_string())?;
    let rt = runtime()?;
    rt.block_on(client.token(&scope))
        .map_err(|e| format!("login failed: {}", describe(&client, &e)))?;
    if creds.subscription_id.is_none() {
        creds.subscription_id = rt.block_on(only_subscription(&client, &scope));
    }
    let path = default_credentials_path();
    creds.save(&path).map_err(|e| e.to_string())?;
    out.print(
        &json!({ "loggedIn": true, "endpoint": creds.endpoint, "tenantId": creds.tenant_id, "clientId": creds.client_id, "subscriptionId": creds.subscription_id, "credentials": path }),
    )
}

/// The one subscription the principal can see, if it sees exactly one.
async fn only_subscription(client: &KeyholdClient, scope: &str) -> Option<String> {
    let list = client
        .request_json(
            Method::GET,
            "subscriptions?api-version=2022-12-01",
            scope,
            None,
        )
        .await
        .ok()?;
    match list["value"].as_array()?.as_slice() {
        [only] => only["subscriptionId"].as_str().map(str::to_owned),
        _ => None,
    }
}

/// Runs `keyhold identity …`.
pub fn run(command: IdentityCommand, out: &Output) -> Result<(), String> {
    let command = match command {
        IdentityCommand::Create(args) => return managed::run(managed::Command::Create(args), out),
        IdentityCommand::List(args) => return managed::run(managed::Command::List(args), out),
        IdentityCommand::Show(id) => return managed::run(managed::Command::Show(id), out),
        IdentityCommand::Delete(id) => return managed::run(managed::Command::Delete(id), out),
        IdentityCommand::Binding(b) => return managed::run(managed::Command::Binding(b), out),
        other => other,
    };
    let client = client()?;
    let creds = client.credentials().ok_or("no credentials")?.clone();
    let scope = creds.management_scope.clone();
    let base = format!("keyhold/v1/tenants/{}", creds.tenant_id);
    let rt = runtime()?;
    let call = |method: Method, path: String, body: Option<Value>| {
        let client = &client;
        let scope = scope.clone();
        async move {
            client
                .request_json(method, &path, &scope, body.as_ref())
                .await
                .map_err(|e| describe(client, &e))
        }
    };
    let value = rt.block_on(async {
        match command {
            IdentityCommand::Token { scope } => {
                let token = client
                    .token(&scope)
                    .await
                    .map_err(|e| describe(&client, &e))?;
                Ok(json!({ "accessToken": token.token.as_str(), "expiresOn": token.expires_on }))
            }
            IdentityCommand::RotateSigningKey => {
                call(Method::POST, format!("{base}/rotateSigningKey"), None).await
            }
            IdentityCommand::Whoami => call(Method::GET, "keyhold/v1/whoami".into(), None).await,
            IdentityCommand::Create(_)
            | IdentityCommand::List(_)
            | IdentityCommand::Show(_)
            | IdentityCommand::Delete(_)
            | IdentityCommand::Binding(_) => Err("handled above".to_owned()),
            IdentityCommand::Sp(sp) => match sp {
                SpCommand::Create { name } => {
                    call(
                        Method::POST,
                        format!("{base}/servicePrincipals"),
                        Some(json!({ "displayName": name })),
                    )
                    .await
                }
                SpCommand::List => {
                    call(Method::GET, format!("{base}/servicePrincipals"), None).await
                }
                SpCommand::Show { app_id } => {
                    call(
                        Method::GET,
                        format!("{base}/servicePrincipals/{app_id}"),
                        None,
                    )
                    .await
                }
                SpCommand::Delete { app_id } => {
                    call(
                        Method::DELETE,
                        format!("{base}/servicePrincipals/{app_id}"),
                        None,
                    )
                    .await?;
                    Ok(json!({ "deleted": app_id }))
                }
                SpCommand::ResetSecret { app_id } => {
                    call(
                        Method::POST,
                        format!("{base}/servicePrincipals/{app_id}/resetSecret"),
                        None,
                    )
                    .await
                }
                SpCommand::Disable { app_id } => {
                    call(
                        Method::PATCH,
                        format!("{base}/servicePrincipals/{app_id}"),
                        Some(json!({ "accountEnabled": false })),
                    )
                    .await
                }
                SpCommand::Enable { app_id } => {
                    call(
                        Method::PATCH,
                        format!("{base}/servicePrincipals/{app_id}"),
                        Some(json!({ "accountEnabled": true })),
                    )
                    .await
                }
            },
        }
    })?;
    out.print(&value)
}
