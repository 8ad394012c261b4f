use std::fmt;
use std::str::FromStr;

/// A revision of the MCP specification, as carried by `MCP-Protocol-Version`,
/// `initialize`'s `params.protocolVersion`, or the stateless era's
/// `_meta["io.modelcontextprotocol/protocolVersion"]`.
///
/// ```
/// use mcp_guard_core::{Era, ProtocolVersion};
///
/// let version: ProtocolVersion = "2025-06-18".parse().unwrap();
/// assert_eq!(version, ProtocolVersion::V2025_06_18);
/// assert_eq!(version.era(), Era::Legacy);
/// assert_eq!(ProtocolVersion::V2026_07_28.era(), Era::Stateless);
/// assert!("2025-13-01".parse::<ProtocolVersion>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// 2024-11-05: the old HTTP+SSE transport.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP; the version assumed when the header is absent.
    V2025_03_26,
    /// 2025-06-18: `MCP-Protocol-Version` required after initialize; no batches.
    V2025_06_18,
    /// 2025-11-25: priming events, polling, 403 for an invalid Origin.
    V2025_11_25,
    /// 2026-07-28: the stateless era.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every known revision, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];

    /// The revision a legacy-era request speaks when it sends no
    /// `MCP-Protocol-Version` header.
    pub const ASSUMED_WHEN_ABSENT: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// The revision's date string, e.g. `"2025-06-18"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// The era this revision belongs to.
    pub const fn era(self) -> Era {
        match self {
            ProtocolVersion::V2026_07_28 => Era::Stateless,
            _ => Era::Legacy,
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProtocolVersion {
    type Err = InvalidProtocolVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProtocolVersion::ALL
            .into_iter()
            .find(|version| version.as_str() == s)
            .ok_or(InvalidProtocolVersion)
    }
}

/// The error of parsing a string that names no known [`ProtocolVersion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidProtocolVersion;

impl fmt::Display for InvalidProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown MCP protocol version; known versions are ")?;
        for (i, version) in ProtocolVersion::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(version.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidProtocolVersion {}

/// Which of the two ways of speaking MCP over HTTP a request uses. Decided once per
/// request (by the protocol guard, from the [`ProtocolVersion`] it puts in the
/// request's extensions) and read by the session and resume layers, which act
/// only on [`Era::Legacy`] traffic: read it with [`Era::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2024-11-05 … 2025-11-25: `initialize` handshake, optional sessions,
    /// resumable SSE.
    Legacy,
    /// 2026-07-28 and later: every POST self-contained, no sessions, no resumption.
    Stateless,
}

impl Era {
    /// The era of a request: that of the [`ProtocolVersion`] the protocol
    /// guard decided (in the extensions), else an `Era` a layer put there
    /// itself, else what its `MCP-Protocol-Version` header names, else legacy
    /// (an absent header means 2025-03-26).
    ///
    /// The guard inserts only the version, not an `Era` beside it: every
    /// extension is a box of its own, and the era follows from the version.
    ///
    /// ```
    /// use mcp_guard_core::{Era, ProtocolVersion};
    ///
    /// let request = http::Request::post("/mcp").header("mcp-protocol-version", "2026-07-28").body(()).unwrap();
    /// assert_eq!(Era::of(&request), Era::Stateless);
    /// assert_eq!(Era::of(&http::Request::post("/mcp").body(()).unwrap()), Era::Legacy);
    ///
    /// // What the protocol guard decided wins over the header.
    /// let mut request = http::Request::post("/mcp").header("mcp-protocol-version", "2026-07-28").body(()).unwrap();
    /// request.extensions_mut().insert(ProtocolVersion::V2025_06_18);
    /// assert_eq!(Era::of(&request), Era::Legacy);
    /// ```
    pub fn of<B>(request: &http::Request<B>) -> Era {
        let extensions = request.extensions();
        if let Some(version) = extensions.get::<ProtocolVersion>() {
            return version.era();
        }
        if let Some(era) = extensions.get::<Era>() {
            return *era;
        }
        request
            .headers()
            .get(crate::headers::MCP_PROTOCOL_VERSION)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<ProtocolVersion>().ok())
            .map_or(Era::Legacy, ProtocolVersion::era)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_round_trips_through_its_string() {
        for version in ProtocolVersion::ALL {
            assert_eq!(version.as_str().parse::<ProtocolVersion>(), Ok(version));
            assert_eq!(version.to_string(), version.as_str());
        }
    }

    #[test]
    fn near_misses_are_unknown() {
        for text in [
            "",
            "2025-06-18 ",
            " 2025-06-18",
            "2025-6-18",
            "2025-06-19",
            "latest",
        ] {
            assert_eq!(
                text.parse::<ProtocolVersion>(),
                Err(InvalidProtocolVersion),
                "{text:?}"
            );
        }
    }

    #[test]
    fn versions_are_ordered_by_date() {
        let mut sorted = ProtocolVersion::ALL;
        sorted.sort_by_key(|version| version.as_str());
        assert_eq!(sorted, ProtocolVersion::ALL);
    }

    #[test]
    fn unknown_version_error_lists_the_known_ones() {
        let message = InvalidProtocolVersion.to_string();
        for version in ProtocolVersion::ALL {
            assert!(message.contains(version.as_str()), "{message}");
        }
    }
}
