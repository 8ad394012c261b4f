/// The longest rendering, in characters, of a client-supplied value in a log line
/// or an error body.
const MAX_DISPLAYED_CHARS: usize = 96;

/// Renders a client-supplied value for a log line or an error message: at most
/// 96 characters, non-printable and non-ASCII bytes escaped, `…` marking a cut.
///
/// Never pass a secret (a token, a cookie) to this: it shortens, it does not redact.
///
/// ```
/// use mcp_guard_core::truncated_for_display;
///
/// assert_eq!(truncated_for_display(b"evil.example"), "evil.example");
/// assert_eq!(truncated_for_display(b"a\r\nb"), "a\\r\\nb");
/// assert_eq!(truncated_for_display(&[b'x'; 200]), format!("{}…", "x".repeat(96)));
/// ```
pub fn truncated_for_display(value: &[u8]) -> String {
    let mut escaped = value.escape_ascii();
    let mut shown: String = escaped
        .by_ref()
        .take(MAX_DISPLAYED_CHARS)
        .map(char::from)
        .collect();
    if escaped.next().is_some() {
        shown.push('…');
    }
    shown
}
