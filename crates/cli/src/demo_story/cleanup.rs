//! What `keyhold demo` leaves behind: it deletes everything it made, as far as the rules
//! allow (its vault can only be soft-deleted: purge protection forbids purging it before its
//! retention ends), and says what is left.

use reqwest::Method;

use super::{ARM, Demo, KV_ARM, LOCATION};

impl Demo {
    /// Deletes what the demo made, as far as the rules allow: the deployments, the account
    /// (purged), the vault (soft-deleted: purge protection forbids purging it before its
    /// retention ends) and the resource group. Returns what is left, and until when.
    pub(crate) async fn clean_up(&self) -> Result<String, String> {
        let account = format!("{}?{ARM}", self.account_path());
        for deployment in ["demo", "demo2"] {
            let path = format!("{}/deployments/{deployment}?{ARM}", self.account_path());
            if self.arm(Method::GET, &path, None).await.is_ok() {
                self.arm(Method::DELETE, &path, None).await?;
            }
        }
        if self.arm(Method::GET, &account, None).await.is_ok() {
            self.arm(Method::DELETE, &account, None).await?;
            let purge = format!(
                "subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{LOCATION}/resourceGroups/{}/deletedAccounts/{}?{ARM}",
                self.sub, self.rg, self.account
            );
            self.arm(Method::DELETE, &purge, None).await?;
        }
        let vault = format!("{}?{KV_ARM}", self.vault_path());
        if self.arm(Method::GET, &vault, None).await.is_ok() {
            self.arm(Method::DELETE, &vault, None).await?;
        }
        let group = format!(
            "subscriptions/{}/resourcegroups/{}?api-version=2021-04-01",
            self.sub, self.rg
        );
        self.arm(Method::DELETE, &group, None).await?;
        Ok(self
            .left_behind()
            .await
            .unwrap_or_else(|| format!("vault {} deleted", self.vault)))
    }

    /// What of the demo's is still on the server: its vault, soft-deleted (with the date it
    /// will be purged) or, if cleaning up failed, still there.
    pub(crate) async fn left_behind(&self) -> Option<String> {
        let deleted = format!(
            "subscriptions/{}/providers/Microsoft.KeyVault/locations/{LOCATION}/deletedVaults/{}?{KV_ARM}",
            self.sub, self.vault
        );
        if let Ok(v) = self.arm(Method::GET, &deleted, None).await {
            return Some(format!(
                "vault {} soft-deleted under purge protection until {}",
                self.vault,
                v["properties"]["scheduledPurgeDate"]
                    .as_str()
                    .unwrap_or("its retention ends")
            ));
        }
        let vault = format!("{}?{KV_ARM}", self.vault_path());
        self.arm(Method::GET, &vault, None).await.ok().map(|_| {
            format!(
                "vault {} (not deleted: the clean-up did not finish)",
                self.vault
            )
        })
    }
}
