//! `Mcp-Param-{Name}`: tool arguments a stateless-era client mirrors into
//! headers because the tool's `inputSchema` annotates them with `x-mcp-header`.
//!
//! The guard knows a tool's annotations from configuration
//! ([`ProtocolGuardLayerBuilder::tool_input_schema`](crate::ProtocolGuardLayerBuilder::tool_input_schema))
//! or by watching the handler's `tools/list` results go by.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName};
use mcp_guard_core::headers::{MCP_PARAM_PREFIX, is_mcp_param};
use mcp_guard_core::truncated_for_display;
use serde_json::Value;

use crate::sentinel::{self, HeaderProblem};

/// How deep `properties` chains are followed when looking for annotations.
const MAX_SCHEMA_DEPTH: usize = 16;

/// One annotated parameter: where its value sits in `arguments` and which
/// header mirrors it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamHeader {
    path: Vec<String>,
    header: HeaderName,
}

/// Reads the `x-mcp-header` annotations of a tool's `inputSchema`: properties
/// reached from the root through `properties` keys alone. `None` when an
/// annotation is invalid (not an HTTP token, or a duplicate ignoring case):
/// clients must reject such a tool, so its headers are not enforced.
pub(crate) fn annotations(input_schema: &Value) -> Option<Vec<ParamHeader>> {
    let mut found = Vec::new();
    collect(input_schema, &mut Vec::new(), &mut found, 0)?;
    Some(found)
}

fn collect(
    schema: &Value,
    path: &mut Vec<String>,
    found: &mut Vec<ParamHeader>,
    depth: usize,
) -> Option<()> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Some(());
    };
    if depth >= MAX_SCHEMA_DEPTH {
        return Some(());
    }
    for (name, property) in properties {
        path.push(name.clone());
        if let Some(annotation) = property.get("x-mcp-header") {
            let header = annotation
                .as_str()
                .filter(|token| !token.is_empty())
                .and_then(|token| {
                    HeaderName::from_bytes(format!("{MCP_PARAM_PREFIX}{token}").as_bytes()).ok()
                })?;
            if found
                .iter()
                .any(|known: &ParamHeader| known.header == header)
            {
                return None;
            }
            found.push(ParamHeader {
                path: path.clone(),
                header,
            });
        }
        collect(property, path, found, depth + 1)?;
        path.pop();
    }
    Some(())
}

/// Annotations per tool name: configured ones, and ones learned from
/// `tools/list` results (bounded; configured ones win).
#[derive(Debug, Default)]
pub(crate) struct ParamHeaderRegistry {
    configured: HashMap<String, Arc<[ParamHeader]>>,
    learned: RwLock<HashMap<String, Arc<[ParamHeader]>>>,
    max_learned_tools: usize,
}

impl ParamHeaderRegistry {
    pub(crate) fn new(
        configured: HashMap<String, Arc<[ParamHeader]>>,
        max_learned_tools: usize,
    ) -> Self {
        ParamHeaderRegistry {
            configured,
            learned: RwLock::default(),
            max_learned_tools,
        }
    }

    pub(crate) fn for_tool(&self, tool: &str) -> Option<Arc<[ParamHeader]>> {
        if let Some(configured) = self.configured.get(tool) {
            return Some(configured.clone());
        }
        let learned = self
            .learned
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        learned.get(tool).cloned()
    }

    /// Records the tools of one `tools/list` result (`{"tools":[{name, inputSchema}…]}`).
    pub(crate) fn learn_from_result(&self, result: &Value) {
        let Some(tools) = result.get("tools").and_then(Value::as_array) else {
            return;
        };
        let mut learned = self
            .learned
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            if self.configured.contains_key(name) {
                continue;
            }
            let headers = tool
                .get("inputSchema")
                .and_then(annotations)
                .unwrap_or_default();
            if headers.is_empty() {
                learned.remove(name);
            } else if learned.contains_key(name) || learned.len() < self.max_learned_tools {
                learned.insert(name.to_owned(), headers.into());
            }
        }
    }
}

/// The first `Mcp-Param-*` header in `headers` that none of `params` names.
pub(crate) fn unannotated<'a>(
    headers: &'a HeaderMap,
    params: &[ParamHeader],
) -> Option<&'a HeaderName> {
    headers
        .keys()
        .filter(|name| is_mcp_param(name))
        .find(|name| !params.iter().any(|param| param.header == **name))
}

/// Checks a `tools/call`'s `Mcp-Param-*` headers against its arguments. Headers
/// of parameters the tool does not annotate are left alone. With `required`
/// (the stateless era), a body value needs its header; otherwise (the legacy
/// era, whose clients need not send them) only the headers sent are checked.
pub(crate) fn check(
    headers: &HeaderMap,
    params: &[ParamHeader],
    arguments: Option<&Value>,
    required: bool,
) -> Result<(), String> {
    for param in params {
        let body_value = arguments
            .and_then(|arguments| lookup(arguments, &param.path))
            .filter(|value| !value.is_null());
        let header_value = sentinel::read_optional(headers, &param.header)
            .map_err(|problem| problem.describe(param.header.as_str()))?;
        match (header_value, body_value) {
            (None, None) => {}
            (Some(header), None) => {
                return Err(format!(
                    "the {} header is \"{}\" but the body has no value for argument {}; send the header only with the argument",
                    param.header,
                    truncated_for_display(header.as_bytes()),
                    param.path.join(".")
                ));
            }
            (None, Some(_)) if required => {
                return Err(HeaderProblem::Missing.describe(param.header.as_str()));
            }
            (None, Some(_)) => {}
            (Some(header), Some(body)) if !agrees(&header, body) => {
                return Err(format!(
                    "the {} header \"{}\" does not match the body's argument {} {}",
                    param.header,
                    truncated_for_display(header.as_bytes()),
                    param.path.join("."),
                    shown(body)
                ));
            }
            (Some(_), Some(_)) => {}
        }
    }
    Ok(())
}

/// A body value as the message shows it: strings quoted, other values as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("\"{}\"", truncated_for_display(text.as_bytes())),
        other => truncated_for_display(other.to_string().as_bytes()),
    }
}

fn lookup<'a>(arguments: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(arguments, |value, key| value.get(key))
}

/// The spec's comparison: strings exactly, numbers numerically (`42` and
/// `42.0` agree), booleans as lowercase `true`/`false`.
fn agrees(header: &str, body: &Value) -> bool {
    match body {
        Value::String(text) => header == text,
        Value::Bool(flag) => header == if *flag { "true" } else { "false" },
        Value::Number(number) => match (header.parse::<f64>(), number.as_f64()) {
            (Ok(from_header), Some(from_body)) => {
                from_header.is_finite() && from_header == from_body
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "limit": {"type": "integer", "x-mcp-header": "Limit"},
                "dry_run": {"type": "boolean", "x-mcp-header": "Dry-Run"},
                "query": {"type": "string"},
                "target": {"type": "object", "properties": {
                    "zone": {"type": "string", "x-mcp-header": "Zone"}
                }}
            }
        })
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn annotations_are_found_along_properties_chains() {
        let found = annotations(&schema()).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|param| param.header.as_str().to_owned())
            .collect();
        assert_eq!(names.len(), 4);
        for expected in [
            "mcp-param-region",
            "mcp-param-limit",
            "mcp-param-dry-run",
            "mcp-param-zone",
        ] {
            assert!(names.contains(&expected.to_owned()), "{names:?}");
        }
    }

    #[test]
    fn invalid_annotations_disable_the_tool() {
        assert_eq!(
            annotations(&json!({"properties": {"a": {"x-mcp-header": "has space"}}})),
            None
        );
        assert_eq!(
            annotations(&json!({"properties": {"a": {"x-mcp-header": ""}}})),
            None
        );
        assert_eq!(
            annotations(&json!({"properties": {"a": {"x-mcp-header": 7}}})),
            None
        );
        assert_eq!(
            annotations(
                &json!({"properties": {"a": {"x-mcp-header": "X"}, "b": {"x-mcp-header": "x"}}})
            ),
            None
        );
    }

    #[test]
    fn values_compare_as_the_spec_says() {
        let params = annotations(&schema()).unwrap();
        let arguments = json!({"region": "eu-west", "limit": 42, "dry_run": false, "target": {"zone": "Zürich"}});
        let good = headers(&[
            ("mcp-param-region", "eu-west"),
            ("Mcp-Param-Limit", "42.0"),
            ("mcp-param-dry-run", "false"),
            ("mcp-param-zone", "=?base64?WsO8cmljaA==?="),
            ("mcp-param-unknown", "forwarded untouched"),
        ]);
        assert_eq!(check(&good, &params, Some(&arguments), true), Ok(()));

        let table: &[(&str, &str)] = &[
            ("mcp-param-region", "us-east"),
            ("mcp-param-limit", "41"),
            ("mcp-param-limit", "forty-two"),
            ("mcp-param-dry-run", "False"),
            ("mcp-param-zone", "Zurich"),
        ];
        for (name, value) in table {
            let mut bad = good.clone();
            bad.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
            let error = check(&bad, &params, Some(&arguments), true).unwrap_err();
            assert!(
                error.contains(name) && error.contains("does not match"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_header_without_its_argument_and_an_argument_without_its_header_are_refused() {
        let params = annotations(&schema()).unwrap();
        let error = check(
            &headers(&[("mcp-param-region", "eu")]),
            &params,
            Some(&json!({})),
            true,
        )
        .unwrap_err();
        assert!(error.contains("no value for argument region"), "{error}");
        let error = check(&headers(&[]), &params, Some(&json!({"limit": 1})), true).unwrap_err();
        assert!(
            error.contains("mcp-param-limit") && error.contains("missing"),
            "{error}"
        );
        // A null argument needs no header.
        assert_eq!(
            check(&headers(&[]), &params, Some(&json!({"region": null})), true),
            Ok(())
        );
    }

    #[test]
    fn learning_follows_tools_list_results_and_is_bounded() {
        let registry = ParamHeaderRegistry::new(HashMap::new(), 2);
        registry.learn_from_result(&json!({"tools": [
            {"name": "a", "inputSchema": schema()},
            {"name": "b", "inputSchema": schema()},
            {"name": "c", "inputSchema": schema()},
            {"name": "plain", "inputSchema": {"type": "object"}}
        ]}));
        assert!(registry.for_tool("a").is_some());
        assert!(registry.for_tool("b").is_some());
        assert!(registry.for_tool("c").is_none(), "over the bound");
        assert!(registry.for_tool("plain").is_none());
        // A tool whose schema drops its annotations is forgotten.
        registry.learn_from_result(
            &json!({"tools": [{"name": "a", "inputSchema": {"type": "object"}}]}),
        );
        assert!(registry.for_tool("a").is_none());
    }
}
