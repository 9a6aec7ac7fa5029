"""Test fixtures for the sidebar's browser tests: a standalone registry, the lab under test,
and data seeded into either.

Everything lives under one run folder ($MODELOPS_UI_RUN, made by playwright.config.ts):

    registry/   home of the standalone registry (`jupyter modelops serve`)
    home/       JUPYTER_MODELOPS_HOME of the lab under test (and of its kernels)
    root/       the lab's root dir: a copy of the repository's examples/
    tmp/        TMPDIR of both servers
    tokens.json API tokens of the registry's users (alice, bob)

Subcommands:
    registry            make users alice (data_scientist), bob (approver, data_scientist) and
                        dora (deployer), then run the registry on $MODELOPS_UI_REGISTRY_PORT (exec)
    lab                 run JupyterLab on $MODELOPS_UI_LAB_PORT, linked to the registry as bob
    seed-runs PREFIX N  N finished runs named PREFIX-<i> in the lab's store (experiment PREFIX)
    seed-requests TAG   alice registers model TAG-alice and asks to deploy it; bob does the
                        same for TAG-bob (his own request); prints the ids as JSON. Text
                        fields may carry markup (see --xss), which the sidebar must show as text
    seed-deployment TAG alice's model TAG-served, approved by bob, deployed by dora to kserve
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def run_dir() -> Path:
    path = os.environ.get("MODELOPS_UI_RUN")
    if not path:
        sys.exit("MODELOPS_UI_RUN is not set (playwright.config.ts sets it)")
    return Path(path)


def jupyter() -> str:
    return str(Path(sys.executable).with_name("jupyter"))


def registry_url() -> str:
    return f"http://127.0.0.1:{os.environ['MODELOPS_UI_REGISTRY_PORT']}"


def tokens() -> dict:
    return json.loads((run_dir() / "tokens.json").read_text())


def base_env() -> dict:
    env = dict(os.environ)
    tmp = run_dir() / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(tmp)
    env.pop("JUPYTER_MODELOPS_REGISTRY_URL", None)
    env.pop("JUPYTER_MODELOPS_REGISTRY_TOKEN", None)
    return env


def log_to(name: str) -> None:
    """Send this process's (and the exec'd server's) output to a log in the run folder."""
    fd = os.open(run_dir() / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def cmd_registry() -> None:
    home = run_dir() / "registry"
    home.mkdir(parents=True, exist_ok=True)
    env = {**base_env(), "JUPYTER_MODELOPS_HOME": str(home)}
    made = {}
    for name, roles in (("alice", ["data_scientist"]), ("bob", ["approver", "data_scientist"]),
                        ("dora", ["deployer"])):
        args = [jupyter(), "modelops", "users", "add", name]
        for role in roles:
            args += ["--role", role]
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([jupyter(), "modelops", "users", "token", name, "--label", "ui-tests"],
                             env=env, check=True, capture_output=True, text=True)
        made[name] = out.stdout.strip().splitlines()[-1]
    (run_dir() / "tokens.json").write_text(json.dumps(made))
    log_to("registry.log")
    os.execve(jupyter(), [jupyter(), "modelops", "serve", f"--home={home}",
                          f"--port={os.environ['MODELOPS_UI_REGISTRY_PORT']}", "--allow-root"], env)


def cmd_lab() -> None:
    root = run_dir() / "root"
    if not root.exists():
        shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    home = run_dir() / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**base_env(), "JUPYTER_MODELOPS_HOME": str(home), "JUPYTER_MODELOPS_USER": "bob",
           "JUPYTERLAB_GALATA_ROOT_DIR": str(root),
           "JUPYTER_MODELOPS_REGISTRY_URL": registry_url(),
           "JUPYTER_MODELOPS_REGISTRY_TOKEN": tokens()["bob"]}
    os.chdir(HERE)
    log_to("lab.log")
    os.execve(jupyter(), [jupyter(), "lab", "--config", str(HERE / "jupyter_server_test_config.py")], env)


def _lab_client(user: str = "bob"):
    from jupyter_modelops.client import Client

    return Client(home=str(run_dir() / "home"), user=user)


def cmd_seed_runs(prefix: str, n: str, *more: str) -> None:
    """Finished runs with params and a short metric history, so compare has lines to draw."""
    client = _lab_client()
    ids = []
    try:
        for i in range(int(n)):
            name = f"{prefix}-{i}" if "--xss-name" not in more else f"{prefix}-{i} {XSS}"
            run = client.create_run(prefix, name=name, tags={"ui-test": prefix})
            client.log_batch(run.id, metrics=[("loss", 1.0 / (step + 1 + i), step) for step in range(5)]
                             + [("accuracy", 0.8 + 0.05 * i, 0)],
                             params={"lr": str(0.1 * (i + 1)), "depth": "3", "seed": str(i)})
            client.end_run(run.id)
            ids.append(run.id)
    finally:
        client.close()
    print(json.dumps({"experiment": prefix, "run_ids": ids}))


def _fit():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :5]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    return LogisticRegression(max_iter=500).fit(Xtr, ytr), Xtr, Xte, yte


def cmd_seed_requests(tag: str, *more: str) -> None:
    from jupyter_modelops.client import Client

    xss = "--xss" in more
    model, Xtr, Xte, yte = _fit()
    out = {}
    for who in ("alice", "bob"):
        client = Client(url=registry_url(), token=tokens()[who])
        try:
            name = f"{tag}-{who}"
            client.register_model(model, name, input_example=Xtr.head(3),
                                  description=f"model of {who}" + (f" {XSS}" if xss else ""))
            # The default policy wants a model card that says what the model is for.
            client.set_model_info(name, owner=who, purpose=f"ui test of {who}", risk_tier="low")
            req = client.request_deployment(name, 1, target="local", validation_data=(Xte, yte),
                                            justification=f"ship it, says {who}" + (f" {XSS}" if xss else ""))
            out[who] = {"model": name, "request_id": req.id, "state": req.state}
        finally:
            client.close()
    print(json.dumps(out))


def cmd_seed_deployment(tag: str) -> None:
    """alice's model approved by bob and deployed by dora to kserve (a manifest; no cluster)."""
    from jupyter_modelops.client import Client

    model, Xtr, Xte, yte = _fit()
    people = {who: Client(url=registry_url(), token=tok) for who, tok in tokens().items()}
    try:
        name = f"{tag}-served"
        people["alice"].register_model(model, name, input_example=Xtr.head(3))
        people["alice"].set_model_info(name, owner="alice", purpose="ui test", risk_tier="low")
        req = people["alice"].request_deployment(name, 1, target="kserve", validation_data=(Xte, yte))
        people["bob"].approve_request(req.id, "fine")
        dep = people["dora"].deploy(name, 1, target="kserve")
    finally:
        for client in people.values():
            client.close()
    print(json.dumps({"model": name, "deployment_id": dep.id, "target": dep.target}))


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    cmd, *args = argv
    commands = {"registry": cmd_registry, "lab": cmd_lab, "seed-runs": cmd_seed_runs,
                "seed-requests": cmd_seed_requests, "seed-deployment": cmd_seed_deployment}
    if cmd not in commands:
        sys.exit(__doc__)
    commands[cmd](*args)


if __name__ == "__main__":
    main(sys.argv[1:])
