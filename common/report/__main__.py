"""``python -m common.report serve [--dir reports] [--port 8000]``: serve the reports on localhost (for a remote
machine: forward the port over ssh); ``python -m common.report index``: rebuild ``reports/index.html``."""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
from pathlib import Path


def serve(folder: Path, host: str, port: int) -> int:
    if not (folder / "index.html").is_file():
        print(f"error: {folder}/index.html not found; run `make eval-all` (or `python -m common.report index`) "
              "first", file=sys.stderr)
        return 2
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"serving {folder}/ at http://{host}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.report", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    serve_parser = sub.add_parser("serve", help="serve the reports folder over HTTP on localhost")
    serve_parser.add_argument("--dir", type=Path, default=Path("reports"))
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    index_parser = sub.add_parser("index", help="rebuild reports/index.html and reports/README.md")
    index_parser.add_argument("--dir", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    if args.verb == "serve":
        return serve(args.dir, args.host, args.port)
    from common.report.site import write_site

    print(f"wrote {write_site(args.dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
