//! SEP-2322 multi round-trip requests (2026-07-28), as the conformance
//! suite's `input-required-result-*` scenarios call them: a tool (or prompt)
//! answers with an `InputRequiredResult` naming what it needs from the client
//! (elicitation, sampling, roots), and the client retries with
//! `inputResponses` and the echoed `requestState`. rmcp refuses to send such
//! a result to a legacy-era client, so these only work for 2026-07-28 ones.
//!
//! `requestState` comes back from the client, so it is sealed: an HMAC-SHA256
//! over the tool's name and its state, with a key made at startup (rmcp's own
//! `RequestStateCodec` needs its `request-state` feature, which this workspace
//! does not enable). A real server would also bind it to the caller.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, GetPromptResponse, GetPromptResult,
    InputRequest, InputRequests, InputRequiredResult, JsonObject, PromptMessage, Role,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde_json::{Value, json};

use crate::server::ExampleServer;

type Responses = rmcp::model::InputResponses;

/// The key that seals `requestState`, fresh for each server process.
pub(crate) struct StateKey(hmac::Key);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    pub(crate) fn generate() -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key =
            hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("the system RNG makes an HMAC key");
        StateKey(key)
    }

    /// `base64url(body).base64url(tag)`, the body naming the tool.
    fn seal(&self, tool: &str, state: &Value) -> String {
        let body = URL_SAFE_NO_PAD.encode(json!({"tool": tool, "state": state}).to_string());
        let tag = hmac::sign(&self.0, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The state sealed for `tool`, or `-32602` for anything forged, altered
    /// or sealed for another tool.
    fn open(&self, tool: &str, sealed: &str) -> Result<Value, ErrorData> {
        let rejected = || {
            ErrorData::invalid_params(
                "requestState failed its integrity check; start the request again without it",
                None,
            )
        };
        let (body, tag) = sealed.split_once('.').ok_or_else(rejected)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| rejected())?;
        hmac::verify(&self.0, body.as_bytes(), &tag).map_err(|_| rejected())?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| rejected())?;
        let mut body: Value = serde_json::from_slice(&body).map_err(|_| rejected())?;
        if body["tool"] != tool {
            return Err(rejected());
        }
        Ok(body["state"].take())
    }
}

/// Builds one input request from its wire form.
fn input_request(method: &str, params: Value) -> Result<InputRequest, ErrorData> {
    serde_json::from_value(json!({"method": method, "params": params}))
        .map_err(|error| ErrorData::internal_error(format!("bad {method} request: {error}"), None))
}

/// An `elicitation/create` for one required field.
pub(crate) fn elicitation(
    message: &str,
    field: &str,
    field_type: &str,
) -> Result<InputRequest, ErrorData> {
    input_request(
        "elicitation/create",
        json!({
            "mode": "form",
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": { field: {"type": field_type} },
                "required": [field],
            },
        }),
    )
}

fn sampling(text: &str, max_tokens: u32) -> Result<InputRequest, ErrorData> {
    input_request(
        "sampling/createMessage",
        json!({
            "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
            "maxTokens": max_tokens,
        }),
    )
}

fn list_roots() -> Result<InputRequest, ErrorData> {
    input_request("roots/list", json!({}))
}

/// The content of an accepted elicitation answer under `key`; `None` when
/// it is missing or malformed (the tool then asks again).
pub(crate) fn accepted<'a>(responses: Option<&'a Responses>, key: &str) -> Option<&'a JsonObject> {
    let response = responses?.get(key)?.as_object()?;
    if response.get("action")?.as_str()? != "accept" {
        return None;
    }
    response.get("content")?.as_object()
}

/// The text of a sampling answer under `key`.
fn sampled_text<'a>(responses: Option<&'a Responses>, key: &str) -> Option<&'a str> {
    let response = responses?.get(key)?;
    response["content"]["text"]
        .as_str()
        .or_else(|| response["message"]["content"]["text"].as_str())
}

/// The root URIs of a `roots/list` answer under `key`.
fn root_uris(responses: Option<&Responses>, key: &str) -> Option<Vec<String>> {
    let roots = responses?.get(key)?.get("roots")?.as_array()?;
    Some(
        roots
            .iter()
            .map(|root| root["uri"].as_str().unwrap_or("?").to_owned())
            .collect(),
    )
}

fn text_field<'a>(content: &'a JsonObject, field: &str) -> Option<&'a str> {
    content.get(field)?.as_str()
}

fn done(text: String) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
}

fn ask(requests: Vec<(&str, InputRequest)>, state: Option<String>) -> CallToolResponse {
    let requests: InputRequests = requests
        .into_iter()
        .map(|(key, request)| (key.to_owned(), request))
        .collect();
    InputRequiredResult::new(Some(requests), state).into()
}

#[tool_router(router = input_required_tools, vis = "pub(crate)")]
impl ExampleServer {
    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): asks the user's name through an InputRequiredResult (key user_name), then greets them."
    )]
    fn test_input_required_result_elicitation(
        &self,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        match accepted(responses.as_ref(), "user_name").and_then(|c| text_field(c, "name")) {
            Some(name) => done(format!("Hello, {name}!")),
            None => Ok(ask(
                vec![(
                    "user_name",
                    elicitation("What is your name?", "name", "string")?,
                )],
                None,
            )),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): asks the client's LLM through an InputRequiredResult (key capital_question), then returns its answer."
    )]
    fn test_input_required_result_sampling(
        &self,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        match sampled_text(responses.as_ref(), "capital_question") {
            Some(answer) => done(format!("The model answered: {answer}")),
            None => Ok(ask(
                vec![(
                    "capital_question",
                    sampling("What is the capital of France?", 100)?,
                )],
                None,
            )),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): asks for the client's roots through an InputRequiredResult (key client_roots), then lists them."
    )]
    fn test_input_required_result_list_roots(
        &self,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        match root_uris(responses.as_ref(), "client_roots") {
            Some(uris) => done(format!("Client roots: {}", uris.join(", "))),
            None => Ok(ask(vec![("client_roots", list_roots()?)], None)),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): asks for a confirmation with a sealed requestState, and answers state-ok once the state comes back intact."
    )]
    fn test_input_required_result_request_state(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        self.confirm_with_state("test_input_required_result_request_state", responses, state)
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): like the request-state tool; a tampered requestState is refused with -32602."
    )]
    fn test_input_required_result_tampered_state(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        self.confirm_with_state(
            "test_input_required_result_tampered_state",
            responses,
            state,
        )
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): asks for a name, an LLM greeting and the roots in one InputRequiredResult, with a sealed requestState."
    )]
    fn test_input_required_result_multiple_inputs(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_multiple_inputs";
        let key = &self.shared.state_key;
        if let Some(state) = &state {
            key.open(TOOL, state)?;
        }
        let responses = responses.as_ref();
        let name = accepted(responses, "user_name").and_then(|c| text_field(c, "name"));
        let greeting = sampled_text(responses, "greeting");
        let roots = root_uris(responses, "client_roots");
        match (state, name, greeting, roots) {
            (Some(_), Some(name), Some(greeting), Some(roots)) => done(format!(
                "name={name}; greeting={greeting}; roots={}",
                roots.join(", ")
            )),
            _ => Ok(ask(
                vec![
                    (
                        "user_name",
                        elicitation("What is your name?", "name", "string")?,
                    ),
                    ("greeting", sampling("Generate a greeting", 50)?),
                    ("client_roots", list_roots()?),
                ],
                Some(key.seal(TOOL, &json!({"round": 1}))),
            )),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): three rounds: asks a name (step1), then a colour (step2), each with a new sealed requestState, then answers."
    )]
    fn test_input_required_result_multi_round(
        &self,
        InputResponses(responses): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        const TOOL: &str = "test_input_required_result_multi_round";
        let key = &self.shared.state_key;
        let state = match &state {
            Some(state) => key.open(TOOL, state)?,
            None => Value::Null,
        };
        let responses = responses.as_ref();
        let step1 = || -> Result<CallToolResponse, ErrorData> {
            Ok(ask(
                vec![(
                    "step1",
                    elicitation("Step 1: What is your name?", "name", "string")?,
                )],
                Some(key.seal(TOOL, &json!({"round": 1}))),
            ))
        };
        let step2 = |name: &str| -> Result<CallToolResponse, ErrorData> {
            Ok(ask(
                vec![(
                    "step2",
                    elicitation("Step 2: What is your favorite color?", "color", "string")?,
                )],
                Some(key.seal(TOOL, &json!({"round": 2, "name": name}))),
            ))
        };
        match state["round"].as_u64() {
            Some(1) => match accepted(responses, "step1").and_then(|c| text_field(c, "name")) {
                Some(name) => step2(name),
                None => step1(),
            },
            Some(2) => {
                let name = state["name"].as_str().unwrap_or("someone");
                match accepted(responses, "step2").and_then(|c| text_field(c, "color")) {
                    Some(color) => done(format!("{name}'s favorite color is {color}")),
                    None => step2(name),
                }
            }
            _ => step1(),
        }
    }

    #[tool(
        description = "Conformance diagnostic (SEP-2322, 2026-07-28): asks only for what the request's _meta clientCapabilities declare (elicitation, sampling, roots)."
    )]
    fn test_input_required_result_capabilities(
        &self,
        context: RequestContext<RoleServer>,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        let declared = context.meta.client_capabilities().unwrap_or_default();
        let mut wanted = Vec::new();
        if declared.elicitation.is_some() {
            wanted.push((
                "user_name",
                elicitation("What is your name?", "name", "string")?,
            ));
        }
        if declared.sampling.is_some() {
            wanted.push(("greeting", sampling("Generate a greeting", 50)?));
        }
        if declared.roots.is_some() {
            wanted.push(("client_roots", list_roots()?));
        }
        if wanted.is_empty() {
            return done("The client declares no capability to ask through.".to_owned());
        }
        let answered = responses
            .as_ref()
            .is_some_and(|responses| wanted.iter().all(|(key, _)| responses.contains_key(*key)));
        if answered {
            let keys: Vec<_> = wanted.iter().map(|(key, _)| *key).collect();
            return done(format!("Answered: {}", keys.join(", ")));
        }
        Ok(ask(wanted, None))
    }
}

impl ExampleServer {
    /// Round 1: ask to confirm, with a sealed state. Round 2: the state must
    /// open (else -32602), then `state-ok`.
    fn confirm_with_state(
        &self,
        tool: &str,
        responses: Option<Responses>,
        state: Option<String>,
    ) -> Result<CallToolResponse, ErrorData> {
        let key = &self.shared.state_key;
        let opened = match &state {
            Some(state) => Some(key.open(tool, state)?),
            None => None,
        };
        match (opened, accepted(responses.as_ref(), "confirm")) {
            (Some(_), Some(content)) => done(format!(
                "state-ok: the requestState came back intact; confirmation {}",
                Value::Object(content.clone())
            )),
            _ => Ok(ask(
                vec![("confirm", elicitation("Please confirm", "ok", "boolean")?)],
                Some(key.seal(tool, &json!({"round": 1}))),
            )),
        }
    }
}

/// `prompts/get test_input_required_result_prompt`: asks for context first.
pub(crate) fn prompt(responses: Option<&Responses>) -> Result<GetPromptResponse, ErrorData> {
    match accepted(responses, "user_context").and_then(|c| text_field(c, "context")) {
        Some(context) => Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!("Answer with this context in mind: {context}"),
        )])
        .into()),
        None => Ok(InputRequiredResult::from_input_requests(
            [(
                "user_context".to_owned(),
                elicitation("What context should the prompt use?", "context", "string")?,
            )]
            .into(),
        )
        .into()),
    }
}
