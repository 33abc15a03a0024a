//! # clbchat: the national anonymous desk (CLBch@t)
//!
//! The service the binary `clbchat` runs over the shared assembly
//! ([`clbchat_assembly`]): its pages (the visitor's, the counsellor's, the coordinator's)
//! and its desk (one national desk, from the settings' `[desk]` section and calendar).
//! Everything else (settings, the command line, serving, the graceful stop) is the
//! assembly's, shared with the other services.

use clbchat_assembly::http::Pages;
use clbchat_assembly::service::Service;

/// The pages of the national desk: `/` (visitors), `/counsellor`, `/coordinator`.
pub const PAGES: Pages = Pages {
    pages: &[
        ("/", clbchat_assembly::http::VISITOR_HTML),
        ("/counsellor", clbchat_assembly::http::COUNSELLOR_HTML),
        ("/coordinator", clbchat_assembly::http::COORDINATOR_HTML),
    ],
    assets: &[],
    routes: clbchat_assembly::http::no_routes,
    brand: "CLBch@t",
};

/// The national desk as a service.
pub const SERVICE: Service = Service {
    name: "clbchat",
    about: "clbchat: the anonymous chat desk of the CLBs (CLBch@t).",
    long_about: "clbchat: the anonymous chat desk of the CLBs (CLBch@t).\n\n\
        Without a command it serves: the visitor page at http://127.0.0.1:8080/, the \
        counsellor page at /counsellor, the coordinator page at /coordinator. With no \
        configuration it keeps its data in ./data (SQLite) and prints a one-time link to \
        create the first coordinator.",
    greeting: "(counsellors: /counsellor, coordinators: /coordinator)",
    pages: PAGES,
    desks: clbchat_assembly::app::national_desk,
    defaults: clbchat_assembly::settings::Defaults::CLBCHAT,
};
