use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_match_the_contract() {
    let config = Config::resolve(None, ConfigLayer::default(), ConfigLayer::default()).unwrap();
    assert_eq!(config.listen, "127.0.0.1:8443".parse().unwrap());
    assert_eq!(config.listen_also, vec!["[::1]:8443".parse().unwrap()]);
    assert_eq!(config.data_dir, PathBuf::from("./keyhold-data"));
    assert_eq!(config.store, StoreConfig::Embedded);
    assert_eq!(
        config.blob,
        BlobConfig::LocalDir(PathBuf::from("./keyhold-data/blobs"))
    );
    assert_eq!(config.vault_domain, "vault.localhost");
    assert_eq!(config.ai_domain, "openai.localhost");
    assert_eq!(config.log_format, LogFormat::Text);
    assert!(config.tls_files.is_none());
    assert!(config.master_key_file.is_none());
    assert_eq!(config.management_audience, "https://management.localhost");
    assert_eq!(config.ai_audience, "https://cognitiveservices.localhost");
    assert_eq!(config.vault_audience(), "https://vault.localhost");
    assert_eq!(config.graph_audience, "https://graph.localhost");
}

#[test]
fn an_explicit_listen_means_exactly_that_address() {
    for listen in ["127.0.0.1:8443", "[::1]:9000", "0.0.0.0:8443"] {
        let layer = ConfigLayer {
            listen: Some(listen.into()),
            ..Default::default()
        };
        let config = Config::resolve(None, ConfigLayer::default(), layer).unwrap();
        assert_eq!(config.listen, listen.parse().unwrap());
        assert!(config.listen_also.is_empty(), "{listen}");
    }
    let (env_layer, _) =
        ConfigLayer::from_env(env(&[("KEYHOLD_LISTEN", "127.0.0.1:7000")])).unwrap();
    let config = Config::resolve(None, env_layer, ConfigLayer::default()).unwrap();
    assert!(config.listen_also.is_empty());
}

#[test]
fn flags_beat_env_beat_file() {
    let file = ConfigLayer {
        listen: Some("127.0.0.1:1000".into()),
        vault_domain: Some("file.example".into()),
        log_format: Some("json".into()),
        ..Default::default()
    };
    let (env_layer, _) = ConfigLayer::from_env(env(&[
        ("KEYHOLD_LISTEN", "127.0.0.1:2000"),
        ("KEYHOLD_VAULT_DOMAIN", "env.example"),
    ]))
    .unwrap();
    let flags = ConfigLayer {
        listen: Some("127.0.0.1:3000".into()),
        ..Default::default()
    };
    let config = Config::resolve(Some(file), env_layer, flags).unwrap();
    assert_eq!(config.listen.port(), 3000);
    assert_eq!(config.vault_domain, "env.example");
    assert_eq!(config.log_format, LogFormat::Json);
}

#[test]
fn unknown_env_var_is_named() {
    let err = ConfigLayer::from_env(env(&[("KEYHOLD_MASTER_KEY_FLIE", "/x")])).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownEnv(ref name) if name == "KEYHOLD_MASTER_KEY_FLIE"));
    assert!(err.to_string().contains("KEYHOLD_MASTER_KEY_FILE"));
}

#[test]
fn env_ignores_other_variables_and_reads_config_path() {
    let (layer, file) = ConfigLayer::from_env(env(&[
        ("PATH", "/bin"),
        ("KEYHOLD_CONFIG", "/etc/keyhold.toml"),
        ("KEYHOLD_PUBLIC_HOST", "a.example, b.example,"),
    ]))
    .unwrap();
    assert_eq!(file, Some(PathBuf::from("/etc/keyhold.toml")));
    assert_eq!(
        layer.public_host,
        Some(vec!["a.example".to_owned(), "b.example".to_owned()])
    );
}

#[test]
fn config_file_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyhold.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"\n").unwrap();
    let err = ConfigLayer::from_file(&path).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("listen_adress"), "{text}");
    assert!(text.contains("keyhold.toml"), "{text}");
}

#[test]
fn config_file_reads_known_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyhold.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9\"\npublic_host = [\"kh.example\"]\nmax_body_bytes = 2048\n",
    )
    .unwrap();
    let layer = ConfigLayer::from_file(&path).unwrap();
    let config = Config::validate(layer).unwrap();
    assert_eq!(config.listen.port(), 9);
    assert_eq!(config.public_hosts, vec!["kh.example".to_owned()]);
    assert_eq!(config.max_body_bytes, 2048);
}

#[test]
fn missing_config_file_is_named() {
    let err = ConfigLayer::from_file(Path::new("/nonexistent/keyhold.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::FileUnreadable { .. }));
    assert!(err.to_string().contains("/nonexistent/keyhold.toml"));
}

/// Each invalid value is rejected, and the error names the setting.
#[test]
fn invalid_values_table() {
    let cases: Vec<(ConfigLayer, &str)> = vec![
        (
            ConfigLayer {
                key_check_interval_secs: Some(0),
                ..Default::default()
            },
            "key_check_interval_secs",
        ),
        (
            ConfigLayer {
                listen: Some("localhost".into()),
                ..Default::default()
            },
            "listen",
        ),
        (
            ConfigLayer {
                listen: Some("127.0.0.1:99999".into()),
                ..Default::default()
            },
            "listen",
        ),
        (
            ConfigLayer {
                store: Some("mysql://x".into()),
                ..Default::default()
            },
            "store",
        ),
        (
            ConfigLayer {
                store: Some("postgres://u@h:notaport/db".into()),
                ..Default::default()
            },
            "store",
        ),
        (
            ConfigLayer {
                store: Some("postgres://u@h/".into()),
                ..Default::default()
            },
            "store",
        ),
        (
            ConfigLayer {
                blob: Some("ftp://x".into()),
                ..Default::default()
            },
            "blob",
        ),
        (
            ConfigLayer {
                blob: Some("file://relative".into()),
                ..Default::default()
            },
            "blob",
        ),
        (
            ConfigLayer {
                vault_domain: Some("bad_domain".into()),
                ..Default::default()
            },
            "vault_domain",
        ),
        (
            ConfigLayer {
                vault_domain: Some("-x.localhost".into()),
                ..Default::default()
            },
            "vault_domain",
        ),
        (
            ConfigLayer {
                ai_domain: Some("vault.localhost".into()),
                ..Default::default()
            },
            "ai_domain",
        ),
        (
            ConfigLayer {
                public_host: Some(vec!["has space".into()]),
                ..Default::default()
            },
            "public_host",
        ),
        (
            ConfigLayer {
                tls_cert: Some("/c.pem".into()),
                ..Default::default()
            },
            "tls_key",
        ),
        (
            ConfigLayer {
                tls_key: Some("/k.pem".into()),
                ..Default::default()
            },
            "tls_cert",
        ),
        (
            ConfigLayer {
                log_format: Some("xml".into()),
                ..Default::default()
            },
            "log_format",
        ),
        (
            ConfigLayer {
                max_body_bytes: Some(1),
                ..Default::default()
            },
            "max_body_bytes",
        ),
        (
            ConfigLayer {
                management_audience: Some("http://management.localhost".into()),
                ..Default::default()
            },
            "management_audience",
        ),
        (
            ConfigLayer {
                ai_audience: Some("https://".into()),
                ..Default::default()
            },
            "ai_audience",
        ),
        (
            ConfigLayer {
                data_dir: Some(PathBuf::new()),
                ..Default::default()
            },
            "data_dir",
        ),
    ];
    for (layer, setting) in cases {
        let err = Config::validate(layer.clone()).unwrap_err();
        match &err {
            ConfigError::Invalid { setting: s, .. } => {
                assert_eq!(*s, setting, "wrong setting named for {layer:?}: {err}")
            }
            other => panic!("expected Invalid for {layer:?}, got {other:?}"),
        }
    }
}

#[test]
fn domains_are_normalised() {
    let config = Config::validate(ConfigLayer {
        vault_domain: Some("Vault.Example.".into()),
        blob: Some("file:///srv/blobs".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(config.vault_domain, "vault.example");
    assert_eq!(
        config.blob,
        BlobConfig::LocalDir(PathBuf::from("/srv/blobs"))
    );
}

#[test]
fn trusted_issuers_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyhold.toml");
    std::fs::write(
        &path,
        "[[trusted_issuer]]\nissuer = \"https://login.example/t/v2.0\"\ntenant = \"default\"\n",
    )
    .unwrap();
    let config = Config::validate(ConfigLayer::from_file(&path).unwrap()).unwrap();
    assert_eq!(config.trusted_issuers.len(), 1);
    std::fs::write(
        &path,
        "[[trusted_issuer]]\nissuer = \"http://x\"\ntenant = \"default\"\n",
    )
    .unwrap();
    let err = Config::validate(ConfigLayer::from_file(&path).unwrap()).unwrap_err();
    assert!(err.to_string().contains("trusted_issuer.issuer"), "{err}");
    std::fs::write(
        &path,
        "[[trusted_issuer]]\nissuer = \"https://x\"\ntenant = \"nope\"\n",
    )
    .unwrap();
    assert!(Config::validate(ConfigLayer::from_file(&path).unwrap()).is_err());
    std::fs::write(
        &path,
        "[[trusted_issuer]]\nissuer = \"https://x\"\ntenant = \"default\"\nextra = 1\n",
    )
    .unwrap();
    assert!(
        ConfigLayer::from_file(&path).is_err(),
        "unknown keys in tables are rejected too"
    );
}

#[test]
fn postgres_store_url_is_accepted_and_never_printed() {
    let config = Config::validate(ConfigLayer {
        store: Some("postgres://keyhold:hunter2@db.internal:5432/keyhold".into()),
        ..Default::default()
    })
    .unwrap();
    let StoreConfig::Postgres(url) = &config.store else {
        panic!("{:?}", config.store)
    };
    assert!(url.expose().contains("hunter2"));
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("db.internal:5432"), "{printed}");
}

#[test]
fn object_store_blob_urls() {
    let config = Config::validate(ConfigLayer {
        blob: Some("s3://keyhold-blobs/cluster-a".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        config.blob,
        BlobConfig::Object(keyhold_store_object::BlobUrl::S3 {
            bucket: "keyhold-blobs".into(),
            prefix: "cluster-a".into()
        })
    );
    for bad in [
        "s3://Bad_Bucket",
        "az://k:secret@container",
        "s3://bucket/a//b",
    ] {
        let err = Config::validate(ConfigLayer {
            blob: Some(bad.into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("blob"), "{bad}: {err}");
        assert!(!err.contains("secret@"), "{bad}: {err}");
    }
}

#[test]
fn the_azure_vault_alias_is_on_unless_turned_off() {
    let config = Config::validate(ConfigLayer::default()).unwrap();
    assert!(config.azure_vault_alias);
    let (layer, _) = ConfigLayer::from_env(env(&[("KEYHOLD_AZURE_VAULT_ALIAS", "false")])).unwrap();
    assert!(!Config::validate(layer).unwrap().azure_vault_alias);
    let err = ConfigLayer::from_env(env(&[("KEYHOLD_AZURE_VAULT_ALIAS", "maybe")])).unwrap_err();
    assert!(
        err.to_string().contains("KEYHOLD_AZURE_VAULT_ALIAS"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyhold.toml");
    std::fs::write(&path, "azure_vault_alias = false\n").unwrap();
    let layer = ConfigLayer::from_file(&path).unwrap();
    assert!(!Config::validate(layer).unwrap().azure_vault_alias);
}
