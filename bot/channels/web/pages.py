"""HTML pages (Jinja2, autoescape on: everything the bot or a citizen wrote is escaped) and the
static files of ``static/`` (read once, served with a version in their address, gzip when asked).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.conversation.render import TEMPLATES, Renderer

STATIC_DIR = Path(__file__).resolve().parent / "static"
WEB_TEMPLATES = TEMPLATES / "web"
TYPES = {".js": "text/javascript", ".css": "text/css"}


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


class Pages:
    """Renders the web templates in a language; ``_('key')`` reads the gettext catalogs."""

    def __init__(self, renderer: Renderer, static: Static) -> None:
        self.renderer = renderer
        self.static = static
        self.env = environment()

    def t(self, lang: str, key: str, **values: Any) -> str:
        return self.renderer.t(lang, key, **values)

    def render(self, template_name: str, lang: str, **context: Any) -> str:
        template = self.env.get_template(template_name)
        return template.render(_=partial(self.renderer.t, lang), lang=lang,
                               asset=self.static.url, **context)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str


class Static:
    """The files of ``static/`` in memory; their URLs carry a hash, so they can be cached long."""

    PREFIX = "/static/web/"

    def __init__(self, folder: Path = STATIC_DIR) -> None:
        self.assets: dict[str, Asset] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix in TYPES and path.is_file():
                body = path.read_bytes()
                version = hashlib.sha256(body).hexdigest()[:10]
                self.assets[path.name] = Asset(body, TYPES[path.suffix], version)

    def url(self, name: str) -> str:
        return f"{self.PREFIX}{name}?v={self.assets[name].version}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        asset = self.assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        etag = f'"{asset.version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        response = web.Response(body=asset.body, content_type=asset.content_type,
                                charset="utf-8")
        versioned = request.query.get("v") == asset.version
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if versioned else "public, max-age=300")
        response.headers["ETag"] = etag
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.enable_compression()
        return response
