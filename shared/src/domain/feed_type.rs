//! The kind of feed a connector points at: one type for the table, the prober and the tools.

/// The kind of feed a connector points at; decides which request proves it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedType {
    /// `GET {url}/-/ping` → 2xx.
    Npm,
    /// NuGet v3 service index (JSON) or NuGet v2 OData service document.
    NuGet,
    /// NuGet v2 OData service document.
    Chocolatey,
    /// The PEP 691 simple page of one known project.
    PyPi,
    /// `HEAD` of the repository root, or of a `maven-metadata.xml` the row names.
    Maven,
    /// `GET {url}/v2/` → 200, or 401 with a `WWW-Authenticate` challenge.
    Docker,
    /// The compact-index entry of one known gem.
    RubyGems,
    /// Any 2xx after at most 5 redirects. Also used for feed types without a dedicated check.
    Generic,
}

impl FeedType {
    /// Reads the stored `feedType` (case-insensitive). Absent or unrecognised values get
    /// the generic check.
    pub fn parse(text: Option<&str>) -> Self {
        let Some(text) = text else {
            return FeedType::Generic;
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "npm" => FeedType::Npm,
            "nuget" => FeedType::NuGet,
            "chocolatey" => FeedType::Chocolatey,
            "pypi" | "python" => FeedType::PyPi,
            "maven" => FeedType::Maven,
            "docker" | "oci" | "containers" => FeedType::Docker,
            "rubygems" | "gems" => FeedType::RubyGems,
            _ => FeedType::Generic,
        }
    }

    /// Every feed type, in the order the tools list them.
    pub const ALL: [FeedType; 8] = [
        FeedType::Npm,
        FeedType::NuGet,
        FeedType::PyPi,
        FeedType::Maven,
        FeedType::Docker,
        FeedType::Chocolatey,
        FeedType::RubyGems,
        FeedType::Generic,
    ];

    /// The feed type with this canonical name ([`Self::as_str`]), case-insensitively:
    /// what the admin tool accepts (unlike [`Self::parse`], an unknown name is `None`).
    pub fn from_name(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedType::Npm => "npm",
            FeedType::NuGet => "nuget",
            FeedType::Chocolatey => "chocolatey",
            FeedType::PyPi => "pypi",
            FeedType::Maven => "maven",
            FeedType::Docker => "docker",
            FeedType::RubyGems => "rubygems",
            FeedType::Generic => "generic",
        }
    }
}

impl std::fmt::Display for FeedType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_types_parse_case_insensitively_and_fall_back_to_generic() {
        assert_eq!(FeedType::parse(Some("NuGet")), FeedType::NuGet);
        assert_eq!(FeedType::parse(Some(" docker ")), FeedType::Docker);
        assert_eq!(FeedType::parse(Some("oci")), FeedType::Docker);
        assert_eq!(FeedType::parse(Some("helm")), FeedType::Generic);
        assert_eq!(FeedType::parse(None), FeedType::Generic);
        for t in [
            FeedType::Npm,
            FeedType::NuGet,
            FeedType::Chocolatey,
            FeedType::PyPi,
            FeedType::Maven,
            FeedType::Docker,
            FeedType::RubyGems,
            FeedType::Generic,
        ] {
            assert_eq!(FeedType::parse(Some(t.as_str())), t);
        }
    }

    #[test]
    fn canonical_names_are_strict() {
        for t in FeedType::ALL {
            assert_eq!(FeedType::from_name(t.as_str()), Some(t));
        }
        assert_eq!(FeedType::from_name("NuGet"), Some(FeedType::NuGet));
        assert_eq!(FeedType::from_name("helm"), None);
    }
}
