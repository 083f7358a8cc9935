//! Start-up, in an order that keeps a failed start from changing anything:
//!
//! 1. check the data directory (owner, permissions) — read only;
//! 2. bind the listener (an occupied port fails here);
//! 3. load the master key and prepare TLS (a new dev key/CA stays in memory);
//! 4. for an existing data directory, open the store and verify the master key against it;
//! 5. only now write: create the directory, persist the new master key and CA, create the store;
//! 6. serve until SIGINT/SIGTERM, then drain connections gracefully.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use keyhold_store::{
    BlobStore, EmbeddedStore, LocalBlobStore, RecordStore, RedbRecordStore, StoreError,
};
use keyhold_store_postgres::{PgRecordStore, PgSettings};

use crate::app::router;
use crate::bootstrap;
use crate::config::{BlobConfig, Config, StoreConfig};
use crate::data_dir::{DataDir, DataDirError, DataDirState, create_private_dir};
use crate::master_key::{self, MasterKeyError};
use crate::state::{AppState, StateParts};
use crate::tls::{self, TlsError};
use keyhold_identity::{Identity, IdentitySettings};

/// How long in-flight requests may finish after a shutdown signal.
const GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Why the server did not start. Each message names the problem and the path or address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// Data directory problem.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The listen address is taken or not bindable.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said, with a hint.
        reason: String,
    },
    /// Master key problem.
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    /// The identity bootstrap failed.
    #[error("identity bootstrap: {0}")]
    Identity(#[from] keyhold_identity::IdentityError),
    /// TLS problem.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The store could not be opened or answered an error.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(String),
}

impl From<crate::master_key_check::KeyCheckError> for StartupError {
    fn from(err: crate::master_key_check::KeyCheckError) -> Self {
        use crate::master_key_check::KeyCheckError;
        match err {
            KeyCheckError::MasterKey(e) => StartupError::MasterKey(e),
            KeyCheckError::Store(e) => StartupError::Store(e),
            KeyCheckError::Crypto(e) => StartupError::Serve(e.to_string()),
        }
    }
}

/// What the server reports once it is ready.
#[derive(Debug, Clone)]
pub struct ReadyInfo {
    /// The bound address.
    pub addr: SocketAddr,
    /// Further bound addresses (the IPv6 loopback by default).
    pub also: Vec<SocketAddr>,
    /// The management/identity base URL.
    pub management_url: String,
    /// A vault URL template (`{vault}` stands for the name).
    pub vault_url_template: String,
    /// An AI account URL template.
    pub ai_url_template: String,
    /// The CA certificate to trust, when generated.
    pub ca_pem: Option<PathBuf>,
    /// The bootstrap credentials file, when this node has one.
    pub bootstrap: Option<PathBuf>,
    /// True if this start initialised the data directory.
    pub initialized: bool,
}

impl std::fmt::Display for ReadyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "keyhold ready on https://{}", self.addr)?;
        for also in &self.also {
            write!(f, " and https://{also}")?;
        }
        write!(
            f,
            " | management {} | vaults {} | ai {}",
            self.management_url, self.vault_url_template, self.ai_url_template
        )?;
        if let Some(ca) = &self.ca_pem {
            write!(f, " | trust CA {}", ca.display())?;
        }
        match &self.bootstrap {
            Some(path) => write!(f, " | credentials {}", path.display()),
            None => Ok(()),
        }
    }
}

/// Starts the server and runs it until a shutdown signal; `on_ready` is called once it accepts
/// connections.
pub async fn run(config: Config, on_ready: impl FnOnce(&ReadyInfo)) -> Result<(), StartupError> {
    // Everything keyhold creates holds or protects keys: private to its owner.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let data_dir = DataDir::new(&config.data_dir);
    let state = data_dir.inspect()?;
    let listener = bind(config.listen)?;
    let addr = listener.local_addr().map_err(|e| StartupError::Bind {
        addr: config.listen,
        reason: e.to_string(),
    })?;
    let extra_listeners = bind_also(&config.listen_also)?;
    let mut master = master_key::load(config.master_key_file.as_deref(), &data_dir, state)?;
    if let StoreConfig::Postgres(_) = &config.store
        && !matches!(
            master.origin,
            master_key::MasterKeyOrigin::ConfiguredFile(_)
        )
    {
        // Every node must seal and open with the same key; a development key generated in
        // one node's data directory would make the others unable to read anything.
        return Err(StartupError::Serve(
            "a PostgreSQL store is shared by every node, so they need the same master key: set \
             master_key_file (KEYHOLD_MASTER_KEY_FILE, --master-key-file) to a key file kept \
             outside the data directory (`keyhold master-key generate`)"
                .into(),
        ));
    }
    if state == DataDirState::Initialized && config.store == StoreConfig::Embedded {
        crate::master_key_check::verify_read_only(
            &data_dir.store_file(),
            &master.sealer,
            &master.origin,
        )?;
    }
    let mut prepared_tls = match tls::prepare(&config, &data_dir.tls_dir(), &master.sealer) {
        Err(TlsError::WrongMasterKey(dir)) if config.store != StoreConfig::Embedded => {
            // A shared store has no read-only pre-check: say whether the key is wrong for the
            // whole cluster (or retired by a rotation) rather than only for this node's CA.
            let store = open_store(&config, &data_dir).await?;
            crate::master_key_check::verify(store.records.as_ref(), &master.sealer, &master.origin)
                .await?;
            return Err(TlsError::WrongMasterKey(dir).into());
        }
        prepared => prepared?,
    };

    // Every check passed: from here on, writing is expected.
    if state == DataDirState::Missing {
        data_dir.create()?;
    }
    if master.is_new() {
        tracing::warn!(
            path = %data_dir.dev_master_key().display(),
            "generated a development master key inside the data directory; for production set \
             KEYHOLD_MASTER_KEY_FILE to a key kept outside it"
        );
    }
    master.persist()?;
    prepared_tls.persist()?;
    let store = open_store(&config, &data_dir).await?;
    crate::master_key_check::record(store.records.as_ref(), &master.sealer, &master.origin).await?;

    let sealer = Arc::new(master.sealer);
    let port = addr.port();
    let settings = IdentitySettings::new(
        format!("https://localhost:{port}"),
        vec![
            config.management_audience.clone(),
            config.vault_audience(),
            crate::http::auth::vault_audience_with_port(&config.vault_audience(), port),
            config.ai_audience.clone(),
            config.graph_audience.clone(),
            crate::http::auth::with_port(&config.graph_audience, port),
        ],
    );
    let outcome = bootstrap::run(&Identity::new(
        store.records.clone(),
        sealer.clone(),
        settings.clone(),
    ))
    .await?;
    let identity = Arc::new(with_trusted_issuers(
        Identity::new(store.records.clone(), sealer.clone(), settings),
        &config,
        bootstrap::tenant_of(&outcome),
    )?);
    bootstrap::write(
        &data_dir.bootstrap_file(),
        &outcome,
        &config,
        port,
        prepared_tls.ca_pem.as_deref(),
    )?;
    let vaults = Arc::new(keyhold_vault::Vaults::new(
        store.records.clone(),
        sealer.clone(),
    ));
    if let Some(shared) = &store.cluster {
        crate::cluster::join(
            shared,
            vaults.clone(),
            Duration::from_secs(config.key_check_interval_secs),
        );
    }
    let audit = keyhold_vault::AuditLog::start(store.records.clone());
    spawn_vault_maintenance(vaults.clone());
    let mut vault_cas = Vec::new();
    for path in prepared_tls
        .ca_pem
        .iter()
        .chain(config.vault_ca_file.iter())
    {
        vault_cas.push(std::fs::read(path).map_err(|e| {
            StartupError::Serve(format!("cannot read the CA file {}: {e}", path.display()))
        })?);
    }
    let hosts = crate::remote_vaults::VaultHosts::new(
        &config.vault_domain,
        port,
        config.remote_vault_hosts.clone(),
    )
    .with_azure_alias(config.azure_vault_alias);
    let own_audiences = crate::http::auth::Api::Vault.accepted_audiences_for(&config, port);
    let clashes = hosts.clashes(&own_audiences);
    if !clashes.is_empty() {
        return Err(StartupError::Serve(format!(
            "remote_vault_hosts: tokens for {} would be accepted by this server's own vaults; a remote vault host must not share this server's vault domain and port",
            clashes.join(", ")
        )));
    }
    let local_router: crate::key_access::LocalRouter = Arc::default();
    let access = crate::key_access::HttpsKeyVaultAccess::new(
        identity.clone(),
        vaults.clone(),
        hosts,
        &config.vault_audience(),
        &vault_cas,
        local_router.clone(),
    )
    .map_err(StartupError::Serve)?;
    let mut platform = keyhold_platform::Platform::new(
        store.records.clone(),
        store.blobs.clone(),
        sealer.clone(),
        identity.clone(),
        Arc::new(access),
    );
    if let Some(upstream) = &config.inference_upstream {
        let client = crate::upstream::HttpUpstream::new(upstream).map_err(StartupError::Serve)?;
        platform = platform.with_upstream(Arc::new(client));
    }
    let platform = Arc::new(platform);
    // A node of a cluster shares its blob store with running jobs of other nodes; each job
    // clears its own leftovers when its lease is taken instead.
    if store.cluster.is_none() && !matches!(config.blob, BlobConfig::Object(_)) {
        let swept = platform
            .sweep_scratch()
            .await
            .map_err(|e| StartupError::Serve(format!("cannot clear old job scratch: {e}")))?;
        if swept > 0 {
            tracing::info!(
                objects = swept,
                "deleted job scratch left by a stopped process (its ephemeral key is gone)"
            );
        }
    }
    let metrics = Arc::new(crate::metrics::Metrics::default());
    crate::key_watcher::spawn(
        platform.clone(),
        &vaults,
        audit.clone(),
        metrics.clone(),
        config.key_check_interval_secs,
    );
    let workers = Arc::new(tokio::sync::Notify::new());
    spawn_reprocess_worker(platform.clone(), workers.clone());
    let trainer: Arc<dyn keyhold_platform::trainer::Trainer> = if config.trainer_command.is_empty()
    {
        Arc::new(keyhold_platform::trainer::BuiltinTrainer)
    } else {
        Arc::new(keyhold_platform::trainer::ExternalTrainer {
            command: config.trainer_command.clone(),
        })
    };
    spawn_finetune_worker(platform.clone(), trainer, workers.clone());
    spawn_meter_flush(platform.clone());
    let app_state = AppState::new(StateParts {
        config: config.clone(),
        public_port: port,
        records: store.records,
        blobs: store.blobs,
        sealer,
        identity,
        vaults,
        audit,
        platform,
        workers,
        metrics,
        default_tenant: bootstrap::tenant_of(&outcome),
    });
    crate::arm::template_deployments::spawn_sweeper(app_state.clone());
    let app = router(app_state);
    // The platform's calls of this server's own vaults go through the same router, in process.
    let _ = local_router.set(app.clone());
    let rustls_config =
        axum_server::tls_rustls::RustlsConfig::from_config(prepared_tls.server_config.clone());
    let mut handles = Vec::new();
    let mut servings = Vec::new();
    let mut also = Vec::new();
    for listener in std::iter::once(listener).chain(extra_listeners) {
        if let Ok(bound) = listener.local_addr()
            && bound != addr
        {
            also.push(bound);
        }
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, rustls_config.clone())
            .map_err(|e| StartupError::Serve(e.to_string()))?
            .handle(handle.clone());
        let app = app.clone();
        servings.push(tokio::spawn(async move {
            server
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }));
        handles.push(handle);
    }
    spawn_signal_handler(handles.clone())?;
    for handle in &handles {
        if handle.listening().await.is_none() {
            return Err(StartupError::Serve(
                "listener stopped before it was ready".into(),
            ));
        }
    }
    on_ready(&ReadyInfo {
        addr,
        also,
        management_url: format!("https://localhost:{port}/"),
        vault_url_template: format!("https://{{vault}}.{}:{port}/", config.vault_domain),
        ai_url_template: format!("https://{{account}}.{}:{port}/", config.ai_domain),
        ca_pem: prepared_tls.ca_pem.clone(),
        bootstrap: Some(data_dir.bootstrap_file()).filter(|p| p.exists()),
        initialized: state != DataDirState::Initialized,
    });
    // Serving ends on a signal (every listener drains) or when a listener fails, which
    // stops the others too.
    let (first, _, rest) = futures::future::select_all(servings).await;
    for handle in &handles {
        handle.graceful_shutdown(Some(GRACE_PERIOD));
    }
    let mut outcome = first;
    for serving in rest {
        let done = serving.await;
        if matches!(outcome, Ok(Ok(()))) {
            outcome = done;
        }
    }
    match outcome {
        Ok(Ok(())) => {
            tracing::info!("keyhold stopped");
            Ok(())
        }
        Ok(Err(e)) => Err(StartupError::Serve(e.to_string())),
        Err(e) => Err(StartupError::Serve(e.to_string())),
    }
}

/// Scheduled key rotations and purges of soft-deleted keys and vaults past retention, once a
/// minute (the first pass right after start, so a restart catches up at once).
fn spawn_vault_maintenance(vaults: Arc<keyhold_vault::Vaults>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match vaults.maintain(keyhold_vault::Vaults::now()).await {
                Ok(report) => {
                    for (vault, key, version) in &report.rotated {
                        tracing::info!(%vault, %key, %version, "rotated key on schedule");
                    }
                    for key in &report.purged_keys {
                        tracing::info!(%key, "purged key after its retention period");
                    }
                    for vault in &report.purged_vaults {
                        tracing::info!(%vault, "purged vault after its retention period");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "vault maintenance failed; retrying"),
            }
        }
    });
}

/// Runs reprocess jobs: takes a job's lease, processes files in batches, renews the lease;
/// idles until woken or for a second. A job left by a killed worker is resumed once its lease
/// expires.
fn spawn_reprocess_worker(
    platform: Arc<keyhold_platform::Platform>,
    wake: Arc<tokio::sync::Notify>,
) {
    let worker = format!("worker-{}", uuid::Uuid::new_v4());
    tokio::spawn(async move {
        loop {
            match platform.reprocess_step(&worker, 16).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "reprocess step failed; retrying"),
            }
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), wake.notified()).await;
        }
    });
}

/// Runs fine-tuning jobs one at a time (a job uses a core); idles until woken or for half a
/// second. A job left by a killed worker is restarted once its lease expires.
fn spawn_finetune_worker(
    platform: Arc<keyhold_platform::Platform>,
    trainer: Arc<dyn keyhold_platform::trainer::Trainer>,
    wake: Arc<tokio::sync::Notify>,
) {
    let worker = format!("trainer-{}", uuid::Uuid::new_v4());
    tokio::spawn(async move {
        loop {
            match platform.finetune_step(&worker, &trainer).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "fine-tuning step failed; retrying"),
            }
            let _ =
                tokio::time::timeout(std::time::Duration::from_millis(500), wake.notified()).await;
        }
    });
}

/// Adds served-token counts to the stored meters every 5 seconds.
fn spawn_meter_flush(platform: Arc<keyhold_platform::Platform>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(err) = platform.flush_meters().await {
                tracing::warn!(error = %err, "cannot store token meters; retrying");
            }
        }
    });
}

/// Adds the configured trusted issuers (`tenant = "default"` means the bootstrap tenant).
fn with_trusted_issuers(
    identity: Identity,
    config: &Config,
    default_tenant: uuid::Uuid,
) -> Result<Identity, StartupError> {
    if config.trusted_issuers.is_empty() {
        return Ok(identity);
    }
    let source = crate::jwks_fetch::HttpJwksSource::new(&config.trusted_issuers)
        .map_err(StartupError::Serve)?;
    let trusted = config
        .trusted_issuers
        .iter()
        .map(|t| keyhold_identity::TrustedIssuer {
            issuer: t.issuer.clone(),
            tenant: uuid::Uuid::parse_str(&t.tenant).unwrap_or(default_tenant),
        })
        .collect();
    let mut settings = identity.settings().clone();
    settings.trusted_issuers = trusted;
    Ok(identity
        .with_settings(settings)
        .with_jwks_source(Arc::new(source)))
}

/// Binds the further default listeners. One whose address this machine lacks (no IPv6
/// loopback) is skipped with a warning; an occupied one fails the start like the first.
fn bind_also(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, StartupError> {
    let mut out = Vec::new();
    for addr in addrs {
        match TcpListener::bind(addr) {
            Ok(listener) => out.push(listener),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
                ) || e.raw_os_error() == Some(nix::libc::EAFNOSUPPORT) =>
            {
                tracing::warn!(%addr, error = %e, "not listening on this address: the machine does not have it");
            }
            Err(_) => out.push(bind(*addr)?),
        }
    }
    Ok(out)
}

fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the address is already in use (is another keyhold running? choose another \
                 with --listen)"
                    .to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied (ports below 1024 need privileges)".to_owned()
            }
            _ => e.to_string(),
        };
        StartupError::Bind { addr, reason }
    })
}

struct OpenedStore {
    records: Arc<dyn RecordStore>,
    blobs: Arc<dyn BlobStore>,
    /// The shared PostgreSQL store, for the cluster change feed (none when embedded).
    cluster: Option<PgRecordStore>,
}

/// Opens the configured engines. The embedded default keeps records and blobs in the data
/// directory; a `file://` blob URL moves the blobs elsewhere; a `postgres://` store keeps the
/// records in PostgreSQL (migrated on start).
async fn open_store(config: &Config, data_dir: &DataDir) -> Result<OpenedStore, StartupError> {
    if let StoreConfig::Postgres(url) = &config.store {
        let records = PgRecordStore::connect(&PgSettings::new(url.expose().to_owned())).await?;
        return Ok(OpenedStore {
            records: Arc::new(records.clone()),
            // Other nodes may share the directory (a network file system) or the bucket.
            blobs: open_blobs(&config.blob, true)?,
            cluster: Some(records),
        });
    }
    if config.blob == BlobConfig::LocalDir(data_dir.root().join("blobs")) {
        let store = EmbeddedStore::open(data_dir.root())?;
        return Ok(OpenedStore {
            records: store.records,
            blobs: store.blobs,
            cluster: None,
        });
    }
    Ok(OpenedStore {
        records: Arc::new(RedbRecordStore::open(&data_dir.store_file())?),
        blobs: open_blobs(&config.blob, false)?,
        cluster: None,
    })
}

/// The blob engine of a configuration that does not keep blobs in the data directory.
fn open_blobs(blob: &BlobConfig, shared: bool) -> Result<Arc<dyn BlobStore>, StartupError> {
    Ok(match blob {
        BlobConfig::LocalDir(dir) => {
            create_private_dir(dir)?;
            if shared {
                Arc::new(LocalBlobStore::open_shared(dir)?)
            } else {
                Arc::new(LocalBlobStore::open(dir)?)
            }
        }
        BlobConfig::Object(url) => Arc::new(keyhold_store_object::open_url(url)?),
    })
}

/// Registers SIGINT/SIGTERM handlers *now* (before readiness is announced, so a signal sent
/// right after the ready line is never lost to the default action), then drains gracefully.
fn spawn_signal_handler(handles: Vec<axum_server::Handle<SocketAddr>>) -> Result<(), StartupError> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind| {
        signal(kind).map_err(|e| StartupError::Serve(format!("cannot install signal handler: {e}")))
    };
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!(
            grace_secs = GRACE_PERIOD.as_secs(),
            "shutdown signal received; draining connections"
        );
        for handle in &handles {
            handle.graceful_shutdown(Some(GRACE_PERIOD));
        }
    });
    Ok(())
}
