#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Man pages from the rst documentation, with docutils' manpage writer (Debian's
python3-docutils, what rst2man runs): the rst in Documentation/ stays the one source.

    tools/manpages.py --version V --date YYYY-MM-DD OUTDIR

Writes OUTDIR/<name>.<section> for each page of PAGES (and .so pages for ALIASES). Sphinx's
own markup is turned into man text here: :doc:`x` names the man page of x (or the rst file
when x has none), :ref:`label` its text, a toctree becomes a list of man pages, images are
left out, and tables become lists (a boxed table broken over pages makes groff warn). Any
docutils warning is an error: a man page is never written half right.
"""

import os
import re
import sys

from docutils import nodes
from docutils.core import publish_doctree, publish_from_doctree
from docutils.parsers.rst import Directive, directives, roles

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, section, rst source (relative to Documentation/), one-line description
PAGES = [
    ("tcpscope", 8, "index.rst", "observe TCP connection states live and turn the knobs that change them"),
    ("tcpscope-watch", 8, "tcpscope/watch.rst", "stream TCP state transitions as they happen"),
    ("tcpscope-stats", 8, "tcpscope/stats.rst",
     "TCP state aggregates counted in the kernel, and their Prometheus exporter"),
    ("tcpscope-top", 8, "tcpscope/top.rst", "live full-screen view of TCP state churn"),
    ("tcpscope-lab", 8, "tcpscope/lab.rst",
     "the TCP articles' claims reproduced live, with packets, states and a verdict"),
    ("tcpscope-events", 7, "tcpscope/events.rst", "the events and fields tcpscope watch prints"),
    ("tcpscope-kernel", 7, "tcpscope/kernel.rst", "the kernel hooks behind tcpscope and what they see"),
    ("tcpscope-sysctl", 7, "tcpscope/kmod.rst",
     "tcpscope.ko: /proc/net/tcpscope statistics and /proc/sys/net/tcpscope knobs"),
    ("tcpscope-deploy", 7, "tcpscope/deploy.rst",
     "running tcpscope serve as a service, with Prometheus, on a fleet"),
]
# pages that are another page: `tcpscope serve` is documented with `stats`
ALIASES = [("tcpscope-serve", 8, "tcpscope-stats")]

# Documentation/<doc> -> its man page, for :doc: and toctree entries
MAN_OF = {os.path.splitext(src)[0]: "%s(%d)" % (name, sec) for name, sec, src, _ in PAGES}


class ManError(Exception):
    pass


def resolve(doc, current):
    """A :doc: target as the reader of a man page can follow it."""
    path = os.path.normpath(os.path.join(os.path.dirname(current), doc))
    return MAN_OF.get(path, "Documentation/%s.rst" % path)


def doc_role(current):
    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        m = re.match(r"^(.*?)\s*<(.+)>$", text)  # :doc:`title <target>`
        label, target = (m.group(1), m.group(2)) if m else (None, text)
        ref = resolve(target, current)
        return [nodes.strong(rawtext, "%s (%s)" % (label, ref) if label else ref)], []
    return role


def ref_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    m = re.match(r"^(.*?)\s*<(.+)>$", text)
    # a bare label names a section: say it as its words
    label = m.group(1) if m else text.replace("tcpscope-", "").replace("-", " ")
    return [nodes.emphasis(rawtext, label)], []


class Toctree(Directive):
    has_content = True
    option_spec = {"maxdepth": directives.unchanged, "hidden": directives.flag}
    current = ""

    def run(self):
        items = nodes.bullet_list()
        for entry in self.content:
            if entry.strip():
                ref = resolve(entry.strip(), self.current)
                items += nodes.list_item("", nodes.paragraph("", ref))
        return [items]


class Image(Directive):
    required_arguments = 1
    has_content = True
    option_spec = {"alt": directives.unchanged, "width": directives.unchanged}

    def run(self):
        return []


def man_body(text, src):
    """The rst without its top title (overline, title, underline), which the man header
    replaces; text before the first section goes under DESCRIPTION, a toctree under SEE
    ALSO."""
    lines = text.split("\n")
    for i in range(len(lines) - 2):
        over, title, under = lines[i:i + 3]
        if over and set(over) == {"="} and under == over and title.strip():
            rest = "\n".join(lines[i + 3:]).replace(
                ".. toctree::", "See also\n========\n\n.. toctree::").split("\n")
            break
    else:
        raise ManError("%s: no top title (===/title/===)" % src)
    titles = [j for j in range(len(rest) - 1)
              if rest[j].strip() and re.fullmatch(r"=+", rest[j + 1])]
    first = titles[0] if titles else len(rest)
    if any(l.strip() for l in rest[:first]):
        intro = ["", "Description", "===========", ""] + rest[:first]
        rest = rest[first:]
        # a man page opens with its synopsis: the text before it goes under DESCRIPTION
        if rest and rest[0] == "Synopsis":
            end = next((j for j in titles if j > first), len(rest) + first) - first
            rest = rest[:end] + intro + rest[end:]
        else:
            rest = intro + rest
    return "\n".join(lines[:i] + rest)


def table_to_list(table):
    """A table as a definition list: the first cell of each body row is the term, the
    other cells, in order, its definition."""
    out = nodes.definition_list()
    for row in table.findall(nodes.row):
        if isinstance(row.parent, nodes.thead):
            continue
        cells = [c for c in row.children if isinstance(c, nodes.entry)]
        if not cells:
            continue
        term = nodes.term("", "", *[n for p in cells[0].children for n in p.children])
        definition = nodes.definition()
        for cell in cells[1:]:
            definition.extend(cell.children)
        out += nodes.definition_list_item("", term, definition)
    return out


def render(name, section, src, description, version, date):
    path = os.path.join(ROOT, "Documentation", src)
    with open(path) as f:
        body = man_body(f.read(), src)
    rule = "=" * len(name)
    dash = "-" * len(description)
    header = "%s\n%s\n%s\n\n%s\n%s\n%s\n\n:Manual section: %d\n:Manual group: tcpscope\n" \
             ":Version: tcpscope %s\n:Date: %s\n\n" % (rule, name, rule, dash, description, dash,
                                                       section, version, date)
    roles.register_local_role("doc", doc_role(src))
    roles.register_local_role("ref", ref_role)
    Toctree.current = src
    directives.register_directive("toctree", Toctree)
    directives.register_directive("image", Image)
    settings = {"report_level": 2, "halt_level": 2, "input_encoding": "utf-8",
                "output_encoding": "utf-8", "traceback": True}
    try:
        doctree = publish_doctree(header + body, source_path=path,
                                  settings_overrides=settings)
        for table in list(doctree.findall(nodes.table)):
            table.replace_self(table_to_list(table))
        return publish_from_doctree(doctree, writer_name="manpage",
                                    settings_overrides=settings)
    except Exception as e:  # docutils raises SystemMessage at halt_level
        raise ManError("%s: %s" % (src, e)) from None


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="Man pages from Documentation/*.rst.")
    ap.add_argument("--version", required=True)
    ap.add_argument("--date", required=True, help="YYYY-MM-DD, the release's date")
    ap.add_argument("outdir")
    a = ap.parse_args(argv)
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", a.date):
        ap.error("--date must be YYYY-MM-DD, not %r" % a.date)
    os.makedirs(a.outdir, exist_ok=True)
    try:
        for name, section, src, description in PAGES:
            out = render(name, section, src, description, a.version, a.date)
            with open(os.path.join(a.outdir, "%s.%d" % (name, section)), "wb") as f:
                f.write(out)
    except (ManError, OSError) as e:
        print("manpages: %s" % e, file=sys.stderr)
        return 1
    for name, section, target in ALIASES:
        with open(os.path.join(a.outdir, "%s.%d" % (name, section)), "w") as f:
            f.write(".so man%d/%s.%d\n" % (section, target, section))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
