//! Name resolution that maps `localhost` and every `*.localhost` name to loopback.
//!
//! RFC 6761 reserves `.localhost` for loopback, but Debian's resolver answers only `localhost`
//! itself, so `kv1.vault.localhost` would fail. keyhold's own client must reach vault and
//! account hosts without the user editing `/etc/hosts`, so it answers those names itself and
//! delegates every other name to the system resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The resolver installed in every [`crate::KeyholdClient`].
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalhostResolver;

/// True for `localhost` and names under it (case-insensitive, trailing dot allowed).
pub fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

impl Resolve for LocalhostResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if is_localhost_name(&host) {
                // IPv4 first: keyhold listens on 127.0.0.1 by default.
                let addrs = vec![
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
                ];
                return Ok(Box::new(addrs.into_iter()) as Addrs);
            }
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(Box::new(resolved.collect::<Vec<_>>().into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_names() {
        for name in [
            "localhost",
            "LOCALHOST.",
            "kv1.vault.localhost",
            "a.b.localhost",
        ] {
            assert!(is_localhost_name(name), "{name}");
        }
        for name in ["localhost.example", "example.com", "xlocalhost", ""] {
            assert!(!is_localhost_name(name), "{name}");
        }
    }
}
