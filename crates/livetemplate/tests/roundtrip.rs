//! The core invariant: the HTML a client rebuilds from the wire frames equals askama's own
//! render of the same state, byte for byte, after every step of random change sequences.
//!
//! The oracle is plain askama: each state has a second template struct here, derived with
//! `askama::Template` from the same `#[lvt(...)]` arguments (the same source or file, syntax
//! and `askama.toml`), which the live template's code plays no part in. The page's own
//! `render_html` (the GET render) is checked against it too.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub id: u32,
    pub name: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Data {
    pub name: String,
    pub title: String,
    pub cls: String,
    pub html: String,
    pub n: i64,
    pub flag: bool,
    pub opt: Option<String>,
    pub items: Vec<Row>,
    pub grid: Vec<Vec<String>>,
}

/// A state's render by plain askama, from a template struct of its own.
pub trait Oracle {
    fn askama(&self) -> String;
}

/// Plain askama's template struct for a state: the state's fields through `Deref`.
macro_rules! oracle {
    // askama's key for a template file is `path`.
    ($state:ident, template = $path:literal) => {
        oracle!($state, path = $path);
    };
    ($state:ident, $($attr:tt)*) => {
        const _: () = {
            #[derive(livetemplate::__private::askama::Template)]
            #[template($($attr)*, askama = livetemplate::__private::askama)]
            struct Plain<'a>(&'a $state);

            impl std::ops::Deref for Plain<'_> {
                type Target = $state;
                fn deref(&self) -> &$state {
                    self.0
                }
            }

            impl Oracle for $state {
                fn askama(&self) -> String {
                    livetemplate::__private::askama::Template::render(&Plain(self)).unwrap()
                }
            }
        };
    };
}

macro_rules! live_template {
    ($state:ident, $ctrl:ident, $($attr:tt)*) => {
        live_template!(@state $state, $ctrl, $($attr)*);
        oracle!($state, $($attr)*);
    };
    (@state $state:ident, $ctrl:ident, $($attr:tt)*) => {
        #[derive(LiveState, Clone, Debug, Default)]
        #[lvt($($attr)*)]
        pub struct $state {
            pub name: String,
            pub title: String,
            pub cls: String,
            pub html: String,
            pub n: i64,
            pub flag: bool,
            pub opt: Option<String>,
            pub items: Vec<Row>,
            pub grid: Vec<Vec<String>>,
        }

        impl From<Data> for $state {
            fn from(d: Data) -> Self {
                $state {
                    name: d.name,
                    title: d.title,
                    cls: d.cls,
                    html: d.html,
                    n: d.n,
                    flag: d.flag,
                    opt: d.opt,
                    items: d.items,
                    grid: d.grid,
                }
            }
        }

        pub struct $ctrl;

        #[actions]
        impl $ctrl {
            async fn set(&self, state: &mut $state, ctx: &mut Context) -> Result<()> {
                *state = ctx.bind::<Data>()?.into();
                Ok(())
            }
        }
    };
}

live_template!(
    Exprs,
    ExprsCtrl,
    source = r#"<div class="{{ cls }}" title='{{ title }}' data-n={{ n }}>{{ name }} / {{ name|upper }} / {{ html|safe }} / {{ n + 1 }} / {{ name.len() }}</div><p>{{ title|lower|trim }}</p>"#,
    ext = "html"
);
live_template!(
    Conds,
    CondsCtrl,
    source = r#"{% if n > 10 %}<b>big {{ n }}</b>{% else if n > 0 %}<i class="{{ cls }}">small</i>{% elif n == 0 %}zero{% else %}neg{% endif %} tail {{ name }}{% if flag %}[{{ title }}]{% endif %}"#,
    ext = "html"
);
live_template!(
    Matches,
    MatchesCtrl,
    source = r#"<div>{% match opt %}{% when Some with (v) %}<span>{{ v }}</span>{% if flag %}!{% endif %}{% when None %}<em>nothing {{ n }}</em>{% endmatch %}</div>"#,
    ext = "html"
);
live_template!(
    Loops,
    LoopsCtrl,
    source = r#"<ul>{% for item in items %}<li data-key="{{ item.id }}" class="{% if loop.first %}first{% endif %}{% if loop.last %} last{% endif %}">{{ loop.index }}/{{ loop.index0 }}: {{ item.name }}</li>{% else %}<li>empty {{ name }}</li>{% endfor %}</ul>"#,
    ext = "html"
);
live_template!(
    KeysAnywhere,
    KeysAnywhereCtrl,
    source = r#"<ul>{% for item in items %}<li class="{{ cls }}" id="i-{{ item.id }}">{{ item.name }}</li>{% endfor %}</ul><ol>{% for item in items %}<li title="{{ item.name }}" data-key="{{ item.id }}" id="k{{ item.id }}">{{ item.id }}</li>{% endfor %}</ol><p>{% for item in items %}<b data-n={{ n }} data-key="{{ item.id }}">{{ item.name }}</b><i {% if flag %}hidden{% endif %} id="{{ item.id }}">{{ item.name }}</i>{% endfor %}</p>"#,
    ext = "html"
);
live_template!(
    Nested,
    NestedCtrl,
    source = r#"<table>{% for row in grid %}<tr>{% for c in row %}<td>{{ c }}</td>{% else %}<td>-</td>{% endfor %}</tr>{% endfor %}</table>{% for item in items %}<p data-key="{{ item.id }}">{% for r in grid %}{{ r.len() }}{% endfor %}{{ item.name }}</p>{% endfor %}"#,
    ext = "html"
);
live_template!(
    Lets,
    LetsCtrl,
    source = r#"{% let doubled = n * 2 %}<p>{{ doubled }}</p>{% if flag %}{% let label = name.len() %}<i>{{ label }} {{ doubled }}</i>{% endif %}{% for item in items %}{% let shown = item.id + 1 %}<b data-key="{{ item.id }}">{{ shown }}</b>{% endfor %}"#,
    ext = "html"
);
live_template!(
    Macros,
    MacrosCtrl,
    source = r#"{% macro badge(label, count) %}<span class="badge">{{ label }}: {{ count }}{% if count > 3 %}+{% endif %}</span>{% endmacro %}<div>{% call badge(name, n) %}{% endcall %}{% for item in items %}{% call badge(item.name, item.id) %}{% endcall %}{% endfor %}</div>"#,
    ext = "html"
);
live_template!(Includes, IncludesCtrl, template = "rt/page.html");
live_template!(Extends, ExtendsCtrl, template = "rt/child.html");
live_template!(
    Whitespace,
    WhitespaceCtrl,
    source = "<ul>\n  {%- for item in items -%}\n    <li data-key=\"{{ item.id }}\">  {{- item.name -}}  </li>\n  {%- endfor -%}\n</ul>\n{{~ n ~}}  done {%+ if flag +%}  yes  {%- else -%}  no  {%~ endif ~%} end\n",
    ext = "html"
);
live_template!(
    Control,
    ControlCtrl,
    source = r#"{% for item in items %}{% if item.id % 3 == 0 %}{% continue %}{% endif %}<i data-key="{{ item.id }}">{{ item.id }}{% if item.id > 40 %}{% break %}{% endif %}</i>{% endfor %}|{% filter upper %}hello {{ name }}{% endfilter %}|{# comment {{ n }} #}{% raw %}{{ not }} {% if %}{% endraw %}"#,
    ext = "html"
);
live_template!(
    Mixed,
    MixedCtrl,
    source = r#"{% if items.is_empty() %}<p>none</p>{% else %}<ol>{% for item in items %}<li data-key="k{{ item.id }}">{% match opt %}{% when Some with (v) %}{% if item.id % 2 == 0 %}fizz {{ v }}{% else %}<u>{{ item.name|safe }}</u>{% endif %}{% else %}{{ loop.index }}{% endmatch %}</li>{% endfor %}</ol>{% endif %}<input value="{{ name }}" {% if flag %}checked{% endif %}>"#,
    ext = "html"
);

// Held-out constructs plain askama accepts: `{% import %}` of a macro file (macros calling
// each other), a macro defined in a child template outside its blocks, `{{ super() }}` over
// one and two levels of `extends`.
live_template!(Imports, ImportsCtrl, template = "rt/import.html");
live_template!(ChildMacro, ChildMacroCtrl, template = "rt/child_macro.html");
live_template!(SuperChain, SuperChainCtrl, template = "rt/leaf.html");
// A macro overridden at each of three levels of `extends`: a block body calls the macro of
// the template it was written in (then of the templates it is rendered inside), as askama does.
live_template!(MacroOverride, MacroOverrideCtrl, template = "rt/ovr_child.html");
live_template!(MinOverride, MinOverrideCtrl, template = "rt/min_child.html");
// Three levels with nested blocks, macros overridden per level, an import of a file that
// imports another, and an include (which sees its includer's macros) with its own import.
live_template!(ThreeLevels, ThreeLevelsCtrl, template = "rt/lv3.html");
// A child overriding only a macro: the parent's block body still calls the parent's macro.
live_template!(ParentMacro, ParentMacroCtrl, template = "rt/pm_child.html");

// A custom filter of the user's: askama looks `filters::shout` up where the template struct is.
pub mod filters {
    use livetemplate::__private::askama;

    #[askama::filter_fn]
    pub fn shout<T: std::fmt::Display>(s: T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(s.to_string().to_uppercase())
    }
}
live_template!(
    CustomFilter,
    CustomFilterCtrl,
    source = r#"<p>{{ name|shout }}</p>{% for item in items %}<i data-key="{{ item.id }}">{{ item.name|shout|lower }}</i>{% endfor %}"#,
    ext = "html"
);

/// The QA case of a macro overridden in a grandchild, with askama's output written out.
#[test]
fn grandchild_macro_override_renders_as_askama() {
    let want = "<b><child>2</child><mid>1</mid>|<mid>3</mid></b>";
    assert_eq!(MinOverride::default().askama(), want);
    assert_eq!(MinOverride::default().render_html().unwrap(), want);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let page = TestPage::mount(MinOverrideCtrl, MinOverride::default()).await.unwrap();
        assert_eq!(page.html(), want);
    });
}

// A syntax of askama.toml other than the default: `{{`, `{%` and `{#` are text there.
live_template!(
    Square,
    SquareCtrl,
    source = "<p title=\"{{ x }}\">{% raw %}[# c #]</p>[#- c -#] [[ name ]]\n[% for item in items -%]\n<i data-key=\"[[ item.id ]]\">[[- item.name|upper ~]] [% if flag %]on[% else %][[ n ]][% endif %]</i>\n[%- endfor %][% raw %][[ raw ]][% endraw %]",
    ext = "html",
    syntax = "square"
);

// `Self` in expressions is the state type, as it is the template struct in plain askama.
live_template!(
    @state SelfPaths,
    SelfPathsCtrl,
    source = r#"<p title="{{ Self::shout(title.as_str()) }}">{{ Self::shout(name.as_str()) }} "Self" {# Self #}</p>{% if Self::big(n.clone()) %}<b>big</b>{% endif %}{% for item in items %}<i data-key="{{ item.id }}">{{ Self::shout(item.name.as_str()) }}</i>{% endfor %}"#,
    ext = "html"
);

impl SelfPaths {
    fn shout(s: &str) -> String {
        s.to_uppercase()
    }

    fn big(n: i64) -> bool {
        n > 10
    }
}

// Plain askama's `Self` is its template struct: the oracle's has the same functions.
const _: () = {
    #[derive(livetemplate::__private::askama::Template)]
    #[template(
        source = r#"<p title="{{ Self::shout(title.as_str()) }}">{{ Self::shout(name.as_str()) }} "Self" {# Self #}</p>{% if Self::big(n.clone()) %}<b>big</b>{% endif %}{% for item in items %}<i data-key="{{ item.id }}">{{ Self::shout(item.name.as_str()) }}</i>{% endfor %}"#,
        ext = "html",
        askama = livetemplate::__private::askama
    )]
    struct Plain<'a>(&'a SelfPaths);

    impl std::ops::Deref for Plain<'_> {
        type Target = SelfPaths;
        fn deref(&self) -> &SelfPaths {
            self.0
        }
    }

    impl Plain<'_> {
        fn shout(s: &str) -> String {
            SelfPaths::shout(s)
        }

        fn big(n: i64) -> bool {
            SelfPaths::big(n)
        }
    }

    impl Oracle for SelfPaths {
        fn askama(&self) -> String {
            livetemplate::__private::askama::Template::render(&Plain(self)).unwrap()
        }
    }
};

/// What the generic state below is generic over.
pub trait Label: Clone + Default + Send + Sync + std::fmt::Debug + 'static {
    const KIND: &'static str;
    fn label(&self) -> String;
}

#[derive(Clone, Default, Debug)]
pub struct Loud;

impl Label for Loud {
    const KIND: &'static str = "loud";
    fn label(&self) -> String {
        "LOUD".into()
    }
}

// A generic state struct, as askama accepts a generic template struct.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<p>{{ tag.label() }} {{ name }} {{ Self::kind() }}</p>{% for item in items %}<i data-key="{{ item.id }}">{{ item.name }}</i>{% endfor %}"#,
    ext = "html"
)]
pub struct Tagged<T: Label> {
    pub tag: T,
    pub name: String,
    pub items: Vec<Row>,
}

impl<T: Label> Tagged<T> {
    fn kind() -> &'static str {
        T::KIND
    }
}

// Plain askama's template struct for the generic state, `Self::kind()` its own.
#[derive(livetemplate::__private::askama::Template)]
#[template(
    source = r#"<p>{{ tag.label() }} {{ name }} {{ Self::kind() }}</p>{% for item in items %}<i data-key="{{ item.id }}">{{ item.name }}</i>{% endfor %}"#,
    ext = "html",
    askama = livetemplate::__private::askama
)]
struct PlainTagged<'a, T: Label>(&'a Tagged<T>);

impl<T: Label> std::ops::Deref for PlainTagged<'_, T> {
    type Target = Tagged<T>;
    fn deref(&self) -> &Tagged<T> {
        self.0
    }
}

impl<T: Label> PlainTagged<'_, T> {
    fn kind() -> &'static str {
        T::KIND
    }
}

impl<T: Label> Oracle for Tagged<T> {
    fn askama(&self) -> String {
        livetemplate::__private::askama::Template::render(&PlainTagged(self)).unwrap()
    }
}

impl<T: Label> From<Data> for Tagged<T> {
    fn from(d: Data) -> Self {
        Tagged {
            tag: T::default(),
            name: d.name,
            items: d.items,
        }
    }
}

type TaggedLoud = Tagged<Loud>;

/// A generic controller (`impl<S: …> Ctl<S>` under `#[actions]`), usable with every state.
pub struct Generic<S>(std::marker::PhantomData<fn() -> S>);

impl<S> Default for Generic<S> {
    fn default() -> Self {
        Generic(std::marker::PhantomData)
    }
}

#[actions]
impl<S: LiveState + From<Data>> Generic<S> {
    async fn set(&self, state: &mut S, ctx: &mut Context) -> Result<()> {
        *state = ctx.bind::<Data>()?.into();
        Ok(())
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-c<>&\"' \u{E000}\u{E001}\u{E002}é漢😀\n\\\\/]{0,8}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        2 => numeric_text(),
    ]
}

/// Texts that are whole numbers, some canonical (sent as JSON numbers) and some only looking
/// numeric (sent as strings): the client must rebuild each byte for byte either way.
fn numeric_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => (-1000i64..1000).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (-(10i64.pow(16))..10i64.pow(16)).prop_map(|n| n.to_string()),
        2 => prop::sample::select(vec![
            "0", "-0", "00", "007", "-07", "+1", "1.5", "1e3", "-", "", " 1", "999999999999999",
            "-999999999999999", "1000000000000000", "-1000000000000000", "9007199254740993",
        ])
        .prop_map(str::to_string),
        1 => "[-+]?[0-9]{0,17}",
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (0u32..60, text()).prop_map(|(id, name)| Row { id, name })
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, Row),
    Remove(usize),
    Move(usize, usize),
    Swap(usize, usize),
    Reverse,
    Rename(usize, String),
    Replace(Vec<Row>),
    Same,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), row()).prop_map(|(i, r)| Edit::Insert(i, r)),
        2 => any::<usize>().prop_map(Edit::Remove),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Move(a, b)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        1 => Just(Edit::Reverse),
        2 => (any::<usize>(), text()).prop_map(|(i, s)| Edit::Rename(i, s)),
        1 => prop::collection::vec(row(), 0..8).prop_map(Edit::Replace),
        1 => Just(Edit::Same),
    ]
}

fn apply(items: &mut Vec<Row>, e: &Edit) {
    let n = items.len();
    match e.clone() {
        Edit::Insert(i, r) => items.insert(i % (n + 1), r),
        Edit::Remove(i) if n > 0 => {
            items.remove(i % n);
        }
        Edit::Move(a, b) if n > 0 => {
            let r = items.remove(a % n);
            items.insert(b % n, r);
        }
        Edit::Swap(a, b) if n > 0 => items.swap(a % n, b % n),
        Edit::Reverse => items.reverse(),
        Edit::Rename(i, s) if n > 0 => items[i % n].name = s,
        Edit::Replace(v) => *items = v,
        _ => {}
    }
}

#[derive(Clone, Debug)]
struct Step {
    name: String,
    title: String,
    cls: String,
    html: String,
    n: i64,
    flag: bool,
    opt: Option<String>,
    grid: Vec<Vec<String>>,
    edits: Vec<Edit>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        (text(), text(), text(), text()),
        (-3i64..20, any::<bool>(), prop::option::of(text())),
        prop::collection::vec(prop::collection::vec(text(), 0..3), 0..3),
        prop::collection::vec(edit(), 0..3),
    )
        .prop_map(|((name, title, cls, html), (n, flag, opt), grid, edits)| Step {
            name,
            title,
            cls,
            html,
            n,
            flag,
            opt,
            grid,
            edits,
        })
}

fn steps() -> impl Strategy<Value = (Vec<Row>, Vec<Step>)> {
    (prop::collection::vec(row(), 0..10), prop::collection::vec(step(), 1..8))
}

fn datas(initial: Vec<Row>, steps: &[Step]) -> Vec<Data> {
    let mut items = initial;
    steps
        .iter()
        .map(|s| {
            for e in &s.edits {
                apply(&mut items, e);
            }
            Data {
                name: s.name.clone(),
                title: s.title.clone(),
                cls: s.cls.clone(),
                html: s.html.clone(),
                n: s.n,
                flag: s.flag,
                opt: s.opt.clone(),
                items: items.clone(),
                grid: s.grid.clone(),
            }
        })
        .collect()
}

fn check<S, C>(ctrl: C, datas: Vec<Data>) -> std::result::Result<(), TestCaseError>
where
    S: LiveState + From<Data> + Oracle,
    C: livetemplate::Controller<State = S>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut it = datas.into_iter();
        let first: S = it.next().unwrap_or_default().into();
        let expected = first.askama();
        prop_assert_eq!(
            first.render_html().expect("render_html"),
            expected.clone(),
            "render_html differs"
        );
        let mut page = TestPage::mount(ctrl, first).await.expect("mount");
        prop_assert_eq!(page.html(), expected, "initial render differs");
        for d in it {
            let json = serde_json::to_value(&d).expect("json");
            let frame = page.act("set", json).await;
            prop_assert!(frame.error().is_none(), "action failed: {}", frame.text());
            let state = S::from(d);
            let expected = state.askama();
            prop_assert_eq!(
                state.render_html().expect("render_html"),
                expected.clone(),
                "render_html differs"
            );
            prop_assert_eq!(page.html(), expected, "after frame {}", frame.text());
        }
        Ok(())
    })
}

macro_rules! roundtrip_tests {
    ($($test:ident => $state:ident, $ctrl:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $test((initial, steps) in steps()) {
                    check::<$state, _>($ctrl, datas(initial, &steps))?;
                }
            )*
        }
    };
}

roundtrip_tests! {
    expressions_text_attributes_filters => Exprs, ExprsCtrl;
    if_elif_else => Conds, CondsCtrl;
    match_option => Matches, MatchesCtrl;
    for_loop_index_else => Loops, LoopsCtrl;
    keys_from_id_or_anywhere_in_the_tag => KeysAnywhere, KeysAnywhereCtrl;
    nested_loops => Nested, NestedCtrl;
    let_bindings => Lets, LetsCtrl;
    macros => Macros, MacrosCtrl;
    include_in_loop => Includes, IncludesCtrl;
    extends_block => Extends, ExtendsCtrl;
    whitespace_control => Whitespace, WhitespaceCtrl;
    break_continue_filter_raw => Control, ControlCtrl;
    mixed_keyed_match => Mixed, MixedCtrl;
    import_macro_file => Imports, ImportsCtrl;
    child_macro_and_super => ChildMacro, ChildMacroCtrl;
    super_over_two_levels_with_import => SuperChain, SuperChainCtrl;
    macro_overridden_over_three_levels => MacroOverride, MacroOverrideCtrl;
    custom_syntax => Square, SquareCtrl;
    self_is_the_state_type => SelfPaths, SelfPathsCtrl;
    generic_state => TaggedLoud, Generic::<TaggedLoud>::default();
    three_levels_macros_imports_include => ThreeLevels, ThreeLevelsCtrl;
    child_macro_not_seen_by_parent_block => ParentMacro, ParentMacroCtrl;
    generic_controller => Imports, Generic::<Imports>::default();
    custom_filter => CustomFilter, CustomFilterCtrl;
}
