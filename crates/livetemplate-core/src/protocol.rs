//! The wire protocol's frames (see `docs/protocol.md`): the parser of client frames and
//! [`ServerFrame`], the one writer of server frames.
//!
//! Every server frame is built here, key by key, in the order the protocol documents; the
//! encoder ([`crate::diff`]) writes only the values of `s`, `t` and `d`. No code edits a
//! finished frame's JSON text.

use std::fmt::Write as _;

use serde_json::Value;

use crate::context::Navigation;
use crate::diff::write_json_str;

/// The keys of frames, as `docs/protocol.md` names them. `r` and `h` are in both directions.
pub mod key {
    /// Client frame: the action's name.
    pub const ACTION: &str = "a";
    /// Client frame: the action's data.
    pub const DATA: &str = "d";
    /// Client frame: the page's new URL (`lvt-patch`, back, forward).
    pub const PARAMS: &str = "p";
    /// Protocol version, on the first frame of a connection.
    pub const VERSION: &str = "v";
    /// The ref of the client message a frame answers.
    pub const REPLY: &str = "r";
    /// Statics table.
    pub const STATICS: &str = "s";
    /// A full tree.
    pub const TREE: &str = "t";
    /// A diff of the page tree (the same letter as a client frame's [`DATA`]).
    pub const DIFF: &str = "d";
    /// An error message for the user.
    pub const ERROR: &str = "e";
    /// Component instances' nodes, diffs or removals, by cid (after `d`).
    pub const COMPONENTS: &str = "c";
    /// Client frame: the id of the component instance an action targets.
    pub const TARGET: &str = "t";
    /// Heartbeat answer.
    pub const HEARTBEAT: &str = "h";
    /// A URL to load.
    pub const REDIRECT: &str = "redirect";
    /// A URL to put in the address bar without loading.
    pub const PATCH: &str = "patch";
    /// Events for client hooks.
    pub const EVENTS: &str = "events";
    /// Client frame: go to another page of the app on this connection (`lvt-navigate`).
    pub const NAVIGATE_TO: &str = "n";
    /// The page was swapped for the one at this URL (the frame carries its whole tree): the
    /// URL to show in the address bar.
    pub const NAVIGATE: &str = "navigate";
    /// The page's title (`document.title`).
    pub const TITLE: &str = "title";
    /// The group's flash: message by kind, the whole map (`{}` when none is left).
    pub const FLASH: &str = "flash";
}

/// The protocol version the first frame of a connection states.
///
/// Version 2 writes loop items positionally (an array of the item's slot values, its statics
/// the list's `"s"`); see `docs/protocol.md`, "Values".
pub const PROTOCOL_VERSION: u32 = 2;

/// Longest action name a client frame may carry, in bytes.
const MAX_ACTION_NAME: usize = 128;
/// Longest URL a `p` or `n` frame may carry, in bytes.
const MAX_PARAMS_URL: usize = 8192;

/// A server frame being written: a JSON object whose keys are added one by one.
///
/// Nothing is allocated until the first key; [`finish`](Self::finish) gives no frame when no
/// key was added (a pushed action that changed nothing).
///
/// ```
/// use livetemplate_core::protocol::ServerFrame;
/// let mut frame = ServerFrame::new();
/// frame.reply(Some(7));
/// frame.error("title is required");
/// assert_eq!(frame.finish().as_deref(), Some(r#"{"r":7,"e":"title is required"}"#));
/// assert_eq!(ServerFrame::new().finish(), None);
/// assert_eq!(ServerFrame::heartbeat(), r#"{"h":1}"#);
/// ```
#[derive(Debug, Default)]
pub struct ServerFrame {
    out: String,
}

impl ServerFrame {
    /// An empty frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty frame with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        ServerFrame {
            out: String::with_capacity(bytes),
        }
    }

    /// The answer to a heartbeat: `{"h":1}`.
    pub fn heartbeat() -> String {
        let mut frame = ServerFrame::with_capacity(8);
        frame.field(key::HEARTBEAT).push('1');
        frame.into_string()
    }

    /// An error frame answering `reply_to`: `{"r":7,"e":"…"}`. `message` is shown to the
    /// user: pass [`Error::client_message`](crate::Error::client_message), never an internal
    /// error's own text.
    pub fn error_frame(reply_to: Option<u64>, message: &str) -> String {
        let mut frame = ServerFrame::with_capacity(message.len() + 24);
        frame.reply(reply_to);
        frame.error(message);
        frame.into_string()
    }

    /// The bare acknowledgement of a client message: `{"r":7}`, or none without a ref.
    pub fn ack(reply_to: Option<u64>) -> Option<String> {
        let mut frame = ServerFrame::new();
        frame.reply(reply_to);
        frame.finish()
    }

    /// Whether no key was added yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Start key `name`: the buffer, positioned where its value goes. The caller writes
    /// exactly one JSON value.
    #[inline]
    pub(crate) fn field(&mut self, name: &str) -> &mut String {
        self.out.push(if self.out.is_empty() { '{' } else { ',' });
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
        &mut self.out
    }

    /// `"v":<PROTOCOL_VERSION>`.
    pub fn version(&mut self) {
        let out = self.field(key::VERSION);
        out.push_str(itoa::Buffer::new().format(PROTOCOL_VERSION));
    }

    /// `"r":<ref>`, when there is a ref.
    #[inline]
    pub fn reply(&mut self, reply_to: Option<u64>) {
        if let Some(r) = reply_to {
            let out = self.field(key::REPLY);
            out.push_str(itoa::Buffer::new().format(r));
        }
    }

    /// `"t":<node>`: a full tree, already encoded as JSON.
    #[inline]
    pub(crate) fn tree(&mut self, node_json: &str) {
        self.field(key::TREE).push_str(node_json);
    }

    /// `"d":<node diff>`: a diff, already encoded as JSON.
    #[inline]
    pub(crate) fn diff(&mut self, diff_json: &str) {
        self.field(key::DIFF).push_str(diff_json);
    }

    /// `"c":{"<cid>": node | diff | null, …}`: component instances, already encoded as JSON.
    #[inline]
    pub(crate) fn components(&mut self, json: &str) {
        self.field(key::COMPONENTS).push_str(json);
    }

    /// `"e":"<message>"`.
    pub fn error(&mut self, message: &str) {
        let out = self.field(key::ERROR);
        write_json_str(out, message);
    }

    /// `"redirect":"<url>"` or `"patch":"<url>"`.
    pub fn navigation(&mut self, nav: &Navigation) {
        let name = match nav {
            Navigation::Redirect(_) => key::REDIRECT,
            Navigation::Patch(_) => key::PATCH,
            Navigation::Navigate(_) => key::NAVIGATE,
        };
        let out = self.field(name);
        write_json_str(out, nav.url());
    }

    /// `"title":"<title>"`.
    pub fn title(&mut self, title: &str) {
        let out = self.field(key::TITLE);
        write_json_str(out, title);
    }

    /// `"flash":{"<kind>":"<message>", …}` (`{}` when empty).
    pub fn flash(&mut self, flash: &crate::flash::Flash) {
        let out = self.field(key::FLASH);
        out.push('{');
        for (i, (kind, msg)) in flash.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_str(out, kind);
            out.push(':');
            write_json_str(out, msg);
        }
        out.push('}');
    }

    /// `"events":[[name, payload], …]`, when there are events.
    pub fn events(&mut self, events: &[(String, Value)]) {
        if events.is_empty() {
            return;
        }
        let list: Vec<Value> = events
            .iter()
            .map(|(name, payload)| Value::Array(vec![Value::String(name.clone()), payload.clone()]))
            .collect();
        let out = self.field(key::EVENTS);
        // Writing into a String cannot fail.
        let _ = write!(out, "{}", Value::Array(list));
    }

    /// The frame's text; `None` when no key was added.
    #[inline]
    pub fn finish(self) -> Option<String> {
        if self.out.is_empty() {
            return None;
        }
        Some(self.into_string())
    }

    /// The frame's text; `{}` when no key was added.
    pub fn into_string(mut self) -> String {
        if self.out.is_empty() {
            self.out.push('{');
        }
        self.out.push('}');
        self.out
    }
}

/// A parsed client frame.
#[derive(Debug)]
pub enum ClientFrame {
    /// `{"h":1}`
    Heartbeat,
    /// `{"a":..., "d":..., "r":...}`
    Action {
        /// Action name as sent.
        action: String,
        /// Action data.
        data: Value,
        /// The client's ref.
        reply_to: Option<u64>,
    },
    /// `{"p": "/items?page=2", "r":...}`: the page's URL changed without a page load (an
    /// `lvt-patch` link, back or forward); the page's `handle_params` runs for it.
    Params {
        /// The URL now in the address bar (path and query).
        url: String,
        /// The client's ref.
        reply_to: Option<u64>,
    },
    /// `{"n": "/other?x=1", "r":...}`: go to another page of the app on this connection (an
    /// `lvt-navigate` link, back or forward to another page's URL).
    Navigate {
        /// The URL (path, query, maybe a `#hash`).
        url: String,
        /// The client's ref.
        reply_to: Option<u64>,
    },
}

/// Parse a client frame; on error, the ref (if readable) and a message for the client.
pub fn parse_client_frame(text: &str) -> std::result::Result<ClientFrame, (Option<u64>, String)> {
    let value: Value = serde_json::from_str(text).map_err(|e| (None, format!("malformed frame: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err((None, "malformed frame: expected a JSON object".into()));
    };
    let reply_to = match obj.get(key::REPLY) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or((None, "malformed frame: `r` must be a non-negative integer".to_string()))?,
        ),
    };
    if obj.contains_key(key::HEARTBEAT) && !obj.contains_key(key::ACTION) {
        return Ok(ClientFrame::Heartbeat);
    }
    if !obj.contains_key(key::ACTION) && obj.contains_key(key::PARAMS) {
        return match obj.remove(key::PARAMS) {
            Some(Value::String(url)) if url.len() <= MAX_PARAMS_URL => Ok(ClientFrame::Params { url, reply_to }),
            _ => Err((
                reply_to,
                "malformed frame: `p` must be the page's URL (a string)".into(),
            )),
        };
    }
    if !obj.contains_key(key::ACTION) && obj.contains_key(key::NAVIGATE_TO) {
        return match obj.remove(key::NAVIGATE_TO) {
            Some(Value::String(url)) if url.len() <= MAX_PARAMS_URL => Ok(ClientFrame::Navigate { url, reply_to }),
            _ => Err((reply_to, "malformed frame: `n` must be a URL (a string)".into())),
        };
    }
    let action = match obj.remove(key::ACTION) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ACTION_NAME => s,
        Some(Value::String(_)) => {
            return Err((reply_to, "malformed frame: bad action name length".into()));
        }
        None | Some(Value::Null) => return Err((reply_to, "malformed frame: missing action `a`".into())),
        Some(_) => {
            return Err((
                reply_to,
                "malformed frame: action `a` must be a string (the action's name)".into(),
            ));
        }
    };
    let mut data = match obj.remove(key::DATA) {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err((reply_to, "malformed frame: `d` must be an object".into())),
    };
    // The target component travels with the data as the no-JS form's `lvt-target` field does,
    // and is taken out of it before the action sees it.
    match obj.remove(key::TARGET) {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) => {
            if let Value::Object(m) = &mut data {
                m.insert(crate::component::TARGET_FIELD.to_string(), Value::String(t));
            }
        }
        Some(_) => {
            return Err((
                reply_to,
                "malformed frame: `t` must be a component id (a string)".into(),
            ));
        }
    }
    Ok(ClientFrame::Action { action, data, reply_to })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_written_key_by_key_in_protocol_order() {
        let mut frame = ServerFrame::new();
        frame.reply(Some(1));
        frame.diff(r#"{"0":"1"}"#);
        frame.navigation(&Navigation::Patch("?page=1".into()));
        frame.events(&[("paged".into(), serde_json::json!({"page": 1}))]);
        assert_eq!(
            frame.finish().unwrap(),
            r#"{"r":1,"d":{"0":"1"},"patch":"?page=1","events":[["paged",{"page":1}]]}"#
        );
        let mut frame = ServerFrame::new();
        frame.reply(Some(3));
        frame.navigation(&Navigation::Redirect("/login".into()));
        frame.events(&[]);
        assert_eq!(frame.finish().unwrap(), r#"{"r":3,"redirect":"/login"}"#);
        let mut frame = ServerFrame::new();
        frame.navigation(&Navigation::Redirect("/a\"b".into()));
        assert_eq!(frame.finish().unwrap(), r#"{"redirect":"/a\"b"}"#);
        let mut frame = ServerFrame::new();
        frame.version();
        frame.tree(r#"{"s":0}"#);
        assert_eq!(frame.into_string(), r#"{"v":2,"t":{"s":0}}"#);
        assert_eq!(ServerFrame::new().into_string(), "{}");
        assert_eq!(ServerFrame::ack(Some(7)).unwrap(), r#"{"r":7}"#);
        assert_eq!(ServerFrame::ack(None), None);
        assert_eq!(ServerFrame::error_frame(None, "bad\n"), r#"{"e":"bad\n"}"#);
        assert_eq!(ServerFrame::heartbeat(), r#"{"h":1}"#);
        let mut frame = ServerFrame::new();
        frame.reply(Some(9));
        frame.navigation(&Navigation::Navigate("/b?x=1".into()));
        frame.title("Count \"3\"");
        let mut flash = crate::flash::Flash::new();
        frame.flash(&flash);
        flash.insert("info".into(), "Saved".into());
        flash.insert("error".into(), "a\nb".into());
        frame.flash(&flash);
        assert_eq!(
            frame.finish().unwrap(),
            r#"{"r":9,"navigate":"/b?x=1","title":"Count \"3\"","flash":{},"flash":{"error":"a\nb","info":"Saved"}}"#
        );
    }

    #[test]
    fn client_frames_parse() {
        assert!(matches!(parse_client_frame(r#"{"h":1}"#), Ok(ClientFrame::Heartbeat)));
        match parse_client_frame(r#"{"a":"inc","r":4}"#).unwrap() {
            ClientFrame::Action { action, data, reply_to } => {
                assert_eq!((action.as_str(), reply_to), ("inc", Some(4)));
                assert_eq!(data, serde_json::json!({}));
            }
            other => panic!("{other:?}"),
        }
        match parse_client_frame(r#"{"p":"/x?page=2","r":8}"#).unwrap() {
            ClientFrame::Params { url, reply_to } => assert_eq!((url.as_str(), reply_to), ("/x?page=2", Some(8))),
            other => panic!("{other:?}"),
        }
        match parse_client_frame(r#"{"n":"/other?x=1","r":9}"#).unwrap() {
            ClientFrame::Navigate { url, reply_to } => assert_eq!((url.as_str(), reply_to), ("/other?x=1", Some(9))),
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_client_frame(r#"{"n":1,"r":3}"#).unwrap_err().0, Some(3));
        let long = format!(r#"{{"a":"{}","r":2}}"#, "x".repeat(MAX_ACTION_NAME + 1));
        assert_eq!(parse_client_frame(&long).unwrap_err().0, Some(2));
        assert_eq!(parse_client_frame(r#"{"a":1}"#).unwrap_err().0, None);
        assert!(parse_client_frame("[1]").is_err());
    }
}
