//! `/url-params`: state kept in the URL. `lvt-patch` links page through a list without a page
//! load, back and forward work, a reload or a shared link shows the same page, and an action
//! can move the URL too (`ctx.push_patch`). The page's `handle_params` sets the state from the
//! URL every time.

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// Items per page.
const PER_PAGE: usize = 5;

/// The list and the page shown.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "url_params.html")]
pub struct UrlParamsState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// Every item.
    pub items: Vec<String>,
    /// The page shown (1-based), from `?page=`.
    pub page: usize,
    /// Number of pages.
    pub pages: usize,
}

impl UrlParamsState {
    /// The items of the page shown.
    pub fn shown(&self) -> &[String] {
        let start = (self.page - 1) * PER_PAGE;
        &self.items[start.min(self.items.len())..(start + PER_PAGE).min(self.items.len())]
    }
}

/// URL-params actions.
#[derive(Debug)]
pub struct UrlParamsController;

#[actions]
impl UrlParamsController {
    /// The page from the URL: after mount (GET, connect, reload) and on every patch.
    async fn handle_params(&self, state: &mut UrlParamsState, ctx: &mut Context) -> Result<()> {
        let page = ctx.param("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1);
        state.page = page.clamp(1, state.pages.max(1));
        Ok(())
    }

    /// Jump to the last page: the action moves the URL; `handle_params` follows it.
    async fn last_page(&self, state: &mut UrlParamsState, ctx: &mut Context) -> Result<()> {
        ctx.push_patch(format!("?page={}", state.pages))
    }
}

/// Add `/url-params`.
pub fn register(b: AppBuilder) -> AppBuilder {
    let items: Vec<String> = (1..=23).map(|i| format!("Item {i}")).collect();
    let pages = items.len().div_ceil(PER_PAGE);
    b.page(
        "/url-params",
        UrlParamsController,
        UrlParamsState {
            title: "URL params".into(),
            category: "Navigation".into(),
            items,
            page: 1,
            pages,
        },
    )
}
