//! The api-versions published for each provider and data plane keyhold answers: data only.
//!
//! Source: Azure/azure-rest-api-specs, the version folders (`stable/<v>`, `preview/<v>`) and
//! the `### Tag:` list of each `readme.md` under
//! - `specification/keyvault/resource-manager/Microsoft.KeyVault/KeyVault/` (plus the
//!   `examples/<v>` folders of `specification/keyvault/resource-manager/Microsoft.KeyVault/KeyVault/`
//!   for 2026-02-01, 2026-03-01-preview, 2026-04-01-preview and 2026-04-01);
//! - `specification/keyvault/data-plane/Microsoft.KeyVault/{stable,preview}/` (keys);
//! - `specification/cognitiveservices/resource-manager/Microsoft.CognitiveServices/CognitiveServices/`;
//! - `specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/MachineLearningServices/`;
//! - `specification/resources/resource-manager/Microsoft.Resources/`,
//!   `specification/msi/resource-manager/Microsoft.ManagedIdentity/`,
//!   `specification/authorization/resource-manager/Microsoft.Authorization/`;
//! - `specification/cognitiveservices/data-plane/AzureOpenAI/{inference,authoring}/`.
//!
//! Refresh with `scripts/refresh-api-versions <checkout of azure-rest-api-specs>`, which prints
//! every version folder per provider; merge its output here (keep the lists sorted oldest
//! first). A version missing here still works when it is newer than the newest listed or lies
//! between two listed ones (see `mod.rs`), so a stale list never breaks a client.

use super::Plane;

/// `(plane, versions oldest first)`.
pub(super) const TABLE: &[(Plane, &[&str])] = &[
    (
        Plane::Resources,
        &[
            "2015-01-01",
            "2015-11-01",
            "2016-02-01",
            "2016-06-01",
            "2016-07-01",
            "2016-09-01",
            "2017-05-10",
            "2018-02-01",
            "2018-05-01",
            "2019-03-01",
            "2019-05-01",
            "2019-05-10",
            "2019-06-01",
            "2019-07-01",
            "2019-08-01",
            "2019-10-01",
            "2019-11-01",
            "2020-01-01",
            "2020-06-01",
            "2020-08-01",
            "2020-10-01",
            "2021-01-01",
            "2021-04-01",
            "2022-09-01",
            "2022-12-01",
            "2023-07-01",
            "2024-03-01",
            "2024-07-01",
            "2024-11-01",
            "2025-03-01",
            "2025-04-01",
        ],
    ),
    (
        Plane::ManagedIdentity,
        &[
            "2015-08-31-preview",
            "2018-11-30",
            "2021-09-30-preview",
            "2022-01-31-preview",
            "2023-01-31",
            "2023-07-31-preview",
            "2024-11-30",
            "2025-01-31-preview",
        ],
    ),
    (
        Plane::Authorization,
        &[
            "2015-06-01",
            "2015-07-01",
            "2017-10-01-preview",
            "2018-01-01-preview",
            "2018-07-01-preview",
            "2018-09-01-preview",
            "2020-03-01-preview",
            "2020-04-01-preview",
            "2020-08-01-preview",
            "2020-10-01-preview",
            "2021-03-01-preview",
            "2022-01-01-preview",
            "2022-04-01",
            "2022-05-01-preview",
            "2022-08-01-preview",
        ],
    ),
    (
        Plane::KeyVault,
        &[
            "2015-06-01",
            "2016-10-01",
            "2018-02-14-preview",
            "2018-02-14",
            "2019-09-01",
            "2020-04-01-preview",
            "2021-04-01-preview",
            "2021-06-01-preview",
            "2021-10-01",
            "2021-11-01-preview",
            "2022-02-01-preview",
            "2022-07-01",
            "2022-11-01",
            "2023-02-01",
            "2023-07-01",
            "2024-04-01-preview",
            "2024-11-01",
            "2024-12-01-preview",
            "2025-05-01",
            "2026-02-01",
            "2026-03-01-preview",
            "2026-04-01-preview",
            "2026-04-01",
            // The default of azure-mgmt-keyvault 14.1.0, which is generated from the specs;
            // its folder was not yet in the snapshot this table was read from.
            "2026-05-15",
        ],
    ),
    (
        Plane::CognitiveServices,
        &[
            "2016-02-01-preview",
            "2017-04-18",
            "2021-04-30",
            "2021-10-01",
            "2022-03-01",
            "2022-10-01",
            "2022-12-01",
            "2023-05-01",
            "2023-10-01-preview",
            "2024-04-01-preview",
            "2024-06-01-preview",
            "2024-10-01",
            "2025-04-01-preview",
            "2025-06-01",
            "2025-07-01-preview",
            "2025-09-01",
            "2025-10-01-preview",
            "2026-03-01",
        ],
    ),
    (
        Plane::MachineLearningServices,
        &[
            "2021-07-01",
            "2022-05-01",
            "2022-10-01",
            "2023-04-01",
            "2023-10-01",
            "2024-04-01",
            "2024-10-01",
            "2025-01-01-preview",
            "2025-04-01",
            "2025-06-01",
            "2025-07-01-preview",
            "2025-09-01",
        ],
    ),
    (
        Plane::KeyVaultData,
        &[
            "7.0",
            "7.1",
            "7.2",
            "7.3",
            "7.4",
            "7.5",
            "7.6-preview.1",
            "7.6-preview.2",
            "7.6",
            "2025-06-01",
            "2025-07-01",
        ],
    ),
    (
        Plane::OpenAi,
        &[
            "2022-12-01",
            "2023-05-15",
            "2023-06-01-preview",
            "2023-12-01-preview",
            "2024-02-01",
            "2024-02-15-preview",
            "2024-03-01-preview",
            "2024-04-01-preview",
            "2024-05-01-preview",
            "2024-06-01",
            "2024-07-01-preview",
            "2024-08-01-preview",
            "2024-09-01-preview",
            "2024-10-01-preview",
            "2024-10-21",
            "2024-12-01-preview",
            "2025-01-01-preview",
            "2025-02-01-preview",
            "2025-03-01-preview",
            "2025-04-01-preview",
        ],
    ),
];
