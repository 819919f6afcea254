use livetemplate::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Todo {
    pub id: u32,
    pub text: String,
    pub done: bool,
}

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_todos.html")]
pub struct Todos {
    pub title: String,
    #[lvt(persist)]
    pub items: Vec<Todo>,
    #[lvt(persist)]
    pub next_id: u32,
    pub draft: String,
}

fn main() {
    assert_eq!(
        <Todos as LiveState>::persisted_fields(),
        &["items", "next_id"]
    );

    let state = Todos {
        title: "Mine <3".into(),
        items: vec![
            Todo {
                id: 1,
                text: "milk".into(),
                done: true,
            },
            Todo {
                id: 2,
                text: "eggs".into(),
                done: false,
            },
        ],
        next_id: 3,
        draft: "typing".into(),
    };
    let html = state.render_html().unwrap();
    assert!(html.contains("<h1>Mine &#60;3</h1>"), "{html}");
    assert!(
        html.contains(r#"<li data-key="1" class="done">milk</li>"#),
        "{html}"
    );
    // The live tree stands for exactly the HTML askama renders.
    assert_eq!(state.render_tree().unwrap().to_html(), html);
    assert_eq!(
        Todos::default().render_tree().unwrap().to_html(),
        Todos::default().render_html().unwrap()
    );

    // Persisted fields round-trip; unpersisted ones are not encoded.
    let mut restored = Todos::default();
    for name in <Todos as LiveState>::persisted_fields() {
        let bytes = state.encode_field(name).unwrap().unwrap();
        restored.decode_field(name, &bytes).unwrap();
    }
    assert_eq!(restored.items, state.items);
    assert_eq!(restored.next_id, 3);
    assert!(state.encode_field("draft").is_none());
    assert!(restored.decode_field("draft", b"").is_err());
}
