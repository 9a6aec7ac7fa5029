"""Registry services against a real store: models, versions, aliases, history."""

from __future__ import annotations

import json
import threading

import pytest

from jupyter_modelops.errors import Conflict, InvalidInput, NotFound
from jupyter_modelops.ids import new_id
from jupyter_modelops.registry.records import AliasEvent, ModelVersion, RegisteredModel


@pytest.fixture
def manifest(client):
    return client._call("put_blob", data=b'{"format": 1}')["digest"]


def add_version(client, manifest, name="churn", **kw):
    kw.setdefault("flavor", "sklearn")
    return client._call("create_version", name=name, manifest_digest=manifest, **kw)


def test_create_and_get_model(client):
    m = client._call("create_model", name="churn", kind="ml", description="who leaves", tags={"team": "growth"})
    assert (m.name, m.kind, m.owner, m.tags) == ("churn", "ml", "alice", {"team": "growth"})
    got = client.get_model("churn")
    assert got.id == m.id and got.latest_version is None and got.aliases == {}
    with pytest.raises(Conflict, match="already exists"):
        client._call("create_model", name="churn")
    # same id, same name: idempotent (a sync push repeated)
    assert client._call("create_model", name="churn", id=m.id).id == m.id


@pytest.mark.parametrize("bad", ["", "  ", " padded", "a/b", "tab\there", "x" * 256, 7])
def test_model_names_are_validated(client, bad):
    with pytest.raises(InvalidInput):
        client._call("create_model", name=bad)


def test_versions_number_up_and_create_the_model(client, manifest):
    v1 = add_version(client, manifest, kind="rules")
    v2 = add_version(client, manifest)
    v3 = add_version(client, manifest, description="third", tags={"stage": "dev"})
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert v1.created_by == "alice" and v1.state == "REGISTERED" and v1.trusted is False
    model = client.get_model("churn")
    assert model.kind == "rules" and model.latest_version == 3 and model.owner == "alice"
    assert client.get_model_version("churn").version == 3  # neither version nor alias: latest
    assert client.get_model_version("churn", 2).id == v2.id
    assert client.get_model_version("churn", alias="latest").version == 3
    assert [v.version for v in client.list_versions("churn")] == [1, 2, 3]
    stored = client.get_model_version("churn", 3)
    assert (stored.description, stored.tags) == ("third", {"stage": "dev"})


def test_missing_version_message_says_what_exists(client, manifest):
    add_version(client, manifest)
    add_version(client, manifest)
    with pytest.raises(NotFound) as err:
        client.get_model_version("churn", 7)
    assert str(err.value) == "model 'churn' has no version 7 (latest is 2)"
    with pytest.raises(NotFound, match="no registered model named 'nope'"):
        client.get_model_version("nope")
    with pytest.raises(InvalidInput, match="not both"):
        client.get_model_version("churn", 1, alias="champion")


def test_create_version_is_idempotent_by_id(client, manifest):
    vid = new_id()
    first = add_version(client, manifest, id=vid)
    again = add_version(client, manifest, id=vid)
    assert again.version == first.version == 1 and again.id == vid
    assert len(client.list_versions("churn")) == 1
    add_version(client, manifest, name="other")
    with pytest.raises(Conflict, match="belongs to model 'churn'"):
        add_version(client, manifest, name="other", id=vid)


def test_create_version_needs_the_manifest_blob(client):
    with pytest.raises(NotFound, match="upload it first"):
        add_version(client, "0" * 64)
    with pytest.raises(InvalidInput, match="sha256"):
        add_version(client, "not-a-digest")


def test_concurrent_versions_get_distinct_numbers(client, manifest):
    results, errors = [], []

    def worker():
        try:
            for _ in range(5):
                results.append(add_version(client, manifest).version)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == list(range(1, 21))


def test_aliases_move_and_history_records_each_move(client, manifest):
    for _ in range(3):
        add_version(client, manifest)
    assert client.set_alias("churn", "champion", 1).aliases == ["champion"]
    client.set_alias("churn", "champion", 1)  # no move: no event
    client._call("set_alias", name="churn", alias="champion", version=3, user="bob")
    client.set_alias("churn", "challenger", 2)
    assert client.get_model_version("churn", alias="champion").version == 3
    assert client.get_model("churn").aliases == {"challenger": 2, "champion": 3}
    assert [v.aliases for v in client.list_versions("churn")] == [[], ["challenger"], ["champion"]]
    client.delete_alias("churn", "challenger")
    with pytest.raises(NotFound, match="no alias 'challenger'"):
        client.get_model_version("churn", alias="challenger")
    with pytest.raises(NotFound, match="no alias 'challenger'"):
        client.delete_alias("churn", "challenger")

    history = client.alias_history("churn")
    moves = [(e.alias, e.old_version, e.new_version, e.changed_by) for e in history]
    assert moves == [("champion", None, 1, "alice"), ("champion", 1, 3, "bob"),
                     ("challenger", None, 2, "alice"), ("challenger", 2, None, "alice")]
    assert [e.new_version for e in client.alias_history("churn", "champion")] == [1, 3]
    assert all(isinstance(e, AliasEvent) and e.changed_at > 0 for e in history)


@pytest.mark.parametrize("alias", ["Champion", "12", "latest", "a b", "x" * 65, "", "é"])
def test_alias_names_are_validated(client, manifest, alias):
    add_version(client, manifest)
    with pytest.raises(InvalidInput):
        client.set_alias("churn", alias, 1)


def test_alias_needs_an_existing_version(client, manifest):
    add_version(client, manifest)
    with pytest.raises(NotFound, match="no version 5"):
        client.set_alias("churn", "prod", 5)
    assert client.alias_history("churn") == []


def test_update_model_and_version_annotations(client, manifest):
    add_version(client, manifest, tags={"a": "1", "b": "2"})
    m = client._call("update_model", name="churn", description="new", tags={"owner-team": "risk"})
    assert m.description == "new" and m.tags == {"owner-team": "risk"}
    v = client._call("update_version", name="churn", version=1, description="checked", tags={"a": None, "c": 3})
    assert v.description == "checked" and v.tags == {"b": "2", "c": "3"}
    assert client.get_model_version("churn", 1).tags == {"b": "2", "c": "3"}


def test_list_models_with_kind_and_limit(client, manifest):
    add_version(client, manifest, name="b-rules", kind="rules", flavor="rules")
    add_version(client, manifest, name="a-ml")
    add_version(client, manifest, name="a-ml")
    client.set_alias("a-ml", "prod", 2)
    models = client.list_models()
    assert [(m.name, m.latest_version, m.aliases) for m in models] == [
        ("a-ml", 2, {"prod": 2}), ("b-rules", 1, {})]
    assert [m.name for m in client.list_models(kind="rules")] == ["b-rules"]
    assert len(client.list_models(limit=1)) == 1
    with pytest.raises(InvalidInput):
        client.list_models(limit=0)


def test_records_round_trip_through_json(client, manifest):
    v = add_version(client, manifest, signature={"inputs": None}, lineage={"run_id": None})
    client.set_alias("churn", "prod", 1)
    for record, cls in ((client.get_model("churn"), RegisteredModel),
                        (client.get_model_version("churn", 1), ModelVersion),
                        (client.alias_history("churn")[0], AliasEvent)):
        assert cls.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    assert v.uri == "models:/churn/1"


def test_alias_history_keeps_order_of_rapid_moves(client, manifest):
    add_version(client, manifest)
    add_version(client, manifest)
    for i in range(30):
        client.set_alias("churn", "prod", 1 + i % 2)
    history = client.alias_history("churn", "prod")
    assert [e.new_version for e in history] == [1 + i % 2 for i in range(30)]
    assert [e.old_version for e in history] == [None] + [1 + i % 2 for i in range(29)]
    assert all(a.changed_at < b.changed_at for a, b in zip(history, history[1:]))
