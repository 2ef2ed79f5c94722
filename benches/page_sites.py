#!/usr/bin/env python3
"""The two generated sites of benches/page.sh (run by hand, not a test).

  page_sites.py page ROOT BASE0 BASE1 BASE2
      ROOT/h0, ROOT/h1, ROOT/h2: the roots of three "hosts" (three nginx
      ports, each reached through its own delay-proxy port BASEn, e.g.
      http://127.0.0.1:40001). ROOT/h0/index.html is a front page with 150
      requisites, 50 on each host: per host 2 stylesheets (aN.css, linked
      from the page, @imports bN.css), 12 images referenced by url() in them,
      2 fonts (@font-face in b.css), 6 scripts and 28 <img> images. The
      page's own host is referenced by relative and root-relative paths, the
      other two by absolute URLs. Prints the number of requisites. File
      names differ across hosts, because wget2 saves every 127.0.0.1 port
      into one folder and same-named files would overwrite each other.

  page_sites.py mirror ROOT PAGES
      ROOT/site/: PAGES pages (index.html and p/NNNN.html), each with 4
      requisites: the site-wide css/site.css and js/site.js and its own
      img/NNNN.png and img/NNNN.jpg. Pages link to home, previous, next and
      their children in a 12-ary tree, so every page is within depth 4 of
      index.html (wget's and wirecat's default depth is 5, and the images of
      the deepest pages sit at depth 5). index.html also links one page
      outside site/ (ROOT/outside.html), which -np must not fetch. Also a
      permissive ROOT/robots.txt. Prints the number of files a crawl should
      save: pages + requisites.

Bodies are pseudo-random bytes from a fixed seed, so every run and every
tool sees the same site.
"""

import itertools
import os
import random
import sys

RNG = random.Random(12)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def blob(lo, hi):
    return RNG.randbytes(RNG.randint(lo, hi))


def script(name):
    # Real text, as a script would be, of a realistic size.
    body = "".join(f"  var v{i} = {RNG.randint(0, 10**9)}; // {name}\n" for i in range(RNG.randint(150, 600)))
    return f"(function () {{\n{body}}})();\n"


def page_host(root, host, base, own):
    """Writes host `host`'s 50 requisites; returns the HTML that references them."""
    d = os.path.join(root, f"h{host}")
    a_images = [f"img/bg{host}-{i}.png" for i in range(8)]
    b_images = [f"img/deco{host}-{i}.gif" for i in range(4)]
    fonts = [f"fonts/f{host}-{i}.woff2" for i in range(2)]
    # url() spelt with and without quotes, relative to the stylesheet.
    a_css = f'@import "b{host}.css";\n' + "".join(
        f".bg{i} {{ background: url({'../' + p if i % 2 else repr('../' + p)}) no-repeat; }}\n"
        for i, p in enumerate(a_images)
    )
    b_css = "".join(
        f"@font-face {{ font-family: F{i}; src: url(\"../{p}\") format('woff2'); }}\n" for i, p in enumerate(fonts)
    ) + "".join(f".deco{i} {{ border-image: url(../{p}) 30; }}\n" for i, p in enumerate(b_images))
    write(os.path.join(d, f"css/a{host}.css"), a_css)
    write(os.path.join(d, f"css/b{host}.css"), b_css)
    for p in a_images + b_images:
        write(os.path.join(d, p), blob(500, 6000))
    for p in fonts:
        write(os.path.join(d, p), blob(15000, 40000))
    scripts = [f"js/s{host}-{i}.js" for i in range(6)]
    for p in scripts:
        write(os.path.join(d, p), script(p))
    images = [f"{'photos' if i % 3 else 'thumbs'}/i{host}-{i}.{'jpg' if i % 2 else 'png'}" for i in range(28)]
    for p in images:
        write(os.path.join(d, p), blob(2000, 40000) if "photos" in p else blob(500, 4000))
    if own:
        # Half root-relative, half relative, as a real front page mixes them.
        turn = itertools.count()

        def ref(p):
            return ("/" if next(turn) % 2 else "") + p
    else:

        def ref(p):
            return base + "/" + p

    html = [f'<link rel="stylesheet" href="{ref(f"css/a{host}.css")}">']
    html += [f'<script src="{ref(p)}"></script>' for p in scripts]
    body = [f'<div class="story"><img src="{ref(p)}" alt="story {n}" width="120"><p>Story {n} on host {host}.</p></div>'
            for n, p in enumerate(images)]
    return html, body, 2 + len(a_images) + len(b_images) + len(fonts) + len(scripts) + len(images)


def page(root, bases):
    head, body, count = [], [], 0
    for host, base in enumerate(bases):
        h, b, n = page_host(root, host, base, own=(host == 0))
        head += h
        body += b
        count += n
    links = "".join(f'<li><a href="/news/{i}.html">Headline {i}</a></li>' for i in range(40))
    html = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Front page</title>\n"
        + "\n".join(head)
        + "\n</head><body>\n<h1>Front page</h1>\n<ul>" + links + "</ul>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    write(os.path.join(root, "h0/index.html"), html)
    for host in range(len(bases)):
        write(os.path.join(root, f"h{host}/robots.txt"), "User-agent: *\nDisallow:\n")
    print(count)


def mirror(root, pages):
    site = os.path.join(root, "site")
    write(os.path.join(site, "css/site.css"), "body { font: 16px serif; }\n" * 40)
    write(os.path.join(site, "js/site.js"), script("site.js"))
    write(os.path.join(root, "robots.txt"), "User-agent: *\nDisallow:\n")
    write(os.path.join(root, "outside.html"), "<p>outside the mirrored folder</p>\n")

    def href(i, here):
        # From index.html (in site/) or from a page in site/p/.
        name = "index.html" if i == 0 else f"p/{i:04}.html"
        return name if here == 0 else ("../index.html" if i == 0 else f"{i:04}.html")

    for i in range(pages):
        up = "" if i == 0 else "../"
        children = [c for c in range(12 * i + 1, 12 * i + 13) if c < pages]
        near = [j for j in (0, i - 1, i + 1) if 0 <= j < pages and j != i]
        links = "".join(f'<li><a href="{href(j, i)}">Page {j}</a></li>' for j in near + children)
        if i == 0:
            links += '<li><a href="../outside.html">Outside</a></li>'
        text = "".join(f"<p>Paragraph {k} of page {i}: {RNG.randint(0, 10**12)}.</p>\n" for k in range(RNG.randint(5, 30)))
        html = (
            f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Page {i}</title>\n"
            f'<link rel="stylesheet" href="{up}css/site.css"><script src="{up}js/site.js"></script>\n'
            f"</head><body><h1>Page {i}</h1>\n"
            f'<img src="{up}img/{i:04}.png" alt="figure"><img src="{up}img/{i:04}.jpg" alt="photo">\n'
            f"{text}<ul>{links}</ul></body></html>\n"
        )
        write(os.path.join(site, "index.html" if i == 0 else f"p/{i:04}.html"), html)
        write(os.path.join(site, f"img/{i:04}.png"), blob(500, 4000))
        write(os.path.join(site, f"img/{i:04}.jpg"), blob(3000, 20000))
    print(pages + 2 + 2 * pages)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "page":
        page(sys.argv[2], sys.argv[3:6])
    elif len(sys.argv) == 4 and sys.argv[1] == "mirror":
        mirror(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
