//! What the filter does to one JSON-RPC answer: which requests it waits for,
//! which items of their results the caller may see, and the error that
//! replaces an answer it cannot filter.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use mcp_guard_core::{Era, McpError, RpcEnvelope, RpcId, Severity, error_code};
use serde_json::Value;

use super::GUARD;
use super::layer::Settings;

/// The four discovery methods, and how each item is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Tools,
    Prompts,
    Resources,
    Templates,
}

impl ListKind {
    pub(crate) fn of(method: &str) -> Option<Self> {
        match method {
            "tools/list" => Some(ListKind::Tools),
            "prompts/list" => Some(ListKind::Prompts),
            "resources/list" => Some(ListKind::Resources),
            "resources/templates/list" => Some(ListKind::Templates),
            _ => None,
        }
    }

    pub(crate) fn method(self) -> &'static str {
        match self {
            ListKind::Tools => "tools/list",
            ListKind::Prompts => "prompts/list",
            ListKind::Resources => "resources/list",
            ListKind::Templates => "resources/templates/list",
        }
    }

    /// The member of the result holding the items.
    fn items(self) -> &'static str {
        match self {
            ListKind::Tools => "tools",
            ListKind::Prompts => "prompts",
            ListKind::Resources => "resources",
            ListKind::Templates => "resourceTemplates",
        }
    }

    /// The call an item stands for: its method, and the item's member the
    /// policy keys it by (`None`: the method alone decides).
    fn call(self) -> (&'static str, Option<&'static str>) {
        match self {
            ListKind::Tools => ("tools/call", Some("name")),
            ListKind::Prompts => ("prompts/get", Some("name")),
            ListKind::Resources => ("resources/read", Some("uri")),
            // A template stands for many URIs; per-URI rules name exact
            // URIs, which cannot be matched against a pattern soundly. A
            // template is listed when `resources/read` itself (endpoint and
            // method scopes) is allowed; each read of an expanded URI still
            // meets its own rule in bearer auth.
            ListKind::Templates => ("resources/read", None),
        }
    }
}

/// One request whose answer the filter waits for.
#[derive(Debug)]
pub(crate) struct Pending {
    id: RpcId,
    kind: ListKind,
}

/// Everything one list request's answer is filtered with: the requests
/// still unanswered, the caller's scopes, the era.
#[derive(Debug)]
pub(crate) struct Target {
    pending: Vec<Pending>,
    /// `None`: no principal (no token, or bearer auth off): only what is
    /// public is listed.
    scopes: Option<BTreeSet<String>>,
    era: Era,
    pub(crate) settings: Arc<Settings>,
}

impl Target {
    /// The list requests of `envelope` (one, or those of a batch), or `None`
    /// when it has none: the request is not the filter's business.
    pub(crate) fn of(
        envelope: &RpcEnvelope,
        scopes: Option<&BTreeSet<String>>,
        era: Era,
        settings: &Arc<Settings>,
    ) -> Option<Box<Target>> {
        let pending: Vec<Pending> = envelope
            .messages()
            .iter()
            .filter_map(|message| {
                let kind = ListKind::of(message.method()?)?;
                Some(Pending {
                    id: message.id()?.clone(),
                    kind,
                })
            })
            .collect();
        if pending.is_empty() {
            return None;
        }
        Some(Box::new(Target {
            pending,
            scopes: scopes.cloned(),
            era,
            settings: settings.clone(),
        }))
    }

    /// Whether every list request has its answer.
    pub(crate) fn is_answered(&self) -> bool {
        self.pending.is_empty()
    }

    /// Filters a JSON text holding one message or an array of them.
    /// `Ok(None)`: it answers none of the pending requests, leave it as it
    /// is; `Ok(Some(bytes))`: the filtered text; `Err`: not JSON.
    pub(crate) fn filter_json(
        &mut self,
        text: &[u8],
    ) -> Result<Option<Vec<u8>>, serde_json::Error> {
        let mut value: Value = serde_json::from_slice(text)?;
        let answered = match &mut value {
            Value::Array(messages) => messages.iter_mut().fold(false, |answered, message| {
                self.filter_message(message) | answered
            }),
            message => self.filter_message(message),
        };
        if !answered {
            return Ok(None);
        }
        serde_json::to_vec(&value).map(Some)
    }

    /// Filters `message` if it answers a pending request; whether it did.
    fn filter_message(&mut self, message: &mut Value) -> bool {
        let Some(object) = message.as_object_mut() else {
            return false;
        };
        if object.contains_key("method") {
            return false;
        }
        let Some(id) = object.get("id") else {
            return false;
        };
        let Some(index) = self
            .pending
            .iter()
            .position(|pending| same_id(&pending.id, id))
        else {
            return false;
        };
        let kind = self.pending.swap_remove(index).kind;
        // An error answer lists nothing.
        if let Some(Value::Object(result)) = object.get_mut("result") {
            self.filter_result(kind, result);
        }
        true
    }

    /// Keeps the items the caller may use; the rest of the result
    /// (`nextCursor`, `_meta`, `ttlMs`) stays as it is, except that a
    /// stateless-era result, cacheable, is marked for this caller only.
    fn filter_result(&self, kind: ListKind, result: &mut serde_json::Map<String, Value>) {
        let policy = &self.settings.policy;
        let scopes = self.scopes.as_ref();
        let (method, key) = kind.call();
        if let Some(Value::Array(items)) = result.get_mut(kind.items()) {
            match key {
                Some(key) => items.retain(|item| {
                    // An item without its name cannot be judged: not listed.
                    let target = item.get(key).and_then(Value::as_str);
                    target.is_some() && policy.allows_call(scopes, method, target)
                }),
                None => {
                    if !policy.allows_call(scopes, method, None) {
                        items.clear();
                    }
                }
            }
        }
        if self.era == Era::Stateless {
            result.insert("cacheScope".to_owned(), Value::from("private"));
        }
    }

    /// The JSON-RPC errors that replace the answers the filter could not
    /// read: one per request still pending (an array for more than one).
    pub(crate) fn unfilterable(&self, why: Unfilterable) -> Bytes {
        let errors: Vec<Bytes> = self
            .pending
            .iter()
            .map(|pending| self.error(why, pending).body_bytes())
            .collect();
        match errors.as_slice() {
            [one] => one.clone(),
            many => {
                let mut joined = Vec::with_capacity(many.iter().map(Bytes::len).sum::<usize>() + 2);
                joined.push(b'[');
                for (index, error) in many.iter().enumerate() {
                    if index > 0 {
                        joined.push(b',');
                    }
                    joined.extend_from_slice(error);
                }
                joined.push(b']');
                Bytes::from(joined)
            }
        }
    }

    /// The refusal of an answer the filter could not read, for the first
    /// pending request (the one a single request's response names).
    pub(crate) fn refusal(&self, why: Unfilterable) -> Option<McpError> {
        self.pending.first().map(|pending| self.error(why, pending))
    }

    fn error(&self, why: Unfilterable, pending: &Pending) -> McpError {
        let method = pending.kind.method();
        let message = match why {
            Unfilterable::TooLarge => format!(
                "the server's {method} answer is larger than the discovery filter's limit of {} bytes, so it cannot be filtered for this caller and is withheld; the operator can raise `max_list_bytes` or paginate the list",
                self.settings.max_list_bytes
            ),
            Unfilterable::NotJson => format!(
                "the server's {method} answer is not JSON the discovery filter can read, so it cannot be filtered for this caller and is withheld"
            ),
        };
        McpError::new(StatusCode::BAD_GATEWAY, error_code::INTERNAL_ERROR, message)
            .with_id(pending.id.clone())
            .with_reason(why.reason())
            .with_severity(Severity::Operator)
            .rejected_by(GUARD)
    }
}

/// Why an answer could not be filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unfilterable {
    TooLarge,
    NotJson,
}

impl Unfilterable {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Unfilterable::TooLarge => "list_too_large",
            Unfilterable::NotJson => "list_unreadable",
        }
    }
}

/// Whether a response's `id` is the request's.
fn same_id(id: &RpcId, value: &Value) -> bool {
    match (id, value) {
        (RpcId::Number(number), Value::Number(other)) => number == other,
        (RpcId::String(text), Value::String(other)) => text == other,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ScopePolicy;

    fn target(body: &str, scopes: Option<&[&str]>, era: Era) -> Box<Target> {
        let policy = ScopePolicy::new()
            .require(["mcp"])
            .require_for_tool("admin_echo", ["mcp:admin"])
            .require_for_prompt("secret", ["mcp:admin"])
            .require_for_resource("file:///secret", ["mcp:admin"])
            .require_for_method("resources/read", ["files"])
            .public_tool("time");
        let settings = Arc::new(Settings::new(policy));
        let scopes: Option<BTreeSet<String>> =
            scopes.map(|scopes| scopes.iter().map(|scope| (*scope).to_owned()).collect());
        Target::of(
            &RpcEnvelope::parse(body.as_bytes()),
            scopes.as_ref(),
            era,
            &settings,
        )
        .unwrap()
    }

    fn filtered(target: &mut Target, answer: &str) -> Value {
        serde_json::from_slice(&target.filter_json(answer.as_bytes()).unwrap().unwrap()).unwrap()
    }

    const TOOLS: &str = r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo"},{"name":"admin_echo"},{"name":"time"},{"title":"nameless"}],"nextCursor":"page-2"}}"#;

    #[test]
    fn tools_the_caller_may_not_call_are_removed_and_the_cursor_kept() {
        let request = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
        let mut plain = target(request, Some(&["mcp"]), Era::Legacy);
        let value = filtered(&mut plain, TOOLS);
        assert_eq!(
            value["result"]["tools"],
            serde_json::json!([{"name":"echo"},{"name":"time"}])
        );
        assert_eq!(value["result"]["nextCursor"], "page-2");
        assert!(
            value["result"].get("cacheScope").is_none(),
            "no cache fields in the legacy era"
        );
        assert!(plain.is_answered());

        let mut admin = target(request, Some(&["mcp", "mcp:admin"]), Era::Stateless);
        let value = filtered(&mut admin, TOOLS);
        let names: Vec<&str> = value["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["echo", "admin_echo", "time"]);
        assert_eq!(value["result"]["cacheScope"], "private");

        let mut anonymous = target(request, None, Era::Legacy);
        let value = filtered(&mut anonymous, TOOLS);
        assert_eq!(
            value["result"]["tools"],
            serde_json::json!([{"name":"time"}])
        );
    }

    #[test]
    fn prompts_resources_and_templates_follow_their_calls() {
        let prompts = r#"{"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"hello"},{"name":"secret"}]}}"#;
        let mut caller = target(
            r#"{"jsonrpc":"2.0","id":"p","method":"prompts/list"}"#,
            Some(&["mcp"]),
            Era::Legacy,
        );
        assert_eq!(
            filtered(&mut caller, prompts)["result"]["prompts"],
            serde_json::json!([{"name":"hello"}])
        );

        let resources = r#"{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///a"},{"uri":"file:///secret"}]}}"#;
        let mut files = target(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#,
            Some(&["mcp", "files"]),
            Era::Legacy,
        );
        assert_eq!(
            filtered(&mut files, resources)["result"]["resources"],
            serde_json::json!([{"uri":"file:///a"}])
        );
        let mut no_files = target(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#,
            Some(&["mcp"]),
            Era::Legacy,
        );
        assert_eq!(
            filtered(&mut no_files, resources)["result"]["resources"],
            serde_json::json!([]),
            "the method-level rule of resources/read counts"
        );

        let templates = r#"{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"file:///{path}"}]}}"#;
        let mut files = target(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/templates/list"}"#,
            Some(&["mcp", "files"]),
            Era::Legacy,
        );
        assert_eq!(
            filtered(&mut files, templates)["result"]["resourceTemplates"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let mut no_files = target(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/templates/list"}"#,
            Some(&["mcp"]),
            Era::Legacy,
        );
        assert_eq!(
            filtered(&mut no_files, templates)["result"]["resourceTemplates"],
            serde_json::json!([])
        );
    }

    #[test]
    fn other_ids_notifications_and_errors_are_not_filtered() {
        let request = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
        let mut caller = target(request, Some(&["mcp"]), Era::Legacy);
        let other = TOOLS.replace("\"id\":7", "\"id\":8");
        assert!(caller.filter_json(other.as_bytes()).unwrap().is_none());
        let string_id = TOOLS.replace("\"id\":7", "\"id\":\"7\"");
        assert!(
            caller.filter_json(string_id.as_bytes()).unwrap().is_none(),
            "\"7\" is not 7"
        );
        let notification = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"tools":[{"name":"admin_echo"}]}}"#;
        assert!(
            caller
                .filter_json(notification.as_bytes())
                .unwrap()
                .is_none()
        );
        assert!(!caller.is_answered());
        let error = r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"x"}}"#;
        assert!(caller.filter_json(error.as_bytes()).unwrap().is_some());
        assert!(caller.is_answered());
        assert!(
            target(request, None, Era::Legacy)
                .filter_json(b"{not json")
                .is_err()
        );
    }

    #[test]
    fn a_batch_is_filtered_answer_by_answer() {
        let request = r#"[{"jsonrpc":"2.0","id":7,"method":"tools/list"},{"jsonrpc":"2.0","id":8,"method":"ping"},{"jsonrpc":"2.0","id":9,"method":"tools/list"}]"#;
        let mut caller = target(request, Some(&["mcp"]), Era::Legacy);
        let answer = format!(
            "[{TOOLS},{{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{{}}}},{}]",
            TOOLS.replace("\"id\":7", "\"id\":9")
        );
        let value = filtered(&mut caller, &answer);
        assert_eq!(value[0]["result"]["tools"].as_array().unwrap().len(), 2);
        assert_eq!(value[1]["result"], serde_json::json!({}));
        assert_eq!(value[2]["result"]["tools"].as_array().unwrap().len(), 2);
        assert!(caller.is_answered());
    }

    #[test]
    fn an_unfilterable_answer_becomes_an_error_with_the_request_id() {
        let caller = target(
            r#"{"jsonrpc":"2.0","id":"x-1","method":"tools/list"}"#,
            Some(&["mcp"]),
            Era::Legacy,
        );
        let error: Value =
            serde_json::from_slice(&caller.unfilterable(Unfilterable::TooLarge)).unwrap();
        assert_eq!(error["id"], "x-1");
        assert_eq!(error["error"]["code"], error_code::INTERNAL_ERROR);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("max_list_bytes")
        );
    }
}
