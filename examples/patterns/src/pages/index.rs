//! `/`: the list of patterns.

use livetemplate::prelude::*;

/// One entry of the index.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// Page path.
    pub path: &'static str,
    /// Title.
    pub title: &'static str,
    /// One line on what it shows.
    pub summary: &'static str,
}

/// The index page.
#[derive(LiveState, Clone, Debug)]
#[lvt(template = "index.html")]
pub struct IndexState {
    /// Shown in the nav bar.
    pub category: String,
    /// The patterns.
    pub patterns: Vec<Pattern>,
}

impl IndexState {
    /// The index of every pattern served.
    pub fn new() -> Self {
        IndexState {
            category: "Index".into(),
            patterns: vec![
                Pattern {
                    path: "/counter",
                    title: "Counter",
                    summary: "increment and decrement; each reply carries only the new number",
                },
                Pattern {
                    path: "/components",
                    title: "Components",
                    summary: "three counter components with their own state and actions; the page's total follows them, the third is saved",
                },
                Pattern {
                    path: "/thermostat",
                    title: "Thermostat",
                    summary: "jfyne/live's thermostat: 19.5 °C, ±0.1",
                },
                Pattern {
                    path: "/reconnection",
                    title: "Reconnection Recovery",
                    summary: "persisted fields survive reloads, disconnects and restarts",
                },
                Pattern {
                    path: "/server-push",
                    title: "Server Push",
                    summary: "a background task ticks the page once a second; it stops when the tab closes",
                },
                Pattern {
                    path: "/broadcasting",
                    title: "Broadcasting",
                    summary: "a chat: a message sent in one tab or browser appears in every other",
                },
                Pattern {
                    path: "/presence",
                    title: "Presence Tracking",
                    summary: "who is on the page now; leaving is automatic when a tab closes",
                },
                Pattern {
                    path: "/chat",
                    title: "Chat (many nodes)",
                    summary: "a room whose messages travel in the publish itself: one room across every node on Redis",
                },
                Pattern {
                    path: "/chat-stream",
                    title: "Chat on a stream",
                    summary: "the chat room on a Stream: each message rendered once, sent, and forgotten by the server",
                },
                Pattern {
                    path: "/streams",
                    title: "Streams",
                    summary: "a feed the server does not keep: prepend, add 1,000 at once, delete one, reset; the browser keeps 5,000",
                },
                Pattern {
                    path: "/url-params",
                    title: "URL params",
                    summary: "lvt-patch links and handle_params: the page shown lives in the URL",
                },
                Pattern {
                    path: "/navigation",
                    title: "Live navigation",
                    summary: "two pages in one layout: lvt-navigate links on one WebSocket, a live title, push_navigate with a flash",
                },
                Pattern {
                    path: "/forms",
                    title: "Forms",
                    summary: "a signup form validated as you type: errors next to the fields you touched, all on submit, the same with JavaScript off",
                },
                Pattern {
                    path: "/uploads",
                    title: "Uploads",
                    summary: "an avatar and documents: progress, limits, drag and drop, and the same forms without JavaScript",
                },
                Pattern {
                    path: "/hook-events",
                    title: "Hook events",
                    summary: "a client hook's pushEvent calls, all applied in order even past the rate",
                },
            ],
        }
    }
}

impl Default for IndexState {
    fn default() -> Self {
        Self::new()
    }
}

/// The index has no actions.
#[derive(Debug)]
pub struct IndexController;

#[actions]
impl IndexController {
    async fn mount(&self, _state: &mut IndexState, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
}
