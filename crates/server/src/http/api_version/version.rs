//! The syntax and order of api-versions.
//!
//! Two forms exist on the wire:
//! - dated, as ARM and most data planes use: `YYYY-MM-DD`, optionally followed by a label
//!   (`-preview`, `-privatepreview`, `-beta`, `-alpha`) and an optional `.N` (Key Vault's
//!   `2026-01-01-preview`, Cosmos DB's `2021-04-01-privatepreview`);
//! - numbered, as the Key Vault data plane used before 2025: `MAJOR.MINOR`, optionally
//!   `-preview` with an optional `.N` (`7.6-preview.2`).
//!
//! Numbered versions are older than every dated one; within the same base, a labelled
//! (pre-release) version is older than the stable one, and `.N` orders previews.

use std::cmp::Ordering;

/// A well-formed api-version, comparable with others of its plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion {
    base: Base,
    /// `None` for a stable version; the label and its `.N` for a pre-release.
    label: Option<(String, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Base {
    Numbered(u32, u32),
    Dated(u32, u32, u32),
}

impl ApiVersion {
    /// Parses `raw` (case-insensitive); `None` if it has neither form.
    pub fn parse(raw: &str) -> Option<ApiVersion> {
        let lower = raw.to_ascii_lowercase();
        if lower.len() > 40 {
            return None;
        }
        let dated = lower.len() >= 10 && lower.as_bytes().get(4) == Some(&b'-');
        if dated {
            return parse_dated(&lower);
        }
        let (base, rest) = match lower.split_once('-') {
            Some((base, rest)) => (base, Some(rest)),
            None => (lower.as_str(), None),
        };
        let (major, minor) = base.split_once('.')?;
        let base = Base::Numbered(number(major)?, number(minor)?);
        let label = match rest {
            None => None,
            Some(rest) => Some(parse_label(rest)?),
        };
        Some(ApiVersion { base, label })
    }

    /// True when both are dated or both numbered.
    pub fn same_form(&self, other: &ApiVersion) -> bool {
        matches!(
            (self.base, other.base),
            (Base::Dated(..), Base::Dated(..)) | (Base::Numbered(..), Base::Numbered(..))
        )
    }

    /// True for a pre-release (`-preview`, `-beta`, …).
    pub fn is_preview(&self) -> bool {
        self.label.is_some()
    }
}

fn parse_dated(lower: &str) -> Option<ApiVersion> {
    let date = lower.get(..10)?;
    let bytes = date.as_bytes();
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = number(&date[..4])?;
    let month = number(&date[5..7])?;
    let day = number(&date[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 2000 {
        return None;
    }
    let label = match &lower[10..] {
        "" => None,
        rest => Some(parse_label(rest.strip_prefix('-')?)?),
    };
    Some(ApiVersion {
        base: Base::Dated(year, month, day),
        label,
    })
}

/// `preview`, `preview.2`, `privatepreview`, `beta`, `alpha`.
fn parse_label(rest: &str) -> Option<(String, u32)> {
    let (name, n) = match rest.split_once('.') {
        Some((name, n)) => (name, number(n)?),
        None => (rest, 0),
    };
    if name.is_empty() || name.len() > 20 || !name.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some((name.to_owned(), n))
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl PartialOrd for ApiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ApiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.base
            .cmp(&other.base)
            .then_with(|| match (&self.label, &other.label) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some((a, an)), Some((b, bn))) => an.cmp(bn).then_with(|| a.cmp(b)),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ApiVersion {
        ApiVersion::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn well_formed_and_malformed() {
        for ok in [
            "2022-12-01",
            "2026-05-15-preview",
            "2021-04-01-privatepreview",
            "7.6",
            "7.6-preview.2",
            "7.0",
            "2026-01-01-preview",
            "2025-07-01",
            "2023-03-01-Preview",
        ] {
            assert!(ApiVersion::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "1",
            "latest",
            "2022-13-01",
            "2022-12-1",
            "2022-12-01-",
            "2022-12-01-pre view",
            "2022-12-01x",
            "7",
            "7.x",
            "7.6-",
            "v1",
            "1999-01-01",
            "2022-12-01-preview.x",
            "2022/12/01",
        ] {
            assert!(ApiVersion::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn order() {
        let ordered = [
            "7.0",
            "7.6-preview.1",
            "7.6-preview.2",
            "7.6",
            "2016-10-01",
            "2025-06-01",
            "2026-01-01-preview",
            "2026-01-01",
            "2026-05-15-preview",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("2026-05-15-PREVIEW"), v("2026-05-15-preview"));
        assert!(v("2026-05-15-preview").is_preview());
        assert!(!v("7.6").is_preview());
    }
}
