//! Persisted state survives everyday changes to the persisted types: each test saves through a
//! page backed by a real sled store on disk, drops the app (a restart), and opens the store
//! again with the next deploy's types.
//!
//! Covered: a type moved into another module (and so another path, as a renamed crate or a
//! new compiler would give), a field added with `#[serde(default)]`, fields removed and
//! reordered, enums (variants reordered and added), options, maps, nested structs, types whose
//! `Deserialize` validates, a user migration, values written by the release before shapes,
//! and the quarantine of values that cannot be read.

#![allow(clippy::unwrap_used)]
// The modules stand for the crates of successive deploys, so their items are `pub`.
#![allow(unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use livetemplate::prelude::*;
use livetemplate::store::{PersistStore, SledStore};
use livetemplate::testing::TestPage;
use livetemplate::{Controller, GroupId};
use serde_json::{Value, json};

const PATH: &str = "/todos";

/// A store directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("lvt-evolution-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Dir(p)
    }

    /// Open a page of `controller` on this store, for `group`, as a freshly started server.
    async fn open<C: Controller>(&self, group: &GroupId, controller: C, initial: C::State) -> TestPage {
        let app = App::builder()
            .store(SledStore::open(&self.0).unwrap())
            .page(PATH, controller, initial)
            .build()
            .unwrap();
        TestPage::connect(Arc::new(app), PATH, group.clone()).await.unwrap()
    }

    /// Every key the store holds for `group` on the page, with its bytes.
    async fn raw(&self, group: &GroupId) -> HashMap<String, Vec<u8>> {
        let store = SledStore::open(&self.0).unwrap();
        store.load(group, PATH).await.unwrap().into_iter().collect()
    }

    /// Write `fields` for `group` straight into the store.
    async fn write(&self, group: &GroupId, fields: &[(&str, Vec<u8>)]) {
        let store = SledStore::open(&self.0).unwrap();
        store.save(group, PATH, fields).await.unwrap();
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stop a server: close the page's connection and drop its app (and store).
async fn stop(mut page: TestPage) {
    page.close().await;
    drop(page);
}

/// Text as askama escapes it.
fn escape(s: &str) -> String {
    s.replace('"', "&#34;").replace('\'', "&#39;")
}

fn add(title: &str) -> Value {
    json!({ "title": title })
}

// ---- The two cases: `Item` moved into `mod model`; a `#[serde(default)]` field. ----

/// The first deploy: `Item` at the top of its module.
mod first {
    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, Default)]
    pub struct Item {
        pub id: u64,
        pub title: String,
        pub done: bool,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for i in items %}<li>{{ i.id }} {{ i.title }} {{ i.done }}</li>{% endfor %}</ul>",
        ext = "html"
    )]
    pub struct Todos {
        #[lvt(persist)]
        pub items: Vec<Item>,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn add(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
            let id = state.items.len() as u64 + 1;
            state.items.push(Item {
                id,
                title: ctx.get_string("title"),
                done: id.is_multiple_of(2),
            });
            Ok(())
        }
    }
}

/// The next deploy: the same `Item`, moved into `mod model`.
mod moved {
    use livetemplate::prelude::*;

    pub mod model {
        use serde::{Deserialize, Serialize};

        #[derive(Serialize, Deserialize, Clone, Debug, Default)]
        pub struct Item {
            pub id: u64,
            pub title: String,
            pub done: bool,
        }
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for i in items %}<li>{{ i.id }} {{ i.title }} {{ i.done }}</li>{% endfor %}</ul>",
        ext = "html"
    )]
    pub struct Todos {
        #[lvt(persist)]
        pub items: Vec<model::Item>,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn add(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
            let id = state.items.len() as u64 + 1;
            state.items.push(model::Item {
                id,
                title: ctx.get_string("title"),
                done: false,
            });
            Ok(())
        }
    }
}

/// A deploy that adds `#[serde(default)] note` to `Item`.
mod noted {
    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, Default)]
    pub struct Item {
        pub id: u64,
        pub title: String,
        pub done: bool,
        #[serde(default)]
        pub note: String,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for i in items %}<li>{{ i.id }} {{ i.title }} {{ i.done }} [{{ i.note }}]</li>{% endfor %}</ul>",
        ext = "html"
    )]
    pub struct Todos {
        #[lvt(persist)]
        pub items: Vec<Item>,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn annotate(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
            if let Some(first) = state.items.first_mut() {
                first.note = ctx.get_string("note");
            }
            Ok(())
        }
    }
}

/// A deploy that drops `id` and lists the remaining fields in another order.
mod trimmed {
    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, Default)]
    pub struct Item {
        pub done: bool,
        pub title: String,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for i in items %}<li>{{ i.title }} {{ i.done }}</li>{% endfor %}</ul>",
        ext = "html"
    )]
    pub struct Todos {
        #[lvt(persist)]
        pub items: Vec<Item>,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn toggle_all(&self, state: &mut Todos, _ctx: &mut Context) -> Result<()> {
            for i in &mut state.items {
                i.done = !i.done;
            }
            Ok(())
        }
    }
}

/// Save two items with the first deploy; returns the store and the group.
async fn two_items(name: &str) -> (Dir, GroupId) {
    let dir = Dir::new(name);
    let group = GroupId::random();
    let mut page = dir.open(&group, first::Ctl, first::Todos::default()).await;
    assert!(page.act("add", add("buy milk")).await.error().is_none());
    assert!(page.act("add", add("walk the dog")).await.error().is_none());
    assert_eq!(
        page.html(),
        "<ul><li>1 buy milk false</li><li>2 walk the dog true</li></ul>"
    );
    stop(page).await;
    (dir, group)
}

#[tokio::test]
async fn a_type_moved_into_another_module_is_restored() {
    let (dir, group) = two_items("moved").await;
    let mut page = dir.open(&group, moved::Ctl, moved::Todos::default()).await;
    assert_eq!(
        page.html(),
        "<ul><li>1 buy milk false</li><li>2 walk the dog true</li></ul>"
    );
    // And the page goes on from there, across another restart.
    assert!(page.act("add", add("water plants")).await.error().is_none());
    stop(page).await;
    let page = dir.open(&group, moved::Ctl, moved::Todos::default()).await;
    assert_eq!(
        page.html(),
        "<ul><li>1 buy milk false</li><li>2 walk the dog true</li><li>3 water plants false</li></ul>"
    );
    stop(page).await;
}

#[tokio::test]
async fn a_field_added_with_serde_default_is_restored() {
    let (dir, group) = two_items("noted").await;
    let mut page = dir.open(&group, noted::Ctl, noted::Todos::default()).await;
    assert_eq!(
        page.html(),
        "<ul><li>1 buy milk false []</li><li>2 walk the dog true []</li></ul>"
    );
    assert!(page.act("annotate", json!({"note": "oat"})).await.error().is_none());
    stop(page).await;
    let page = dir.open(&group, noted::Ctl, noted::Todos::default()).await;
    assert_eq!(
        page.html(),
        "<ul><li>1 buy milk false [oat]</li><li>2 walk the dog true []</li></ul>"
    );
    stop(page).await;
}

#[tokio::test]
async fn removed_and_reordered_fields_are_restored() {
    let (dir, group) = two_items("trimmed").await;
    let mut page = dir.open(&group, trimmed::Ctl, trimmed::Todos::default()).await;
    assert_eq!(
        page.html(),
        "<ul><li>buy milk false</li><li>walk the dog true</li></ul>"
    );
    assert!(page.act("toggle_all", Value::Null).await.error().is_none());
    stop(page).await;
    let page = dir.open(&group, trimmed::Ctl, trimmed::Todos::default()).await;
    assert_eq!(
        page.html(),
        "<ul><li>buy milk true</li><li>walk the dog false</li></ul>"
    );
    stop(page).await;
    // Back to a type that requires `id` (no default): nothing to fill it with, so the value is
    // kept aside instead of guessed.
    let page = dir.open(&group, noted::Ctl, noted::Todos::default()).await;
    assert_eq!(page.html(), "<ul></ul>");
    stop(page).await;
    let raw = dir.raw(&group).await;
    assert_eq!(raw["items@quarantine"], raw["items"]);
}

#[tokio::test]
async fn stored_bytes_do_not_name_the_rust_type() {
    // A crate rename or a new compiler changes `type_name`; nothing stored depends on it.
    let (dir, group) = two_items("no-type-name").await;
    let raw = dir.raw(&group).await;
    let value = &raw["items"];
    let shape = std::str::from_utf8(&raw["items@shape"]).unwrap();
    for path in ["persist_evolution", "first::", "alloc::", "Vec<", "::"] {
        assert!(
            !value.windows(path.len()).any(|w| w == path.as_bytes()),
            "value names `{path}`"
        );
        assert!(!shape.contains(path), "shape names `{path}`: {shape}");
    }
    // Compact: a 10-byte header (format, shape hash, version) and plain bincode, no names.
    assert!(value.len() <= 10 + 2 + 2 * 16, "{} bytes", value.len());
    assert!(!value.windows(5).any(|w| w == b"title"));
    // The shape names the fields (that is how they are matched after a change).
    assert!(shape.contains("\"title\""), "{shape}");
}

// ---- Enums, options, maps, nested structs. ----

mod shelf1 {
    use std::collections::{BTreeMap, HashMap};

    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
    pub enum Status {
        #[default]
        Draft,
        Published {
            at: u64,
        },
        Archived(String),
    }

    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
    pub struct Address {
        pub city: String,
        pub zip: String,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
    pub struct Person {
        pub name: String,
        pub address: Address,
    }

    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
    pub struct Tag {
        pub label: String,
        pub uses: u32,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ self.summary() }}</p>", ext = "html")]
    pub struct Shelf {
        #[lvt(persist)]
        pub status: Status,
        #[lvt(persist)]
        pub history: Vec<Status>,
        #[lvt(persist)]
        pub owner: Option<Person>,
        #[lvt(persist)]
        pub nobody: Option<Person>,
        #[lvt(persist)]
        pub scores: BTreeMap<String, i32>,
        #[lvt(persist)]
        pub tags: HashMap<u32, Tag>,
        #[lvt(persist)]
        pub pair: (u8, char),
    }

    impl Shelf {
        pub fn summary(&self) -> String {
            String::new()
        }
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn fill(&self, state: &mut Shelf, _ctx: &mut Context) -> Result<()> {
            state.status = Status::Published { at: 1_700_000_000 };
            state.history = vec![
                Status::Draft,
                Status::Archived("old".into()),
                Status::Published { at: 7 },
            ];
            state.owner = Some(Person {
                name: "Ann".into(),
                address: Address {
                    city: "Oslo".into(),
                    zip: "0150".into(),
                },
            });
            state.scores = BTreeMap::from([("ann".to_string(), -3), ("bob".to_string(), 70_000)]);
            state.tags = HashMap::from([
                (
                    1,
                    Tag {
                        label: "red".into(),
                        uses: 2,
                    },
                ),
                (
                    300,
                    Tag {
                        label: "blue".into(),
                        uses: 0,
                    },
                ),
            ]);
            state.pair = (9, 'é');
            Ok(())
        }
    }
}

/// The next deploy: every type moved, enum variants reordered and one added, a nested field
/// dropped and one added, map values widened, `Option<Person>` now holding a renamed struct.
mod shelf2 {
    use std::collections::{BTreeMap, HashMap};

    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    pub mod model {
        use serde::{Deserialize, Serialize};

        #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
        pub enum Status {
            Archived(String),
            Scheduled {
                at: u64,
            },
            Published {
                at: u64,
                #[serde(default)]
                by: Option<String>,
            },
            #[default]
            Draft,
        }

        #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
        pub struct Address {
            pub city: String,
            #[serde(default)]
            pub country: String,
        }

        #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
        pub struct Owner {
            #[serde(default)]
            pub email: Option<String>,
            pub address: Address,
            pub name: String,
        }
    }

    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
    pub struct Tag {
        pub uses: u64,
        pub label: String,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ self.summary() }}</p>", ext = "html")]
    pub struct Shelf {
        #[lvt(persist)]
        pub status: model::Status,
        #[lvt(persist)]
        pub history: Vec<model::Status>,
        #[lvt(persist)]
        pub owner: Option<model::Owner>,
        #[lvt(persist)]
        pub nobody: Option<model::Owner>,
        #[lvt(persist)]
        pub scores: BTreeMap<String, i64>,
        #[lvt(persist)]
        pub tags: HashMap<u32, Tag>,
        #[lvt(persist)]
        pub pair: (u8, char),
    }

    impl Shelf {
        pub fn summary(&self) -> String {
            let mut tags: Vec<_> = self.tags.iter().collect();
            tags.sort_by_key(|(k, _)| **k);
            format!(
                "{:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?}",
                self.status, self.history, self.owner, self.nobody, self.scores, tags, self.pair
            )
        }
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn noop(&self, _state: &mut Shelf, _ctx: &mut Context) -> Result<()> {
            Ok(())
        }
    }
}

#[tokio::test]
async fn enums_options_maps_and_nested_structs_are_restored_by_name() {
    let dir = Dir::new("shelf");
    let group = GroupId::random();
    let mut page = dir.open(&group, shelf1::Ctl, shelf1::Shelf::default()).await;
    assert!(page.act("fill", Value::Null).await.error().is_none());
    stop(page).await;

    let page = dir.open(&group, shelf2::Ctl, shelf2::Shelf::default()).await;
    let expected = shelf2::Shelf {
        status: shelf2::model::Status::Published {
            at: 1_700_000_000,
            by: None,
        },
        history: vec![
            shelf2::model::Status::Draft,
            shelf2::model::Status::Archived("old".into()),
            shelf2::model::Status::Published { at: 7, by: None },
        ],
        owner: Some(shelf2::model::Owner {
            email: None,
            address: shelf2::model::Address {
                city: "Oslo".into(),
                country: String::new(),
            },
            name: "Ann".into(),
        }),
        nobody: None,
        scores: BTreeMap::from([("ann".to_string(), -3), ("bob".to_string(), 70_000)]),
        tags: HashMap::from([
            (
                1,
                shelf2::Tag {
                    uses: 2,
                    label: "red".into(),
                },
            ),
            (
                300,
                shelf2::Tag {
                    uses: 0,
                    label: "blue".into(),
                },
            ),
        ]),
        pair: (9, 'é'),
    };
    assert_eq!(page.html(), format!("<p>{}</p>", escape(&expected.summary())));
    stop(page).await;
}

// ---- Types whose `Deserialize` validates, so serde-reflection cannot trace them alone. ----

mod checked1 {
    use std::num::NonZeroU32;

    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A level from 1 to 10: deserializing anything else fails.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
    #[serde(try_from = "u32")]
    pub struct Level(u32);

    impl TryFrom<u32> for Level {
        type Error = String;
        fn try_from(n: u32) -> std::result::Result<Self, String> {
            (1..=10)
                .contains(&n)
                .then_some(Level(n))
                .ok_or(format!("level {n} out of 1..=10"))
        }
    }

    impl Default for Level {
        fn default() -> Self {
            Level(1)
        }
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Limit {
        pub name: String,
        pub max: NonZeroU32,
        pub level: Level,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ self.summary() }}</p>", ext = "html")]
    pub struct Limits {
        #[lvt(persist)]
        pub level: Level,
        #[lvt(persist)]
        pub limits: Vec<Limit>,
    }

    impl Limits {
        pub fn summary(&self) -> String {
            format!("{:?} {:?}", self.level, self.limits)
        }
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn set(&self, state: &mut Limits, _ctx: &mut Context) -> Result<()> {
            state.level = Level(7);
            state.limits = vec![Limit {
                name: "uploads".into(),
                max: NonZeroU32::new(5).unwrap(),
                level: Level(3),
            }];
            Ok(())
        }
    }
}

mod checked2 {
    use std::num::NonZeroU32;

    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    pub mod model {
        use serde::{Deserialize, Serialize};

        #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
        #[serde(try_from = "u32")]
        pub struct Level(pub u32);

        impl TryFrom<u32> for Level {
            type Error = String;
            fn try_from(n: u32) -> std::result::Result<Self, String> {
                (1..=10)
                    .contains(&n)
                    .then_some(Level(n))
                    .ok_or(format!("level {n} out of 1..=10"))
            }
        }

        impl Default for Level {
            fn default() -> Self {
                Level(1)
            }
        }
    }

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub struct Limit {
        pub level: model::Level,
        pub max: NonZeroU32,
        pub name: String,
        #[serde(default)]
        pub note: String,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ self.summary() }}</p>", ext = "html")]
    pub struct Limits {
        #[lvt(persist)]
        pub level: model::Level,
        #[lvt(persist)]
        pub limits: Vec<Limit>,
    }

    impl Limits {
        pub fn summary(&self) -> String {
            format!("{:?} {:?}", self.level, self.limits)
        }
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn noop(&self, _state: &mut Limits, _ctx: &mut Context) -> Result<()> {
            Ok(())
        }
    }
}

#[tokio::test]
async fn types_whose_deserialize_validates_are_restored() {
    let dir = Dir::new("checked");
    let group = GroupId::random();
    let mut page = dir.open(&group, checked1::Ctl, checked1::Limits::default()).await;
    assert!(page.act("set", Value::Null).await.error().is_none());
    stop(page).await;
    let raw = dir.raw(&group).await;
    assert!(
        raw.contains_key("level@shape"),
        "a shape is recorded even for a type only a value can trace"
    );

    let page = dir.open(&group, checked2::Ctl, checked2::Limits::default()).await;
    let expected = checked2::Limits {
        level: checked2::model::Level(7),
        limits: vec![checked2::Limit {
            level: checked2::model::Level(3),
            max: std::num::NonZeroU32::new(5).unwrap(),
            name: "uploads".into(),
            note: String::new(),
        }],
    };
    assert_eq!(page.html(), format!("<p>{}</p>", escape(&expected.summary())));
    stop(page).await;
}

// ---- A user migration: `#[lvt(persist(version = 2, migrate = …))]`. ----

mod people1 {
    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, Default)]
    pub struct Person {
        pub name: String,
        pub age: String,
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for p in people %}<li>{{ p.name }} ({{ p.age }})</li>{% endfor %}</ul>",
        ext = "html"
    )]
    pub struct People {
        #[lvt(persist)]
        pub people: Vec<Person>,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn add(&self, state: &mut People, ctx: &mut Context) -> Result<()> {
            state.people.push(Person {
                name: ctx.get_string("name"),
                age: ctx.get_string("age"),
            });
            Ok(())
        }
    }
}

mod people2 {
    use livetemplate::prelude::*;
    use serde::{Deserialize, Serialize};

    /// `name` renamed to `full_name`, `age` now a number.
    #[derive(Serialize, Deserialize, Clone, Debug, Default)]
    pub struct Person {
        pub full_name: String,
        pub age: u32,
    }

    /// Version 1 stored `{name, age: "42"}`.
    pub fn migrate_people(old: serde_json::Value, from: u32) -> std::result::Result<Vec<Person>, String> {
        assert_eq!(from, 1);
        let list = old.as_array().ok_or("not a list")?;
        list.iter()
            .map(|p| {
                Ok(Person {
                    full_name: p["name"].as_str().ok_or("no name")?.to_string(),
                    age: p["age"]
                        .as_str()
                        .ok_or("no age")?
                        .trim()
                        .parse()
                        .map_err(|e| format!("age: {e}"))?,
                })
            })
            .collect()
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for p in people %}<li>{{ p.full_name }} is {{ p.age }}</li>{% endfor %}</ul>",
        ext = "html"
    )]
    pub struct People {
        #[lvt(persist(version = 2, migrate = migrate_people))]
        pub people: Vec<Person>,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn birthday(&self, state: &mut People, _ctx: &mut Context) -> Result<()> {
            for p in &mut state.people {
                p.age += 1;
            }
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_migration_renames_and_retypes() {
    let dir = Dir::new("migrate");
    let group = GroupId::random();
    let mut page = dir.open(&group, people1::Ctl, people1::People::default()).await;
    assert!(
        page.act("add", json!({"name": "Ann", "age": "41"}))
            .await
            .error()
            .is_none()
    );
    assert!(
        page.act("add", json!({"name": "Bob", "age": " 7"}))
            .await
            .error()
            .is_none()
    );
    stop(page).await;

    let mut page = dir.open(&group, people2::Ctl, people2::People::default()).await;
    assert_eq!(page.html(), "<ul><li>Ann is 41</li><li>Bob is 7</li></ul>");
    assert!(page.act("birthday", Value::Null).await.error().is_none());
    stop(page).await;
    // Saved as version 2 now: read directly, no migration (it would fail on numbers).
    let page = dir.open(&group, people2::Ctl, people2::People::default()).await;
    assert_eq!(page.html(), "<ul><li>Ann is 42</li><li>Bob is 8</li></ul>");
    stop(page).await;
    // A rollback to version 1 cannot read version 2: kept, not overwritten.
    let page = dir.open(&group, people1::Ctl, people1::People::default()).await;
    assert_eq!(page.html(), "<ul></ul>");
    stop(page).await;
    let raw = dir.raw(&group).await;
    assert_eq!(raw["people@quarantine"], raw["people"]);
}

// ---- Values written by the release before shapes (`type_name`, NUL, bincode). ----

/// Bytes the previous release wrote for `vec![Item {1, "buy milk", false}, Item {2, "walk the
/// dog", true}]`, its `Item` living in a crate named `persist_capture_tmp`.
const LEGACY_ITEMS: &[u8] = &[
    97, 108, 108, 111, 99, 58, 58, 118, 101, 99, 58, 58, 86, 101, 99, 60, 112, 101, 114, 115, 105, 115, 116, 95, 99,
    97, 112, 116, 117, 114, 101, 95, 116, 109, 112, 58, 58, 73, 116, 101, 109, 62, 0, 2, 1, 8, 98, 117, 121, 32, 109,
    105, 108, 107, 0, 2, 12, 119, 97, 108, 107, 32, 116, 104, 101, 32, 100, 111, 103, 1,
];

/// The previous release's bytes for `-3i64`.
const LEGACY_COUNT: &[u8] = &[105, 54, 52, 0, 5];

/// The previous release's bytes for `BTreeMap::from([("a".to_string(), 7i64)])`.
const LEGACY_MAP: &[u8] = &[
    97, 108, 108, 111, 99, 58, 58, 99, 111, 108, 108, 101, 99, 116, 105, 111, 110, 115, 58, 58, 98, 116, 114, 101, 101,
    58, 58, 109, 97, 112, 58, 58, 66, 84, 114, 101, 101, 77, 97, 112, 60, 97, 108, 108, 111, 99, 58, 58, 115, 116, 114,
    105, 110, 103, 58, 58, 83, 116, 114, 105, 110, 103, 44, 32, 105, 54, 52, 62, 0, 1, 1, 97, 14,
];

mod upgraded {
    use std::collections::BTreeMap;

    use livetemplate::prelude::*;

    pub mod model {
        use serde::{Deserialize, Serialize};

        #[derive(Serialize, Deserialize, Clone, Debug, Default)]
        pub struct Item {
            pub id: u64,
            pub title: String,
            pub done: bool,
        }
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(
        source = "<ul>{% for i in items %}<li>{{ i.id }} {{ i.title }} {{ i.done }}</li>{% endfor %}</ul>{{ count }} {{ self.map() }}",
        ext = "html"
    )]
    pub struct Todos {
        #[lvt(persist)]
        pub items: Vec<model::Item>,
        #[lvt(persist)]
        pub count: i64,
        #[lvt(persist)]
        pub map: BTreeMap<String, i64>,
    }

    impl Todos {
        pub fn map(&self) -> String {
            format!("{:?}", self.map).replace('"', "")
        }
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn bump(&self, state: &mut Todos, _ctx: &mut Context) -> Result<()> {
            state.count += 1;
            Ok(())
        }
    }
}

#[tokio::test]
async fn values_written_by_the_previous_release_still_load() {
    let dir = Dir::new("legacy");
    let group = GroupId::random();
    dir.write(
        &group,
        &[
            ("items", LEGACY_ITEMS.to_vec()),
            ("count", LEGACY_COUNT.to_vec()),
            ("map", LEGACY_MAP.to_vec()),
        ],
    )
    .await;
    let mut page = dir.open(&group, upgraded::Ctl, upgraded::Todos::default()).await;
    let want = "<ul><li>1 buy milk false</li><li>2 walk the dog true</li></ul>-3 {a: 7}";
    assert_eq!(page.html(), want);
    assert!(page.act("bump", Value::Null).await.error().is_none());
    stop(page).await;
    // `count` is in the new format now, the others stay as they were; all read.
    let raw = dir.raw(&group).await;
    assert_eq!(raw["items"], LEGACY_ITEMS);
    assert_ne!(raw["count"], LEGACY_COUNT);
    let page = dir.open(&group, upgraded::Ctl, upgraded::Todos::default()).await;
    assert_eq!(page.html(), want.replace("-3", "-2"));
    stop(page).await;
    assert!(!dir.raw(&group).await.keys().any(|k| k.contains("@quarantine")));
}

// ---- Quarantine (the log and hook are tested in `persist_quarantine.rs`). ----

#[path = "support/codes.rs"]
mod codes;
use codes::{code1, code2};

#[tokio::test]
async fn a_failed_migration_is_quarantined() {
    let dir = Dir::new("bad-migration");
    let group = GroupId::random();
    let mut page = dir.open(&group, people1::Ctl, people1::People::default()).await;
    assert!(
        page.act("add", json!({"name": "Ann", "age": "forty"}))
            .await
            .error()
            .is_none()
    );
    stop(page).await;
    let before = dir.raw(&group).await;
    let page = dir.open(&group, people2::Ctl, people2::People::default()).await;
    assert_eq!(page.html(), "<ul></ul>");
    stop(page).await;
    let raw = dir.raw(&group).await;
    assert_eq!(raw["people@quarantine"], before["people"]);
    assert_eq!(raw["people"], before["people"], "nothing saved over it");
}

/// A store whose quarantine writes fail (a full disk, say), around a real in-memory store.
#[derive(Debug, Default)]
struct NoQuarantine {
    inner: livetemplate::store::MemoryStore,
    refuse: std::sync::atomic::AtomicBool,
}

impl PersistStore for NoQuarantine {
    fn load<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
    ) -> livetemplate::store::BoxFuture<'a, livetemplate::Result<livetemplate::store::Fields>> {
        self.inner.load(group, page)
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> livetemplate::store::BoxFuture<'a, livetemplate::Result<()>> {
        if self.refuse.load(Ordering::SeqCst) && fields.iter().any(|(k, _)| k.contains("@quarantine")) {
            return Box::pin(async { Err(livetemplate::Error::msg("disk full")) });
        }
        self.inner.save(group, page, fields)
    }
}

#[tokio::test]
async fn a_value_that_cannot_be_quarantined_is_not_saved_over() {
    let store = Arc::new(NoQuarantine::default());
    let group = GroupId::random();
    let shared: Arc<dyn PersistStore> = store.clone();
    let mut page = TestPage::mount_route(
        Arc::new(livetemplate_core::page::Page::new(
            PATH,
            code1::Ctl,
            code1::Code::default(),
        )),
        shared.clone(),
        group.clone(),
    )
    .await
    .unwrap();
    assert!(page.act("set", json!({"code": "abc"})).await.error().is_none());
    page.close().await;
    let original = store.load(&group, PATH).await.unwrap();

    store.refuse.store(true, Ordering::SeqCst);
    let route = Arc::new(livetemplate_core::page::Page::new(
        PATH,
        code2::Ctl,
        code2::Code::default(),
    ));
    let mut page = TestPage::mount_route(route, shared.clone(), group.clone())
        .await
        .unwrap();
    assert_eq!(page.html(), "<p>0 0</p>");
    // `code` is not written over the unreadable value, and the action that changed it fails
    // rather than showing a value the store does not hold.
    let failed = page.act("set", json!({"code": 42})).await;
    assert_eq!(
        failed.error().as_deref(),
        Some("not saved: the session store could not be read; try again in a moment")
    );
    assert_eq!(page.html(), "<p>0 0</p>");
    let now: HashMap<String, Vec<u8>> = store.load(&group, PATH).await.unwrap().into_iter().collect();
    let before: HashMap<String, Vec<u8>> = original.into_iter().collect();
    assert_eq!(now, before, "nothing written");

    // Once the store takes the copy again, the next action keeps the old value aside and saves.
    store.refuse.store(false, Ordering::SeqCst);
    assert!(page.act("set", json!({"code": 43})).await.error().is_none());
    let now: HashMap<String, Vec<u8>> = store.load(&group, PATH).await.unwrap().into_iter().collect();
    assert_eq!(now["code@quarantine"], before["code"]);
    assert_ne!(now["code"], before["code"]);
    page.close().await;
}
