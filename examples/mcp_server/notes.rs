//! The owner row of a permission matrix: notes a user keeps, which only
//! that user can read or delete. The tools take mcp-guard's `Authenticated`
//! extractor (`mcp-guard-extract`), so they check ownership without seeing
//! a token: bearer auth verified it and put the caller's principal in the
//! request. Under the local preset (no bearer auth) they answer that they
//! need an authenticated caller.

use std::collections::HashMap;
use std::sync::Mutex;

use mcp_guard_extract::Authenticated;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{ErrorData, schemars, tool, tool_router};
use serde::Deserialize;

use crate::server::ExampleServer;

/// Notes one owner may keep: memory stays bounded whoever calls.
const NOTES_PER_OWNER: usize = 100;
/// Notes all owners together may keep.
const NOTES_IN_ALL: usize = 10_000;
/// The longest note, in bytes.
const NOTE_BYTES: usize = 4096;

/// Every note, with its owner's key (`Authenticated::owner_key`).
#[derive(Debug, Default)]
pub(crate) struct Notes {
    inner: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    notes: HashMap<u64, Note>,
    per_owner: HashMap<String, usize>,
    next_id: u64,
}

#[derive(Debug)]
struct Note {
    owner: String,
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct NoteText {
    /// The note (at most 4096 bytes).
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct NoteId {
    /// The id `note_create` answered.
    id: u64,
}

impl Notes {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic elsewhere while holding the lock leaves the map consistent
        // (every update is one insert or remove): keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn create(&self, owner: String, text: String) -> Result<u64, ErrorData> {
        if text.len() > NOTE_BYTES {
            return Err(ErrorData::invalid_params(
                format!("a note holds at most {NOTE_BYTES} bytes"),
                None,
            ));
        }
        let mut store = self.store();
        let owned = store.per_owner.get(&owner).copied().unwrap_or(0);
        if owned >= NOTES_PER_OWNER || store.notes.len() >= NOTES_IN_ALL {
            return Err(ErrorData::invalid_request(
                format!(
                    "no room for another note (at most {NOTES_PER_OWNER} each): delete one first"
                ),
                None,
            ));
        }
        store.next_id += 1;
        let id = store.next_id;
        *store.per_owner.entry(owner.clone()).or_default() += 1;
        store.notes.insert(id, Note { owner, text });
        Ok(id)
    }

    /// The note's text, when `caller` owns it.
    fn read(&self, caller: &Authenticated, id: u64) -> Result<String, ErrorData> {
        match self.store().notes.get(&id) {
            Some(note) if caller.owns(&note.owner) => Ok(note.text.clone()),
            _ => Err(no_such_note(id)),
        }
    }

    fn delete(&self, caller: &Authenticated, id: u64) -> Result<(), ErrorData> {
        let mut store = self.store();
        match store.notes.get(&id) {
            Some(note) if caller.owns(&note.owner) => {}
            _ => return Err(no_such_note(id)),
        }
        if let Some(note) = store.notes.remove(&id)
            && let Some(count) = store.per_owner.get_mut(&note.owner)
        {
            *count -= 1;
            if *count == 0 {
                store.per_owner.remove(&note.owner);
            }
        }
        Ok(())
    }
}

/// One answer for "not yours" and "no such note": a caller learns nothing
/// about other users' notes, not even that they exist.
fn no_such_note(id: u64) -> ErrorData {
    ErrorData::invalid_params(format!("you have no note {id}"), None)
}

/// The caller's owner key, or why it has none.
fn owner_of(caller: &Authenticated) -> Result<String, ErrorData> {
    caller.owner_key().ok_or_else(|| {
        ErrorData::invalid_request(
            "the token names no subject (sub), so it can own no note",
            None,
        )
    })
}

#[tool_router(router = note_tools, vis = "pub(crate)")]
impl ExampleServer {
    #[tool(
        description = "Keeps a note that only you can read or delete; answers its id. Needs a signed-in caller (remote preset)."
    )]
    fn note_create(
        &self,
        caller: Authenticated,
        Parameters(NoteText { text }): Parameters<NoteText>,
    ) -> Result<String, ErrorData> {
        let id = self.shared.notes.create(owner_of(&caller)?, text)?;
        Ok(id.to_string())
    }

    #[tool(description = "Reads one of your notes.")]
    fn note_read(
        &self,
        caller: Authenticated,
        Parameters(NoteId { id }): Parameters<NoteId>,
    ) -> Result<String, ErrorData> {
        self.shared.notes.read(&caller, id)
    }

    #[tool(description = "Deletes one of your notes.")]
    fn note_delete(
        &self,
        caller: Authenticated,
        Parameters(NoteId { id }): Parameters<NoteId>,
    ) -> Result<String, ErrorData> {
        self.shared.notes.delete(&caller, id)?;
        Ok(format!("deleted note {id}"))
    }
}
