//! A small app written from `docs/guide.md` ("Components", "Streams") alone: a page with a
//! list of components rendered in a `for` loop (ids from data, added and removed by page
//! actions), each component holding a `Stream` and embedding a nested component, and inputs
//! that change. After each step the HTML the client rebuilt from the frames is checked against
//! what a user expects to see.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use livetemplate::{App, Server};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Line {
    pub n: u64,
    pub text: String,
}

/// A room: a title from the page, a log kept only in the browser, and a nested badge.
#[derive(LiveState, Clone)]
#[lvt(
    source = r#"<h2>{{ title }}</h2><ul id="log-{{ id }}">{% for m in log %}<li id="{{ m.dom_id }}">{{ m.text }}</li>{% endfor %}</ul>{{ live_component::<BadgeComponent>(badge, posted.clone()) }}<form method="POST"><input type="hidden" name="lvt-target" value="{{ id }}"><input name="text"><button name="post">Post</button><button name="clear">Clear</button></form>"#,
    ext = "html"
)]
pub struct Room {
    pub id: String,
    pub badge: String,
    pub title: String,
    pub log: Stream<Line>,
    pub posted: u64,
}

impl Default for Room {
    fn default() -> Self {
        Room {
            id: String::new(),
            badge: String::new(),
            title: String::new(),
            log: Stream::new(|l: &Line| format!("line-{}", l.n)).limit(-3),
            posted: 0,
        }
    }
}

#[derive(Clone, PartialEq, Debug)]
pub struct RoomInputs {
    pub title: String,
}

pub struct RoomComponent;

#[actions(component)]
impl RoomComponent {
    // DOM ids are unique in the document: each instance's lines carry its id.
    async fn mount(&self, state: &mut Room, ctx: &mut Context) -> Result<()> {
        let id = ctx.component_id().unwrap_or_default().to_string();
        state.log = Stream::new(move |l: &Line| format!("{id}-line-{}", l.n)).limit(-3);
        Ok(())
    }

    async fn update(&self, state: &mut Room, inputs: &RoomInputs, ctx: &mut Context) -> Result<()> {
        state.id = ctx.component_id().unwrap_or_default().to_string();
        state.badge = format!("{}-badge", state.id);
        state.title = inputs.title.clone();
        Ok(())
    }

    async fn post(&self, state: &mut Room, ctx: &mut Context) -> Result<()> {
        state.posted += 1;
        let text = ctx.get_string("text");
        state.log.insert(Line { n: state.posted, text });
        ctx.send_parent("room_posted", json!({"id": state.id}));
        Ok(())
    }

    async fn drop_line(&self, state: &mut Room, ctx: &mut Context) -> Result<()> {
        state
            .log
            .delete_by_dom_id(&format!("{}-line-{}", state.id, ctx.get_int("n")));
        Ok(())
    }

    async fn clear(&self, state: &mut Room, _ctx: &mut Context) -> Result<()> {
        state.log.reset();
        Ok(())
    }
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = r#"<em>{{ n }} posted</em>"#, ext = "html")]
pub struct Badge {
    pub n: u64,
}

pub struct BadgeComponent;

#[actions(component)]
impl BadgeComponent {
    async fn update(&self, state: &mut Badge, inputs: &u64, _ctx: &mut Context) -> Result<()> {
        state.n = *inputs;
        Ok(())
    }
}

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = r#"<p>{{ posts }} posts in {{ rooms.len() }} rooms</p><form method="POST"><input name="id"><button name="add_room">Add</button><button name="remove_room">Remove</button><input name="suffix" value="{{ suffix }}"><button name="rename">Rename</button></form>{% for id in rooms %}{{ live_component::<RoomComponent>(id, self.inputs_for(id)) }}{% endfor %}"#,
    ext = "html"
)]
pub struct Lobby {
    pub rooms: Vec<String>,
    pub suffix: String,
    pub posts: u64,
}

impl Lobby {
    pub fn inputs_for(&self, id: &str) -> RoomInputs {
        RoomInputs {
            title: format!("{id}{}", self.suffix),
        }
    }
}

pub struct LobbyController;

#[actions]
impl LobbyController {
    async fn add_room(&self, state: &mut Lobby, ctx: &mut Context) -> Result<()> {
        let id = ctx.get_string("id");
        if ctx.get_string("front") == "1" {
            state.rooms.insert(0, id);
        } else {
            state.rooms.push(id);
        }
        Ok(())
    }

    async fn remove_room(&self, state: &mut Lobby, ctx: &mut Context) -> Result<()> {
        let id = ctx.get_string("id");
        state.rooms.retain(|r| *r != id);
        Ok(())
    }

    async fn rename(&self, state: &mut Lobby, ctx: &mut Context) -> Result<()> {
        state.suffix = ctx.get_string("suffix");
        Ok(())
    }

    async fn room_posted(&self, state: &mut Lobby, _ctx: &mut Context) -> Result<()> {
        state.posts += 1;
        Ok(())
    }
}

fn room(id: &str, title: &str, lines: &[(u64, &str)], posted: u64) -> String {
    let items: String = lines
        .iter()
        .map(|(n, t)| format!(r#"<li id="{id}-line-{n}">{t}</li>"#))
        .collect();
    format!(
        r#"<div lvt-component="{id}"><h2>{title}</h2><ul id="log-{id}">{items}</ul><div lvt-component="{id}-badge"><em>{posted} posted</em></div><form method="POST"><input type="hidden" name="lvt-target" value="{id}"><input name="text"><button name="post">Post</button><button name="clear">Clear</button></form></div>"#
    )
}

fn lobby(posts: u64, suffix: &str, rooms: &[String]) -> String {
    format!(
        r#"<p>{posts} posts in {} rooms</p><form method="POST"><input name="id"><button name="add_room">Add</button><button name="remove_room">Remove</button><input name="suffix" value="{suffix}"><button name="rename">Rename</button></form>{}"#,
        rooms.len(),
        rooms.concat()
    )
}

fn ok(frame: &livetemplate::testing::Frame) {
    assert!(
        frame.error().is_none(),
        "unexpected error: {:?} in {}",
        frame.error(),
        frame.text()
    );
}

#[tokio::test]
async fn a_lobby_of_rooms_with_streams_and_badges() {
    let start = Lobby {
        rooms: vec!["a".into()],
        ..Lobby::default()
    };
    let mut page = TestPage::mount(LobbyController, start).await.unwrap();
    assert_eq!(page.html(), lobby(0, "", &[room("a", "a", &[], 0)]));

    // Add a room: a new instance with an empty log.
    ok(&page.act("add_room", json!({"id": "b"})).await);
    assert_eq!(
        page.html(),
        lobby(0, "", &[room("a", "a", &[], 0), room("b", "b", &[], 0)])
    );

    // Post in b: b's log grows, b's badge counts, the page's total follows; a is untouched.
    ok(&page.component("b").act("post", json!({"text": "hi"})).await);
    assert_eq!(
        page.html(),
        lobby(1, "", &[room("a", "a", &[], 0), room("b", "b", &[(1, "hi")], 1)])
    );
    ok(&page.component("a").act("post", json!({"text": "yo"})).await);
    ok(&page.component("b").act("post", json!({"text": "there"})).await);
    assert_eq!(
        page.html(),
        lobby(
            3,
            "",
            &[
                room("a", "a", &[(1, "yo")], 1),
                room("b", "b", &[(1, "hi"), (2, "there")], 2)
            ]
        )
    );

    // A post the page does not hear of is still a component-only reply: no "d".
    let reply = page.component("a").act("drop_line", json!({"n": "1"})).await;
    ok(&reply);
    assert!(
        reply.json().get("d").is_none(),
        "component-only reply: {}",
        reply.text()
    );
    assert_eq!(
        page.html(),
        lobby(
            3,
            "",
            &[room("a", "a", &[], 1), room("b", "b", &[(1, "hi"), (2, "there")], 2)]
        )
    );

    // Inputs change: every room's title follows, logs and badges stay.
    ok(&page.act("rename", json!({"suffix": "!"})).await);
    assert_eq!(
        page.html(),
        lobby(
            3,
            "!",
            &[room("a", "a!", &[], 1), room("b", "b!", &[(1, "hi"), (2, "there")], 2)]
        )
    );

    // The limit keeps the last 3 lines in the browser.
    for t in ["3", "4"] {
        ok(&page.component("b").act("post", json!({"text": t})).await);
    }
    assert_eq!(
        page.html(),
        lobby(
            5,
            "!",
            &[
                room("a", "a!", &[], 1),
                room("b", "b!", &[(2, "there"), (3, "3"), (4, "4")], 4)
            ]
        )
    );

    // A room added in front of others: the existing instances keep their state.
    ok(&page.act("add_room", json!({"id": "c", "front": "1"})).await);
    ok(&page.component("c").act("post", json!({"text": "c1"})).await);
    assert_eq!(
        page.html(),
        lobby(
            6,
            "!",
            &[
                room("c", "c!", &[(1, "c1")], 1),
                room("a", "a!", &[], 1),
                room("b", "b!", &[(2, "there"), (3, "3"), (4, "4")], 4),
            ]
        )
    );

    // Remove the middle room: its instance goes; the others stay as they were.
    ok(&page.act("remove_room", json!({"id": "b"})).await);
    assert_eq!(
        page.html(),
        lobby(6, "!", &[room("c", "c!", &[(1, "c1")], 1), room("a", "a!", &[], 1)])
    );
    let gone = page.component("b").act("post", json!({"text": "x"})).await;
    assert!(
        gone.error().is_some(),
        "a removed instance takes no action: {}",
        gone.text()
    );

    // Re-adding b makes a fresh instance (its log was never kept on the server).
    ok(&page.act("add_room", json!({"id": "b"})).await);
    assert_eq!(
        page.html(),
        lobby(
            6,
            "!",
            &[
                room("c", "c!", &[(1, "c1")], 1),
                room("a", "a!", &[], 1),
                room("b", "b!", &[], 0)
            ]
        )
    );

    // Reset empties one room's log only.
    ok(&page.component("c").act("clear", Value::Null).await);
    ok(&page.component("a").act("post", json!({"text": "after"})).await);
    assert_eq!(
        page.html(),
        lobby(
            7,
            "!",
            &[
                room("c", "c!", &[], 1),
                room("a", "a!", &[(2, "after")], 2),
                room("b", "b!", &[], 0)
            ]
        )
    );
}

/// One HTTP/1.1 exchange on a blocking socket: status, head, body.
async fn http(addr: SocketAddr, head: String, body: String) -> (u16, String, String) {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n");
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        stream.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_string(), body.to_string())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_same_lobby_without_javascript() {
    let start = Lobby {
        rooms: vec!["a".into(), "b".into()],
        ..Lobby::default()
    };
    let app = App::builder().page("/lobby", LobbyController, start).build().unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let (status, head, html) = http(addr, "GET /lobby HTTP/1.1".into(), String::new()).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&lobby(0, "", &[room("a", "a", &[], 0), room("b", "b", &[], 0)])),
        "{html}"
    );
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let post = |body: &str| {
        let head = format!("POST /lobby HTTP/1.1\r\nCookie: {cookie}");
        http(addr, head, body.to_string())
    };
    let get = || http(addr, format!("GET /lobby HTTP/1.1\r\nCookie: {cookie}"), String::new());

    // A room's form: its hidden lvt-target names the instance, the button its action.
    assert_eq!(post("lvt-target=b&text=hi&post=").await.0, 303);
    let html = get().await.2;
    assert!(
        html.contains(&lobby(
            1,
            "",
            &[room("a", "a", &[], 0), room("b", "b", &[(1, "hi")], 1)]
        )),
        "{html}"
    );
    // Page actions: add a room in front, rename; the rooms keep their state.
    assert_eq!(post("id=c&front=1&add_room=").await.0, 303);
    assert_eq!(post("suffix=%3F&rename=").await.0, 303);
    assert_eq!(post("lvt-target=b&text=ho&post=").await.0, 303);
    let html = get().await.2;
    assert!(
        html.contains(&lobby(
            2,
            "?",
            &[
                room("c", "c?", &[], 0),
                room("a", "a?", &[], 0),
                room("b", "b?", &[(1, "hi"), (2, "ho")], 2)
            ]
        )),
        "{html}"
    );
    // Remove a room: a post to it is then an error, the others stay.
    assert_eq!(post("id=a&remove_room=").await.0, 303);
    let html = get().await.2;
    assert!(
        html.contains(&lobby(
            2,
            "?",
            &[room("c", "c?", &[], 0), room("b", "b?", &[(1, "hi"), (2, "ho")], 2)]
        )),
        "{html}"
    );
}
