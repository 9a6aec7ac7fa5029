"""``python -m jupyter_modelops.deploy ARGS`` is ``jupyter modelops ARGS`` (how the local
target starts ``serve-model`` with the deploying interpreter)."""

from jupyter_modelops.cli.app import main

if __name__ == "__main__":
    main()
