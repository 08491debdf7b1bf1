"""The page shell shared by every worked-solution page: one HTML5 document with its style and script
inline, a Content-Security-Policy that forbids any request, the picture on top and the derivation below.

    html = page(title, picture_html, derivation_html)

The derivation's lines are ``<tr class="line" data-qid=… data-items="q₁ q₂ …" data-phase=…>``
(``render_html`` with a ``links`` function); the picture's parts carry ``data-qid``. The script lights
the parts a line names, the lines that name a part, and steps through the lines in order.
"""

from html import escape
from importlib.resources import files

# nothing may be fetched: no script, style, font or image from anywhere but the page itself
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def asset(name: str) -> str:
    return files("chainrule.explain.web").joinpath(name).read_text(encoding="utf-8")


def page(title: str, picture: str, derivation: str, intro: str = "") -> str:
    """The whole page. ``picture``: inline SVG or HTML; ``derivation``: ``render_html``'s fragment."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>\n{asset('page.css')}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{intro}"
        f'<figure id="picture">\n{picture}\n'
        '<nav id="steps"><button type="button" id="prev">◀ step back</button>'
        '<button type="button" id="next">step ▶</button>'
        '<button type="button" id="reset">reset</button><span id="where"></span></nav>\n</figure>\n'
        f'<main id="derivation">\n{derivation}</main>\n'
        f"<script>\n{asset('page.js')}</script>\n</body>\n</html>\n"
    )
