use std::fmt;

/// A preset that cannot be built, naming the setting to fix.
///
/// ```
/// # #[cfg(feature = "jwks")] {
/// use mcp_guard::McpGuard;
///
/// // A remote server must say whose tokens it accepts.
/// let error = McpGuard::remote("https://mcp.example.com/mcp").build().unwrap_err();
/// assert_eq!(error.setting(), "issuer");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpGuardConfigError {
    setting: &'static str,
    problem: String,
}

impl McpGuardConfigError {
    pub(crate) fn new(setting: &'static str, problem: impl fmt::Display) -> Self {
        McpGuardConfigError {
            setting,
            problem: problem.to_string(),
        }
    }

    /// The builder setting (or config-file key) that is wrong or missing.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for McpGuardConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mcp-guard setting `{}`: {}", self.setting, self.problem)
    }
}

impl std::error::Error for McpGuardConfigError {}
