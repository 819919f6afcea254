//! What the browser client would send for an event on an element of the rendered HTML: the
//! element found by CSS selector (parsed with `scraper`, a real HTML parser), its binding, the
//! action's data built as `js/src/bindings.ts` builds it (`lvt-value-*`, a form's fields as
//! `new FormData(form)` reads them, the submit button) and the component instance it goes to.
//! Also the fields a browser without JavaScript posts.

use scraper::{ElementRef, Html, Selector};
use serde_json::{Map, Value};

/// An action as the client sends it: name, data, and the component instance (`"t"`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub action: String,
    pub data: Map<String, Value>,
    pub target: Option<String>,
}

/// What a click does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Clicked {
    /// An action (an `lvt-click` binding, or the submit of a form by its button).
    Event(Event),
    /// An `lvt-patch` link: the page's URL changes to `href`.
    Patch(String),
    /// An `lvt-navigate` link: another page of the app, live.
    Navigate(String),
}

/// The kinds of key event the client binds (`lvt-keydown`, `lvt-keyup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Down,
    Up,
}

impl KeyKind {
    fn attr(self) -> &'static str {
        match self {
            KeyKind::Down => "lvt-keydown",
            KeyKind::Up => "lvt-keyup",
        }
    }
}

const CLICK: &str = "lvt-click";
const SUBMIT: &str = "lvt-submit";
const CHANGE: &str = "lvt-change";
const PATCH: &str = "lvt-patch";
const NAVIGATE: &str = "lvt-navigate";
const KEY: &str = "lvt-key";
const TARGET: &str = "lvt-target";
const COMPONENT: &str = "lvt-component";
const VALUE_PREFIX: &str = "lvt-value-";

/// How much of the page's HTML a message shows.
const SNIPPET: usize = 2000;

/// The rendered HTML of a page, parsed.
pub(crate) struct Doc {
    html: Html,
    source: String,
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc").finish_non_exhaustive()
    }
}

fn snippet(html: &str) -> String {
    let html = html.trim();
    if html.len() <= SNIPPET {
        return html.to_string();
    }
    let mut end = SNIPPET;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &html[..end], html.len() - end)
}

fn short(el: ElementRef<'_>) -> String {
    let html = el.html();
    let open = html.find('>').map_or(html.as_str(), |i| &html[..=i]);
    open.to_string()
}

fn parse_selector(selector: &str) -> Result<Selector, String> {
    Selector::parse(selector).map_err(|e| format!("`{selector}` is not a valid CSS selector: {e}"))
}

fn is(el: ElementRef<'_>, tag: &str) -> bool {
    el.value().name().eq_ignore_ascii_case(tag)
}

fn input_type(el: ElementRef<'_>) -> String {
    el.attr("type").unwrap_or("text").to_ascii_lowercase()
}

/// A submit button: `<button>` of type submit (the default) or `<input type="submit|image">`.
fn is_submit_button(el: ElementRef<'_>) -> bool {
    if is(el, "button") {
        return el.attr("type").is_none_or(|t| t.eq_ignore_ascii_case("submit"));
    }
    is(el, "input") && matches!(input_type(el).as_str(), "submit" | "image")
}

/// `el` and its ancestors, nearest first.
fn self_and_ancestors(el: ElementRef<'_>) -> impl Iterator<Item = ElementRef<'_>> {
    std::iter::once(el).chain(el.ancestors().filter_map(ElementRef::wrap))
}

/// The nearest element with attribute `attr`, `el` itself included (`el.closest([attr])`).
fn closest<'a>(el: ElementRef<'a>, attr: &str) -> Option<ElementRef<'a>> {
    self_and_ancestors(el).find(|e| e.attr(attr).is_some())
}

/// The `lvt-value-<name>` attributes of `el` (names lower case, as HTML makes them).
pub(crate) fn values(el: ElementRef<'_>) -> Map<String, Value> {
    let mut d = Map::new();
    for (name, value) in el.value().attrs() {
        if let Some(name) = name.strip_prefix(VALUE_PREFIX) {
            d.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
    d
}

/// The component instance an event of `el` goes to: the nearest `lvt-target` or
/// `lvt-component` on it or above it; `None` for the page (`lvt-target="page"`, or neither).
pub(crate) fn target(el: ElementRef<'_>) -> Option<String> {
    let a = self_and_ancestors(el).find(|e| e.attr(TARGET).is_some() || e.attr(COMPONENT).is_some())?;
    let t = a.attr(TARGET).or_else(|| a.attr(COMPONENT))?;
    (t != "page").then(|| t.to_string())
}

/// Add `v` under `k`: a name given more than once maps to an array (as the client's `add`).
fn add(d: &mut Map<String, Value>, k: &str, v: String) {
    match d.get_mut(k) {
        None => {
            d.insert(k.to_string(), Value::String(v));
        }
        Some(Value::Array(a)) => a.push(Value::String(v)),
        Some(prev) => {
            let first = prev.take();
            *prev = Value::Array(vec![first, Value::String(v)]);
        }
    }
}

/// An `<option>`'s value: its `value`, else its text with white space collapsed.
fn option_value(opt: ElementRef<'_>) -> String {
    match opt.attr("value") {
        Some(v) => v.to_string(),
        None => opt
            .text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn options(select: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    select.descendent_elements().filter(|e| is(*e, "option")).collect()
}

/// The values a `<select>` submits: its selected options; a single select with none
/// selected submits its first enabled option (the one the browser shows).
fn select_values(select: ElementRef<'_>) -> Vec<String> {
    let opts = options(select);
    let enabled = |o: &ElementRef<'_>| o.attr("disabled").is_none();
    let selected: Vec<String> = opts
        .iter()
        .filter(|o| o.attr("selected").is_some() && enabled(o))
        .map(|o| option_value(*o))
        .collect();
    if select.attr("multiple").is_some() {
        return selected;
    }
    if let Some(last) = selected.last() {
        // A single select shows the last option marked `selected`.
        return vec![last.clone()];
    }
    opts.iter()
        .find(|o| enabled(o))
        .map(|o| vec![option_value(*o)])
        .unwrap_or_default()
}

/// A field's `value` as the client reads `el.value` (for `lvt-key*` data).
fn field_value(el: ElementRef<'_>) -> Option<String> {
    if is(el, "textarea") {
        return Some(el.text().collect());
    }
    if is(el, "select") {
        return Some(select_values(el).into_iter().next().unwrap_or_default());
    }
    if is(el, "input")
        && !matches!(
            input_type(el).as_str(),
            "hidden" | "submit" | "button" | "reset" | "image" | "file"
        )
    {
        let v = el.attr("value").unwrap_or("");
        return Some(
            if matches!(input_type(el).as_str(), "checkbox" | "radio") && el.attr("value").is_none() {
                "on".to_string()
            } else {
                v.to_string()
            },
        );
    }
    None
}

/// Disabled: its own `disabled`, or inside a disabled `<fieldset>` but not in that fieldset's
/// first `<legend>`.
fn is_disabled(el: ElementRef<'_>) -> bool {
    if el.attr("disabled").is_some() {
        return true;
    }
    for fs in el.ancestors().filter_map(ElementRef::wrap) {
        if is(fs, "fieldset") && fs.attr("disabled").is_some() {
            let legend = fs.child_elements().find(|c| is(*c, "legend"));
            let in_legend = legend.is_some_and(|l| el.ancestors().any(|a| a.id() == l.id()));
            if !in_legend {
                return true;
            }
        }
    }
    false
}

/// A form's field: one submittable control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Hidden,
    Checkbox,
    Radio,
    Select,
    SelectMultiple,
    File,
    Button,
}

fn kind(el: ElementRef<'_>) -> Kind {
    if is(el, "textarea") {
        return Kind::Text;
    }
    if is(el, "select") {
        return if el.attr("multiple").is_some() {
            Kind::SelectMultiple
        } else {
            Kind::Select
        };
    }
    if is(el, "button") {
        return Kind::Button;
    }
    match input_type(el).as_str() {
        "hidden" => Kind::Hidden,
        "checkbox" => Kind::Checkbox,
        "radio" => Kind::Radio,
        "file" => Kind::File,
        "submit" | "image" | "button" | "reset" => Kind::Button,
        _ => Kind::Text,
    }
}

/// The values a control submits when it is not the submitter (`FormData(form)`).
fn control_values(el: ElementRef<'_>) -> Vec<String> {
    match kind(el) {
        Kind::Text if is(el, "textarea") => vec![el.text().collect()],
        Kind::Text | Kind::Hidden => vec![el.attr("value").unwrap_or("").to_string()],
        Kind::Checkbox | Kind::Radio => {
            if el.attr("checked").is_some() {
                vec![el.attr("value").unwrap_or("on").to_string()]
            } else {
                Vec::new()
            }
        }
        Kind::Select | Kind::SelectMultiple => select_values(el),
        // A file input's entries are files, which the client leaves out; buttons submit
        // only as the submitter.
        Kind::File | Kind::Button => Vec::new(),
    }
}

/// The values a user could give a control, for the ones that offer a choice.
fn choices(el: ElementRef<'_>) -> Vec<String> {
    match kind(el) {
        Kind::Checkbox | Kind::Radio => vec![el.attr("value").unwrap_or("on").to_string()],
        Kind::Select | Kind::SelectMultiple => options(el)
            .into_iter()
            .filter(|o| o.attr("disabled").is_none())
            .map(option_value)
            .collect(),
        _ => Vec::new(),
    }
}

impl Doc {
    /// Parse a page's HTML (the live region's content).
    pub(crate) fn parse(html: &str) -> Doc {
        Doc {
            html: Html::parse_fragment(html),
            source: html.to_string(),
        }
    }

    /// Elements matching `selector`, in document order.
    pub(crate) fn all(&self, selector: &str) -> Result<Vec<ElementRef<'_>>, String> {
        let sel = parse_selector(selector)?;
        Ok(self.html.select(&sel).collect())
    }

    /// The one element matching `selector`; an error saying so when none or several do.
    pub(crate) fn one(&self, selector: &str) -> Result<ElementRef<'_>, String> {
        let found = self.all(selector)?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "no element matches `{selector}` in the page's HTML:\n{}",
                snippet(&self.source)
            )),
            many => {
                let list: Vec<String> = many.iter().take(10).map(|e| format!("  {}", short(*e))).collect();
                Err(format!(
                    "`{selector}` matches {} elements, not one; make it select one of:\n{}",
                    many.len(),
                    list.join("\n")
                ))
            }
        }
    }

    /// Whether an element matches `selector` (and, with `text`, has `text` in its text).
    pub(crate) fn has(&self, selector: &str, text: Option<&str>) -> Result<bool, String> {
        Ok(self.all(selector)?.into_iter().any(|e| match text {
            None => true,
            Some(t) => e.text().collect::<String>().contains(t),
        }))
    }

    /// The form `el` belongs to: the one its `form` attribute names, else the nearest around it.
    fn form_of<'a>(&'a self, el: ElementRef<'a>) -> Option<ElementRef<'a>> {
        if let Some(id) = el.attr("form") {
            return self.form_by_id(id);
        }
        el.ancestors().filter_map(ElementRef::wrap).find(|a| is(*a, "form"))
    }

    fn form_by_id(&self, id: &str) -> Option<ElementRef<'_>> {
        let sel = Selector::parse("form[id]").ok()?;
        self.html.select(&sel).find(|f| f.attr("id") == Some(id))
    }

    /// The controls of `form` that have a name, in document order (buttons included).
    fn controls<'a>(&'a self, form: ElementRef<'a>) -> Vec<ElementRef<'a>> {
        let Ok(sel) = Selector::parse("input, select, textarea, button") else {
            return Vec::new();
        };
        self.html
            .select(&sel)
            .filter(|c| self.form_of(*c).is_some_and(|f| f.id() == form.id()))
            .collect()
    }

    /// The form's first submit button: the submitter of an implicit submission (Enter).
    fn default_button<'a>(&'a self, form: ElementRef<'a>) -> Option<ElementRef<'a>> {
        self.controls(form).into_iter().find(|c| is_submit_button(*c))
    }

    /// A form and its submitter from a selector that names either one.
    fn form_and_submitter<'a>(&'a self, selector: &str) -> Result<(ElementRef<'a>, Option<ElementRef<'a>>), String> {
        let el = self.one(selector)?;
        if is(el, "form") {
            let button = self.default_button(el);
            if let Some(b) = button
                && is_disabled(b)
            {
                return Err(format!(
                    "form `{selector}` cannot be submitted: its first submit button {} is disabled",
                    short(b)
                ));
            }
            return Ok((el, button));
        }
        if is_submit_button(el) {
            if is_disabled(el) {
                return Err(format!(
                    "{} (`{selector}`) is disabled: a click does nothing",
                    short(el)
                ));
            }
            let form = self
                .form_of(el)
                .ok_or_else(|| format!("{} (`{selector}`) is in no form", short(el)))?;
            return Ok((form, Some(el)));
        }
        Err(format!(
            "`{selector}` selects {}, which is neither a form nor a submit button",
            short(el)
        ))
    }

    /// The fields of `form` as `(name, value)` pairs in document order, as `new
    /// FormData(form)` reads them, with `given` (a JSON object of field names to a string, an
    /// array of strings for several values, a number, or a bool for a checkbox) in place of
    /// what the HTML has. A name in `given` that the form has no enabled field for, a value a
    /// select, radio group or checkbox cannot take, or a new value for a hidden field is an
    /// error, as a user could not send it.
    fn fields(&self, form: ElementRef<'_>, given: &Value, what: &str) -> Result<Vec<(String, String)>, String> {
        let given: Map<String, Value> = match given {
            Value::Null => Map::new(),
            Value::Object(m) => m.clone(),
            other => return Err(format!("the fields for {what} must be a JSON object, not {other}")),
        };
        let controls: Vec<ElementRef<'_>> = self
            .controls(form)
            .into_iter()
            .filter(|c| c.attr("name").is_some_and(|n| !n.is_empty()))
            .collect();
        let name_of = |c: &ElementRef<'_>| c.attr("name").unwrap_or("").to_string();
        // Check every given name and value before building anything.
        let mut replaced: Map<String, Value> = Map::new();
        for (name, value) in &given {
            let all: Vec<ElementRef<'_>> = controls.iter().copied().filter(|c| name_of(c) == *name).collect();
            let group: Vec<ElementRef<'_>> = all
                .iter()
                .copied()
                .filter(|c| !is_disabled(*c) && kind(*c) != Kind::Button)
                .collect();
            if group.is_empty() {
                let mut names: Vec<String> = controls
                    .iter()
                    .filter(|c| !is_disabled(**c) && kind(**c) != Kind::Button)
                    .map(name_of)
                    .collect();
                names.dedup();
                let why = if all.is_empty() {
                    "has no field named"
                } else if all.iter().all(|c| kind(*c) == Kind::Button) {
                    "has only a button named"
                } else {
                    "has only a disabled field named"
                };
                return Err(format!(
                    "{what}: the form {why} `{name}`; its fields: {}",
                    if names.is_empty() {
                        "(none)".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            let values = given_values(name, value, group[0], what)?;
            let k = kind(group[0]);
            match k {
                Kind::File => {
                    return Err(format!(
                        "{what}: `{name}` is a file input; files go through uploads, not fields"
                    ));
                }
                Kind::Hidden => {
                    let current: Vec<String> = group.iter().flat_map(|c| control_values(*c)).collect();
                    if values != current {
                        return Err(format!(
                            "{what}: `{name}` is a hidden field the page rendered as {current:?}; a user cannot change it to {values:?}"
                        ));
                    }
                }
                Kind::Checkbox | Kind::Radio | Kind::Select | Kind::SelectMultiple => {
                    let choices: Vec<String> = group.iter().flat_map(|c| choices(*c)).collect();
                    if let Some(bad) = values.iter().find(|v| !choices.contains(v)) {
                        return Err(format!(
                            "{what}: `{name}` cannot be `{bad}`; its choices: {}",
                            choices.join(", ")
                        ));
                    }
                    let single = matches!(k, Kind::Radio | Kind::Select);
                    if single && values.len() > 1 {
                        return Err(format!("{what}: `{name}` takes one value, not {values:?}"));
                    }
                }
                Kind::Text if values.len() > group.len() => {
                    return Err(format!(
                        "{what}: `{name}` has {} field(s), {} values given",
                        group.len(),
                        values.len()
                    ));
                }
                _ => {}
            }
            replaced.insert(name.clone(), Value::from(values));
        }
        let mut out = Vec::new();
        let mut placed: Vec<String> = Vec::new();
        for c in &controls {
            if is_disabled(*c) {
                continue;
            }
            let name = name_of(c);
            match replaced.get(&name) {
                Some(values) if kind(*c) != Kind::Button => {
                    if !placed.contains(&name) {
                        placed.push(name.clone());
                        for v in values.as_array().into_iter().flatten() {
                            out.push((name.clone(), v.as_str().unwrap_or("").to_string()));
                        }
                    }
                }
                _ => out.extend(control_values(*c).into_iter().map(|v| (name.clone(), v))),
            }
        }
        Ok(out)
    }

    /// What clicking the element `selector` selects sends: the nearest `lvt-click` on it or
    /// above it; else, for a submit button of a form, the form's submit; else an `lvt-patch`
    /// or `lvt-navigate` link's URL.
    pub(crate) fn click(&self, selector: &str) -> Result<Clicked, String> {
        let el = self.one(selector)?;
        // The client looks for an lvt-patch link first.
        if let Some(link) = self_and_ancestors(el).find(|e| is(*e, "a") && e.attr(PATCH).is_some()) {
            return Ok(Clicked::Patch(link.attr("href").unwrap_or("").to_string()));
        }
        if let Some(link) = self_and_ancestors(el).find(|e| is(*e, "a") && e.attr(NAVIGATE).is_some()) {
            return Ok(Clicked::Navigate(link.attr("href").unwrap_or("").to_string()));
        }
        if let Some(bound) = closest(el, CLICK) {
            return Ok(Clicked::Event(Event {
                action: bound.attr(CLICK).unwrap_or("").to_string(),
                data: values(bound),
                target: target(bound),
            }));
        }
        if let Some(button) = self_and_ancestors(el).find(|e| is_submit_button(*e))
            && self.form_of(button).is_some()
        {
            let (form, submitter) = self.form_and_submitter_of(button, selector)?;
            return self
                .submit_event(form, submitter, &Value::Null, selector)
                .map(Clicked::Event);
        }
        Err(format!(
            "{} (`{selector}`) has no `lvt-click` (on it or around it), is no submit button of a form and no `lvt-patch`/`lvt-navigate` link: a click sends nothing",
            short(el)
        ))
    }

    fn form_and_submitter_of<'a>(
        &'a self,
        button: ElementRef<'a>,
        selector: &str,
    ) -> Result<(ElementRef<'a>, Option<ElementRef<'a>>), String> {
        if is_disabled(button) {
            return Err(format!(
                "{} (`{selector}`) is disabled: a click does nothing",
                short(button)
            ));
        }
        let form = self
            .form_of(button)
            .ok_or_else(|| format!("{} (`{selector}`) is in no form", short(button)))?;
        Ok((form, Some(button)))
    }

    /// What the client sends when the form `selector` names (or whose submit button it names)
    /// is submitted with `given` typed into it.
    pub(crate) fn submit(&self, selector: &str, given: &Value) -> Result<Event, String> {
        let (form, submitter) = self.form_and_submitter(selector)?;
        self.submit_event(form, submitter, given, selector)
    }

    fn submit_event(
        &self,
        form: ElementRef<'_>,
        submitter: Option<ElementRef<'_>>,
        given: &Value,
        selector: &str,
    ) -> Result<Event, String> {
        let button_name = submitter.and_then(|b| b.attr("name")).filter(|n| !n.is_empty());
        let action = button_name.or_else(|| form.attr(SUBMIT)).filter(|a| !a.is_empty());
        let post = form.attr("method").is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let Some(action) = action.filter(|_| form.attr(SUBMIT).is_some() || post) else {
            let why = if form.attr(SUBMIT).is_none() && !post {
                "has no `lvt-submit` and is not `method=\"POST\"`: the client leaves its submit to the browser"
            } else {
                "names no action: it has an empty `lvt-submit` and its submit button has no `name`"
            };
            return Err(format!("the form {} (`{selector}`) {why}", short(form)));
        };
        let what = format!("submit of `{selector}`");
        let mut data = Map::new();
        for (k, v) in self.fields(form, given, &what)? {
            add(&mut data, &k, v);
        }
        if let Some(b) = submitter
            && let (Some(name), Some(value)) = (button_name, b.attr("value"))
        {
            add(&mut data, name, value.to_string());
        }
        Ok(Event {
            action: action.to_string(),
            data,
            target: target(form),
        })
    }

    /// What the client sends for an `lvt-change` of the form `selector` after `given` was
    /// typed into it.
    pub(crate) fn change(&self, selector: &str, given: &Value) -> Result<Event, String> {
        let el = self.one(selector)?;
        let form = if is(el, "form") {
            el
        } else {
            self.form_of(el)
                .ok_or_else(|| format!("{} (`{selector}`) is neither a form nor a field of one", short(el)))?
        };
        let Some(action) = form.attr(CHANGE).filter(|a| !a.is_empty()) else {
            return Err(format!(
                "the form {} (`{selector}`) has no `lvt-change`: a change of its fields sends nothing",
                short(form)
            ));
        };
        let what = format!("change of `{selector}`");
        let mut data = Map::new();
        for (k, v) in self.fields(form, given, &what)? {
            add(&mut data, &k, v);
        }
        // The used-input rule, as the browser client applies it: the fields typed into (those
        // in `given`, and the changed field itself) are used; each other one is sent as
        // `_unused_<name>`.
        let changed = el.attr("name");
        let unused: Vec<String> = data
            .keys()
            .filter(|k| Some(k.as_str()) != changed && given.get(k.as_str()).is_none())
            .map(|k| format!("{}{k}", crate::context::UNUSED_PREFIX))
            .collect();
        for k in unused {
            data.insert(k, Value::String(String::new()));
        }
        Ok(Event {
            action: action.to_string(),
            data,
            target: target(form),
        })
    }

    /// What the client sends for a key event with `key` on the element `selector`.
    pub(crate) fn key(&self, selector: &str, kind: KeyKind, key: &str) -> Result<Event, String> {
        let el = self.one(selector)?;
        let attr = kind.attr();
        let Some(bound) = closest(el, attr) else {
            return Err(format!(
                "{} (`{selector}`) has no `{attr}` on it or around it: the key sends nothing",
                short(el)
            ));
        };
        if let Some(only) = bound.attr(KEY)
            && !only.eq_ignore_ascii_case(key)
        {
            return Err(format!(
                "{} (`{selector}`) has `lvt-key=\"{only}\"`: key `{key}` sends nothing",
                short(bound)
            ));
        }
        let mut data = Map::new();
        data.insert("key".into(), Value::String(key.to_string()));
        data.extend(values(bound));
        if let Some(v) = field_value(bound) {
            data.insert("value".into(), Value::String(v));
        }
        Ok(Event {
            action: bound.attr(attr).unwrap_or("").to_string(),
            data,
            target: target(bound),
        })
    }

    /// The fields a browser without JavaScript posts when the form `selector` names (or whose
    /// submit button it names) is submitted with `given`: the form's fields and the submit
    /// button's `name=value` at its place. Also whether the form is multipart.
    pub(crate) fn post_fields(&self, selector: &str, given: &Value) -> Result<(Vec<(String, String)>, bool), String> {
        let (form, submitter) = self.form_and_submitter(selector)?;
        if !form.attr("method").is_some_and(|m| m.eq_ignore_ascii_case("post")) {
            return Err(format!(
                "the form {} (`{selector}`) is not `method=\"POST\"`: without JavaScript the browser would load its URL, not post it",
                short(form)
            ));
        }
        let what = format!("POST of `{selector}`");
        let mut fields = self.fields(form, given, &what)?;
        if let Some(b) = submitter
            && let Some(name) = b.attr("name").filter(|n| !n.is_empty())
        {
            // At the button's place among the controls.
            let before = self
                .controls(form)
                .into_iter()
                .take_while(|c| c.id() != b.id())
                .filter(|c| c.attr("name").is_some_and(|n| !n.is_empty()) && !is_disabled(*c))
                .map(|c| c.attr("name").unwrap_or("").to_string())
                .collect::<Vec<_>>();
            let mut at = 0;
            for name_before in &before {
                while at < fields.len() && fields[at].0 == *name_before {
                    at += 1;
                }
            }
            let at = at.min(fields.len());
            fields.insert(at, (name.to_string(), b.attr("value").unwrap_or("").to_string()));
        }
        let multipart = form
            .attr("enctype")
            .is_some_and(|e| e.eq_ignore_ascii_case("multipart/form-data"));
        Ok((fields, multipart))
    }

    /// The ids of the component instances in the HTML (`lvt-component`), in document order.
    pub(crate) fn component_ids(&self) -> Vec<String> {
        let Ok(sel) = Selector::parse("[lvt-component]") else {
            return Vec::new();
        };
        self.html
            .select(&sel)
            .filter_map(|e| e.attr(COMPONENT).map(str::to_string))
            .collect()
    }

    /// The outer HTML of the element `selector` names.
    pub(crate) fn outer_html(&self, selector: &str) -> Result<String, String> {
        self.one(selector).map(|e| e.html())
    }
}

/// The values given for field `name`, as strings.
fn given_values(name: &str, value: &Value, first: ElementRef<'_>, what: &str) -> Result<Vec<String>, String> {
    let one = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(format!("{what}: `{name}`: {other} is not a string or a number")),
        }
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        Value::Bool(on) if kind(first) == Kind::Checkbox => Ok(if *on { choices(first) } else { Vec::new() }),
        Value::Null => Ok(Vec::new()),
        v => Ok(vec![one(v)?]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(html: &str, f: impl FnOnce(&Doc) -> Result<Event, String>) -> Event {
        f(&Doc::parse(html)).unwrap()
    }

    fn data(e: &Event) -> Value {
        Value::Object(e.data.clone())
    }

    const FORM: &str = r#"
      <div lvt-component="prefs">
      <form lvt-submit="save" lvt-change="validate" id="f">
        <input name="title" value="Milk">
        <input name="note">
        <input type="hidden" name="id" value="7">
        <input type="checkbox" name="tags" value="a" checked>
        <input type="checkbox" name="tags" value="b">
        <input type="checkbox" name="tags" value="c" checked>
        <input type="checkbox" name="agree">
        <input type="radio" name="size" value="s">
        <input type="radio" name="size" value="m" checked>
        <select name="color"><option>red</option><option value="g" selected>green</option></select>
        <select name="first"><option value="" disabled>pick</option><option value="x">X</option></select>
        <select name="many" multiple><option value="1" selected>1</option><option value="2">2</option><option value="3" selected>3</option></select>
        <textarea name="body">line one
line two</textarea>
        <input name="off" value="z" disabled>
        <fieldset disabled><input name="gone" value="q"><legend>x</legend></fieldset>
        <fieldset disabled><legend><input name="kept" value="k"></legend></fieldset>
        <input type="file" name="doc">
        <button name="publish" value="now">Publish</button>
        <button>Save</button>
      </form>
      </div>
      <input name="outside" value="o" form="f">
    "#;

    #[test]
    fn a_forms_fields_as_form_data_reads_them() {
        let e = ev(FORM, |d| d.change("#f", &Value::Null));
        assert_eq!(e.action, "validate");
        assert_eq!(e.target.as_deref(), Some("prefs"));
        // Nothing was typed: every field is also sent as unused (the used-input rule).
        let mut all = data(&e);
        let fields = all.as_object_mut().unwrap();
        let unused: Vec<String> = fields.keys().filter(|k| k.starts_with("_unused_")).cloned().collect();
        assert_eq!(unused.len(), 11, "{unused:?}");
        for k in &unused {
            assert!(fields.contains_key(&k["_unused_".len()..]), "{k}");
            fields.remove(k);
        }
        assert_eq!(
            all,
            json!({
                "title": "Milk", "note": "", "id": "7", "tags": ["a", "c"], "size": "m",
                "color": "g", "first": "x", "many": ["1", "3"], "body": "line one\nline two",
                "kept": "k", "outside": "o"
            })
        );
    }

    #[test]
    fn given_fields_replace_what_the_html_has() {
        let e = ev(FORM, |d| {
            d.change(
                "#f",
                &json!({"title": "Eggs", "tags": ["b"], "agree": true, "size": "s", "color": "red", "many": []}),
            )
        });
        let d = data(&e);
        assert_eq!(d["title"], "Eggs");
        // One chosen box of a group is one value; the data's type decides (a name ending in
        // `[]` would come as an array from the server's binding).
        assert_eq!(d["tags"], "b");
        assert_eq!(d["agree"], "on");
        assert_eq!(d["size"], "s");
        assert_eq!(d["color"], "red");
        assert!(d.get("many").is_none());
    }

    #[test]
    fn fields_a_user_cannot_send_are_refused() {
        let doc = Doc::parse(FORM);
        let err = |given: Value| doc.change("#f", &given).unwrap_err();
        let e = err(json!({"titel": "x"}));
        assert!(
            e.contains("has no field named `titel`") && e.contains("title, note, id"),
            "{e}"
        );
        assert!(err(json!({"off": "x"})).contains("only a disabled field"));
        assert!(err(json!({"gone": "x"})).contains("only a disabled field"));
        assert!(err(json!({"publish": "x"})).contains("only a button"));
        assert!(err(json!({"id": "8"})).contains("hidden field"));
        assert!(err(json!({"color": "blue"})).contains("its choices: red, g"));
        assert!(err(json!({"first": ""})).contains("cannot be ``"));
        assert!(err(json!({"size": ["s", "m"]})).contains("takes one value"));
        assert!(err(json!({"tags": ["a", "z"]})).contains("cannot be `z`"));
        assert!(err(json!({"doc": "x"})).contains("file input"));
        assert!(err(json!(["x"])).contains("must be a JSON object"));
        // The same hidden value is fine.
        assert_eq!(data(&doc.change("#f", &json!({"id": "7"})).unwrap())["id"], "7");
    }

    #[test]
    fn the_submitter_names_the_action_and_adds_its_value() {
        // The form itself: its first submit button is the submitter (Enter in a field).
        let e = ev(FORM, |d| d.submit("#f", &Value::Null));
        assert_eq!(e.action, "publish");
        assert_eq!(data(&e)["publish"], "now");
        // A button without a name: the form's lvt-submit, no extra field.
        let e = ev(FORM, |d| d.submit("button:not([name])", &Value::Null));
        assert_eq!(e.action, "save");
        assert!(e.data.get("publish").is_none());
        // A button with a name and no value: its name is the action, no field for it.
        let e = ev(
            r#"<form method="POST"><input name="t" value="v"><button name="inc">+</button></form>"#,
            |d| d.submit("button", &Value::Null),
        );
        assert_eq!((e.action.as_str(), data(&e)), ("inc", json!({"t": "v"})));
    }

    #[test]
    fn forms_the_client_leaves_alone_are_refused() {
        let doc = Doc::parse(r#"<form id="a"><button name="x">x</button></form><form id="b"><input name="q"></form>"#);
        assert!(
            doc.submit("#a", &Value::Null)
                .unwrap_err()
                .contains("not `method=\"POST\"`")
        );
        assert!(doc.change("#b", &Value::Null).unwrap_err().contains("no `lvt-change`"));
        let doc = Doc::parse(r#"<form method="post"><button disabled name="x">x</button></form>"#);
        assert!(doc.submit("form", &Value::Null).unwrap_err().contains("disabled"));
    }

    #[test]
    fn clicks_take_the_nearest_binding_its_values_and_target() {
        let html = r#"
          <div lvt-component="c1">
            <ul><li lvt-click="remove" lvt-value-id="7" lvt-value-userName="ann"><span class="x">x</span></li></ul>
            <button id="p" lvt-click="reset" lvt-target="page">reset</button>
          </div>
          <a id="l" lvt-patch href="?page=2">next</a>
          <a id="n" lvt-navigate href="/other">other</a>
          <p id="plain">text</p>
          <form method="POST"><button name="inc" value="2">+</button></form>"#;
        let doc = Doc::parse(html);
        let Clicked::Event(e) = doc.click("span.x").unwrap() else {
            panic!()
        };
        assert_eq!(e.action, "remove");
        assert_eq!(data(&e), json!({"id": "7", "username": "ann"}));
        assert_eq!(e.target.as_deref(), Some("c1"));
        let Clicked::Event(e) = doc.click("#p").unwrap() else {
            panic!()
        };
        assert_eq!((e.action.as_str(), e.target), ("reset", None));
        assert_eq!(doc.click("#l").unwrap(), Clicked::Patch("?page=2".into()));
        assert_eq!(doc.click("#n").unwrap(), Clicked::Navigate("/other".into()));
        let Clicked::Event(e) = doc.click("button[name=inc]").unwrap() else {
            panic!()
        };
        assert_eq!((e.action.as_str(), data(&e)), ("inc", json!({"inc": "2"})));
        assert!(doc.click("#plain").unwrap_err().contains("has no `lvt-click`"));
        let e = doc.click("#nothing").unwrap_err();
        assert!(
            e.contains("no element matches `#nothing`") && e.contains("lvt-click=\"remove\""),
            "{e}"
        );
        let e = doc.click("a").unwrap_err();
        assert!(e.contains("matches 2 elements") && e.contains(r#"id="l""#), "{e}");
        assert!(doc.click("[[").unwrap_err().contains("not a valid CSS selector"));
    }

    #[test]
    fn key_events_filter_by_lvt_key_and_carry_the_field_value() {
        let doc = Doc::parse(
            r#"<input id="q" name="q" value="ab" lvt-keydown="search" lvt-key="Enter" lvt-value-scope="all">
               <div lvt-keyup="moved"><span id="in">x</span></div>"#,
        );
        let e = doc.key("#q", KeyKind::Down, "enter").unwrap();
        assert_eq!(e.action, "search");
        assert_eq!(data(&e), json!({"key": "enter", "scope": "all", "value": "ab"}));
        assert!(doc.key("#q", KeyKind::Down, "a").unwrap_err().contains("sends nothing"));
        assert!(doc.key("#q", KeyKind::Up, "a").unwrap_err().contains("no `lvt-keyup`"));
        let e = doc.key("#in", KeyKind::Up, "ArrowUp").unwrap();
        assert_eq!((e.action.as_str(), data(&e)), ("moved", json!({"key": "ArrowUp"})));
    }

    #[test]
    fn a_no_js_post_carries_the_clicked_button_at_its_place() {
        let doc = Doc::parse(
            r#"<form method="POST" enctype="multipart/form-data"><input name="a" value="1"><button name="go">Go</button><input name="b" value="2"></form>
               <form method="get" id="g"><button name="x">x</button></form>"#,
        );
        let (fields, multipart) = doc.post_fields("button[name=go]", &json!({"b": "3"})).unwrap();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(pairs, [("a", "1"), ("go", ""), ("b", "3")]);
        assert!(multipart);
        assert!(
            doc.post_fields("#g", &Value::Null)
                .unwrap_err()
                .contains("not `method=\"POST\"`")
        );
    }

    /// The cases `js/tests/testpage-events.test.ts` fires at the real client bindings: the
    /// frame built here for each is the one the client sends.
    #[test]
    fn the_client_sends_the_same_frames() {
        let cases: Vec<Value> = serde_json::from_str(include_str!("client_events.json")).unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let doc = Doc::parse(case["html"].as_str().unwrap());
            let selector = case["selector"].as_str().unwrap();
            let key = case["key"].as_str().unwrap_or("");
            let event = match case["event"].as_str().unwrap() {
                "click" => match doc.click(selector).unwrap() {
                    Clicked::Event(e) => e,
                    other => panic!("{name}: {other:?}"),
                },
                "submit" => doc.submit(selector, &Value::Null).unwrap(),
                "change" => doc.change(selector, &Value::Null).unwrap(),
                "keydown" => doc.key(selector, KeyKind::Down, key).unwrap(),
                "keyup" => doc.key(selector, KeyKind::Up, key).unwrap(),
                other => panic!("{name}: unknown event {other}"),
            };
            // The client frame, as `TestPage::act`/`act_on` send it (no `"d"` when empty).
            let mut frame = Map::new();
            frame.insert("a".into(), Value::String(event.action));
            if !event.data.is_empty() {
                frame.insert("d".into(), Value::Object(event.data));
            }
            if let Some(t) = event.target {
                frame.insert("t".into(), Value::String(t));
            }
            assert_eq!(Value::Object(frame), case["frame"], "{name}");
        }
    }

    #[test]
    fn has_and_render() {
        let doc = Doc::parse(r#"<ul><li class="t">milk</li><li class="t">bread</li></ul>"#);
        assert!(doc.has("li.t", None).unwrap());
        assert!(doc.has("li.t", Some("bread")).unwrap());
        assert!(!doc.has("li.t", Some("eggs")).unwrap());
        assert!(!doc.has("li.done", None).unwrap());
        assert_eq!(
            doc.outer_html("ul > li:nth-child(2)").unwrap(),
            r#"<li class="t">bread</li>"#
        );
    }
}
