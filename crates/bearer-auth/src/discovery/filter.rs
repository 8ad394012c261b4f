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
    const ALL: [ListKind; 4] = [
        ListKind::Tools,
        ListKind::Prompts,
        ListKind::Resources,
        ListKind::Templates,
    ];

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

/// One list request of the body: named in the error that replaces an answer
/// the filter cannot read.
#[derive(Debug)]
pub(crate) struct Pending {
    id: RpcId,
    kind: ListKind,
}

/// Everything the answer to a body holding list requests is filtered with:
/// those requests, the caller's scopes, the era.
///
/// Which response is filtered is never decided by its `id`: ids are the
/// client's to choose (a float `1.0` a handler answers as `1`, one id given
/// to two requests of a batch), so every response in the answer whose
/// `result` holds a list is filtered as that list. Ids only say which list
/// requests an error should name.
#[derive(Debug)]
pub(crate) struct Target {
    /// The list requests of the body, in order.
    requests: Vec<Pending>,
    /// Indexes into `requests` of those no response (by id) answered yet.
    unanswered: Vec<usize>,
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
    ) -> Option<Target> {
        let requests: Vec<Pending> = envelope
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
        if requests.is_empty() {
            return None;
        }
        Some(Target {
            unanswered: (0..requests.len()).collect(),
            requests,
            scopes: scopes.cloned(),
            era,
            settings: settings.clone(),
        })
    }

    /// Filters a JSON text holding one message or an array of them: every
    /// response whose `result` holds a list, whatever its id.
    /// `Ok(None)`: it holds no list, leave it as it is; `Ok(Some(bytes))`:
    /// the filtered text; `Err`: not JSON.
    pub(crate) fn filter_json(
        &mut self,
        text: &[u8],
    ) -> Result<Option<Vec<u8>>, serde_json::Error> {
        let mut value: Value = serde_json::from_slice(text)?;
        let listed = match &mut value {
            Value::Array(messages) => messages.iter_mut().fold(false, |listed, message| {
                self.filter_message(message) | listed
            }),
            message => self.filter_message(message),
        };
        if !listed {
            return Ok(None);
        }
        serde_json::to_vec(&value).map(Some)
    }

    /// Filters `message` if its `result` holds a list; whether it did.
    fn filter_message(&mut self, message: &mut Value) -> bool {
        let Some(object) = message.as_object_mut() else {
            return false;
        };
        let is_response = !object.contains_key("method")
            && (object.contains_key("result") || object.contains_key("error"));
        if is_response && let Some(id) = object.get("id") {
            self.answered(id);
        }
        // Whatever else the message says (an id of another request, a
        // `method`): a list in a result is a list a client would read.
        match object.get_mut("result") {
            Some(Value::Object(result)) => self.filter_result(result),
            // An error answer lists nothing.
            _ => false,
        }
    }

    /// A response with `id` went by: the first list request it answers is
    /// no longer named in errors.
    fn answered(&mut self, id: &Value) {
        if let Some(at) = self
            .unanswered
            .iter()
            .position(|&index| self.requests[index].id.matches(id))
        {
            self.unanswered.remove(at);
        }
    }

    /// Keeps the items of each list in `result` the caller may use; whether
    /// it held one. The rest of the result (`nextCursor`, `_meta`, `ttlMs`)
    /// stays as it is, except that a stateless-era list, cacheable, is
    /// marked for this caller only.
    fn filter_result(&self, result: &mut serde_json::Map<String, Value>) -> bool {
        let policy = &self.settings.policy;
        let scopes = self.scopes.as_ref();
        let mut listed = false;
        for kind in ListKind::ALL {
            let Some(Value::Array(items)) = result.get_mut(kind.items()) else {
                continue;
            };
            listed = true;
            let (method, key) = kind.call();
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
        if listed && self.era == Era::Stateless {
            result.insert("cacheScope".to_owned(), Value::from("private"));
        }
        listed
    }

    /// The list requests an error names: those not answered yet, or, once
    /// every one was (by id), all of them.
    fn named(&self) -> impl Iterator<Item = &Pending> {
        let all = self.unanswered.is_empty();
        self.requests
            .iter()
            .enumerate()
            .filter(move |(index, _)| all || self.unanswered.contains(index))
            .map(|(_, pending)| pending)
    }

    /// The JSON-RPC errors that replace an answer the filter could not
    /// read: one per list request named (an array for more than one).
    pub(crate) fn unfilterable(&self, why: Unfilterable) -> Bytes {
        let errors: Vec<Bytes> = self
            .named()
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
    /// list request named (the one a single request's response names).
    pub(crate) fn refusal(&self, why: Unfilterable) -> Option<McpError> {
        self.named().next().map(|pending| self.error(why, pending))
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
            Unfilterable::Encoded => format!(
                "the server's {method} answer is compressed (Content-Encoding), which the discovery filter cannot read, so it is withheld; the operator can place compression in front of the filter"
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
    Encoded,
}

impl Unfilterable {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Unfilterable::TooLarge => "list_too_large",
            Unfilterable::NotJson => "list_unreadable",
            Unfilterable::Encoded => "list_encoded",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ScopePolicy;

    fn target(body: &str, scopes: Option<&[&str]>, era: Era) -> Target {
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
    fn every_list_is_filtered_whatever_its_id_and_nothing_else_is() {
        let request = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
        let mut caller = target(request, Some(&["mcp"]), Era::Legacy);
        for id in ["8", "\"7\"", "7.0", "null"] {
            let other = TOOLS.replace("\"id\":7", &format!("\"id\":{id}"));
            let value = filtered(&mut caller, &other);
            assert_eq!(
                value["result"]["tools"],
                serde_json::json!([{"name":"echo"},{"name":"time"}]),
                "id {id}"
            );
        }
        let with_method = TOOLS.replace("\"id\":7", "\"id\":7,\"method\":\"x\"");
        assert_eq!(
            filtered(&mut caller, &with_method)["result"]["tools"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let notification = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"tools":[{"name":"admin_echo"}]}}"#;
        assert!(
            caller
                .filter_json(notification.as_bytes())
                .unwrap()
                .is_none(),
            "params are not a result"
        );
        let error = r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"x"}}"#;
        assert!(caller.filter_json(error.as_bytes()).unwrap().is_none());
        let other_result = r#"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#;
        assert!(
            caller
                .filter_json(other_result.as_bytes())
                .unwrap()
                .is_none()
        );
        assert!(
            target(request, None, Era::Legacy)
                .filter_json(b"{not json")
                .is_err()
        );
    }

    #[test]
    fn each_list_of_a_result_is_filtered_as_what_it_holds() {
        let request = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let mut caller = target(request, Some(&["mcp"]), Era::Stateless);
        let both = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"admin_echo"},{"name":"echo"}],"prompts":[{"name":"secret"},{"name":"hello"}]}}"#;
        let value = filtered(&mut caller, both);
        assert_eq!(
            value["result"]["tools"],
            serde_json::json!([{"name":"echo"}])
        );
        assert_eq!(
            value["result"]["prompts"],
            serde_json::json!([{"name":"hello"}])
        );
        assert_eq!(value["result"]["cacheScope"], "private");
    }

    #[test]
    fn errors_name_the_list_requests_no_response_answered_yet() {
        let request = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2.0,"method":"prompts/list"}]"#;
        let mut caller = target(request, Some(&["mcp"]), Era::Legacy);
        let ids = |caller: &Target| -> Value {
            let errors: Value =
                serde_json::from_slice(&caller.unfilterable(Unfilterable::NotJson)).unwrap();
            match errors {
                Value::Array(errors) => errors.iter().map(|error| error["id"].clone()).collect(),
                error => Value::Array(vec![error["id"].clone()]),
            }
        };
        assert_eq!(ids(&caller), serde_json::json!([1, 2.0]));
        // Answered as 2: the float id's answer.
        let _ = caller.filter_json(br#"{"jsonrpc":"2.0","id":2,"result":{"prompts":[]}}"#);
        assert_eq!(ids(&caller), serde_json::json!([1]));
        let _ = caller.filter_json(br#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":""}}"#);
        assert_eq!(
            ids(&caller),
            serde_json::json!([1, 2.0]),
            "all, once all answered"
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
