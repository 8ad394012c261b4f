//! The resources, resource template, prompts and completions that the
//! conformance suite's server scenarios read by name (see `conformance`).

use rmcp::ErrorData;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Prompt, PromptArgument, PromptMessage, ReadResourceResult,
    Reference, Resource, ResourceContents, ResourceTemplate, Role,
};
use serde_json::{Value, json};

use crate::conformance::PNG_1X1;
use crate::input_required;

/// `resources/list`: the direct resources.
pub(crate) fn resources() -> Vec<Resource> {
    vec![
        Resource::new("test://static-text", "static-text")
            .with_title("Static Text Resource")
            .with_description("A static text resource (conformance diagnostic)")
            .with_mime_type("text/plain"),
        Resource::new("test://static-binary", "static-binary")
            .with_title("Static Binary Resource")
            .with_description("A 1x1 PNG image (conformance diagnostic)")
            .with_mime_type("image/png"),
        Resource::new("test://watched-resource", "watched-resource")
            .with_title("Watched Resource")
            .with_description("A resource to subscribe to (conformance diagnostic)")
            .with_mime_type("text/plain"),
    ]
}

/// `resources/templates/list`.
pub(crate) fn resource_templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("test://template/{id}/data", "template")
            .with_title("Resource Template")
            .with_description("JSON data for any id (conformance diagnostic)")
            .with_mime_type("application/json"),
    ]
}

/// `resources/read`; an unknown URI is an error carrying the URI (SEP-2164:
/// rmcp sends -32002 to legacy clients and -32602 to 2026-07-28 ones).
pub(crate) fn read_resource(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let contents = match uri {
        "test://static-text" => {
            ResourceContents::text("This is the content of the static text resource.", uri)
        }
        "test://static-binary" => ResourceContents::blob(PNG_1X1, uri).with_mime_type("image/png"),
        "test://watched-resource" => ResourceContents::text("Watched resource content", uri),
        _ => match template_id(uri) {
            Some(id) => ResourceContents::text(
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                    .to_string(),
                uri,
            )
            .with_mime_type("application/json"),
            None => {
                return Err(ErrorData::resource_not_found(
                    "Resource not found",
                    Some(json!({ "uri": uri })),
                ));
            }
        },
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

/// The `{id}` of `test://template/{id}/data`.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix("test://template/")?
        .strip_suffix("/data")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// `prompts/list`.
pub(crate) fn prompts() -> Vec<Prompt> {
    let argument = |name: &str, description: &str| {
        PromptArgument::new(name)
            .with_description(description)
            .with_required(true)
    };
    vec![
        Prompt::new(
            "test_simple_prompt",
            Some("Conformance diagnostic: a prompt without arguments"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("Conformance diagnostic: a prompt with two required arguments"),
            Some(vec![
                argument("arg1", "First test argument"),
                argument("arg2", "Second test argument"),
            ]),
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("Conformance diagnostic: a prompt embedding a resource"),
            Some(vec![argument(
                "resourceUri",
                "URI of the resource to embed",
            )]),
        ),
        Prompt::new(
            "test_prompt_with_image",
            Some("Conformance diagnostic: a prompt with an image"),
            None,
        ),
        Prompt::new(
            "test_input_required_result_prompt",
            Some(
                "Conformance diagnostic (SEP-2322, 2026-07-28): asks the client for context through an InputRequiredResult first",
            ),
            None,
        ),
    ]
}

/// `prompts/get`.
pub(crate) fn get_prompt(request: GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
    let arguments = request.arguments.unwrap_or_default();
    let argument = |name: &str| match arguments.get(name) {
        Some(Value::String(value)) => Ok(value.clone()),
        _ => Err(ErrorData::invalid_params(
            format!("prompt {} needs the string argument {name}", request.name),
            None,
        )),
    };
    let user = Role::User;
    let messages = match request.name.as_str() {
        "test_simple_prompt" => vec![PromptMessage::new_text(
            user,
            "This is a simple prompt for testing.",
        )],
        "test_prompt_with_arguments" => vec![PromptMessage::new_text(
            user,
            format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                argument("arg1")?,
                argument("arg2")?
            ),
        )],
        "test_prompt_with_embedded_resource" => vec![
            PromptMessage::new(
                user.clone(),
                ContentBlock::resource(ResourceContents::text(
                    "Embedded resource content for testing.",
                    argument("resourceUri")?,
                )),
            ),
            PromptMessage::new_text(user, "Please process the embedded resource above."),
        ],
        "test_prompt_with_image" => vec![
            PromptMessage::new(user.clone(), ContentBlock::image(PNG_1X1, "image/png")),
            PromptMessage::new_text(user, "Please analyze the image above."),
        ],
        "test_input_required_result_prompt" => {
            return input_required::prompt(request.input_responses.as_ref());
        }
        other => {
            return Err(ErrorData::invalid_params(
                format!("no prompt named {other}"),
                None,
            ));
        }
    };
    Ok(GetPromptResult::new(messages).into())
}

/// `completion/complete`: values for the prompt arguments and the template's
/// `{id}` that start with what was typed.
pub(crate) fn complete(request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let candidates: &[&str] = match &request.r#ref {
        Reference::Prompt(prompt) if prompt.name == "test_prompt_with_arguments" => {
            &["paris", "park", "party", "test", "testing"]
        }
        Reference::Resource(template) if template.uri == "test://template/{id}/data" => {
            &["1", "2", "3", "123"]
        }
        _ => &[],
    };
    let typed = request.argument.value.as_str();
    let values = candidates
        .iter()
        .filter(|candidate| candidate.starts_with(typed))
        .map(|candidate| (*candidate).to_owned())
        .collect();
    let info = CompletionInfo::with_all_values(values)
        .map_err(|error| ErrorData::internal_error(error, None))?;
    Ok(CompleteResult::new(info))
}
