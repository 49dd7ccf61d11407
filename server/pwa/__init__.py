"""The patient web app: HTML pages, the web app manifest and the service worker."""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from server.pwa.pages import PAGES
from server.pwa.shell import SHELL_ROUTES

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PWA_ROUTES = [*PAGES, *SHELL_ROUTES]
__all__ = ["PWA_ROUTES", "TEMPLATES_DIR", "template_config"]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping; templates/base.html is the layout every page extends."""
    return TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine)
