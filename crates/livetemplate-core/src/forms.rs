//! Serde helpers for binding form data (`ctx.bind::<T>()`).

use serde::{Deserialize, Deserializer};

/// `#[serde(deserialize_with = "livetemplate::forms::one_or_many")]` on a `Vec<T>` field: a
/// single value (`"red"`: a `<select multiple>` or a checkbox group whose name has no `[]`,
/// with one choice) binds as a one-item list, a list as itself, a missing field (with
/// `#[serde(default)]`) as empty. Names ending in `[]` always arrive as a list and need no
/// helper.
///
/// ```
/// use serde::Deserialize;
/// #[derive(Deserialize)]
/// struct Filter {
///     #[serde(default, deserialize_with = "livetemplate_core::forms::one_or_many")]
///     tags: Vec<String>,
/// }
/// let one: Filter = serde_json::from_value(serde_json::json!({"tags": "red"})).unwrap();
/// assert_eq!(one.tags, ["red"]);
/// let two: Filter = serde_json::from_value(serde_json::json!({"tags": ["red", "blue"]})).unwrap();
/// assert_eq!(two.tags, ["red", "blue"]);
/// let none: Filter = serde_json::from_value(serde_json::json!({})).unwrap();
/// assert!(none.tags.is_empty());
/// ```
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(v) => vec![v],
    })
}
