//! # clbchat-tests
//!
//! End-to-end tests across the crates. `browser/` drives the reference server's pages in a
//! real headless Chromium (Debian's `chromium` and `chromium-driver`) with `fantoccini`:
//! a whole chat between a visitor and a counsellor, the closed desk, the quick exit,
//! keyboard use, the setup and coordinator pages, each checked with axe-core and
//! photographed into `test-artifacts/screenshots/`. The engine's own tests live in
//! `core/tests`, the transport's in `transport-ws/tests`, the server's in `examples/clbchat/tests`.
