//! `/navigation` and `/navigation/details`: two pages sharing a layout (a nav bar with
//! `lvt-navigate` links, a notes input and the flash) that stays in the document while the
//! page inside changes on the same connection; a live title showing a count; a
//! `push_navigate` button that puts a flash.

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// The layout of the `/navigation` pages: outside the live region, so its input keeps focus
/// and text across navigation.
pub const LAYOUT: &str = r#"<nav class="top">
  <a href="/"><strong>livetemplate patterns</strong></a>
  <a id="nav-home" lvt-navigate href="/navigation">Navigation</a>
  <a id="nav-details" lvt-navigate href="/navigation/details">Details</a>
  <a id="nav-part" lvt-navigate href="/navigation/details#part-3">Details, part 3</a>
  <label>Notes <input id="notes" name="notes" placeholder="kept across pages"></label>
</nav>
<p id="flash-info" class="flash" lvt-flash="info" title="Click to dismiss"></p>
<p id="flash-error" class="error" lvt-flash="error" title="Click to dismiss"></p>
{live}"#;

/// `/navigation`: a count whose value is the page's title.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "navigation/home.html")]
pub struct NavHome {
    /// The count (saved for the session group, so it is there when the user comes back).
    #[lvt(persist)]
    pub count: i64,
}

/// Actions of `/navigation`.
#[derive(Debug)]
pub struct NavHomeController;

#[actions]
impl NavHomeController {
    async fn mount(&self, state: &mut NavHome, ctx: &mut Context) -> Result<()> {
        ctx.set_title(format!("Count {}", state.count));
        Ok(())
    }

    async fn increment(&self, state: &mut NavHome, ctx: &mut Context) -> Result<()> {
        state.count += 1;
        ctx.set_title(format!("Count {}", state.count));
        Ok(())
    }

    async fn go_details(&self, state: &mut NavHome, ctx: &mut Context) -> Result<()> {
        ctx.put_flash("info", format!("Moved here by push_navigate (count {})", state.count));
        ctx.push_navigate("/navigation/details")
    }
}

/// `/navigation/details`: a long page with parts to scroll to.
#[derive(LiveState, Clone, Debug)]
#[lvt(template = "navigation/details.html")]
pub struct NavDetails {
    /// Its parts.
    pub parts: Vec<u32>,
    /// How many times `ping` ran on this view.
    pub pings: u32,
}

/// Actions of `/navigation/details`.
#[derive(Debug)]
pub struct NavDetailsController;

#[actions]
impl NavDetailsController {
    async fn ping(&self, state: &mut NavDetails, _ctx: &mut Context) -> Result<()> {
        state.pings += 1;
        Ok(())
    }

    async fn warn(&self, _state: &mut NavDetails, ctx: &mut Context) -> Result<()> {
        ctx.put_flash("error", "Something needs a look (an error flash; click it to dismiss)");
        Ok(())
    }

    async fn back_home(&self, _state: &mut NavDetails, ctx: &mut Context) -> Result<()> {
        ctx.put_flash("info", "Back from the details");
        ctx.push_navigate("/navigation")
    }
}

/// Add the two pages, their layout and the details page's title.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.layout("/navigation", LAYOUT)
        .page("/navigation", NavHomeController, NavHome::default())
        .page(
            "/navigation/details",
            NavDetailsController,
            NavDetails {
                parts: (1..=4).collect(),
                pings: 0,
            },
        )
        .page_title("/navigation/details", "Details")
}
