"""Each inline script once per page.

Sphinx 7.4 adds a JavaScript asset registered after the builder started (as
sphinx-thebe and sphinx-togglebutton do for their inline configuration
scripts) twice: once when it is registered, with filename None, and again
from the registry before writing, with filename '' (sphinx/builders/html/
__init__.py, prepare_writing).  The two compare unequal, so every page got
`const THEBE_JS_URL = ...` twice, and the second copy threw "Identifier
'THEBE_JS_URL' has already been declared".  This drops the second copy of any
script with the same source, body, priority and attributes.

Loaded as a Sphinx extension by _config.yml; tests/test_rendered_html.py fails
on any JavaScript error a page logs.
"""

from __future__ import annotations


def _key(script) -> tuple:
    return (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    scripts[:] = unique


def setup(app):
    # Late priority: after the extensions that add per-page scripts (myst-nb's widgets).
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
