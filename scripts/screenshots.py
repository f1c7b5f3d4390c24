"""Screenshots of pages of a running site, for looking at them.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 OUTDIR PATH...

Uses the system Chromium (Debian's ``chromium`` package) through Playwright.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def main():
    base, out, *paths = sys.argv[1:]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    width = int(__import__("os").environ.get("WIDTH", "1280"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for path in paths:
            page.goto(base + path)
            name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "home"
            target = out / f"{name}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            print(target)
        browser.close()
    for error in errors:
        print("console error:", error)


if __name__ == "__main__":
    main()
