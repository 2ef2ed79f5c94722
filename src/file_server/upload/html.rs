//! The listing page's upload form, shown under `--upload`: a plain
//! `multipart/form-data` form posting to the folder itself (several files;
//! it works without scripts), and a small inline script that adds drag and
//! drop onto the page by filling the same file input and submitting the
//! form. Pure text; `handle` puts it into the listing.

/// The form and its script, placed before `</body>`.
pub const FORM: &str = concat!(
    "<form id=\"upload\" method=\"post\" enctype=\"multipart/form-data\" action=\"\">\n",
    "<p class=\"sum\"><label>Upload files <input type=\"file\" name=\"file\" multiple ",
    "required></label> <button type=\"submit\">Upload</button> ",
    "<span id=\"drop\" hidden>or drop files on this page</span></p>\n</form>\n",
    "<script>(function(){var f=document.getElementById('upload'),",
    "i=f.querySelector('input[type=file]');document.getElementById('drop').hidden=false;",
    "document.addEventListener('dragover',function(e){e.preventDefault();});",
    "document.addEventListener('drop',function(e){e.preventDefault();",
    "if(!e.dataTransfer||!e.dataTransfer.files.length)return;",
    "i.files=e.dataTransfer.files;f.submit();});})();</script>\n"
);

/// `page` (an HTML listing) with [`FORM`] before its `</body>` when `on`.
pub fn with_form(mut page: Vec<u8>, on: bool) -> Vec<u8> {
    let end = b"</body>";
    if !on {
        return page;
    }
    if let Some(at) = page.windows(end.len()).rposition(|w| w == end) {
        page.splice(at..at, FORM.bytes());
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_goes_before_the_end_of_the_body() {
        let page = b"<html><body><table></table></body></html>".to_vec();
        assert_eq!(with_form(page.clone(), false), page);
        let page = with_form(page, true);
        let text = String::from_utf8(page).unwrap();
        assert!(text.starts_with("<html><body><table></table><form id=\"upload\""));
        assert!(text.ends_with("</script>\n</body></html>"));
        assert!(text.contains("enctype=\"multipart/form-data\""));
        assert!(text.contains(" multiple "));
    }
}
