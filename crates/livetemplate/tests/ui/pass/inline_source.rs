use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = "<p>{{ greeting }}, {{ name }}!</p>{% if admin %}<b>admin</b>{% else %}<i>guest</i>{% endif %}",
    ext = "html"
)]
pub struct Hello {
    pub greeting: &'static str,
    pub name: String,
    pub admin: bool,
}

fn main() {
    assert!(<Hello as LiveState>::persisted_fields().is_empty());
    let state = Hello {
        greeting: "Hi",
        name: "<Ann>".into(),
        admin: true,
    };
    let html = state.render_html().unwrap();
    assert_eq!(html, "<p>Hi, &#60;Ann&#62;!</p><b>admin</b>");
    assert_eq!(state.render_tree().unwrap().to_html(), html);
}
