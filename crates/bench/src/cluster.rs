//! The scale-out configuration, measured on this machine.
//!
//! 1. **Records**: the same workload (16 concurrent writers, each creating a record, reading it
//!    back and replacing it by compare-and-swap) against the embedded redb engine and the
//!    PostgreSQL engine, both on this machine's disk, as ratios of each other and of this
//!    disk's synchronous-write rate (4 KiB write + `fdatasync`, one writer) measured in the same
//!    run: every acknowledged write of either engine waits for the disk.
//! 2. **Nodes**: RSA-2048 `unwrapKey` over HTTPS against one, two and three `keyhold serve`
//!    nodes sharing one PostgreSQL (a real server from the Debian packages, started here), the
//!    client's 128 connections spread over the nodes. Printed with the per-node efficiency
//!    (rate with n nodes / (n × rate with one)) and the ratio to `openssl speed -multi <cores>`;
//!    all nodes share this machine's cores, so the cores, not the nodes, cap the total.
//! 3. **Uploads**: four concurrent 128 MiB uploads for an account with a customer-managed key,
//!    spread over one, two and three nodes (blobs in a shared directory), as aggregate MiB/s
//!    over copying the same file on the same disk (read, write, fsync) in the same run.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keyhold_store::{RecordStore, RecordStoreExt, RedbRecordStore};
use keyhold_store_postgres::testing::TestPostgres;
use keyhold_store_postgres::{PgRecordStore, PgSettings};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::http::{Server, keyhold_bin, start_node};
use crate::vault::{CONNECTIONS, DURATION, load, setup};

const WRITERS: usize = 16;
const RECORD_SECS: Duration = Duration::from_secs(5);
const NODE_ADDRESSES: [Ipv4Addr; 3] = [
    Ipv4Addr::new(127, 0, 0, 1),
    Ipv4Addr::new(127, 0, 0, 2),
    Ipv4Addr::new(127, 0, 0, 3),
];

/// Synchronous 4 KiB writes per second on the disk holding `dir`.
fn disk_syncs_per_sec(dir: &std::path::Path) -> Result<f64, String> {
    let mut file = std::fs::File::create(dir.join("sync-probe")).map_err(|e| e.to_string())?;
    let block = [7u8; 4096];
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < Duration::from_secs(2) {
        file.write_all(&block).map_err(|e| e.to_string())?;
        file.sync_data().map_err(|e| e.to_string())?;
        count += 1;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Record operations per second (create, read, compare-and-swap) and writes per second.
async fn record_workload(store: Arc<dyn RecordStore>) -> Result<(f64, f64), String> {
    let ops = Arc::new(AtomicU64::new(0));
    let writes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + RECORD_SECS;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (store, ops, writes) = (store.clone(), ops.clone(), writes.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let key = format!("w{writer}/{i}");
                let version = store
                    .put_if_absent("bench", &key, vec![1; 200])
                    .await
                    .map_err(|e| e.to_string())?;
                let read = store
                    .get("bench", &key)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("record vanished")?;
                if read.version != version {
                    return Err("read an old version".to_owned());
                }
                store
                    .compare_and_swap("bench", &key, version, vec![2; 200])
                    .await
                    .map_err(|e| e.to_string())?;
                ops.fetch_add(3, Ordering::Relaxed);
                writes.fetch_add(2, Ordering::Relaxed);
                i += 1;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((
        ops.load(Ordering::Relaxed) as f64 / secs,
        writes.load(Ordering::Relaxed) as f64 / secs,
    ))
}

/// Resolves every `*.localhost` name to one node's loopback address.
struct NodeResolver(Ipv4Addr);

impl Resolve for NodeResolver {
    fn resolve(&self, _name: Name) -> Resolving {
        let addr = SocketAddr::new(IpAddr::V4(self.0), 0);
        Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as Addrs) })
    }
}

fn node_client(ca: &[u8], address: Ipv4Addr) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca).map_err(|e| e.to_string())?])
        .dns_resolver(Arc::new(NodeResolver(address)))
        .pool_max_idle_per_host(CONNECTIONS)
        .http1_only()
        .build()
        .map_err(|e| e.to_string())
}

/// A directory for another node: the first node's TLS CA and bootstrap file.
fn prepared_dir(first: &Server) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("tls")).map_err(|e| e.to_string())?;
    let from = first.dir.path().join("data");
    for name in ["tls/ca.pem", "tls/ca.key.sealed", "bootstrap.json"] {
        std::fs::copy(from.join(name), data.join(name)).map_err(|e| e.to_string())?;
    }
    use std::os::unix::fs::PermissionsExt;
    for d in [&data, &data.join("tls")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

fn master_key_file(dir: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let output = std::process::Command::new(keyhold_bin())
        .args(["master-key", "generate"])
        .output()
        .map_err(|e| e.to_string())?;
    let path = dir.join("master.key");
    std::fs::write(&path, output.stdout).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

async fn records(pg: &TestPostgres) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let syncs = disk_syncs_per_sec(dir.path())?;
    let embedded: Arc<dyn RecordStore> =
        Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).map_err(|e| e.to_string())?);
    let postgres: Arc<dyn RecordStore> = Arc::new(
        PgRecordStore::connect(&PgSettings::new(pg.create_database("records")))
            .await
            .map_err(|e| e.to_string())?,
    );
    println!(
        "# records: {WRITERS} writers, create + read + compare-and-swap, {}s per engine",
        RECORD_SECS.as_secs()
    );
    println!("disk_sync_writes_per_sec={syncs:.0}");
    let (e_ops, e_writes) = record_workload(embedded).await?;
    let (p_ops, p_writes) = record_workload(postgres).await?;
    println!(
        "embedded_ops_per_sec={e_ops:.0} durable_writes_per_sec={e_writes:.0} writes_to_disk_sync_ratio={:.2}",
        e_writes / syncs
    );
    println!(
        "postgres_ops_per_sec={p_ops:.0} durable_writes_per_sec={p_writes:.0} writes_to_disk_sync_ratio={:.2}",
        p_writes / syncs
    );
    println!("postgres_to_embedded_ratio={:.3}", p_ops / e_ops);
    Ok(())
}

async fn nodes(pg: &TestPostgres, reference: Option<f64>, cores: usize) -> Result<(), String> {
    let shared = tempfile::tempdir().map_err(|e| e.to_string())?;
    let args = vec![
        "--store".to_owned(),
        pg.create_database("cluster"),
        "--master-key-file".to_owned(),
        master_key_file(shared.path())?.display().to_string(),
        "--blob".to_owned(),
        format!("file://{}", shared.path().join("blobs").display()),
    ];
    let first = start_node(
        "127.0.0.1:0",
        tempfile::tempdir().map_err(|e| e.to_string())?,
        &args,
    )?;
    let ca = std::fs::read(first.dir.path().join("data/tls/ca.pem")).map_err(|e| e.to_string())?;
    let mut servers = vec![];
    for address in &NODE_ADDRESSES[1..] {
        let dir = prepared_dir(&first)?;
        servers.push(start_node(
            &format!("{address}:{}", first.port),
            dir,
            &args,
        )?);
    }
    let clients: Vec<reqwest::Client> = NODE_ADDRESSES
        .iter()
        .map(|a| node_client(&ca, *a))
        .collect::<Result<_, _>>()?;
    let (url, token, wrapped) = setup(&clients[0], &first).await?;
    println!(
        "# nodes: RSA-2048 unwrapKey, {CONNECTIONS} HTTPS connections spread over the nodes, {}s each; PostgreSQL, nodes and client share this machine's {cores} cores",
        DURATION.as_secs()
    );
    let mut single = None;
    for n in 1..=NODE_ADDRESSES.len() {
        load(
            &clients[..n],
            &url,
            &token,
            &wrapped,
            Duration::from_secs(2),
        )
        .await?;
        let (rate, p50, p99) = load(&clients[..n], &url, &token, &wrapped, DURATION).await?;
        let one = *single.get_or_insert(rate);
        let ratio = reference.map_or("n/a".to_owned(), |r| format!("{:.3}", rate / r));
        println!(
            "nodes={n} unwrap_per_sec={rate:.0} p50_ms={p50:.1} p99_ms={p99:.1} per_node_efficiency={:.2} unwrap_ratio={ratio}",
            rate / (n as f64 * one)
        );
    }
    if let Some(r) = reference {
        println!("openssl_rsa2048_sign_per_sec_{cores}_processes={r:.0}");
    }
    uploads(&clients, &first, shared.path()).await?;
    drop(servers);
    Ok(())
}

const UPLOADS: usize = 4;
const UPLOAD_BYTES: u64 = 128 << 20;

async fn uploads(
    clients: &[reqwest::Client],
    first: &Server,
    work: &std::path::Path,
) -> Result<(), String> {
    let setup = Arc::new(crate::files::setup(&clients[0], first).await?);
    let source = work.join("upload.bin");
    crate::files::make_file(&source, UPLOAD_BYTES)?;
    let copy = crate::files::copy_secs(&source, &work.join("copy.bin"))?;
    std::fs::remove_file(work.join("copy.bin")).map_err(|e| e.to_string())?;
    let disk_mib_s = (UPLOAD_BYTES >> 20) as f64 / copy;
    println!(
        "# uploads: {UPLOADS} concurrent uploads of {} MiB with a customer-managed key, spread over the nodes; disk copy {disk_mib_s:.0} MiB/s",
        UPLOAD_BYTES >> 20
    );
    let mut single = None;
    for n in 1..=clients.len() {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..UPLOADS {
            let (http, setup, source) = (clients[i % n].clone(), setup.clone(), source.clone());
            tasks.push(tokio::spawn(async move {
                let file = tokio::fs::File::open(&source)
                    .await
                    .map_err(|e| e.to_string())?;
                let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
                    file,
                    1 << 20,
                ));
                crate::files::upload(&http, &setup, body, UPLOAD_BYTES, "assistants").await
            }));
        }
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        let rate = (UPLOADS as u64 * (UPLOAD_BYTES >> 20)) as f64 / started.elapsed().as_secs_f64();
        let one = *single.get_or_insert(rate);
        println!(
            "nodes={n} upload_mib_per_sec={rate:.0} upload_ratio={:.3} per_node_efficiency={:.2}",
            rate / disk_mib_s,
            rate / (n as f64 * one)
        );
    }
    Ok(())
}

/// Runs the cluster benchmark.
pub fn run() -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let reference = crate::crypto::openssl_rsa2048_sign_per_sec_on(cores);
    let pg = TestPostgres::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        records(&pg).await?;
        nodes(&pg, reference, cores).await
    })
}
