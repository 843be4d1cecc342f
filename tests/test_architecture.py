"""The shape ARCHITECTURE.md asks for, checked on the import graph (grimp, what import-linter
builds on): no import circles; delivery imports no domain; domains import no web or admin code;
the admin UI imports no public-web module; only the command line and the server build the app;
benchmarks stand on their own."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("app.incidents", "app.components", "app.maintenance", "app.uptime", "app.probes")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app")


def chain(graph: grimp.ImportGraph, importer: str, imported: str) -> tuple[str, ...] | None:
    """The shortest import chain from one package to another, if there is one."""
    found = graph.find_shortest_chains(importer=importer, imported=imported, as_packages=True)
    return min(found, key=len) if found else None


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    circles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert circles == []


@pytest.mark.parametrize("domain", ["app.incidents", "app.components", "app.maintenance"])
def test_delivery_imports_no_domain(graph: grimp.ImportGraph, domain: str) -> None:
    assert chain(graph, "app.notifications", domain) is None


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("face", ["app.web", "app.admin", "app.main", "app.cli"])
def test_domains_know_no_pages(graph: grimp.ImportGraph, domain: str, face: str) -> None:
    assert chain(graph, domain, face) is None


def test_the_admin_ui_imports_no_public_web_module(graph: grimp.ImportGraph) -> None:
    assert chain(graph, "app.admin", "app.web") is None


def test_only_the_faces_build_the_app(graph: grimp.ImportGraph) -> None:
    builders = graph.find_modules_that_directly_import("app.main")
    assert builders <= {"app.cli", "app.server", "app.publishing.cli"}


def test_benchmarks_do_not_import_the_tests() -> None:
    offenders = [
        path.name
        for path in sorted((ROOT / "bench").glob("*.py"))
        if "from tests" in path.read_text() or "import tests" in path.read_text()
    ]
    assert offenders == []
