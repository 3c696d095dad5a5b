"""Real `cad` processes without the interpreter's start-up each time.

``python -m command`` spends seconds importing the whole system before it parses a word. The
tests run it hundreds of times, so one process here imports the command line once, then forks
a child for each run: the child is a process of its own, with the run's environment, working
directory, standard streams and argument list, and it runs ``command.cli.main`` as
``python -m command`` does. The zygote itself starts no thread and opens nothing, so that forking
it is safe. Requests come over a Unix socket, with the child's three standard streams passed as
file descriptors (one message each, on a SOCK_SEQPACKET pair); the answers are the child's
pid, then its exit status.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import traceback
from typing import TypedDict


class Request(TypedDict):
    args: list[str]
    env: dict[str, str]
    cwd: str | None


def _child(request: Request, fds: list[int]) -> None:
    """In the forked child: become the `cad` process of the request, run it, and exit."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    if request["cwd"] is not None:
        os.chdir(request["cwd"])
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    args = request["args"]
    sys.argv = ["cad", *args]
    code = 1
    try:
        from command.cli import main

        code = main(args)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(sock: socket.socket) -> None:
    import command.cli  # noqa: F401  (the import each run would otherwise repeat)

    while True:
        message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        if not message:
            return
        request: Request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(request, list(fds))
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
