//! The contract between the page codec and the crawl: [`Kind`], [`Ref`],
//! [`Found`] and the [`Documents`] trait. A leaf file, so the codec's files
//! can use these types without importing their own `mod.rs`.

use std::path::PathBuf;

use url::Url;

/// What a reference is for, which decides whether it is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Needed to display the document: stylesheets, `@import`, `url()`,
    /// images (`src`, `srcset`), scripts, icons, manifests, fonts, media,
    /// `<object data>`, `<embed src>`. Fetched with `--page`, on any host.
    Requisite,
    /// A document shown inside this one (`<iframe>`, `<frame>`): saved as a
    /// page itself with `--page`, up to a depth cap.
    Frame,
    /// A link to another page (`<a href>`, `<area href>`): followed only by
    /// `-r`, within its scope.
    Link,
    /// A link marked `rel=nofollow`: never followed, but still rewritten.
    NoFollow,
}

/// One reference, resolved against the document's base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub url: Url,
    pub kind: Kind,
}

/// What a document references.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    pub refs: Vec<Ref>,
    /// `<meta name=robots content=nofollow>`: follow none of its links.
    pub nofollow: bool,
}

/// The page knowledge a crawl needs, as one interface, so the crawl can be
/// tested with a stand-in and the real parser can be tested without one.
pub trait Documents {
    /// The references of a response body, or an empty [`Found`] when the
    /// content type is neither HTML nor CSS. `url` is where the body came
    /// from (after redirects); `<base href>` is honoured inside.
    fn references(&self, url: &Url, content_type: Option<&str>, body: &[u8]) -> Found;

    /// The body with every reference rewritten: `map` gives the new text for
    /// a URL that was saved (a relative path from this file), and `None`
    /// for one that was not, which is then written as an absolute URL.
    /// `data:`, `javascript:`, `mailto:`, `about:` and fragment-only
    /// references are left alone; a fragment survives the rewrite. `None`
    /// when the content type is neither HTML nor CSS (nothing to rewrite).
    fn rewrite(
        &self,
        url: &Url,
        content_type: Option<&str>,
        body: &[u8],
        map: &mut dyn FnMut(&Url) -> Option<String>,
    ) -> Option<Vec<u8>>;

    /// Where a URL is saved, relative to the output folder, wget's way:
    /// `HOST[_PORT]/PATH`, `index.html` for a path ending in `/`, the query
    /// folded into a safe file name, unsafe names made safe, and `.html` or
    /// `.css` added when the content type says so and the name does not.
    fn local_path(&self, url: &Url, content_type: Option<&str>) -> PathBuf;

    /// The reference text that leads from the saved file `from` to the saved
    /// file `to` (both relative to the output folder), percent-encoded so
    /// that it works from `file://`.
    fn relative_link(&self, from: &std::path::Path, to: &std::path::Path) -> String;
}
