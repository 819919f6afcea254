//! Stateful components: the [`Component`] trait, the [`Embed`] a page's template writes with
//! [`live_component`], and the registry of a connection's (or a GET's) instances.
//!
//! A component is a page in miniature: its own state, template and actions. A page (or a
//! component) embeds an instance with `{{ live_component::<C>("id", inputs) }}`. Rendering
//! the parent collects its embeds (the marked render writes each one's cid and the
//! `mark::COMPONENT` marker, so the parent's slot holds
//! `{"c": cid}`); the registry then creates new instances (persisted fields loaded, `mount`,
//! `update(inputs)`), updates those whose inputs changed, renders them (each into its own
//! tree, wrapped in `<div lvt-component="ID">`) and drops those no longer embedded. A
//! component's action renders only that instance: its cost does not depend on the page.

use std::any::{Any, TypeId};
use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::Value;

use crate::BoxFuture;
use crate::context::{Context, Effects};
use crate::diff::ComponentChange;
use crate::error::{Error, Result};
use crate::group::GroupId;
use crate::page::{Held, Services, catch, caught, encode_persisted, persist};
use crate::state::{Controller, LiveState, normalize_action};
use crate::tree::{MarkQueue, Tree, mark};

/// The form field (and the client frame's `"t"`) naming the component instance an action
/// targets. Its value `page` (or an empty one) targets the page.
pub const TARGET_FIELD: &str = "lvt-target";

/// At most this many rounds of `send_parent` messages follow one step (a component's message
/// makes its parent render, which may update a component that sends again…).
pub(crate) const MAX_MESSAGE_ROUNDS: usize = 16;

/// A stateful component: a [`Controller`] (its actions and `mount`) over a state with a
/// `Default` (a new instance starts from it), plus the inputs its parent passes it.
///
/// Implemented by `#[actions(component)]` on an impl block; an `update` method there
/// (`async fn update(&self, state: &mut S, inputs: &I, ctx: &mut Context) -> Result<()>`)
/// becomes [`Component::update`] and sets `Inputs = I`; without one, `Inputs = ()`.
/// The controller type must be a unit struct (`pub struct CounterComponent;`): one is made
/// per instance.
///
/// ```
/// use livetemplate_core::{BoxFuture, Component, Context, Controller, LiveState, Result};
/// # use livetemplate_core as livetemplate;
/// # #[derive(Clone, Default)] struct Counter { label: String }
/// # impl LiveState for Counter {
/// #     fn render_tree(&self) -> Result<livetemplate::tree::Tree> { unimplemented!() }
/// #     fn render_html(&self) -> Result<String> { Ok(self.label.clone()) }
/// #     fn persisted_fields() -> &'static [&'static str] { &[] }
/// #     fn encode_field(&self, _: &str) -> Option<Result<Vec<u8>>> { None }
/// #     fn decode_field(&mut self, _: &str, _: &[u8]) -> Result<()> { Ok(()) }
/// # }
/// // What `#[actions(component)]` writes for an impl block with an `update` method:
/// struct CounterComponent;
/// impl Controller for CounterComponent {
///     type State = Counter;
///     fn action_names(&self) -> &'static [&'static str] { &[] }
///     fn call<'a>(&'a self, _: &'a str, _: &'a mut Counter, _: &'a mut Context) -> BoxFuture<'a, Result<()>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// impl Component for CounterComponent {
///     type Inputs = String;
///     fn create() -> Self { CounterComponent }
///     fn update<'a>(&'a self, state: &'a mut Counter, inputs: &'a String, _: &'a mut Context) -> BoxFuture<'a, Result<()>> {
///         state.label = inputs.clone();
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait Component: Controller<State: Default> + Sized {
    /// What the parent passes an instance each render: `update` runs when they differ from
    /// the last ones (compared with `PartialEq`).
    type Inputs: PartialEq + Clone + Send + Sync + 'static;

    /// A controller value for a new instance.
    #[doc(hidden)]
    fn create() -> Self;

    /// Called with the inputs of the parent's render: after `mount` for a new instance, then
    /// whenever they differ from the last ones. The default does nothing.
    fn update<'a>(
        &'a self,
        _state: &'a mut Self::State,
        _inputs: &'a Self::Inputs,
        _ctx: &'a mut Context,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// An instance of component `C` embedded in a template: what [`live_component`] returns.
///
/// Rendered without escaping: in a live render it stands for the instance's slot
/// (`{"c": cid}`), in a plain render for the instance's HTML inside its wrapper
/// (`<div lvt-component="ID">…</div>`). Rendered outside a page (a test calling
/// `render_html` on the state directly), it writes the empty wrapper.
pub struct Embed {
    id: Arc<str>,
    spec: Box<dyn Spec>,
}

impl fmt::Debug for Embed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Embed")
            .field("id", &self.id)
            .field("component", &self.spec.type_name())
            .finish_non_exhaustive()
    }
}

/// Embed an instance of component `C` with id `id` (unique on the page) and `inputs` (a
/// value or a reference: askama passes some arguments by reference).
///
/// In a page's (or a component's) template:
/// `{{ live_component::<CounterComponent>("a", self.inputs_for("a")) }}`.
///
/// ```
/// use livetemplate_core::component::{Embed, live_component};
/// # use livetemplate_core::{BoxFuture, Component, Context, Controller, LiveState, Result};
/// # #[derive(Clone, Default)] struct S;
/// # impl LiveState for S {
/// #     fn render_tree(&self) -> Result<livetemplate_core::tree::Tree> { unimplemented!() }
/// #     fn render_html(&self) -> Result<String> { Ok(String::new()) }
/// #     fn persisted_fields() -> &'static [&'static str] { &[] }
/// #     fn encode_field(&self, _: &str) -> Option<Result<Vec<u8>>> { None }
/// #     fn decode_field(&mut self, _: &str, _: &[u8]) -> Result<()> { Ok(()) }
/// # }
/// # struct Badge;
/// # impl Controller for Badge {
/// #     type State = S;
/// #     fn action_names(&self) -> &'static [&'static str] { &[] }
/// #     fn call<'a>(&'a self, _: &'a str, _: &'a mut S, _: &'a mut Context) -> BoxFuture<'a, Result<()>> { Box::pin(async { Ok(()) }) }
/// # }
/// # impl Component for Badge { type Inputs = (); fn create() -> Self { Badge } }
/// let embed: Embed = live_component::<Badge>("badge-1", ());
/// // Outside a page's render it writes the empty wrapper.
/// assert_eq!(embed.to_string(), r#"<div lvt-component="badge-1"></div>"#);
/// ```
pub fn live_component<C: Component>(id: impl fmt::Display, inputs: impl Borrow<C::Inputs>) -> Embed {
    Embed {
        id: Arc::from(id.to_string()),
        spec: Box::new(Typed::<C> {
            inputs: inputs.borrow().clone(),
            c: PhantomData,
        }),
    }
}

impl Embed {
    /// The instance id the page gave.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn write(&self, dest: &mut dyn fmt::Write, marks: Option<&MarkQueue>) -> fmt::Result {
        SCOPE.with(|scope| {
            let mut scope = scope.borrow_mut();
            let Some(scope) = scope.as_mut() else {
                return write_wrapper(dest, &self.id, "");
            };
            match marks {
                Some(queue) => {
                    let cid = scope.found(&self.id, self.spec.clone_box());
                    dest.write_str(itoa::Buffer::new().format(cid))?;
                    crate::tree::Mark::new(queue, mark::COMPONENT).queue_now(dest)
                }
                None if scope.marked => {
                    // Written through something that hides it from the render's values
                    // (`{{ e.to_string() }}`, a `format!`): it cannot be a component slot.
                    if scope.error.is_none() {
                        scope.error = Some(format!(
                            "component `{}` must be written as an expression of its own, `{{{{ live_component::<C>(id, inputs) }}}}`, not through a string",
                            self.id
                        ));
                    }
                    Ok(())
                }
                None => {
                    scope.saw_embed = true;
                    let html = scope.ids.get(&self.id).and_then(|cid| scope.html.get(cid));
                    match html {
                        Some(html) => dest.write_str(html),
                        None => write_wrapper(dest, &self.id, ""),
                    }
                }
            }
        })
    }
}

impl fmt::Display for Embed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, None)
    }
}

impl askama::FastWritable for Embed {
    fn write_into(&self, dest: &mut dyn fmt::Write, values: &dyn askama::Values) -> askama::Result<()> {
        let marks = values.get_value(MARKS_KEY).and_then(|v| v.downcast_ref::<MarkQueue>());
        self.write(dest, marks)?;
        Ok(())
    }
}

impl askama::filters::HtmlSafe for Embed {}

/// The key under which a live (marked) render passes its marker queue to embeds.
#[doc(hidden)]
pub const MARKS_KEY: &str = "__lvt_marks";

/// The values a marked render passes: its marker queue, for component embeds.
#[doc(hidden)]
#[derive(Debug)]
pub struct MarkValues<'a>(pub &'a MarkQueue);

impl askama::Values for MarkValues<'_> {
    fn get_value<'a>(&'a self, key: &str) -> Option<&'a dyn Any> {
        (key == MARKS_KEY).then_some(self.0 as &dyn Any)
    }
}

fn escape_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let _ = askama::filters::Escaper::write_escaped_str(&askama::filters::Html, &mut out, id);
    out
}

fn write_wrapper(dest: &mut dyn fmt::Write, id: &str, html: &str) -> fmt::Result {
    dest.write_str(crate::tree::WRAPPER_OPEN)?;
    dest.write_str(&escape_id(id))?;
    dest.write_str(crate::tree::WRAPPER_ID_END)?;
    dest.write_str(html)?;
    dest.write_str(crate::tree::WRAPPER_CLOSE)
}

// --- what an embed carries ----------------------------------------------------------------

/// A component type and the inputs one embed gave it.
trait Spec: Send + Sync {
    fn component_type(&self) -> TypeId;
    fn type_name(&self) -> &'static str;
    fn inputs(&self) -> &dyn Any;
    fn clone_box(&self) -> Box<dyn Spec>;
    fn create(&self) -> Box<dyn Instance>;
}

struct Typed<C: Component> {
    inputs: C::Inputs,
    c: PhantomData<fn() -> C>,
}

impl<C: Component> Spec for Typed<C> {
    fn component_type(&self) -> TypeId {
        TypeId::of::<C>()
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<C>()
    }
    fn inputs(&self) -> &dyn Any {
        &self.inputs
    }
    fn clone_box(&self) -> Box<dyn Spec> {
        Box::new(Typed::<C> {
            inputs: self.inputs.clone(),
            c: PhantomData,
        })
    }
    fn create(&self) -> Box<dyn Instance> {
        Box::new(Live::<C> {
            controller: Arc::new(C::create()),
            state: C::State::default(),
            inputs: self.inputs.clone(),
        })
    }
}

// --- a live instance, type-erased ---------------------------------------------------------

/// One instance's controller, state and last inputs, behind a type-erased interface.
trait Instance: Send + Sync {
    fn component_type(&self) -> TypeId;
    fn same_inputs(&self, inputs: &dyn Any) -> bool;
    fn set_inputs(&mut self, inputs: &dyn Any);
    fn mount<'a>(&'a mut self, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>>;
    fn update<'a>(&'a mut self, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>>;
    fn action_names(&self) -> &'static [&'static str];
    fn server_actions(&self) -> &'static [&'static str];
    fn call<'a>(&'a mut self, name: &'a str, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>>;
    /// The state's `#[lvt(errors)]` field, if it has one.
    fn errors_field(&mut self) -> Option<&mut crate::FieldErrors>;
    fn render_tree(&self) -> Result<Tree>;
    fn render_html(&self) -> Result<String>;
    fn has_persisted(&self) -> bool;
    fn encode_persisted(&self) -> Vec<(&'static str, Vec<u8>)>;
    fn load<'a>(&'a mut self, svc: &'a Services, group: &'a GroupId, key: &'a str) -> BoxFuture<'a, Held>;
    fn clone_box(&self) -> Box<dyn Instance>;
    /// Its state's streams drop their pending operations (a frame carried them).
    fn streams_sent(&mut self);
}

struct Live<C: Component> {
    controller: Arc<C>,
    state: C::State,
    inputs: C::Inputs,
}

impl<C: Component> Instance for Live<C> {
    fn component_type(&self) -> TypeId {
        TypeId::of::<C>()
    }
    fn same_inputs(&self, inputs: &dyn Any) -> bool {
        inputs.downcast_ref::<C::Inputs>().is_some_and(|i| *i == self.inputs)
    }
    fn set_inputs(&mut self, inputs: &dyn Any) {
        if let Some(i) = inputs.downcast_ref::<C::Inputs>() {
            self.inputs = i.clone();
        }
    }
    fn mount<'a>(&'a mut self, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        self.controller.mount(&mut self.state, ctx)
    }
    fn update<'a>(&'a mut self, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        self.controller.update(&mut self.state, &self.inputs, ctx)
    }
    fn action_names(&self) -> &'static [&'static str] {
        self.controller.action_names()
    }
    fn server_actions(&self) -> &'static [&'static str] {
        self.controller.server_actions()
    }
    fn call<'a>(&'a mut self, name: &'a str, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        self.controller.call(name, &mut self.state, ctx)
    }
    fn errors_field(&mut self) -> Option<&mut crate::FieldErrors> {
        self.state.errors_field()
    }
    fn render_tree(&self) -> Result<Tree> {
        self.state.render_tree()
    }
    fn render_html(&self) -> Result<String> {
        self.state.render_html()
    }
    fn has_persisted(&self) -> bool {
        !C::State::persisted_fields().is_empty()
    }
    fn encode_persisted(&self) -> Vec<(&'static str, Vec<u8>)> {
        encode_persisted(&self.state)
    }
    fn load<'a>(&'a mut self, svc: &'a Services, group: &'a GroupId, key: &'a str) -> BoxFuture<'a, Held> {
        Box::pin(crate::persist::load(
            &mut self.state,
            &*svc.store,
            &svc.on_persist_error,
            group,
            key,
        ))
    }
    fn streams_sent(&mut self) {
        self.state.streams_sent();
    }
    fn clone_box(&self) -> Box<dyn Instance> {
        Box::new(Live::<C> {
            controller: self.controller.clone(),
            state: self.state.clone(),
            inputs: self.inputs.clone(),
        })
    }
}

// --- the render scope ---------------------------------------------------------------------

/// An embed found by a marked render: the cid it was given, its id and what it carries.
struct Found {
    cid: u32,
    id: Arc<str>,
    spec: Box<dyn Spec>,
}

/// What embeds read while a parent renders on this thread: the page's ids and the next
/// cid (marked render), or the instances' HTML (plain render).
#[derive(Default)]
struct Scope {
    ids: HashMap<Arc<str>, u32>,
    next_cid: u32,
    found: Vec<Found>,
    error: Option<String>,
    html: HashMap<u32, String>,
    /// A plain render met an embed.
    saw_embed: bool,
    /// A live (marked) render: embeds must reach its marker queue.
    marked: bool,
}

impl Scope {
    fn found(&mut self, id: &Arc<str>, spec: Box<dyn Spec>) -> u32 {
        if self.found.iter().any(|f| f.id == *id) && self.error.is_none() {
            self.error = Some(format!(
                "component id `{id}` is rendered twice; each instance on a page needs its own id"
            ));
        }
        let cid = match self.ids.get(id) {
            Some(cid) => *cid,
            None => {
                self.next_cid += 1;
                self.ids.insert(id.clone(), self.next_cid);
                self.next_cid
            }
        };
        self.found.push(Found {
            cid,
            id: id.clone(),
            spec,
        });
        cid
    }
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Run `f` with `scope` installed for this thread's embeds; returns it with `f`'s result.
fn with_scope<T>(scope: Scope, f: impl FnOnce() -> T) -> (T, Scope) {
    let previous = SCOPE.with(|s| s.borrow_mut().replace(scope));
    let out = f();
    let scope = SCOPE.with(|s| std::mem::replace(&mut *s.borrow_mut(), previous));
    (out, scope.unwrap_or_default())
}

// --- the registry -------------------------------------------------------------------------

/// Who a hook or action runs for: the page's services, group, connection and URL.
pub(crate) struct Env<'a> {
    pub(crate) svc: &'a Services,
    pub(crate) group: &'a GroupId,
    pub(crate) conn: Option<u64>,
    pub(crate) query: &'a Arc<str>,
    pub(crate) path: &'a Arc<str>,
}

impl Env<'_> {
    fn context(&self, action: &str, data: Value, id: &Arc<str>) -> Context {
        Context::new(action, data, self.path.clone(), self.group.clone())
            .with_hub(self.svc.hub.clone(), self.conn)
            .with_query(self.query.clone())
            .with_component(id.clone())
    }

    /// The store key of an instance's persisted fields: `"<page path>#<instance id>"`.
    fn key(&self, id: &str) -> String {
        format!("{}#{id}", self.path)
    }
}

/// One live instance.
struct Slot {
    id: Arc<str>,
    /// The instance that embeds it; `None` for the page.
    parent: Option<u32>,
    inst: Box<dyn Instance>,
    /// Its last render, wrapper included (none until its hooks ran).
    tree: Option<Tree>,
    /// The instances its last render embeds, in order.
    children: Vec<u32>,
    /// Its persisted fields as last saved or loaded.
    saved: Vec<(&'static str, Vec<u8>)>,
    /// Persisted fields not to save (see [`Held`]).
    held: Held,
}

impl Clone for Slot {
    fn clone(&self) -> Self {
        Slot {
            id: self.id.clone(),
            parent: self.parent,
            inst: self.inst.clone_box(),
            tree: self.tree.clone(),
            children: self.children.clone(),
            saved: self.saved.clone(),
            held: self.held.clone(),
        }
    }
}

/// A message to a parent: (the parent instance, or `None` for the page; action; data).
pub(crate) type Message = (Option<u32>, String, Value);

/// The component instances of one page view: a live connection's, or a GET's or POST's.
///
/// Instances are numbered (cid) in the order they are first rendered; a cid is never given
/// to another instance on the same registry.
#[derive(Default)]
pub(crate) struct Components {
    next_cid: u32,
    ids: HashMap<Arc<str>, u32>,
    instances: BTreeMap<u32, Slot>,
    /// The instances the page's last render embeds.
    page_children: Vec<u32>,
    /// Instances rendered since the last frame, with the tree the client held (`None`: new
    /// to the client).
    touched: BTreeMap<u32, Option<Tree>>,
    /// Instances dropped since the last frame that the client holds.
    gone: BTreeSet<u32>,
    /// Instances the client holds.
    on_client: BTreeSet<u32>,
    /// Instances whose hooks or actions ran since their fields were last saved.
    ran: BTreeSet<u32>,
    /// `send_parent` messages waiting for delivery.
    outbox: Vec<Message>,
    /// What components' hooks and actions asked for besides messages.
    pub(crate) effects: Effects,
}

impl Clone for Components {
    /// The instances and what the client holds; not the effects waiting to be applied.
    fn clone(&self) -> Self {
        Components {
            next_cid: self.next_cid,
            ids: self.ids.clone(),
            instances: self.instances.clone(),
            page_children: self.page_children.clone(),
            touched: self.touched.clone(),
            gone: self.gone.clone(),
            on_client: self.on_client.clone(),
            ran: self.ran.clone(),
            outbox: self.outbox.clone(),
            effects: Effects::default(),
        }
    }
}

impl fmt::Debug for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Components")
            .field("instances", &self.instances.len())
            .field("next_cid", &self.next_cid)
            .finish_non_exhaustive()
    }
}

impl Components {
    /// True when there is no instance and nothing to tell the client.
    pub(crate) fn is_idle(&self) -> bool {
        self.instances.is_empty() && self.gone.is_empty() && self.touched.is_empty()
    }

    /// Render a parent's marked template (`render`, the page's or an instance's
    /// `render_tree`), collecting its embeds.
    fn render_marked(&mut self, render: impl FnOnce() -> Result<Tree>) -> Result<(Tree, Vec<Found>)> {
        render_marked(&mut self.ids, &mut self.next_cid, render)
    }

    /// Render the page's template and bring its instances up to date (create, update,
    /// render, drop): the page's tree.
    pub(crate) async fn render_page(&mut self, env: &Env<'_>, render: impl FnOnce() -> Result<Tree>) -> Result<Tree> {
        let (tree, found) = self.render_marked(render)?;
        if found.is_empty() && self.instances.is_empty() {
            return Ok(tree);
        }
        self.resolve(None, found, env).await?;
        Ok(tree)
    }

    /// Bring `parent`'s embeds up to date with the ones its render just `found`.
    fn resolve<'a>(
        &'a mut self,
        parent: Option<u32>,
        found: Vec<Found>,
        env: &'a Env<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut children = Vec::with_capacity(found.len());
            for f in found {
                children.push(f.cid);
                let same_type = self
                    .instances
                    .get(&f.cid)
                    .map(|s| s.inst.component_type() == f.spec.component_type());
                match same_type {
                    Some(true) => {
                        let slot = self.instances.get_mut(&f.cid).ok_or_else(|| missing(f.cid))?;
                        slot.parent = parent;
                        if !slot.inst.same_inputs(f.spec.inputs()) {
                            slot.inst.set_inputs(f.spec.inputs());
                            self.run_hook(f.cid, Hook::Update, env).await?;
                            self.render_instance(f.cid, env).await?;
                        }
                    }
                    other => {
                        if other == Some(false) {
                            // The id now names another component type: a new instance under
                            // the same cid, sent whole (not `null` too).
                            self.drop_instance(f.cid);
                            self.gone.remove(&f.cid);
                        }
                        self.create(parent, f, env).await?;
                    }
                }
            }
            let old = match parent {
                None => std::mem::replace(&mut self.page_children, children),
                Some(cid) => match self.instances.get_mut(&cid) {
                    Some(slot) => std::mem::replace(&mut slot.children, children),
                    None => Vec::new(),
                },
            };
            let kept: BTreeSet<u32> = match parent {
                None => self.page_children.iter().copied().collect(),
                Some(cid) => self
                    .instances
                    .get(&cid)
                    .map(|s| s.children.iter().copied().collect())
                    .unwrap_or_default(),
            };
            for cid in old {
                if !kept.contains(&cid) && self.instances.get(&cid).is_some_and(|s| s.parent == parent) {
                    self.drop_instance(cid);
                }
            }
            Ok(())
        })
    }

    /// Create the instance `f` names: default state, persisted fields, `mount`,
    /// `update(inputs)`, first render.
    async fn create(&mut self, parent: Option<u32>, f: Found, env: &Env<'_>) -> Result<()> {
        let mut inst = f.spec.create();
        let mut held = Vec::new();
        if inst.has_persisted() {
            held = inst.load(env.svc, env.group, &env.key(&f.id)).await;
        }
        let saved = inst.encode_persisted();
        self.instances.insert(
            f.cid,
            Slot {
                id: f.id.clone(),
                parent,
                inst,
                tree: None,
                children: Vec::new(),
                saved,
                held,
            },
        );
        self.ids.insert(f.id, f.cid);
        self.touched.insert(f.cid, None);
        let mut started = self.run_hook(f.cid, Hook::Mount, env).await;
        if started.is_ok() {
            started = self.run_hook(f.cid, Hook::Update, env).await;
        }
        if started.is_ok() {
            started = self.render_instance(f.cid, env).await;
        }
        if started.is_err() {
            // Not started: gone, so the next render creates it again rather than keeping an
            // instance that never rendered.
            self.drop_instance(f.cid);
        }
        started
    }

    async fn run_hook(&mut self, cid: u32, hook: Hook<'_>, env: &Env<'_>) -> Result<()> {
        let slot = self.instances.get_mut(&cid).ok_or_else(|| missing(cid))?;
        let (name, data) = match &hook {
            Hook::Mount => ("mount", Value::Null),
            Hook::Update => ("update", Value::Null),
            Hook::Action(name, data) => (*name, data.clone()),
        };
        let mut ctx = env.context(name, data, &slot.id);
        let result = match hook {
            Hook::Mount => catch(slot.inst.mount(&mut ctx)).await,
            Hook::Update => catch(slot.inst.update(&mut ctx)).await,
            Hook::Action(name, _) => {
                let before = crate::field_errors::before_action(slot.inst.errors_field());
                let result = catch(slot.inst.call(name, &mut ctx)).await;
                crate::field_errors::settle(slot.inst.errors_field(), before, &ctx, result)
            }
        };
        self.ran.insert(cid);
        result?;
        let mut effects = ctx.take_effects();
        for (action, data) in std::mem::take(&mut effects.to_parent) {
            self.outbox.push((slot.parent, action, data));
        }
        self.effects.extend(effects);
        Ok(())
    }

    /// Render instance `cid` again (wrapper included) and bring its own embeds up to date.
    fn render_instance<'a>(&'a mut self, cid: u32, env: &'a Env<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let slot = self.instances.get(&cid).ok_or_else(|| missing(cid))?;
            let inst = &slot.inst;
            let (mut tree, found) = render_marked(&mut self.ids, &mut self.next_cid, || inst.render_tree())?;
            tree.wrap_component_root(&escape_id(&slot.id));
            let slot = self.instances.get_mut(&cid).ok_or_else(|| missing(cid))?;
            let old = slot.tree.replace(tree);
            self.touched.entry(cid).or_insert(old);
            self.resolve(Some(cid), found, env).await
        })
    }

    /// Drop instance `cid` and the instances it embeds (their persisted data stays in the
    /// store).
    fn drop_instance(&mut self, cid: u32) {
        let Some(slot) = self.instances.remove(&cid) else {
            return;
        };
        if self.ids.get(&slot.id) == Some(&cid) {
            self.ids.remove(&slot.id);
        }
        self.touched.remove(&cid);
        self.ran.remove(&cid);
        if self.on_client.remove(&cid) {
            self.gone.insert(cid);
        }
        for child in slot.children {
            if self.instances.get(&child).is_some_and(|s| s.parent == Some(cid)) {
                self.drop_instance(child);
            }
        }
    }

    /// The cid of the live instance with id `id`.
    pub(crate) fn lookup(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied().filter(|cid| self.instances.contains_key(cid))
    }

    /// Run action `name` of instance `cid` (asked for by a browser when `from_client`: its
    /// `#[lvt(server)]` actions are out of reach), then render it again.
    pub(crate) async fn act(
        &mut self,
        cid: u32,
        name: &str,
        data: Value,
        env: &Env<'_>,
        from_client: bool,
    ) -> Result<()> {
        let slot = self.instances.get(&cid).ok_or_else(|| missing(cid))?;
        let normalized = normalize_action(name);
        let names = slot.inst.action_names();
        let server = slot.inst.server_actions();
        let reachable = |n: &str| names.contains(&n) && !(from_client && server.contains(&n));
        if !reachable(&normalized) {
            let known: Vec<&str> = names.iter().copied().filter(|n| reachable(n)).collect();
            return Err(Error::unknown_action(name, &env.key(&slot.id), &known));
        }
        match self.run_hook(cid, Hook::Action(&normalized, data), env).await {
            // The errors went into the instance's errors field: it shows them.
            Err(err) if err.field_errors().is_some() => {
                self.render_instance(cid, env).await?;
                Err(err)
            }
            Err(err) => Err(err),
            Ok(()) => self.render_instance(cid, env).await,
        }
    }

    /// Take the `send_parent` messages waiting for delivery.
    pub(crate) fn take_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.outbox)
    }

    /// Save the persisted fields of the instances whose hooks or actions ran, each under
    /// `"<page path>#<id>"`.
    pub(crate) async fn save(&mut self, env: &Env<'_>) -> Result<()> {
        for cid in std::mem::take(&mut self.ran) {
            let Some(slot) = self.instances.get_mut(&cid) else {
                continue;
            };
            if !slot.inst.has_persisted() {
                continue;
            }
            let after = slot.inst.encode_persisted();
            if persist(
                env.svc,
                env.group,
                &env.key(&slot.id),
                &slot.saved,
                &after,
                &slot.held,
                env.conn,
            )
            .await?
            {
                slot.saved = after;
                // The group's other connections of the page load it (see `reload`).
                env.svc.hub.reload_others(env.path, env.group, env.conn);
            }
        }
        Ok(())
    }

    /// Load every instance's persisted fields again (another connection of the group saved
    /// some) and render again the instances whose fields changed.
    pub(crate) async fn reload(&mut self, env: &Env<'_>) {
        let cids: Vec<u32> = self.instances.keys().copied().collect();
        for cid in cids {
            let Some(slot) = self.instances.get_mut(&cid) else {
                continue;
            };
            if !slot.inst.has_persisted() {
                continue;
            }
            let key = env.key(&slot.id);
            slot.held = slot.inst.load(env.svc, env.group, &key).await;
            let now = slot.inst.encode_persisted();
            if now == slot.saved {
                continue;
            }
            slot.saved = now;
            if let Err(err) = self.render_instance(cid, env).await {
                tracing::warn!(page = %env.path, component = cid, error = %err, "render after reload failed");
            }
        }
    }

    /// A frame carried the instances' trees: their streams drop their pending operations and
    /// the kept trees their stream items, as the page's do (`view::streams_sent`).
    pub(crate) fn streams_sent(&mut self, encoder: &mut crate::diff::Encoder) {
        for slot in self.instances.values_mut() {
            slot.inst.streams_sent();
            if let Some(kept) = slot.tree.as_ref().and_then(Tree::without_stream_items) {
                slot.tree = Some(kept);
                encoder.forget_unique_lists();
            }
        }
    }

    /// Forget what changed since the last frame without sending it (a no-JS POST or GET).
    pub(crate) fn settle_quietly(&mut self) {
        self.touched.clear();
        self.gone.clear();
    }

    /// What changed since the last frame, for [`Encoder::component_frame`], and the client
    /// now holds it. `whole`: the client drops every instance (a frame with `"t"`): all live
    /// instances are sent whole.
    pub(crate) fn changes(&mut self, whole: bool) -> Vec<(u32, Change)> {
        let mut out = Vec::new();
        if whole {
            self.touched.clear();
            self.gone.clear();
            self.on_client.clear();
            for cid in self.instances.keys() {
                out.push((*cid, Change::Whole));
                self.on_client.insert(*cid);
            }
            return out;
        }
        for cid in std::mem::take(&mut self.gone) {
            out.push((cid, Change::Gone));
        }
        for (cid, old) in std::mem::take(&mut self.touched) {
            if !self.instances.contains_key(&cid) {
                continue;
            }
            if self.on_client.insert(cid) {
                out.push((cid, Change::Whole));
            } else {
                out.push((cid, Change::Diff(old)));
            }
        }
        out
    }

    /// The frame's `"c"` entries for `changes`.
    pub(crate) fn frame_entries<'a>(&'a self, changes: &'a [(u32, Change)]) -> Vec<(u32, ComponentChange<'a>)> {
        changes
            .iter()
            .filter_map(|(cid, change)| {
                let now = self.instances.get(cid).and_then(|s| s.tree.as_ref());
                let entry = match (change, now) {
                    (Change::Gone, _) => ComponentChange::Gone,
                    (Change::Diff(Some(old)), Some(new)) => ComponentChange::Diff(old, new),
                    (_, Some(new)) => ComponentChange::Whole(new),
                    (_, None) => return None,
                };
                Some((*cid, entry))
            })
            .collect()
    }

    /// The page's plain HTML (`render`, its `render_html`): each embed writes its instance's
    /// own plain render inside the wrapper, instances rendered innermost first.
    pub(crate) fn plain_html(&self, render: impl FnOnce() -> Result<String>) -> Result<String> {
        let mut html = HashMap::new();
        for cid in &self.page_children {
            self.plain_instance(*cid, &mut html)?;
        }
        let scope = Scope {
            ids: self.ids.clone(),
            html,
            ..Scope::default()
        };
        with_scope(scope, || caught(render)).0
    }

    fn plain_instance(&self, cid: u32, html: &mut HashMap<u32, String>) -> Result<()> {
        let Some(slot) = self.instances.get(&cid) else {
            return Ok(());
        };
        let mut inner = HashMap::new();
        for child in &slot.children {
            self.plain_instance(*child, &mut inner)?;
        }
        let scope = Scope {
            ids: self.ids.clone(),
            html: inner,
            ..Scope::default()
        };
        let own = with_scope(scope, || caught(|| slot.inst.render_html())).0?;
        let mut out = String::with_capacity(own.len() + 48);
        let _ = write_wrapper(&mut out, &slot.id, &own);
        html.insert(cid, out);
        Ok(())
    }

    /// The action names of each live instance, by id.
    pub(crate) fn action_names(&self) -> impl Iterator<Item = (Arc<str>, &'static [&'static str])> + '_ {
        self.instances.values().map(|s| (s.id.clone(), s.inst.action_names()))
    }

    /// Take over `other`'s instances (a no-JS POST's), unless it has none; cids given by
    /// this registry are not given again.
    pub(crate) fn adopt(&mut self, other: Components) {
        if other.instances.is_empty() {
            return;
        }
        let next = self.next_cid.max(other.next_cid);
        *self = other;
        self.next_cid = next;
        self.on_client.clear();
        self.touched.clear();
        self.gone.clear();
    }

    /// Drop every instance (the page is mounted again); cids go on from where they were.
    pub(crate) fn clear(&mut self) {
        let next = self.next_cid;
        *self = Components {
            next_cid: next,
            ..Components::default()
        };
    }
}

/// A page's plain render (`render`, its `render_html`) with no instance known: its HTML, and
/// whether it embeds any component (then the HTML is not the page's: its instances must be
/// created first).
pub(crate) fn plain_without_components(render: impl FnOnce() -> Result<String>) -> (Result<String>, bool) {
    let (html, scope) = with_scope(Scope::default(), || caught(render));
    (html, scope.saw_embed)
}

/// Render `render` with a scope for its embeds: ids known so far, the next cid.
fn render_marked(
    ids: &mut HashMap<Arc<str>, u32>,
    next_cid: &mut u32,
    render: impl FnOnce() -> Result<Tree>,
) -> Result<(Tree, Vec<Found>)> {
    let scope = Scope {
        ids: std::mem::take(ids),
        next_cid: *next_cid,
        marked: true,
        ..Scope::default()
    };
    let (tree, scope) = with_scope(scope, || caught(render));
    *ids = scope.ids;
    *next_cid = scope.next_cid;
    if let Some(msg) = scope.error {
        return Err(Error::config(msg));
    }
    Ok((tree?, scope.found))
}

/// What happened to an instance since the last frame (see [`Components::changes`]).
#[derive(Debug)]
pub(crate) enum Change {
    /// New to the client: sent whole.
    Whole,
    /// Rendered again: the diff from the tree the client held.
    Diff(Option<Tree>),
    /// Dropped.
    Gone,
}

enum Hook<'a> {
    Mount,
    Update,
    Action(&'a str, Value),
}

fn missing(cid: u32) -> Error {
    Error::config(format!("component instance {cid} vanished while in use"))
}
