//! Which vault hosts keyhold may call: its own vaults, and the remote vault hosts an operator
//! allowed (`remote_vault_hosts`). A `keyVaultUri` is user input: without this list, anyone
//! who may set an account's encryption could make keyhold connect to any host and port and
//! present a token of the account's identity there.
//!
//! Security reasoning:
//! - A remote host must match an operator's entry (`host[:port]` or `*.suffix[:port]`, port
//!   443 when absent). IP literals are refused in entries and in URIs: a vault is named by
//!   DNS, as Azure's are, and an address names whatever listens there.
//! - The token sent to a remote vault is minted for that vault's own audience,
//!   `https://{its vault domain}[:port]` (the host without its first label), which no vault
//!   of this keyhold accepts, so a token leaked by a remote vault is worthless here; an entry
//!   whose audience would be one of this keyhold's own vault audiences is refused at start.

use std::net::IpAddr;

/// One allowed remote vault host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteVaultHost {
    /// `kv1.vault.example.com`, or `*.vault.example.com` (any single label in front).
    pattern: String,
    /// The port (443 when the entry names none).
    port: u16,
}

impl RemoteVaultHost {
    /// Parses one entry (`host[:port]`, `*.suffix[:port]`); the reason names what is wrong.
    pub fn parse(entry: &str) -> Result<RemoteVaultHost, String> {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.contains("://") || entry.contains('/') || entry.contains('@') {
            return Err(format!(
                "{entry:?} must be a host name with an optional port (kv.vault.example.com:443 or *.vault.example.com), not a URL"
            ));
        }
        let (host, port) =
            split_port(&entry).ok_or_else(|| format!("{entry:?} has an invalid port (1-65535)"))?;
        let name = host.strip_prefix("*.").unwrap_or(host);
        if is_ip_literal(name) {
            return Err(format!(
                "{entry:?} is an IP address: remote vaults are named by DNS host names"
            ));
        }
        let labels: Vec<&str> = name.split('.').collect();
        let valid_label = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if labels.len() < 2 || !labels.iter().all(valid_label) || name.len() > 253 {
            return Err(format!(
                "{entry:?} is not a host name (at least two labels of letters, digits and '-')"
            ));
        }
        Ok(RemoteVaultHost {
            pattern: host.to_owned(),
            port,
        })
    }

    /// Whether `host` (lower case) on `port` matches this entry.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if port != self.port {
            return false;
        }
        match self.pattern.strip_prefix("*.") {
            Some(suffix) => host
                .strip_suffix(suffix)
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
            None => host == self.pattern,
        }
    }

    /// The audience of the vaults this entry names: `https://{domain}[:port]`, where the
    /// domain is the host without its first label.
    pub fn audience(&self) -> String {
        let domain = match self.pattern.strip_prefix("*.") {
            Some(suffix) => suffix,
            None => self
                .pattern
                .split_once('.')
                .map_or(self.pattern.as_str(), |(_, rest)| rest),
        };
        audience_of(domain, self.port)
    }
}

/// `https://{domain}`, with `:{port}` unless it is 443.
fn audience_of(domain: &str, port: u16) -> String {
    if port == 443 {
        format!("https://{domain}")
    } else {
        format!("https://{domain}:{port}")
    }
}

/// `host` and port of `host[:port]` (443 when absent); `None` for a bad port.
fn split_port(authority: &str) -> Option<(&str, u16)> {
    if authority.starts_with('[') {
        // An IPv6 literal: left whole, refused by the caller.
        return Some((authority, 443));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .map(|p| (host, p)),
        None => Some((authority, 443)),
    }
}

fn is_ip_literal(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok()
}

/// Where a vault URI points, as keyhold decides whether and how to call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultHost {
    /// One of this keyhold's vaults, by name.
    Local(String),
    /// An allowed remote vault: its name (first label) and the audience to mint tokens for.
    Remote {
        /// The vault's name.
        name: String,
        /// Its audience.
        audience: String,
    },
}

/// The DNS suffix of Azure Key Vault in the public cloud, which ARM templates hard-code.
pub const AZURE_VAULT_DOMAIN: &str = "vault.azure.net";

/// The vault hosts keyhold may call.
#[derive(Debug, Clone)]
pub struct VaultHosts {
    vault_domain: String,
    local_port: u16,
    remote: Vec<RemoteVaultHost>,
    azure_alias: bool,
}

impl VaultHosts {
    /// This keyhold's vault domain and port, and the allowed remote hosts.
    pub fn new(vault_domain: &str, local_port: u16, remote: Vec<RemoteVaultHost>) -> Self {
        Self {
            vault_domain: vault_domain.to_ascii_lowercase(),
            local_port,
            remote,
            azure_alias: false,
        }
    }

    /// With the alias on, `https://{name}.vault.azure.net/` (port 443) names this server's
    /// vault `name`, so templates that hard-code Azure's vault URIs deploy unchanged. A host
    /// that a `remote_vault_hosts` entry allows is never aliased: it stays that remote vault.
    pub fn with_azure_alias(mut self, on: bool) -> Self {
        self.azure_alias = on;
        self
    }

    /// `https://{name}.{vault-domain}:{port}`: where this server's vault `name` answers.
    pub fn local_url(&self, name: &str) -> String {
        format!("https://{name}.{}:{}", self.vault_domain, self.local_port)
    }

    /// Classifies `https://{host}[:port]/…`; the error says why keyhold will not call it.
    pub fn classify(&self, uri: &str) -> Result<VaultHost, String> {
        let rest = uri
            .strip_prefix("https://")
            .ok_or_else(|| "a vault URI must start with https://".to_owned())?;
        let authority = rest
            .split('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if authority.contains('@') {
            return Err("a vault URI must not carry credentials".into());
        }
        let (host, port) =
            split_port(&authority).ok_or_else(|| "the vault URI's port is invalid".to_owned())?;
        if is_ip_literal(host) {
            return Err("a vault URI must name a host, not an IP address".into());
        }
        let (name, domain) = host
            .split_once('.')
            .ok_or_else(|| "a vault URI's host must be {vault}.{domain}".to_owned())?;
        if name.is_empty() {
            return Err("a vault URI's host must be {vault}.{domain}".into());
        }
        if domain == self.vault_domain && port == self.local_port {
            return Ok(VaultHost::Local(name.to_owned()));
        }
        match self.remote.iter().find(|r| r.matches(host, port)) {
            Some(entry) => Ok(VaultHost::Remote {
                name: name.to_owned(),
                audience: entry.audience(),
            }),
            None if self.azure_alias && domain == AZURE_VAULT_DOMAIN && port == 443 => {
                Ok(VaultHost::Local(name.to_owned()))
            }
            None => Err(format!(
                "{host}:{port} is neither a vault of this keyhold ({{vault}}.{}:{}) nor a remote vault host the operator allowed (remote_vault_hosts)",
                self.vault_domain, self.local_port
            )),
        }
    }

    /// Entries whose tokens this keyhold's own vaults would accept (`own` are its vault
    /// audiences): such an entry would make a remote vault's tokens usable here.
    pub fn clashes(&self, own: &[String]) -> Vec<String> {
        self.remote
            .iter()
            .map(RemoteVaultHost::audience)
            .filter(|a| own.iter().any(|o| o.eq_ignore_ascii_case(a)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_host_names_with_optional_ports() {
        let ok = [
            ("kv1.vault.example.com", "kv1.vault.example.com", 443),
            ("*.vault.example.com:9443", "*.vault.example.com", 9443),
            ("KV.Vault.Example.COM", "kv.vault.example.com", 443),
        ];
        for (entry, pattern, port) in ok {
            let parsed = RemoteVaultHost::parse(entry).unwrap();
            assert_eq!(
                (parsed.pattern.as_str(), parsed.port),
                (pattern, port),
                "{entry}"
            );
        }
        for bad in [
            "https://kv.vault.example.com",
            "10.0.0.1",
            "*.10.0.0.1",
            "[::1]:8443",
            "localhost",
            "kv.vault.example.com:0",
            "kv.vault.example.com:99999",
            "kv.vault.example.com/path",
            "user@kv.vault.example.com",
            "kv_1.vault.example.com",
        ] {
            assert!(RemoteVaultHost::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn wildcards_match_one_label_on_the_same_port() {
        let entry = RemoteVaultHost::parse("*.vault.example.com:9443").unwrap();
        assert!(entry.matches("kv1.vault.example.com", 9443));
        assert!(!entry.matches("kv1.vault.example.com", 443));
        assert!(!entry.matches("a.kv1.vault.example.com", 9443));
        assert!(!entry.matches("vault.example.com", 9443));
        assert!(!entry.matches("kv1.vault.example.com.evil.net", 9443));
        assert_eq!(entry.audience(), "https://vault.example.com:9443");
        let exact = RemoteVaultHost::parse("kv1.vault.azure.net").unwrap();
        assert!(exact.matches("kv1.vault.azure.net", 443));
        assert!(!exact.matches("kv2.vault.azure.net", 443));
        assert_eq!(exact.audience(), "https://vault.azure.net");
    }

    #[test]
    fn uris_are_local_allowed_remote_or_refused() {
        let hosts = VaultHosts::new(
            "vault.localhost",
            8443,
            vec![RemoteVaultHost::parse("*.vault.other:9443").unwrap()],
        );
        assert_eq!(
            hosts.classify("https://kv1.vault.localhost:8443/"),
            Ok(VaultHost::Local("kv1".into()))
        );
        assert_eq!(
            hosts.classify("https://KV2.vault.other:9443/keys/k"),
            Ok(VaultHost::Remote {
                name: "kv2".into(),
                audience: "https://vault.other:9443".into()
            })
        );
        for refused in [
            "http://kv1.vault.localhost:8443/",
            "https://kv1.vault.localhost:9999/",
            "https://kv1.vault.other/",
            "https://evil.example.com/",
            "https://127.0.0.1:8443/",
            "https://[::1]:8443/",
            "https://user@kv1.vault.other:9443/",
            "https://vault/",
        ] {
            assert!(hosts.classify(refused).is_err(), "{refused} allowed");
        }
    }

    #[test]
    fn azure_vault_uris_name_local_vaults_unless_allowed_as_remote_or_off() {
        let aliased = VaultHosts::new("vault.localhost", 8443, vec![]).with_azure_alias(true);
        assert_eq!(
            aliased.classify("https://kv1.vault.azure.net/"),
            Ok(VaultHost::Local("kv1".into()))
        );
        assert_eq!(
            aliased.classify("https://KV1.Vault.Azure.Net:443/keys/k"),
            Ok(VaultHost::Local("kv1".into()))
        );
        assert_eq!(aliased.local_url("kv1"), "https://kv1.vault.localhost:8443");
        for refused in [
            "https://kv1.vault.azure.net:8443/",
            "https://kv1.vault.azure.cn/",
            "https://a.kv1.vault.azure.net/",
        ] {
            assert!(aliased.classify(refused).is_err(), "{refused} allowed");
        }
        let off = VaultHosts::new("vault.localhost", 8443, vec![]);
        assert!(off.classify("https://kv1.vault.azure.net/").is_err());
        // An operator who allows real Azure vaults gets them, never the alias.
        let remote = VaultHosts::new(
            "vault.localhost",
            8443,
            vec![RemoteVaultHost::parse("*.vault.azure.net").unwrap()],
        )
        .with_azure_alias(true);
        assert_eq!(
            remote.classify("https://kv1.vault.azure.net/"),
            Ok(VaultHost::Remote {
                name: "kv1".into(),
                audience: "https://vault.azure.net".into()
            })
        );
    }

    #[test]
    fn an_entry_whose_tokens_local_vaults_accept_is_a_clash() {
        let hosts = VaultHosts::new(
            "vault.localhost",
            8443,
            vec![
                RemoteVaultHost::parse("*.vault.localhost:8443").unwrap(),
                RemoteVaultHost::parse("*.vault.localhost:9443").unwrap(),
            ],
        );
        let own = vec![
            "https://vault.localhost".to_owned(),
            "https://vault.localhost:8443".to_owned(),
        ];
        assert_eq!(hosts.clashes(&own), vec!["https://vault.localhost:8443"]);
    }
}
