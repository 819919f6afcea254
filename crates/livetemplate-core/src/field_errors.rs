//! Errors per form field: what an action returns when a form's values do not pass, and what a
//! state's `#[lvt(errors)]` field holds for the template to show next to each field.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::context::Context;
use crate::error::{Error, Result};

/// Messages per form field, in the order they were added.
///
/// An action returns `Err(errors.into())` (or `?` on a `Result<_, FieldErrors>`) when a form
/// does not pass; a page whose state has a `#[lvt(errors)] errors: FieldErrors` field gets
/// them there (for the fields the user touched) and its template shows them with
/// `{% if let Some(e) = errors.get("email") %}…{% endif %}`. See "Forms and errors" in the
/// guide.
///
/// ```
/// # use livetemplate_core as livetemplate;
/// use livetemplate::FieldErrors;
/// let mut errors = FieldErrors::new();
/// errors.add("email", "must contain @");
/// errors.add("password", "at least 8 characters");
/// errors.add("email", "is too long");
/// assert_eq!(errors.get("email"), Some("must contain @"));
/// assert_eq!(errors.all("email"), ["must contain @", "is too long"]);
/// assert!(errors.has("password") && !errors.has("name"));
/// assert_eq!(errors.len(), 2, "two fields");
/// let err: livetemplate::Error = errors.into();
/// assert_eq!(err.client_message(), "email: must contain @, is too long; password: at least 8 characters");
/// assert!(err.field_errors().is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    fields: Vec<(String, Vec<String>)>,
}

impl FieldErrors {
    /// No error.
    pub fn new() -> Self {
        FieldErrors::default()
    }

    /// Add `message` to `field` (after its earlier messages).
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) -> &mut Self {
        let field = field.into();
        let message = message.into();
        match self.fields.iter_mut().find(|(f, _)| *f == field) {
            Some((_, messages)) => messages.push(message),
            None => self.fields.push((field, vec![message])),
        }
        self
    }

    /// The first message of `field`, for a template; `None` when it has none.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.all(field).first().map(String::as_str)
    }

    /// Every message of `field` (empty when none).
    pub fn all(&self, field: &str) -> &[String] {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map_or(&[], |(_, m)| m.as_slice())
    }

    /// True when `field` has a message.
    pub fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(f, _)| f == field)
    }

    /// True when no field has a message.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The number of fields with a message.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// The fields and their messages, in the order the fields were first added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.fields.iter().map(|(f, m)| (f.as_str(), m.as_slice()))
    }

    /// Remove `field`'s messages.
    pub fn remove(&mut self, field: &str) {
        self.fields.retain(|(f, _)| f != field);
    }

    /// Keep only the fields for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.fields.retain(|(f, _)| keep(f));
    }

    /// Remove every message.
    pub fn clear(&mut self) {
        self.fields.clear();
    }

    /// `Ok(value)` when there is no error, else these errors: the end of a validation,
    /// `errors.check(form)?`.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let errors = livetemplate::FieldErrors::new();
    /// assert_eq!(errors.check(7).unwrap(), 7);
    /// ```
    pub fn check<T>(self, value: T) -> std::result::Result<T, FieldErrors> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    /// `email: must contain @; password: at least 8 characters`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, messages)) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {}", messages.join(", "))?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = (&'a str, &'a [String]);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a [String])> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<F: Into<String>, M: Into<String>> FromIterator<(F, M)> for FieldErrors {
    fn from_iter<I: IntoIterator<Item = (F, M)>>(iter: I) -> Self {
        let mut errors = FieldErrors::new();
        for (f, m) in iter {
            errors.add(f, m);
        }
        errors
    }
}

impl Serialize for FieldErrors {
    /// A map of field to its list of messages, in order: `{"email": ["must contain @"]}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (field, messages) in &self.fields {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for FieldErrors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = FieldErrors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to lists of messages")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<FieldErrors, A::Error> {
                let mut errors = FieldErrors::new();
                while let Some((field, messages)) = map.next_entry::<String, Vec<String>>()? {
                    for m in messages {
                        errors.add(field.clone(), m);
                    }
                }
                Ok(errors)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// The errors of the state's `#[lvt(errors)]` field before an action, to tell after it which
/// of them the action left alone.
pub(crate) fn before_action(field: Option<&mut FieldErrors>) -> Option<FieldErrors> {
    field.map(|f| f.clone())
}

/// Bring the state's errors field (`field`, `before` the action) up to date with an action's
/// `result` and what `ctx` says of its data, and give the result to answer with.
///
/// - `Ok`: the errors of the fields the action's data carries go, unless the action changed
///   them itself (a `validate` that passes clears its form's errors, a click elsewhere leaves
///   them).
/// - `Err` with [`FieldErrors`]: only the fields the user has used count (`ctx.used`: an
///   `lvt-change` marks the untouched ones `_unused_`; a submit marks none). The field's
///   errors of the data's fields and of the error's are replaced by those; the error answered
///   lists the same fields (an error with no field left when none was used: the caller
///   answers it with nothing to show).
///
pub(crate) fn settle(
    field: Option<&mut FieldErrors>,
    before: Option<FieldErrors>,
    ctx: &Context,
    result: Result<()>,
) -> Result<()> {
    match result {
        Ok(()) => {
            if let (Some(field), Some(before)) = (field, before) {
                for key in ctx.data().keys() {
                    if field.all(key) == before.all(key) {
                        field.remove(key);
                    }
                }
            }
            Ok(())
        }
        Err(err) => {
            let Some(errors) = err.field_errors() else {
                return Err(err);
            };
            let mut shown = errors.clone();
            shown.retain(|f| ctx.used(f));
            if let Some(field) = field {
                field.retain(|f| !ctx.has(f) && !errors.has(f));
                for (f, messages) in shown.iter() {
                    for m in messages {
                        field.add(f, m.clone());
                    }
                }
            }
            Err(Error::from(shown))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_serde_round_trip() {
        let mut e = FieldErrors::new();
        e.add("zeta", "z1").add("alpha", "a1").add("zeta", "z2");
        assert_eq!(e.iter().map(|(f, _)| f).collect::<Vec<_>>(), ["zeta", "alpha"]);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"zeta":["z1","z2"],"alpha":["a1"]}"#);
        let back: FieldErrors = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.to_string(), "zeta: z1, z2; alpha: a1");
        e.remove("zeta");
        assert_eq!(e.len(), 1);
        assert_eq!(e.get("zeta"), None);
        e.retain(|f| f != "alpha");
        assert!(e.is_empty());
        let collected: FieldErrors = [("a", "x"), ("a", "y")].into_iter().collect();
        assert_eq!(collected.all("a"), ["x", "y"]);
        assert!(collected.clone().check(()).is_err());
    }
}
