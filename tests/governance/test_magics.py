"""``%modelops request-deploy / requests / approve / reject`` through a real InteractiveShell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "jupyter_modelops")
    return shell


@pytest.fixture
def shell(ip, mo, mo_home):
    ip.user_ns.pop("__session__", None)
    yield ip


def as_user(mo, mo_home, user: str):
    """Switch the notebook's identity (the magics use the default client)."""
    return mo.configure(home=str(mo_home), user=user)


def test_request_approve_through_magics(shell, mo, mo_home, capsys, registered, alice):
    registered()
    capsys.readouterr()
    shell.run_line_magic("modelops", "request-deploy cancer --version 1 --target local --note 'first release'")
    out = capsys.readouterr().out
    assert "cancer v1 -> local [PENDING]" in out and "version is VALIDATED" in out
    assert "✔ validation results" in out and "%modelops approve" in out
    req_id = out.split("request ")[1][:8]

    view = shell.run_line_magic("modelops", "requests")
    assert [r.id[:8] for r in view] == [req_id]
    assert req_id in repr(view) and "cancer" in view._repr_html_()

    with pytest.raises(UsageError) as info:
        shell.run_line_magic("modelops", f"approve {req_id}")
    assert "separation of duties" in str(info.value) and "rule 'approve'" in str(info.value)

    as_user(mo, mo_home, "bob")
    shell.run_line_magic("modelops", f"approve {req_id} --comment 'looks good'")
    assert f"approved request {req_id}: cancer v1 -> local; version is APPROVED" in capsys.readouterr().out
    assert len(shell.run_line_magic("modelops", "requests")) == 0
    assert len(shell.run_line_magic("modelops", "requests --all")) == 1
    assert alice.get_model_version("cancer", 1).state == "APPROVED"


def test_reject_and_usage_errors_through_magics(shell, mo, mo_home, capsys, registered):
    registered()
    with pytest.raises(UsageError, match="exactly one of --version N or --alias A"):
        shell.run_line_magic("modelops", "request-deploy cancer --target local")
    with pytest.raises(UsageError, match="no registered model named 'nope'"):
        shell.run_line_magic("modelops", "request-deploy nope --version 1 --target local")
    capsys.readouterr()
    shell.run_line_magic("modelops", "request-deploy cancer --version 1 --target batch")
    req_id = capsys.readouterr().out.split("request ")[1][:8]
    as_user(mo, mo_home, "carol")
    with pytest.raises(UsageError):  # --comment is required
        shell.run_line_magic("modelops", f"reject {req_id}")
    shell.run_line_magic("modelops", f"reject {req_id} --comment 'no drift reference yet'")
    assert "version is REJECTED" in capsys.readouterr().out
    with pytest.raises(UsageError, match="REJECTED already"):
        shell.run_line_magic("modelops", f"approve {req_id}")
