//! The inbox, an MCP App (the `io.modelcontextprotocol/ui` extension, revision 2026-01-26): a
//! `ui://hookd/inbox` resource of self-contained HTML that a host able to render MCP Apps draws
//! beside the result of the read tools that name it in `_meta.ui.resourceUri`. It lists the events
//! the tool returned, opens one (through `get_event_by_id`), follows new ones while open (through
//! `wait_for_event`) and replays to a URL (through `replay_event`, which a read-only token cannot
//! call): every call goes through the host, so the app needs no network of its own and declares
//! none in its CSP. Hosts without the extension ignore the `_meta` and read the tools' results as
//! before.
//!
//! Its script and style are the dashboard's rendering code (`render.js`, `render.css`) followed
//! by its own, all embedded in the binary: no build step, no external origin.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{MetaObject, Resource, ResourceContents};
use serde_json::json;

use super::Hookd;

pub const URI: &str = "ui://hookd/inbox";
/// The MIME type of an MCP App's HTML.
pub const MIME: &str = "text/html;profile=mcp-app";

/// The tools whose results the inbox renders.
pub const TOOLS: &[&str] = &[
    "get_recent_events",
    "search_events",
    "get_events_since",
    "get_event_by_id",
];

/// The app's document: one page, its scripts and styles inline.
pub const HTML: &str = concat!(
    include_str!("inbox/head.html"),
    "<style>\n",
    include_str!("../dashboard/assets/render.css"),
    include_str!("inbox/inbox.css"),
    "</style>\n</head>\n",
    include_str!("inbox/body.html"),
    "<script>\n",
    include_str!("../dashboard/assets/render.js"),
    include_str!("inbox/inbox.js"),
    "</script>\n</body>\n</html>\n",
);

/// What the host is asked for: no network, no external resources, no frames; a border.
fn ui_meta() -> MetaObject {
    let ui = json!({
        "csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": []},
        "prefersBorder": true,
    });
    MetaObject(serde_json::Map::from_iter([("ui".to_owned(), ui)]))
}

/// The inbox as `resources/list` shows it.
pub fn listed() -> Resource {
    Resource::new(URI, "inbox")
        .with_title("hookd inbox")
        .with_description(
            "An interactive list of webhook events (an MCP App): open one, follow new ones, replay",
        )
        .with_mime_type(MIME)
        .with_meta(ui_meta())
}

/// The inbox as `resources/read` gives it.
pub fn contents() -> ResourceContents {
    ResourceContents::text(HTML, URI)
        .with_mime_type(MIME)
        .with_meta(ui_meta())
}

/// Names the inbox in the `_meta.ui.resourceUri` of each of [`TOOLS`] the router has.
pub fn link(router: &mut ToolRouter<Hookd>) {
    for name in TOOLS {
        if let Some(route) = router.map.get_mut(*name) {
            let meta = route.attr.meta.get_or_insert_with(Default::default);
            meta.0.insert("ui".to_owned(), json!({"resourceUri": URI}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HTML;

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_its_scripts_stay_whole() {
        for outside in [
            "src=",
            "href=\"http",
            "@import",
            "url(http",
            "fetch(",
            "XMLHttpRequest",
        ] {
            assert!(!HTML.contains(outside), "the inbox uses {outside}");
        }
        // One script element, so nothing in the code closes it early.
        assert_eq!(HTML.matches("<script").count(), 1);
        assert_eq!(HTML.matches("</script").count(), 1);
    }
}
