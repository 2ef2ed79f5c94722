//! robots.txt, the part a crawler must honour: the `User-agent: *` group
//! (or a group naming wirecat), its `Disallow:` and `Allow:` prefixes, the
//! longest match winning and Allow winning a tie (RFC 9309). Pure.

/// The rules that apply to wirecat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Robots {
    /// (allow, path prefix)
    rules: Vec<(bool, String)>,
}

impl Robots {
    /// Everything allowed: no robots.txt, or `--no-robots`.
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    pub fn parse(text: &str) -> Robots {
        let mut star = Vec::new();
        let mut ours = Vec::new();
        let (mut applies_star, mut applies_ours) = (false, false);
        // Consecutive User-agent lines open one group; a rule line ends
        // the group's list of agents.
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        (applies_star, applies_ours) = (false, false);
                    }
                    in_agents = true;
                    let agent = value.to_ascii_lowercase();
                    applies_star |= agent == "*";
                    applies_ours |= agent.starts_with("wirecat");
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if value.is_empty() {
                        continue;
                    }
                    let rule = (key == "allow", value.to_string());
                    if applies_ours {
                        ours.push(rule.clone());
                    }
                    if applies_star {
                        star.push(rule);
                    }
                }
                _ => in_agents = false,
            }
        }
        Robots {
            rules: if ours.is_empty() { star } else { ours },
        }
    }

    /// May `path` (with its query) be fetched?
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, prefix) in &self.rules {
            if matches(prefix, path) {
                let len = prefix.len();
                match best {
                    Some((l, a)) if l > len || (l == len && a) => {}
                    _ => best = Some((len, *allow)),
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// A robots.txt path pattern: a prefix, with `*` for any run of bytes and
/// a final `$` anchoring the end.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if last && anchored {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    !anchored || rest.is_empty() || (parts.is_empty() && rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_rules() {
        let text = "# comment\nUser-agent: googlebot\nDisallow: /\n\n\
                    User-agent: *\nDisallow: /private/\nAllow: /private/open\n\
                    Disallow: /*.cgi$\nDisallow:\n";
        let robots = Robots::parse(text);
        // (path, allowed)
        let cases = [
            ("/", true),
            ("/index.html", true),
            ("/private/", false),
            ("/private/x.html", false),
            ("/private/open.html", true),
            ("/run.cgi", false),
            ("/run.cgi?x=1", true),
            ("/privatex", true),
        ];
        for (path, want) in cases {
            assert_eq!(robots.allows(path), want, "{path}");
        }
    }

    #[test]
    fn a_group_for_wirecat_wins_and_shared_agents_share_rules() {
        let robots =
            Robots::parse("User-agent: *\nDisallow: /a\n\nUser-agent: wirecat\nDisallow: /b\n");
        assert!(robots.allows("/a"));
        assert!(!robots.allows("/b"));
        let shared = Robots::parse("User-agent: x\nUser-agent: *\nDisallow: /c\n");
        assert!(!shared.allows("/c/d"));
        let other = Robots::parse("User-agent: x\nDisallow: /\n");
        assert!(other.allows("/anything"));
        assert!(Robots::parse("").allows("/"));
        assert!(Robots::parse("<html>not found</html>").allows("/"));
    }

    #[test]
    fn patterns() {
        let cases = [
            ("/a", "/a/b", true),
            ("/a*z", "/a/b/z/q", true),
            ("/a*z$", "/a/b/z/q", false),
            ("/a*z$", "/a/b/z", true),
            ("/a$", "/a", true),
            ("/a$", "/ab", false),
            ("/b", "/a", false),
        ];
        for (p, path, want) in cases {
            assert_eq!(matches(p, path), want, "{p} {path}");
        }
    }
}
