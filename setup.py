"""Build step that puts the sample knowledge base and the catalogs into the wheel.

``knowledge/`` and ``locales/`` stay top-level folders of the repository (staff edit them there,
and a checkout or an editable install uses them in place).  A built wheel has no repository
around it, so ``build_py`` copies both into ``bot/bundled/`` of the build; ``bot/config.py``
uses those copies when it is not running from a checkout.  Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = ("knowledge", "locales")


class BuildPyWithData(build_py):
    """``build_py`` plus copies of ``knowledge/`` and ``locales/`` in ``bot/bundled/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository folders
        for name in BUNDLED:
            source = HERE / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; it must go into the wheel")
            target = Path(self.build_lib) / "bot" / "bundled" / name
            if target.exists():
                shutil.rmtree(target)  # files removed from the repository leave the build too
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            bundled = Path(self.build_lib) / "bot" / "bundled"
            for name in BUNDLED:
                outputs += [str(p) for p in (bundled / name).rglob("*") if p.is_file()]
        return outputs


setup(cmdclass={"build_py": BuildPyWithData})
