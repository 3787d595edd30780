"""``seqtext serve``: models over HTTP (FastAPI + uvicorn), with a playground page at /."""

from __future__ import annotations

import threading

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
      curl -s localhost:8000/v1/complete -H 'Content-Type: application/json' -d '{"prompt": "Mary rides the"}'
    Open http://127.0.0.1:8000/ for the playground, /docs for the API.
    """
    import uvicorn  # fastapi and uvicorn missing: one sentence from handle_errors, with the extra to install
    from seqtext.export.registry import Registry, parse_models
    from seqtext.export.serve import create_app

    registry = Registry(parse_models(models))  # every path checked before the port is bound
    host = host.strip() or "0.0.0.0"  # '' binds every interface, as 0.0.0.0 does: shown as that, not as http://:8000/
    sock = _listen(host, port)  # bound here: a port in use is one sentence, and --port 0 tells the one it got
    app = create_app(registry, max_body=max_body, load_now=False)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url, names = f"http://{shown}:{bound}/", ", ".join(registry.served)
    note(f"listening on {url}; loading {names} (/health says when they are ready)")
    # the app bounds the requests in hand (serve.MAX_IN_HAND, a JSON 503); uvicorn's limit_concurrency counts open
    # connections, so at 256 idle ones shut every other client out: it is only a far bound on sockets here
    config = uvicorn.Config(app, host=host, port=bound, log_level="warning", timeout_graceful_shutdown=30,
                            limit_concurrency=4096, timeout_keep_alive=5)
    server = uvicorn.Server(config)

    def load():  # in the background, /health answering "loading" meanwhile; a model that fails stops the server
        registry.load_all()
        if registry.error:
            server.should_exit = True
        else:
            note(f"serving {names} on {url} (Ctrl-C or SIGTERM to stop)")

    threading.Thread(target=load, name="seqtext-load", daemon=True).start()
    server.run(sockets=[sock])
    if registry.error:
        raise click.ClickException(f"{registry.error}; fix it or leave it out, then start the server again.")


def _listen(host: str, port: int):
    """A TCP socket bound to ``host:port``, as uvicorn binds its own; refused in one sentence when it cannot be."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, TypeError) as exc:  # TypeError: a host holding a NUL (from Python, or a test runner)
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port} ({reason}); choose another --port, or a --host "
                                   "of this machine.") from None
    sock.set_inheritable(True)
    return sock
