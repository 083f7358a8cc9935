use super::*;

#[test]
fn every_plane_has_a_sorted_table_of_well_formed_versions() {
    for plane in Plane::ALL {
        let versions = plane.versions();
        assert!(!versions.is_empty(), "{plane:?} has no versions");
        let parsed: Vec<ApiVersion> = versions
            .iter()
            .map(|v| ApiVersion::parse(v).unwrap_or_else(|| panic!("{plane:?}: {v} is malformed")))
            .collect();
        for pair in parsed.windows(2) {
            assert!(
                pair[0] < pair[1],
                "{plane:?}: {:?} before {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

#[test]
fn policy_table() {
    use Accepted::*;
    let rows: &[(Plane, &str, Result<Accepted, ()>)] = &[
        // Published, previews included, case-insensitively.
        (
            Plane::Resources,
            "2022-12-01",
            Ok(Published("2022-12-01".into())),
        ),
        (
            Plane::KeyVault,
            "2026-02-01",
            Ok(Published("2026-02-01".into())),
        ),
        (
            Plane::KeyVault,
            "2024-12-01-PREVIEW",
            Ok(Published("2024-12-01-PREVIEW".into())),
        ),
        (
            Plane::KeyVaultData,
            "7.6-preview.2",
            Ok(Published("7.6-preview.2".into())),
        ),
        // Newer than the newest: answered with the newest shape.
        (
            Plane::CognitiveServices,
            "2026-05-15-preview",
            Ok(Newer("2026-05-15-preview".into())),
        ),
        (
            Plane::KeyVaultData,
            "2026-01-01-preview",
            Ok(Newer("2026-01-01-preview".into())),
        ),
        (
            Plane::KeyVault,
            "2099-01-01",
            Ok(Newer("2099-01-01".into())),
        ),
        // Inside the range but not listed.
        (
            Plane::Resources,
            "2023-01-01",
            Ok(Unlisted("2023-01-01".into())),
        ),
        (
            Plane::KeyVaultData,
            "7.5-preview.1",
            Ok(Unlisted("7.5-preview.1".into())),
        ),
        // Older than the oldest, or malformed.
        (Plane::KeyVault, "2014-01-01", Err(())),
        (Plane::KeyVaultData, "6.9", Err(())),
        (Plane::KeyVaultData, "2016-10-01", Err(())),
        (Plane::OpenAi, "2022-01-01", Err(())),
        (Plane::Resources, "", Err(())),
        (Plane::Resources, "latest", Err(())),
        (Plane::Resources, "2022-12-01x", Err(())),
        (Plane::KeyVault, "2026-13-01", Err(())),
    ];
    for (plane, version, expected) in rows {
        let got = check(*plane, version);
        match (got, expected) {
            (Ok(a), Ok(e)) => assert_eq!(&a, e, "{plane:?} {version}"),
            (
                Err(VersionError::Invalid {
                    plane: p,
                    version: v,
                }),
                Err(()),
            ) => {
                assert_eq!((p, v.as_str()), (*plane, *version));
            }
            (got, _) => panic!("{plane:?} {version}: unexpected {got:?}"),
        }
    }
}

#[test]
fn errors_list_the_supported_versions_newest_first() {
    let err = check(Plane::KeyVault, "2014-01-01").unwrap_err();
    let list = err.supported();
    assert!(list.starts_with(Plane::KeyVault.newest()), "{list}");
    assert!(list.contains("2019-09-01"), "{list}");
    assert_eq!(Plane::KeyVaultData.newest_stable(), "2025-07-01");
}

#[test]
fn require_reads_the_query() {
    let uri: Uri = "/x?a=b&API-VERSION=2021-01-01".parse().unwrap();
    assert_eq!(
        require(&uri, Plane::Resources),
        Ok(Accepted::Published("2021-01-01".into()))
    );
    let uri: Uri = "/x".parse().unwrap();
    assert_eq!(
        require(&uri, Plane::Resources),
        Err(VersionError::Missing {
            plane: Plane::Resources
        })
    );
}

#[test]
fn query_values_are_decoded() {
    let uri: Uri = "/msi/token?resource=https%3A%2F%2Fvault.localhost&x=1"
        .parse()
        .unwrap();
    assert_eq!(
        query_param(&uri, "resource").as_deref(),
        Some("https://vault.localhost")
    );
    assert_eq!(query_param(&uri, "missing"), None);
}
