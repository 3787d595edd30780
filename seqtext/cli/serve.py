"""``seqtext serve``: models over HTTP (FastAPI + uvicorn), with a playground page at /."""

from __future__ import annotations

import click

from seqtext.cli.common import handle_errors, note


@click.command()
@click.option("--model", "models", multiple=True, required=True, metavar="NAME=PATH",
              help="A model directory or exported directory to serve under NAME (repeatable).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to bind.")
@click.option("--max-body", type=click.IntRange(min=1024), default=1 << 20, show_default=True, metavar="BYTES",
              help="Largest request body accepted (413 beyond).")
@handle_errors(flags={"models": "--model"})
def serve(models, host, port, max_body):
    """Serve text, series, classify and tag models over HTTP: /v1/complete, /v1/next-words, /v1/score,
    /v1/forecast, /v1/classify, /v1/tag.

    \b
      seqtext serve --model pronouns=exported/pronouns --port 8000
      curl -s localhost:8000/v1/complete -d '{"prompt": "Mary rides the"}'
    Open http://127.0.0.1:8000/ for the playground, /docs for the API.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise click.ClickException('the server needs FastAPI and uvicorn; pip install "seqtext[serve]".') from None
    from seqtext.export.registry import Registry, parse_models
    from seqtext.export.serve import create_app

    registry = Registry(parse_models(models))  # every path checked before the port is bound
    app = create_app(registry, max_body=max_body)
    note(f"serving {', '.join(registry.served)} on http://{host}:{port}/ (Ctrl-C or SIGTERM to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30,
                limit_concurrency=256, timeout_keep_alive=5)
