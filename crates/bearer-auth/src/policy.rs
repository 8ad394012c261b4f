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
pub(crate) enum Requirement<'a> {
    /// No token needed (a token, if sent, is still verified).
    Public,
    /// A valid token holding these scopes (possibly none).
    Scopes(Needed<'a>),
}

/// The scopes a call needs. For one message (or none: a GET, a DELETE) they
/// are borrowed from the policy, so deciding a request allocates nothing;
/// only a batch or an unreadable body gathers its scopes into a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Needed<'a> {
    /// The endpoint's scopes, the method's, and the named tool's, prompt's or
    /// resource's (a scope may repeat across them).
    Lists([&'a [String]; 3]),
    /// Sorted, each once.
    Gathered(Vec<String>),
}

impl Default for Needed<'_> {
    /// No scope at all.
    fn default() -> Self {
        Needed::Lists([&[]; 3])
    }
}

impl Needed<'_> {
    /// Each needed scope (a scope may repeat).
    fn iter(&self) -> impl Iterator<Item = &String> {
        let (lists, gathered): (&[&[String]], &[String]) = match self {
            Needed::Lists(lists) => (lists, &[]),
            Needed::Gathered(scopes) => (&[], scopes),
        };
        lists.iter().copied().flatten().chain(gathered)
    }

    /// The scopes, sorted, each once: what a challenge names. Built only for
    /// a refusal or a token still to verify.
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            Needed::Gathered(scopes) => scopes.clone(),
            Needed::Lists(_) => {
                let mut scopes: Vec<String> = self.iter().cloned().collect();
                scopes.sort();
                scopes.dedup();
                scopes
            }
        }
    }

    /// The same scopes, owned: for a request that waits for its token's
    /// verification.
    pub(crate) fn into_owned(self) -> Needed<'static> {
        match self {
            Needed::Gathered(scopes) => Needed::Gathered(scopes),
            lists @ Needed::Lists(_) => Needed::Gathered(lists.to_vec()),
        }
    }
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
    /// Each scope some other scope implies, with every scope that implies
    /// it (transitively): derived from `implies` whenever that changes, so
    /// that checking a request's scopes allocates nothing.
    implied_by: HashMap<String, Vec<String>>,
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
        self.implied_by = implied_by(&self.implies);
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
    pub(crate) fn requirement<'a>(
        &'a self,
        is_post: bool,
        envelope: Option<&RpcEnvelope>,
    ) -> Requirement<'a> {
        if is_post && !envelope.is_some_and(readable) {
            return Requirement::Scopes(Needed::Gathered(self.every_scope()));
        }
        let messages = envelope.map(RpcEnvelope::messages).unwrap_or_default();
        if !messages.is_empty() && messages.iter().all(|message| self.is_public(message)) {
            return Requirement::Public;
        }
        match messages {
            [] => Requirement::Scopes(Needed::Lists([&self.endpoint, &[], &[]])),
            [message] => {
                let [method, named] = self.needed_for(message);
                Requirement::Scopes(Needed::Lists([&self.endpoint, method, named]))
            }
            batch => {
                let mut needed: Vec<String> = self.endpoint.clone();
                for message in batch {
                    needed.extend(self.needed_for(message).into_iter().flatten().cloned());
                }
                needed.sort();
                needed.dedup();
                Requirement::Scopes(Needed::Gathered(needed))
            }
        }
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
            Some(method) => self.is_public_call(method, target(message)),
            // A response the client posts back belongs to a call it was allowed to make.
            None => false,
        }
    }

    /// Whether a call of `method` on `target` (the tool, prompt or resource
    /// it names) needs no token.
    fn is_public_call(&self, method: &str, target: Option<&str>) -> bool {
        match method {
            "tools/call" => target.is_some_and(|tool| self.public_tools.contains(tool)),
            method => self.public_methods.contains(method),
        }
    }

    /// What `message` needs beyond the endpoint: its method's scopes, and
    /// its tool's, prompt's or resource's.
    fn needed_for(&self, message: &RpcMessage) -> [&[String]; 2] {
        match message.method() {
            Some(method) => self.needed_for_call(method, target(message)),
            None => [&[], &[]],
        }
    }

    /// What a call of `method` on `target` needs beyond the endpoint.
    fn needed_for_call(&self, method: &str, target: Option<&str>) -> [&[String]; 2] {
        let for_method = self.methods.get(method).map_or(&[][..], Vec::as_slice);
        let named = match method {
            "tools/call" => target.and_then(|name| self.tools.get(name)),
            "prompts/get" => target.and_then(|name| self.prompts.get(name)),
            "resources/read" => target.and_then(|uri| self.resources.get(uri)),
            _ => None,
        };
        [for_method, named.map_or(&[][..], Vec::as_slice)]
    }

    /// Whether a caller holding `granted` (`None`: a caller without a
    /// token) may call `method` on `target` (the tool of a `tools/call`,
    /// the prompt of a `prompts/get`, the URI of a `resources/read`; `None`
    /// for a method that names nothing): exactly the decision the bearer-auth
    /// layer makes for that call, endpoint, method and per-name scopes,
    /// public tools and methods, and the scope hierarchy included. The
    /// [discovery filter](crate::discovery) lists what this allows.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use mcp_bearer_auth::ScopePolicy;
    ///
    /// let policy = ScopePolicy::new()
    ///     .require(["mcp"])
    ///     .require_for_tool("admin_echo", ["mcp:admin"])
    ///     .public_tool("server_time")
    ///     .implies("mcp:admin", ["mcp"]);
    /// let mcp: BTreeSet<String> = ["mcp".to_owned()].into();
    /// let admin: BTreeSet<String> = ["mcp:admin".to_owned()].into();
    /// assert!(policy.allows_call(Some(&mcp), "tools/call", Some("echo")));
    /// assert!(!policy.allows_call(Some(&mcp), "tools/call", Some("admin_echo")));
    /// assert!(policy.allows_call(Some(&admin), "tools/call", Some("admin_echo")));
    /// assert!(policy.allows_call(None, "tools/call", Some("server_time")));
    /// assert!(!policy.allows_call(None, "tools/call", Some("echo")));
    /// ```
    pub fn allows_call(
        &self,
        granted: Option<&BTreeSet<String>>,
        method: &str,
        target: Option<&str>,
    ) -> bool {
        if self.is_public_call(method, target) {
            return true;
        }
        let Some(granted) = granted else {
            return false;
        };
        let [for_method, named] = self.needed_for_call(method, target);
        let needed = Needed::Lists([&self.endpoint, for_method, named]);
        self.allows(granted, &needed)
    }

    /// Whether `granted` covers every needed scope, hierarchy included.
    /// Allocates nothing: a refusal builds its own list.
    pub(crate) fn allows(&self, granted: &BTreeSet<String>, needed: &Needed<'_>) -> bool {
        needed.iter().all(|scope| self.covers(granted, scope))
    }

    /// Whether `granted` holds `scope`, or a scope that implies it.
    fn covers(&self, granted: &BTreeSet<String>, scope: &str) -> bool {
        granted.contains(scope)
            || self
                .implied_by
                .get(scope)
                .is_some_and(|broader| broader.iter().any(|scope| granted.contains(scope)))
    }
}

/// For each scope some scope implies, every scope that implies it, directly
/// or through others (a cycle included).
fn implied_by(implies: &HashMap<String, Vec<String>>) -> HashMap<String, Vec<String>> {
    let mut implied_by: HashMap<String, Vec<String>> = HashMap::new();
    for broader in implies.keys() {
        let mut reached: HashSet<&String> = HashSet::new();
        let mut frontier: Vec<&String> = vec![broader];
        while let Some(scope) = frontier.pop() {
            for narrower in implies.get(scope).into_iter().flatten() {
                if reached.insert(narrower) {
                    frontier.push(narrower);
                }
            }
        }
        for narrower in reached {
            implied_by
                .entry(narrower.clone())
                .or_default()
                .push(broader.clone());
        }
    }
    implied_by
}

/// What `message` names for the policy: the tool of a `tools/call`, the
/// prompt of a `prompts/get`, the URI of a `resources/read`.
fn target(message: &RpcMessage) -> Option<&str> {
    match message.method() {
        Some("tools/call" | "prompts/get") => message.name(),
        Some("resources/read") => message.uri(),
        _ => None,
    }
}

/// Whether the policy can tell what each message of `envelope` calls.
fn readable(envelope: &RpcEnvelope) -> bool {
    !matches!(envelope, RpcEnvelope::Unparsable)
        && envelope.messages().iter().all(|message| {
            message.is_request() || message.is_notification() || message.is_response()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(scopes: &[&str]) -> BTreeSet<String> {
        scopes.iter().map(|scope| (*scope).to_owned()).collect()
    }

    fn call(tool: &str) -> RpcEnvelope {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#
        );
        RpcEnvelope::parse(body.as_bytes())
    }

    fn needed(policy: &ScopePolicy, envelope: &RpcEnvelope) -> Needed<'static> {
        match policy.requirement(true, Some(envelope)) {
            Requirement::Scopes(needed) => needed.into_owned(),
            Requirement::Public => panic!("not public"),
        }
    }

    #[test]
    fn a_call_needs_the_endpoint_method_and_tool_scopes_sorted_once() {
        let policy = ScopePolicy::new()
            .require(["mcp", "b"])
            .require_for_method("tools/call", ["b", "a"])
            .require_for_tool("t", ["mcp", "c"]);
        let needed = needed(&policy, &call("t"));
        assert_eq!(needed.to_vec(), ["a", "b", "c", "mcp"]);
        assert!(policy.allows(&granted(&["a", "b", "c", "mcp"]), &needed));
        assert!(!policy.allows(&granted(&["a", "b", "mcp"]), &needed));
    }

    #[test]
    fn implied_scopes_are_covered_transitively_and_cycles_end() {
        let policy = ScopePolicy::new()
            .require_for_tool("read", ["files:read"])
            .implies("admin", ["files:write"])
            .implies("files:write", ["files:read"])
            .implies("files:read", ["admin:audit"])
            .implies("admin:audit", ["admin"]);
        let read = needed(&policy, &call("read"));
        for holder in ["files:read", "files:write", "admin", "admin:audit"] {
            assert!(policy.allows(&granted(&[holder]), &read), "{holder}");
        }
        assert!(!policy.allows(&granted(&["files"]), &read));
        assert!(!policy.allows(&granted(&[]), &read));
        let narrow = ScopePolicy::new()
            .require_for_tool("write", ["files:write"])
            .implies("files:write", ["files:read"]);
        let write = needed(&narrow, &call("write"));
        assert!(
            !narrow.allows(&granted(&["files:read"]), &write),
            "a narrower scope never covers a broader one"
        );
    }

    #[test]
    fn no_scope_is_always_allowed() {
        let policy = ScopePolicy::new();
        assert!(policy.allows(&granted(&[]), &Needed::default()));
        assert_eq!(Needed::default().to_vec(), Vec::<String>::new());
    }
}
