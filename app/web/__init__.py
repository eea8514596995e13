"""Server-rendered pages (Jinja2), usable with JavaScript switched off."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
