//! The no-JS form POST: its content type, `application/x-www-form-urlencoded` decoding,
//! finding the action the clicked button names, the form's fields as action data, and where
//! the `303` afterwards goes.

use serde_json::Value;

use crate::state::normalize_action;

/// Decode an `application/x-www-form-urlencoded` body into `(name, value)` pairs, in order.
///
/// `+` is a space and `%XX` a byte; a malformed escape is kept as written and bytes that are
/// not UTF-8 become U+FFFD, as browsers do (the `form_urlencoded` crate, as for page URLs'
/// queries in `Context::param`).
pub fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The action a POSTed form asks for, and the fields that are its data.
///
/// A browser puts the clicked submit button in the body as `name=value` (`increment=` for a
/// `<button name="increment">` without a value), and only that button. The action is the
/// field whose name, normalized (`saveNotes` → `save_notes`), is one of the page's actions;
/// when several are, one with an empty value (a button) wins over one with a value (likely an
/// input that shares an action's name), then the first. Without such a field the page's
/// `submit` action is used when it has one. The button's own field is left out of the data
/// unless it carries a value, matching what the JS client sends.
///
/// ```
/// use livetemplate_core::transport::{choose_action, parse_urlencoded};
/// let fields = parse_urlencoded(b"notes=hi&saveNotes=");
/// let (action, data) = choose_action(fields, &["save_notes"]).unwrap();
/// assert_eq!(action, "saveNotes");
/// assert_eq!(data, [("notes".to_string(), "hi".to_string())]);
/// ```
pub fn choose_action(fields: Vec<(String, String)>, actions: &[&str]) -> Option<(String, Vec<(String, String)>)> {
    let known = |name: &str| actions.contains(&normalize_action(name).as_str());
    let pick = fields
        .iter()
        .position(|(k, v)| v.is_empty() && known(k))
        .or_else(|| fields.iter().position(|(k, _)| known(k)));
    match pick {
        Some(i) => {
            let mut data = fields;
            let (name, value) = data.remove(i);
            if !value.is_empty() {
                data.insert(i, (name.clone(), value));
            }
            Some((name, data))
        }
        None if actions.contains(&"submit") => Some(("submit".to_string(), fields)),
        None => None,
    }
}

/// Form fields as action data: one string per name, an array when a name repeats. A name
/// ending in `[]` (`<select name="tags[]" multiple>`, a group of checkboxes) is always an
/// array, under the name without `[]` (`tags`), even with one value chosen: what the browser
/// client sends too, and what Phoenix does.
///
/// ```
/// use livetemplate_core::transport::form::form_data;
/// let one = |k: &str, v: &str| (k.to_string(), v.to_string());
/// let data = form_data(&[one("tags[]", "red"), one("name", "a"), one("name", "b")]);
/// assert_eq!(data, serde_json::json!({"tags": ["red"], "name": ["a", "b"]}));
/// ```
pub fn form_data(fields: &[(String, String)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        if let Some(name) = k.strip_suffix("[]") {
            let values = map.entry(name).or_insert_with(|| Value::Array(Vec::new()));
            match values {
                Value::Array(a) => a.push(Value::String(v.clone())),
                prev => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, Value::String(v.clone())]);
                }
            }
            continue;
        }
        match map.get_mut(k) {
            None => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
            Some(Value::Array(a)) => a.push(Value::String(v.clone())),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, Value::String(v.clone())]);
            }
        }
    }
    Value::Object(map)
}

/// Whether a POST's `Content-Type` is a urlencoded form (the only form body the no-JS path
/// reads; parameters such as `charset` are ignored). On refusal, the media type it named,
/// lower case (empty when there was none), for the 415 answer.
///
/// ```
/// use livetemplate_core::transport::form::check_form_type;
/// assert!(check_form_type(Some("application/x-www-form-urlencoded; charset=UTF-8")).is_ok());
/// assert_eq!(check_form_type(Some("Multipart/Form-Data; boundary=x")), Err("multipart/form-data".into()));
/// assert_eq!(check_form_type(None), Err(String::new()));
/// ```
pub fn check_form_type(content_type: Option<&str>) -> Result<(), String> {
    let mime = content_type
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime == "application/x-www-form-urlencoded" {
        Ok(())
    } else {
        Err(mime)
    }
}

/// Where the `303` after a successful no-JS POST sends the browser: back to the page (`path`
/// and its `query`), or where the action sent it (`navigated`: `ctx.redirect`'s URL, or
/// `ctx.push_patch`'s, whose `?query` stays on the page's path).
///
/// ```
/// use livetemplate_core::transport::form::after_post;
/// assert_eq!(after_post("/todos", "", None), "/todos");
/// assert_eq!(after_post("/todos", "page=2", None), "/todos?page=2");
/// assert_eq!(after_post("/todos", "page=2", Some("?page=3")), "/todos?page=3");
/// assert_eq!(after_post("/todos", "", Some("/login")), "/login");
/// ```
pub fn after_post(path: &str, query: &str, navigated: Option<&str>) -> String {
    let (path, query) = match navigated {
        None => (path, query),
        Some(url) => match url.strip_prefix('?') {
            Some(query) => (path, query),
            None => (url, ""),
        },
    };
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn decodes_like_a_browser() {
        assert_eq!(
            parse_urlencoded(b"notes=a+b%0D%0Ac%26d&saveNotes=&x&&bad=%zz%4"),
            pairs(&[("notes", "a b\r\nc&d"), ("saveNotes", ""), ("x", ""), ("bad", "%zz%4")])
        );
        assert_eq!(parse_urlencoded(b"k=%C3%A9%FF"), pairs(&[("k", "é\u{FFFD}")]));
        assert_eq!(parse_urlencoded(b""), pairs(&[]));
    }

    #[test]
    fn the_clicked_button_names_the_action() {
        let actions = ["increment", "save_notes", "join"];
        let (a, data) = choose_action(pairs(&[("notes", "hi"), ("saveNotes", "")]), &actions).unwrap();
        assert_eq!(a, "saveNotes");
        assert_eq!(data, pairs(&[("notes", "hi")]));

        let (a, data) = choose_action(pairs(&[("join", "x"), ("save-notes", "")]), &actions).unwrap();
        assert_eq!(
            a, "save-notes",
            "a valueless button beats an input sharing an action's name"
        );
        assert_eq!(data, pairs(&[("join", "x")]));

        let (a, data) = choose_action(pairs(&[("id", "7"), ("increment", "5")]), &actions).unwrap();
        assert_eq!(a, "increment");
        assert_eq!(
            data,
            pairs(&[("id", "7"), ("increment", "5")]),
            "a button's value is data"
        );

        assert!(choose_action(pairs(&[("username", "bob")]), &actions).is_none());
        let (a, _) = choose_action(pairs(&[("username", "bob")]), &["submit"]).unwrap();
        assert_eq!(a, "submit");
    }
}
