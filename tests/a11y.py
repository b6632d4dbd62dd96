"""axe-core (the axe-playwright-python package, which bundles it) run on a page in Chromium:
the WCAG 2.0, 2.1 and 2.2 A and AA rules, the level JIS X 8341-3 asks of public bodies.

    from tests.a11y import assert_accessible
    assert_accessible(page)            # fails with each violation, its rule and its nodes
"""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

_axe = Axe()


def violations(page, context=None) -> list[dict]:
    """The violations of the page as it is now (or of the `context` selector)."""
    options = {"runOnly": {"type": "tag", "values": WCAG_AA_TAGS},
               "resultTypes": ["violations"]}
    return _axe.run(page, context=context, options=options).response["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def assert_accessible(page, context=None) -> None:
    found = violations(page, context)
    assert not found, f"axe on {page.url}:\n{describe(found)}"
