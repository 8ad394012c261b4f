//! Which scopes a call needs: for the endpoint, per JSON-RPC method, per tool,
//! prompt or resource, with public tools and scope hierarchies.

use std::collections::{BTreeSet, HashMap, HashSet};

use mcp_guard_core::{RpcEnvelope, RpcMessage};

/// The methods a client needs to reach a public tool without a token.
const DISCOVERY_METHODS: [&str; 5] = [
    "initialize",
    "notifications/initialized",
    "notifications/cancelled",
    "ping",
    "tools/list",
];

/// What a call needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// No token needed (a token, if sent, is still verified).
    Public,
    /// A valid token holding these scopes (possibly none).
    Scopes(Vec<String>),
}

/// Required scopes, JSON-RPC aware. Ownership checks stay in the handler,
/// which reads the [`Principal`](mcp_guard_core::Principal).
///
/// ```
/// use mcp_bearer_auth::ScopePolicy;
///
/// let policy = ScopePolicy::new()
///     .require(["mcp"])                          // every authenticated call
///     .require_for_tool("delete_file", ["files:write"])
///     .require_for_tool("admin_reset", ["admin"])
///     .public_tool("server_time")                // callable without a token
///     .implies("files:write", ["files:read"]);   // a broader scope covers narrower ones
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ScopePolicy {
    endpoint: Vec<String>,
    methods: HashMap<String, Vec<String>>,
    tools: HashMap<String, Vec<String>>,
    prompts: HashMap<String, Vec<String>>,
    resources: HashMap<String, Vec<String>>,
    public_tools: HashSet<String>,
    public_methods: HashSet<String>,
    implies: HashMap<String, Vec<String>>,
}

fn owned<I, S>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    scopes.into_iter().map(Into::into).collect()
}

impl ScopePolicy {
    /// Every call needs a valid token, and no particular scope.
    pub fn new() -> Self {
        ScopePolicy::default()
    }

    /// Scopes every authenticated call needs.
    pub fn require<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.endpoint.extend(owned(scopes));
        self
    }

    /// Scopes a JSON-RPC method needs (e.g. `resources/list`).
    pub fn require_for_method<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        method: &str,
        scopes: I,
    ) -> Self {
        self.methods
            .entry(method.to_owned())
            .or_default()
            .extend(owned(scopes));
        self
    }

    /// Scopes a `tools/call` of this tool needs.
    pub fn require_for_tool<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        tool: &str,
        scopes: I,
    ) -> Self {
        self.tools
            .entry(tool.to_owned())
            .or_default()
            .extend(owned(scopes));
        self
    }

    /// Scopes a `prompts/get` of this prompt needs.
    pub fn require_for_prompt<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        prompt: &str,
        scopes: I,
    ) -> Self {
        self.prompts
            .entry(prompt.to_owned())
            .or_default()
            .extend(owned(scopes));
        self
    }

    /// Scopes a `resources/read` of this URI needs.
    pub fn require_for_resource<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        uri: &str,
        scopes: I,
    ) -> Self {
        self.resources
            .entry(uri.to_owned())
            .or_default()
            .extend(owned(scopes));
        self
    }

    /// A tool anyone may call without a token. Also opens what a client needs
    /// to get there: `initialize`, `notifications/initialized`,
    /// `notifications/cancelled`, `ping` and `tools/list`.
    pub fn public_tool(mut self, tool: &str) -> Self {
        self.public_tools.insert(tool.to_owned());
        self.public_methods
            .extend(DISCOVERY_METHODS.map(str::to_owned));
        self
    }

    /// A JSON-RPC method anyone may call without a token.
    pub fn public_method(mut self, method: &str) -> Self {
        self.public_methods.insert(method.to_owned());
        self
    }

    /// Holding `broader` counts as holding each of `narrower` (transitively).
    pub fn implies<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        broader: &str,
        narrower: I,
    ) -> Self {
        self.implies
            .entry(broader.to_owned())
            .or_default()
            .extend(owned(narrower));
        self
    }

    /// What the request needs: a GET or DELETE (no body) the endpoint's
    /// scopes; a POST what its messages need.
    ///
    /// A POST whose body this policy cannot read (no envelope, not JSON-RPC,
    /// or a message that is neither request, notification nor response)
    /// needs every scope the policy names: a lenient parser downstream may
    /// still read it as a call of any tool, so nothing less is safe, with or
    /// without the protocol guard in front.
    pub(crate) fn requirement(&self, is_post: bool, envelope: Option<&RpcEnvelope>) -> Requirement {
        if is_post && !envelope.is_some_and(readable) {
            return Requirement::Scopes(self.every_scope());
        }
        let messages = envelope.map(RpcEnvelope::messages).unwrap_or_default();
        if !messages.is_empty() && messages.iter().all(|message| self.is_public(message)) {
            return Requirement::Public;
        }
        let mut needed: Vec<String> = self.endpoint.clone();
        for message in messages {
            needed.extend(self.needed_for(message));
        }
        needed.sort();
        needed.dedup();
        Requirement::Scopes(needed)
    }

    /// Every scope any call could need.
    fn every_scope(&self) -> Vec<String> {
        let named = [&self.methods, &self.tools, &self.prompts, &self.resources]
            .into_iter()
            .flat_map(HashMap::values)
            .flatten();
        let every: BTreeSet<&String> = self.endpoint.iter().chain(named).collect();
        every.into_iter().cloned().collect()
    }

    fn is_public(&self, message: &RpcMessage) -> bool {
        match message.method() {
            Some("tools/call") => message
                .name()
                .is_some_and(|tool| self.public_tools.contains(tool)),
            Some(method) => self.public_methods.contains(method),
            // A response the client posts back belongs to a call it was allowed to make.
            None => false,
        }
    }

    fn needed_for(&self, message: &RpcMessage) -> Vec<String> {
        let Some(method) = message.method() else {
            return Vec::new();
        };
        let mut needed = self.methods.get(method).cloned().unwrap_or_default();
        let named = match method {
            "tools/call" => message.name().and_then(|name| self.tools.get(name)),
            "prompts/get" => message.name().and_then(|name| self.prompts.get(name)),
            "resources/read" => message.uri().and_then(|uri| self.resources.get(uri)),
            _ => None,
        };
        needed.extend(named.cloned().unwrap_or_default());
        needed
    }

    /// The scopes `granted` covers, hierarchy included.
    fn closure(&self, granted: &BTreeSet<String>) -> BTreeSet<String> {
        let mut covered = granted.clone();
        let mut frontier: Vec<String> = granted.iter().cloned().collect();
        while let Some(scope) = frontier.pop() {
            for narrower in self.implies.get(&scope).into_iter().flatten() {
                if covered.insert(narrower.clone()) {
                    frontier.push(narrower.clone());
                }
            }
        }
        covered
    }

    /// The needed scopes `granted` does not cover (empty: allowed).
    pub(crate) fn missing(&self, granted: &BTreeSet<String>, needed: &[String]) -> Vec<String> {
        let covered = self.closure(granted);
        needed
            .iter()
            .filter(|scope| !covered.contains(*scope))
            .cloned()
            .collect()
    }
}

/// Whether the policy can tell what each message of `envelope` calls.
fn readable(envelope: &RpcEnvelope) -> bool {
    !matches!(envelope, RpcEnvelope::Unparsable)
        && envelope.messages().iter().all(|message| {
            message.is_request() || message.is_notification() || message.is_response()
        })
}
