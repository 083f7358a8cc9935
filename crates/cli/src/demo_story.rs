//! The story `keyhold demo` tells: each step a management or data-plane call with a title,
//! a plain explanation and a checked outcome. The runner, its temporary server and the summary
//! table are in `demo_cmd.rs`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::Context;
use crate::demo_cmd::Steps;

mod cleanup;

const ARM: &str = "api-version=2025-09-01";
const KV_ARM: &str = "api-version=2023-07-01";
const DATA: &str = "api-version=2024-10-21";
const LOCATION: &str = "westeurope";
const FACTS: &[(&str, &str)] = &[
    (
        "Which keys can protect an Azure OpenAI account?",
        "RSA or RSA-HSM keys of 2048 bits, in a vault with soft delete and purge protection.",
    ),
    (
        "What stops when I revoke the key?",
        "Downloading training data and results, fine-tuning new models and deploying fine-tuned models.",
    ),
    (
        "What keeps working when I revoke the key?",
        "Deployed models keep serving until you delete them.",
    ),
    (
        "How do I get access back?",
        "Grant the account's identity get, wrapKey and unwrapKey on the key again.",
    ),
    (
        "Where does training scratch data live?",
        "Encrypted under an ephemeral key that is destroyed with the job.",
    ),
];

/// The demo's resources and how to reach them.
pub(crate) struct Demo {
    ctx: Context,
    sub: String,
    rg: String,
    vault: String,
    account: String,
    http: reqwest::Client,
    data_base: String,
    api_key: String,
}

impl Demo {
    /// Names every resource after `suffix` so runs never collide.
    pub(crate) fn new(ctx: Context, sub: String, http: reqwest::Client, suffix: &str) -> Demo {
        Demo {
            ctx,
            sub,
            rg: format!("demo-{suffix}"),
            vault: format!("demo-kv-{suffix}"),
            account: format!("demo-ai-{suffix}"),
            http,
            data_base: String::new(),
            api_key: String::new(),
        }
    }

    fn account_path(&self) -> String {
        format!(
            "subscriptions/{}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
            self.sub, self.rg, self.account
        )
    }

    fn vault_path(&self) -> String {
        format!(
            "subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.sub, self.rg, self.vault
        )
    }

    async fn arm(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        self.ctx.management(method, path, body).await
    }

    async fn policy(&self, kind: &str, object_id: &str) -> Result<Value, String> {
        let body = json!({ "properties": { "accessPolicies": [{
            "tenantId": self.ctx.creds.tenant_id,
            "objectId": object_id,
            "permissions": { "keys": ["get", "wrapKey", "unwrapKey"] },
        }] } });
        self.arm(
            Method::PUT,
            &format!("{}/accessPolicies/{kind}?{KV_ARM}", self.vault_path()),
            Some(&body),
        )
        .await
    }

    async fn encryption(&self) -> Result<Value, String> {
        let account = self
            .arm(Method::GET, &format!("{}?{ARM}", self.account_path()), None)
            .await?;
        Ok(account["properties"]["encryption"].clone())
    }

    /// Polls the account until its key status is `status`.
    async fn wait_status(&self, status: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.encryption().await?["status"] == status {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("the account did not become {status}"))
    }

    async fn data(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut request = self
            .http
            .request(method, format!("{}{path}{sep}{DATA}", self.data_base))
            .header("api-key", &self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn ask(&self, deployment: &str, question: &str) -> Result<String, String> {
        let body = json!({ "messages": [{ "role": "user", "content": question }] });
        match self
            .data(
                Method::POST,
                &format!("/deployments/{deployment}/chat/completions"),
                Some(body),
            )
            .await?
        {
            (200, v) => Ok(v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()),
            (status, v) => Err(format!(
                "{status}: {}",
                v["error"]["code"].as_str().unwrap_or("error")
            )),
        }
    }

    async fn deploy(&self, name: &str, model: &str) -> Result<Value, String> {
        let body = json!({
            "properties": { "model": { "format": "OpenAI", "name": model, "version": "1" } },
            "sku": { "name": "Standard", "capacity": 1 },
        });
        self.arm(
            Method::PUT,
            &format!("{}/deployments/{name}?{ARM}", self.account_path()),
            Some(&body),
        )
        .await
    }

    async fn download_status(&self, file: &str) -> Result<u16, String> {
        Ok(self
            .data(Method::GET, &format!("/files/{file}/content"), None)
            .await?
            .0)
    }
}

pub(crate) async fn story(d: &mut Demo, steps: &mut Steps) -> Result<(), String> {
    let rg_path = format!(
        "subscriptions/{}/resourcegroups/{}?api-version=2021-04-01",
        d.sub, d.rg
    );
    let body = json!({ "location": LOCATION });
    let rg = d.rg.clone();
    steps
        .run(
            "Create a resource group",
            "Everything in the demo lives in it.",
            async {
                d.ctx.management(Method::PUT, &rg_path, Some(&body)).await?;
                Ok(((), rg))
            },
        )
        .await?;

    let me = d.arm(Method::GET, "keyhold/v1/whoami", None).await?;
    let vault_body = json!({ "location": LOCATION, "properties": {
        "tenantId": d.ctx.creds.tenant_id, "sku": { "family": "A", "name": "standard" },
        "enablePurgeProtection": true, "softDeleteRetentionInDays": 7,
        "accessPolicies": [{ "tenantId": d.ctx.creds.tenant_id, "objectId": me["objectId"],
            "permissions": { "keys": ["get", "list", "create", "delete", "rotate", "wrapKey", "unwrapKey", "recover"] } }],
    }});
    let path = format!("{}?{KV_ARM}", d.vault_path());
    steps
        .run(
            "Create a key vault with soft delete and purge protection",
            "A customer-managed key must live in a vault that cannot lose it by accident.",
            async {
                let v = d.arm(Method::PUT, &path, Some(&vault_body)).await?;
                Ok((
                    (),
                    format!(
                        "vault {} (purge protection: {})",
                        v["name"].as_str().unwrap_or_default(),
                        v["properties"]["enablePurgeProtection"]
                    ),
                ))
            },
        )
        .await?;

    let vault = d.vault.clone();
    let key = steps
        .run(
            "Create an RSA-2048 key",
            "The customer-managed key: it wraps the account's key-encryption keys.",
            async {
                let k = d
                    .ctx
                    .vault(
                        Method::POST,
                        &vault,
                        "/keys/cmk/create",
                        Some(&json!({ "kty": "RSA", "key_size": 2048 })),
                    )
                    .await?;
                let kid = k["key"]["kid"].as_str().unwrap_or_default().to_owned();
                Ok((
                    kid.clone(),
                    kid.rsplit('/').next().unwrap_or_default().to_owned(),
                ))
            },
        )
        .await?;
    let first_version = key.rsplit('/').next().unwrap_or_default().to_owned();

    let account_body = json!({ "kind": "OpenAI", "location": LOCATION, "sku": { "name": "S0" },
        "identity": { "type": "SystemAssigned" }, "properties": {} });
    let path = format!("{}?{ARM}", d.account_path());
    let account = steps
        .run(
            "Create an OpenAI account with a system-assigned identity",
            "The identity is who the account is when it asks the vault to wrap and unwrap.",
            async {
                let a = d.arm(Method::PUT, &path, Some(&account_body)).await?;
                let principal = a["identity"]["principalId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                Ok((a, format!("identity {principal}")))
            },
        )
        .await?;
    let principal = account["identity"]["principalId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    d.data_base = format!(
        "{}/openai",
        account["properties"]["endpoint"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
    );

    steps
        .run(
            "Grant the identity get, wrapKey and unwrapKey",
            "An access policy on the vault; nothing else can use the key.",
            async {
                d.policy("add", &principal).await?;
                Ok(((), "access policy added".to_owned()))
            },
        )
        .await?;

    let vault_uri = d.ctx.vault_url(&d.vault);
    let path = format!("{}?{ARM}", d.account_path());
    let cmk = json!({ "properties": { "encryption": { "keySource": "Microsoft.KeyVault",
        "keyVaultProperties": { "keyName": "cmk", "keyVaultUri": vault_uri } } } });
    steps.run("Switch the account to the customer-managed key",
        "keyhold checks every rule (vault settings, key type and size, the identity's access) by really calling the vault.", async {
        let a = d.arm(Method::PATCH, &path, Some(&cmk)).await?;
        Ok(((), format!("keySource {}, version {}", a["properties"]["encryption"]["keySource"].as_str().unwrap_or_default(), a["properties"]["encryption"]["activeKeyVersion"].as_str().unwrap_or_default())))
    }).await?;

    let keys = d
        .arm(
            Method::POST,
            &format!("{}/listKeys?{ARM}", d.account_path()),
            None,
        )
        .await?;
    d.api_key = keys["key1"].as_str().unwrap_or_default().to_owned();
    let training: String = FACTS
        .iter()
        .map(|(q, a)| json!({ "messages": [{ "role": "user", "content": q }, { "role": "assistant", "content": a }] }).to_string() + "\n")
        .collect();
    let file = steps
        .run(
            "Upload training data",
            "Encrypted as it streams in, under a data key wrapped by the account's key.",
            async {
                let form = reqwest::multipart::Form::new()
                    .text("purpose", "fine-tune")
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(training.into_bytes())
                            .file_name("training.jsonl"),
                    );
                let response = d
                    .http
                    .post(format!("{}/files?{DATA}", d.data_base))
                    .header("api-key", &d.api_key)
                    .multipart(form)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let v: Value = response.json().await.map_err(|e| e.to_string())?;
                let id = v["id"]
                    .as_str()
                    .ok_or_else(|| format!("upload refused: {v}"))?
                    .to_owned();
                Ok((id.clone(), format!("{id}, {} bytes", v["bytes"])))
            },
        )
        .await?;

    let job_body = json!({ "model": "gpt-4o-mini-2024-07-18", "training_file": file, "hyperparameters": { "n_epochs": 3 }, "suffix": "demo" });
    let model = steps.run("Fine-tune a model", "The built-in trainer learns from the conversations; checkpoints, the model and the results are written under the customer's key.", async {
        let (_, job) = d.data(Method::POST, "/fine_tuning/jobs", Some(job_body)).await?;
        let id = job["id"].as_str().ok_or_else(|| format!("job refused: {job}"))?.to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, job) = d.data(Method::GET, &format!("/fine_tuning/jobs/{id}"), None).await?;
            match job["status"].as_str() {
                Some("succeeded") => {
                    let model = job["fine_tuned_model"].as_str().unwrap_or_default().to_owned();
                    return Ok((model.clone(), format!("{model} ({} tokens)", job["trained_tokens"])));
                }
                Some("failed" | "cancelled") => return Err(format!("the job ended {}", job["status"])),
                _ if Instant::now() > deadline => return Err("the job took too long".into()),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }).await?;

    steps
        .run(
            "Deploy the fine-tuned model",
            "Deploying decrypts the model into memory, so it needs the key.",
            async {
                d.deploy("demo", &model).await?;
                Ok(((), "deployment demo".to_owned()))
            },
        )
        .await?;

    let (question, _) = FACTS[2];
    steps
        .run("Chat with the deployment", question, async {
            let answer = d.ask("demo", question).await?;
            Ok(((), format!("\"{answer}\"")))
        })
        .await?;

    let vault = d.vault.clone();
    steps.run("Rotate the key", "The account follows the key's newest version; data written before stays readable.", async {
        let rotated = d.ctx.vault(Method::POST, &vault, "/keys/cmk/rotate", None).await?;
        let version = rotated["key"]["kid"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
        let deadline = Instant::now() + Duration::from_secs(20);
        while d.encryption().await?["activeKeyVersion"] != version.as_str() {
            if Instant::now() > deadline {
                return Err("the account did not follow the new version".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let old = d.download_status(&file).await?;
        Ok(((), format!("{first_version} -> {version}; old training file still downloads: HTTP {old}")))
    }).await?;

    steps
        .run(
            "Revoke the identity's access to the key",
            "Remove the access policy, as a customer would to cut keyhold off.",
            async {
                let started = Instant::now();
                d.policy("remove", &principal).await?;
                d.wait_status("KeyInaccessible").await?;
                Ok((
                    (),
                    format!(
                        "account KeyInaccessible after {} ms",
                        started.elapsed().as_millis()
                    ),
                ))
            },
        )
        .await?;

    let job_body = json!({ "model": "gpt-4o-mini-2024-07-18", "training_file": file });
    steps.run("What stops, and what keeps serving", "Downloads, new jobs and new deployments need the key; a deployed model stays in memory.", async {
        let download = d.download_status(&file).await?;
        let (job, _) = d.data(Method::POST, "/fine_tuning/jobs", Some(job_body)).await?;
        let deploy = match d.deploy("demo2", &model).await {
            Ok(_) => "allowed".to_owned(),
            Err(e) => if e.contains("CustomerManagedKeyAccessDenied") { "refused".to_owned() } else { e },
        };
        let chat = d.ask("demo", question).await.map_or_else(|e| e, |_| "answers".to_owned());
        if download == 200 || job < 400 || deploy == "allowed" || chat != "answers" {
            return Err(format!("unexpected: download {download}, new job {job}, deploy {deploy}, chat {chat}"));
        }
        Ok(((), format!("download HTTP {download}, new job HTTP {job}, deploy {deploy}, existing deployment {chat}")))
    }).await?;

    steps
        .run(
            "Restore access",
            "Grant the policy again: everything works without a restart.",
            async {
                let started = Instant::now();
                d.policy("add", &principal).await?;
                d.wait_status("Active").await?;
                let download = d.download_status(&file).await?;
                Ok((
                    (),
                    format!(
                        "Active after {} ms; download HTTP {download}",
                        started.elapsed().as_millis()
                    ),
                ))
            },
        )
        .await?;

    steps
        .run(
            "Clean up",
            "Delete the deployment and the account, then purge it: its keys and ciphertext are \
             destroyed (crypto-shredding). The vault can only be deleted: purge protection keeps \
             it, soft-deleted, until its retention ends.",
            async {
                let left = d.clean_up().await?;
                Ok(((), format!("account purged; {left}")))
            },
        )
        .await?;
    Ok(())
}
