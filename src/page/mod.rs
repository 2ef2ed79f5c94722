//! Saved pages: what an HTML or CSS document references, and the same
//! document rewritten so that it points at local copies. Pure: bytes and
//! URLs in, bytes and paths out; no I/O, no sockets. `fetch --page` and
//! `fetch -r` (in `client::crawl`) drive it through [`Documents`].
//!
//! The rewriter changes only the bytes of the URLs it rewrites; every other
//! byte of a page is kept as it came, whatever its encoding.

mod charset;
mod contract;
mod css;
mod documents;
#[cfg(test)]
mod documents_tests;
mod edit;
mod entities;
mod html;
mod layout;
mod reference;
mod srcset;

pub use contract::{Documents, Found, Kind, Ref};
pub use documents::PageDocuments;
