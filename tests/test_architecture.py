"""The layering of the rooms is a contract (setup.cfg, [importlinter]) that holds on the code as it
is, and that would catch an import against it. `.ci/run` also runs `lint-imports` itself."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import api
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

REPO = Path(__file__).resolve().parents[1]
CONTRACT_TYPES: dict[str, Any] = {"layers": LayersContract, "forbidden": ForbiddenContract}
# Top-level folders that are not rooms of the service.
NOT_ROOMS = {"tests", "benchmarks", "instance", "build", "dist"}


@pytest.fixture(scope="module")
def configuration() -> dict[str, Any]:
    return api.read_configuration(str(REPO / "setup.cfg"))


@pytest.fixture
def graph(configuration: dict[str, Any]) -> Any:
    session = configuration["session_options"]
    return grimp.build_graph(*session["root_packages"], include_external_packages=True)


def contract(configuration: dict[str, Any], contract_id: str) -> Any:
    options = next(c for c in configuration["contracts_options"] if c["id"] == contract_id)
    return CONTRACT_TYPES[options["type"]](name=options["name"], session_options=configuration["session_options"],
                                           contract_options=options)


def test_every_room_of_the_service_is_under_contract_and_has_its_layer(configuration):
    rooms = {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()} - NOT_ROOMS
    options = next(c for c in configuration["contracts_options"] if c["id"] == "rooms")
    layered = {name.strip() for line in options["layers"] for name in re.split(r"[|:]", line)}

    assert rooms == set(configuration["session_options"]["root_packages"]) == layered


@pytest.mark.parametrize("contract_id", ["rooms", "engine", "models"])
def test_the_code_keeps_each_contract(configuration, graph, contract_id):
    check = contract(configuration, contract_id).check(graph, verbose=False)

    assert check.kept, check.metadata


@pytest.mark.parametrize("importer, imported", [
    ("pools.needs", "workflow.service"),  # the registry reaching up into the workflow
    ("dispatch.batch", "workflow.service"),  # the dispatcher recording outcomes itself
    ("access.policy", "pools.api"),  # the policy importing a blueprint
    ("core.vocab", "models"),  # the vocabulary depending on the database
])
def test_an_import_up_the_layers_breaks_the_contract(configuration, graph, importer, imported):
    graph.add_import(importer=importer, imported=imported)

    assert not contract(configuration, "rooms").check(graph, verbose=False).kept


def test_the_engine_importing_the_database_breaks_its_contract(configuration, graph):
    graph.add_import(importer="matching.scoring", imported="sqlalchemy")

    assert not contract(configuration, "engine").check(graph, verbose=False).kept
