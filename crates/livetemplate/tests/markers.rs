//! Long runs of markers with no text between them (deep nesting, empty branches and loops)
//! overflow the marker queue's 16 slots; the sink must still apply them in order.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::json;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<b>{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{{ n }}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}</b>{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% if on %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% for i in items %}{% for j in items %}{% if on %}{% for k in items %}{{ k }}{% endfor %}{% endif %}{% endfor %}{% endfor %}"#,
    ext = "html"
)]
pub struct Deep {
    pub on: bool,
    pub n: i64,
    pub items: Vec<i64>,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn set(&self, s: &mut Deep, ctx: &mut Context) -> Result<()> {
        s.on = ctx.get_bool("on");
        s.n = ctx.get_int("n");
        s.items = (0..ctx.get_int("len")).collect();
        Ok(())
    }
}

#[tokio::test]
async fn deep_nesting_and_empty_runs_round_trip() {
    let mut page = TestPage::mount(Ctrl, Deep::default()).await.unwrap();
    assert_eq!(page.html(), Deep::default().render_html().unwrap());
    for (on, n, len) in [
        (true, 1, 0),
        (true, 2, 2),
        (false, 3, 3),
        (true, 4, 1),
        (true, 4, 0),
        (false, 0, 0),
    ] {
        let f = page.act("set", json!({"on": on, "n": n, "len": len})).await;
        assert!(f.error().is_none(), "{}", f.text());
        let want = Deep {
            on,
            n,
            items: (0..len).collect(),
        }
        .render_html()
        .unwrap();
        assert_eq!(page.html(), want, "on={on} n={n} len={len}");
    }
}
