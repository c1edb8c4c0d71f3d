"""The conformance report as one self-contained HTML page a validator can publish.

``report_page`` renders one run clause by clause (text, verdict, why n/a, figures against their
bounds, each failure with the example's source); ``matrix_page`` renders several runs (other
implementations, or fault profiles) as a matrix, the clauses whose verdicts differ first.
No script, no external style sheet, no font: the page reads the same offline and in ten years.
"""

from __future__ import annotations

from html import escape

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: .2em .6em; text-align: left; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 13px; }
.clause { margin: 1em 0; padding: .4em .8em; border-left: 4px solid #ccc; }
.pass { color: #17663a; } .fail { color: #b00020; font-weight: bold; } .na { color: #8a6d00; }
.uncovered { color: #8a2be2; } .notrun { color: #777; }
div.fail { border-left-color: #b00020; font-weight: normal; color: inherit; } div.pass { border-left-color: #2e9d5b; color: inherit; }
div.na { border-left-color: #d4a800; color: inherit; }
"""


def _css_class(verdict: str) -> str:
    return {"n/a": "na", "not run": "notrun"}.get(verdict, verdict)


def _page(title: str, body: list[str]) -> str:
    head = f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
    return f"{head}<style>{STYLE}</style></head>\n<body>\n<h1>{escape(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n"


def _verdict(verdict: str) -> str:
    return f'<span class="{_css_class(verdict)}">{escape(verdict)}</span>'


def report_page(report: dict, clauses: list[dict], name: str, why_na) -> str:
    """One run: a summary, then every clause shown (``clauses``), chapter by chapter."""
    summary = ", ".join(f"{count} {verdict}" for verdict, count in report["summary"].items() if count)
    body = [f"<p>{escape(report['date'])}: {escape(summary)}.</p>"]
    chapter = None
    for clause in clauses:
        if clause["chapter"] != chapter:
            chapter = clause["chapter"]
            body.append(f"<h2>{escape(clause['title'])}</h2>")
        body.append(_clause(clause, why_na(clause)))
    return _page(f"Pro.MP conformance of {name}", body)


def _clause(clause: dict, why: str) -> str:
    optional = " <i>(optional)</i>" if clause["optional"] else ""
    parts = [
        f'<div class="clause {_css_class(clause["verdict"])}" id="{escape(clause["id"])}">',
        f"<p><b>{escape(clause['id'])}</b>{optional}: {_verdict(clause['verdict'])}"
        f" ({len(clause['examples'])} example{'s' * (len(clause['examples']) != 1)})</p>",
        f"<p>{escape(clause['text'])}</p>",
    ]
    if why:
        parts.append(f"<p>Why n/a: {escape(why)}</p>")
    if clause.get("figures"):
        rows = "".join(
            f"<tr><td>{escape(f['name'])}</td><td>{f['bound']:g} {escape(f['unit'])}</td>"
            f"<td>{f['median']:.3f}</td><td>{f['worst']:.3f}</td><td>{f['n']}</td></tr>"
            for f in clause["figures"]
        )
        parts.append(f"<table><tr><th>figure</th><th>bound</th><th>median</th><th>worst</th><th>runs</th></tr>{rows}</table>")
    for example in clause["examples"]:
        if example["verdict"] == "fail":
            parts.append(f"<p>Failed at {escape(example['location'])}:</p><pre>{escape(example['detail'].rstrip())}</pre>")
    parts.append("</div>")
    return "\n".join(parts)


def matrix_page(reports: list[dict], columns: list[str], title: str) -> str:
    """Several runs side by side: a column each, the clauses whose verdicts differ first."""
    verdicts = [{c["id"]: c["verdict"] for c in r["clauses"]} for r in reports]
    ids = [c["id"] for c in reports[0]["clauses"]]
    differ = [i for i in ids if len({v.get(i, "-") for v in verdicts}) > 1]
    same = [i for i in ids if i not in differ]
    head = "<tr><th>clause</th>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>"

    def rows(chosen: list[str]) -> str:
        return "".join(
            f"<tr><td>{escape(i)}</td>" + "".join(f"<td>{_verdict(v.get(i, '-'))}</td>" for v in verdicts) + "</tr>" for i in chosen
        )

    body = [f"<p>{len(ids)} clauses: {len(differ)} with different verdicts, {len(same)} the same in every run.</p>"]
    if differ:
        body += ["<h2>Different verdicts</h2>", f"<table>{head}{rows(differ)}</table>"]
    body += ["<h2>The same in every run</h2>", f"<table>{head}{rows(same)}</table>"]
    return _page(title, body)
