//! The api-version policy, one for every plane. Azure requires `?api-version=` on every ARM,
//! Key Vault and dated Azure OpenAI call, and a client release must never break keyhold
//! (DESIGN.md section 5), so:
//! - every version published in Azure/azure-rest-api-specs for the plane is accepted
//!   (`table.rs`, previews included);
//! - a well-formed version **newer** than the newest published one is accepted and answered
//!   with the newest shape (keyhold answers one shape per resource), logged once per version
//!   at info so an operator sees which clients are ahead of the table;
//! - a well-formed version between two published ones is accepted as the published one
//!   before it (a stale table must not refuse a real version), logged the same way;
//! - a malformed version, or one older than the oldest published, is refused. Each API maps
//!   [`VersionError`] to its own wire shape (ARM's 400 `InvalidApiVersionParameter` listing the
//!   supported versions in `arm/error.rs`, Key Vault's `BadParameter` in `vault_api/error.rs`,
//!   Azure OpenAI's in `ai_api/error.rs`).

mod table;
mod version;

use std::collections::BTreeSet;
use std::sync::Mutex;

use axum::http::Uri;

pub use version::ApiVersion;

/// A provider namespace or data plane with its own list of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Plane {
    /// `Microsoft.Resources`: subscriptions, tenants, resource groups, resources, providers.
    Resources,
    /// `Microsoft.Resources/deployments`: template deployments (published on their own).
    Deployments,
    /// `Microsoft.ManagedIdentity`.
    ManagedIdentity,
    /// `Microsoft.Authorization`: role assignments and definitions.
    Authorization,
    /// `Microsoft.KeyVault` (management).
    KeyVault,
    /// `Microsoft.CognitiveServices`.
    CognitiveServices,
    /// `Microsoft.MachineLearningServices`.
    MachineLearningServices,
    /// The Key Vault keys data plane.
    KeyVaultData,
    /// The Azure OpenAI data plane (dated paths).
    OpenAi,
}

impl Plane {
    /// Every plane.
    pub const ALL: &'static [Plane] = &[
        Plane::Resources,
        Plane::Deployments,
        Plane::ManagedIdentity,
        Plane::Authorization,
        Plane::KeyVault,
        Plane::CognitiveServices,
        Plane::MachineLearningServices,
        Plane::KeyVaultData,
        Plane::OpenAi,
    ];

    /// The provider namespace (or the data plane's name), as errors name it.
    pub fn name(self) -> &'static str {
        match self {
            Plane::Resources => "Microsoft.Resources",
            Plane::Deployments => "Microsoft.Resources/deployments",
            Plane::ManagedIdentity => "Microsoft.ManagedIdentity",
            Plane::Authorization => "Microsoft.Authorization",
            Plane::KeyVault => "Microsoft.KeyVault",
            Plane::CognitiveServices => "Microsoft.CognitiveServices",
            Plane::MachineLearningServices => "Microsoft.MachineLearningServices",
            Plane::KeyVaultData => "the Key Vault keys API",
            Plane::OpenAi => "the Azure OpenAI data plane",
        }
    }

    /// The published versions, oldest first.
    pub fn versions(self) -> &'static [&'static str] {
        table::TABLE
            .iter()
            .find(|(plane, _)| *plane == self)
            .map_or(&[], |(_, versions)| versions)
    }

    /// The newest published version (stable or preview).
    pub fn newest(self) -> &'static str {
        self.versions().last().copied().unwrap_or_default()
    }

    /// The newest published stable version.
    pub fn newest_stable(self) -> &'static str {
        self.versions()
            .iter()
            .rev()
            .find(|v| ApiVersion::parse(v).is_some_and(|p| !p.is_preview()))
            .copied()
            .unwrap_or_else(|| self.newest())
    }
}

/// How an accepted version relates to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A published version.
    Published(String),
    /// Newer than the newest published one: answered as the newest.
    Newer(String),
    /// Between published ones but not itself listed: answered as the one before it.
    Unlisted(String),
}

impl Accepted {
    /// The version as the client sent it.
    pub fn as_sent(&self) -> &str {
        match self {
            Accepted::Published(v) | Accepted::Newer(v) | Accepted::Unlisted(v) => v,
        }
    }
}

/// Why a request's api-version is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// No `api-version` query parameter.
    Missing {
        /// The plane that needs one.
        plane: Plane,
    },
    /// Malformed, or older than the oldest published version.
    Invalid {
        /// The plane.
        plane: Plane,
        /// The version as sent.
        version: String,
    },
}

impl VersionError {
    /// The supported versions, newest first, comma-separated (as ARM lists them).
    pub fn supported(&self) -> String {
        let plane = match self {
            VersionError::Missing { plane } | VersionError::Invalid { plane, .. } => *plane,
        };
        let mut list: Vec<&str> = plane.versions().to_vec();
        list.reverse();
        list.join(",")
    }
}

/// Checks `version` against `plane`'s table.
pub fn check(plane: Plane, version: &str) -> Result<Accepted, VersionError> {
    let invalid = || VersionError::Invalid {
        plane,
        version: version.to_owned(),
    };
    if plane
        .versions()
        .iter()
        .any(|v| v.eq_ignore_ascii_case(version))
    {
        return Ok(Accepted::Published(version.to_owned()));
    }
    let parsed = ApiVersion::parse(version).ok_or_else(invalid)?;
    let known: Vec<ApiVersion> = plane
        .versions()
        .iter()
        .filter_map(|v| ApiVersion::parse(v))
        .collect();
    // The oldest of the same form: a dated Key Vault version older than 2025-06-01 was never
    // published, even though every dated version sorts after the numbered ones.
    let oldest = known
        .iter()
        .filter(|k| k.same_form(&parsed))
        .min()
        .or_else(|| known.iter().min());
    let (Some(oldest), Some(newest)) = (oldest, known.iter().max()) else {
        return Err(invalid());
    };
    if parsed < *oldest {
        return Err(invalid());
    }
    let accepted = if parsed > *newest {
        Accepted::Newer(version.to_owned())
    } else {
        Accepted::Unlisted(version.to_owned())
    };
    note_unlisted(plane, &accepted);
    Ok(accepted)
}

/// Checks the request's `api-version` query parameter against `plane`.
pub fn require(uri: &Uri, plane: Plane) -> Result<Accepted, VersionError> {
    match query_param(uri, "api-version") {
        Some(version) => check(plane, &version),
        None => Err(VersionError::Missing { plane }),
    }
}

/// Versions already logged; bounded so that a client sending endless new versions cannot
/// grow it (past the bound, further ones are no longer logged).
static LOGGED: Mutex<BTreeSet<(Plane, String)>> = Mutex::new(BTreeSet::new());
const MAX_LOGGED: usize = 256;

fn note_unlisted(plane: Plane, accepted: &Accepted) {
    let Ok(mut logged) = LOGGED.lock() else {
        return;
    };
    let version = accepted.as_sent().to_ascii_lowercase();
    if logged.len() >= MAX_LOGGED || !logged.insert((plane, version)) {
        return;
    }
    match accepted {
        Accepted::Newer(v) => tracing::info!(
            plane = plane.name(),
            api_version = %v,
            newest_known = plane.newest(),
            "api-version newer than the newest published one: answering with the newest shape"
        ),
        Accepted::Unlisted(v) => tracing::info!(
            plane = plane.name(),
            api_version = %v,
            "api-version not in the published list but within its range: accepted"
        ),
        Accepted::Published(_) => {}
    }
}

/// The value of one query parameter, percent-decoded.
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    url_pairs(query)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

#[cfg(test)]
mod tests;
