//! What an action sees besides its state: the data the client sent, and (later) the session
//! and pubsub handles.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::group::GroupId;

/// The context of one action call.
///
/// ```
/// use livetemplate_core::Context;
/// let ctx = Context::for_test(serde_json::json!({"notes": "  two\nlines  ", "n": "41", "on": "on"}));
/// assert_eq!(ctx.get_string("notes"), "  two\nlines  ");
/// assert_eq!(ctx.get_int("n"), 41);
/// assert!(ctx.get_bool("on"));
/// assert!(!ctx.has("missing"));
/// ```
#[derive(Debug)]
pub struct Context {
    action: Arc<str>,
    data: Map<String, Value>,
    page: Arc<str>,
    group: GroupId,
}

impl Context {
    /// A context for `action` on `page` of `group`, carrying `data`.
    pub fn new(action: &str, data: Value, page: Arc<str>, group: GroupId) -> Self {
        let data = match data {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        Context {
            action: action.into(),
            data,
            page,
            group,
        }
    }

    /// A context with `data` and nothing else: for unit tests of action logic.
    pub fn for_test(data: Value) -> Self {
        Context::new("test", data, "/test".into(), GroupId::random())
    }

    /// The action's name as the client sent it.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The page path.
    pub fn page(&self) -> &str {
        &self.page
    }

    /// The session group of this connection.
    pub fn group(&self) -> &GroupId {
        &self.group
    }

    /// All data as a JSON object.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// True when the client sent `key`.
    pub fn has(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }

    /// The value of `key` as text, verbatim (whitespace and newlines kept); numbers and
    /// booleans are formatted; missing is `""`.
    pub fn get_string(&self, key: &str) -> String {
        match self.data.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(Value::Array(a)) => a
                .last()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
            Some(other) => other.to_string(),
        }
    }

    /// The value of `key` as an integer; `0` when missing or not a number.
    pub fn get_int(&self, key: &str) -> i64 {
        match self.data.get(key) {
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or(0),
            Some(Value::String(s)) => {
                let t = s.trim();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
                    .unwrap_or(0)
            }
            Some(Value::Bool(b)) => *b as i64,
            _ => 0,
        }
    }

    /// The value of `key` as a float; `0.0` when missing or not a number.
    pub fn get_float(&self, key: &str) -> f64 {
        match self.data.get(key) {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
            Some(Value::Bool(b)) => *b as i64 as f64,
            _ => 0.0,
        }
    }

    /// The value of `key` as a boolean: `true`, `"true"`, `"on"`, `"1"`, `"yes"` and non-zero
    /// numbers are true.
    pub fn get_bool(&self, key: &str) -> bool {
        match self.data.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => {
                matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "on" | "1" | "yes")
            }
            _ => false,
        }
    }

    /// Deserialize all data into `T`.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Todo { title: String }
    /// let ctx = livetemplate_core::Context::for_test(serde_json::json!({"title": "milk"}));
    /// assert_eq!(ctx.bind::<Todo>().unwrap().title, "milk");
    /// ```
    pub fn bind<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(Value::Object(self.data.clone()))
            .map_err(|e| Error::msg(format!("invalid data for `{}`: {e}", self.action)))
    }
}
