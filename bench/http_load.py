"""Benchmark: Pharos against nginx serving the same bytes, under wrk, on one machine.

    python bench/http_load.py [--duration 10] [--connections 64] [--servers granian:1 ...]
                              [--compare REV] [--floor] [--sendfile off]

Installs wrk and nginx from Debian's packages when they are missing (needs apt-get and root).
Seeds a page (20 components in 4 groups, 300 past incidents, one open incident), starts
`pharos serve`, copies the bytes of `/` and `/api/v2/summary.json` into a folder and serves it
with nginx on another loopback port. Then, 64 connections each, Pharos and nginx measured in
turns (--rounds; the median round of each is kept, so both see the same load on a shared
machine; ratios to nginx are the median of the rounds' own ratios, with their range):

- Pharos (granian and uvicorn, 1 and 2 processes) and nginx on `/`, `/api/v2/summary.json` and
  the front page in another language, both ways a reader asks for one: `/de/`, and `/` with
  `Accept-Language: de` (nginx serves the same German bytes as a file for both):
  requests/s, p99, and Pharos/nginx as a ratio (target: at least 0.5, with p99 under 10 ms);
  uncompressed (wrk's default) and as browsers get them (brotli; nginx serves the same
  pre-compressed bytes as a file);
- revalidation: If-None-Match with the current ETag (304s);
- the cold path: a server with PHAROS_RENDER_CACHE=false, which renders every request;
- write to served bytes: an API write on one replica, until the new bytes are served by the
  same replica and by a second one on the same database.

With --floor, do-nothing apps (bench/asgi_floor.py) on granian, over ASGI and over RSGI,
serving the nginx files from memory, are parties of every turn too: what the server itself
costs per request, the best ratio to nginx any app served that way could reach.

With --compare REV, an older commit (extracted with git archive, seeded and served with its own
code on a database of its own) is measured in the same run as a party of every turn (granian,
one process, as its `pharos serve` runs it): its requests/s, and its ratio to a second nginx
serving that commit's own bytes (a commit from before the languages serves `/` for `/de/`),
beside ours; new/old per request; and our ratio to nginx over its ratio, round by round
(`vs_nginx_over_old`: above 1 where we are served nearer to nginx than the older commit was).

With --sendfile off, every nginx reads the file into a buffer for every answer and writes it
from there, as a server answering from memory (any Python app server) must, instead of handing
the file's pages to the socket with sendfile(2) (on, as Debian's nginx.conf has it): the same
work as the servers beside it, so what is left of a ratio is the server's cost per request, not
the copy nginx saves.

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import cpu_seconds, pharos_env, start_pharos, wait_http
from render_scale import checkout, seed

from peers.net import free_port

NGINX_CONF = """
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile {sendfile};
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ text/html html; application/json json; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root}/site;
        index index.html;
    }}
    server {{
        listen 127.0.0.1:{br_port};
        root {root}/site-br;
        index index.html;
        add_header Content-Encoding br;
    }}
}}
"""


def ensure_tools() -> None:
    """wrk and nginx, from Debian's packages if missing."""
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise SystemExit(f"missing {missing} and no apt-get to install them")
    packages = ["wrk" if m == "wrk" else "nginx-light" for m in missing]
    apt = shutil.which("apt-get") or "apt-get"
    subprocess.run([apt, "install", "-y", "-q", *packages], check=True)


def wrk(url: str, seconds: int, connections: int, *headers: str) -> dict[str, float]:
    """Requests/s and p99 latency (ms) of one wrk run."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result = {"rps": round(rps), "p99_ms": round(p99, 2), "requests": requests}
    if non2xx:
        result["non_2xx_3xx"] = int(non2xx.group(1))
    if errors:
        result["socket_errors"] = errors.group(1)  # type: ignore[assignment]
    return result


def in_turns(
    *servers: tuple[int, str, tuple[str, ...]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """wrk on each server (its process id, URL, request headers) in turns, args.rounds
    each, so that all see the same load on a shared machine; the median round of each, and
    every round's requests/s (`rounds_rps`), so that ratios can be taken round by round
    between parties measured seconds apart (see `paired`).

    Each round also has the server's CPU time per request (its process tree's, from /proc),
    which a loaded machine disturbs far less than requests/s."""
    seconds = max(1, args.duration // args.rounds)
    found: list[list[dict[str, Any]]] = [[] for _ in servers]
    for _ in range(args.rounds):
        for runs, (pid, url, headers) in zip(found, servers, strict=True):
            before = cpu_seconds(pid)
            run: dict[str, Any] = wrk(url, seconds, args.connections, *headers)
            spent = cpu_seconds(pid) - before
            run["cpu_us_per_request"] = round(spent / max(1, run.pop("requests")) * 1e6, 1)
            runs.append(run)
    medians = []
    for runs in found:
        median = dict(sorted(runs, key=lambda run: run["rps"])[len(runs) // 2])
        median["rounds_rps"] = [run["rps"] for run in runs]
        medians.append(median)
    return medians


def spread(ratios: list[float], name: str) -> dict[str, Any]:
    """The median of ratios taken round by round, and their lowest and highest. Load that
    changes over the run moves both sides of a round together, so these spread less than a
    ratio of two medians taken from different rounds."""
    if not ratios:
        return {name: None}
    ratios = sorted(ratios)
    return {
        name: round(ratios[len(ratios) // 2], 3),
        f"{name}_range": [round(ratios[0], 3), round(ratios[-1], 3)],
    }


def paired(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """`vs_nginx` and its range, from ours/theirs requests/s of each round (both measured in
    the same round, seconds apart)."""
    rounds = zip(ours["rounds_rps"], theirs["rounds_rps"], strict=True)
    return spread([a / b for a, b in rounds if b], "vs_nginx")


def seed_old(tree: str, url: str) -> tuple[str, list[str]]:
    """Seed a database with an older commit's own code (its own migrations)."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from render_scale import seed; "
        "print(json.dumps(seed(sys.argv[2], 20, 4, 300, every_hours=72)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(Path(tree) / "bench"), url],
        env={**pharos_env(), "PYTHONPATH": tree},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    token, leaves = json.loads(out.strip().splitlines()[-1])
    return token, leaves


def start_nginx(
    root: Path, port: int, br_port: int, workers: int, sendfile: str = "on"
) -> subprocess.Popen[bytes]:
    """nginx in the foreground on loopback: root/site on port, root/site-br (the brotli bytes,
    sent with Content-Encoding: br) on br_port; files sent with sendfile(2) or, with sendfile
    "off", read into nginx's memory and written from there."""
    conf = root / "nginx.conf"
    settings = {"root": root, "port": port, "br_port": br_port, "workers": workers}
    conf.write_text(NGINX_CONF.format(**settings, sendfile=sendfile))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-p", str(root), "-c", str(conf), "-g", "daemon off;"])
    wait_http(f"http://127.0.0.1:{port}/")
    return process


def time_to_serve(staff: httpx.Client, readers: list[str], component: str) -> list[float]:
    """Seconds from an API write returning to each reader serving the new bytes."""
    before = [httpx.get(f"{r}/api/v2/summary.json").content for r in readers]
    response = staff.patch(f"/api/v1/components/{component}", json={"status": "major_outage"})
    response.raise_for_status()
    written = time.perf_counter()
    seen: list[float] = []
    for reader, old in zip(readers, before, strict=True):
        while httpx.get(f"{reader}/api/v2/summary.json").content == old:
            if time.perf_counter() - written > 10:
                raise SystemExit(f"{reader} did not serve the change within 10 s")
            time.sleep(0.005)
        seen.append(round(time.perf_counter() - written, 3))
    staff.patch(f"/api/v1/components/{component}", json={"status": "operational"})
    return seen


def main() -> None:
    """Run everything, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=int, default=12, help="seconds per comparison and server (in turns)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--servers",
        nargs="+",
        default=["granian:1", "granian:2", "uvicorn:1", "uvicorn:2"],
        help="`pharos serve` configurations to measure, as SERVER:WORKERS",
    )
    every = ["/", "/api/v2/summary.json", "/de/", "/ (Accept-Language: de)"]
    parser.add_argument(
        "--requests", nargs="+", default=every, choices=every, help="which requests to measure"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns of Pharos and nginx per comparison"
    )
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="also measure this older commit (granian, 1 process) in the same turns",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure do-nothing apps on granian (ASGI and RSGI) serving the same bytes "
        "(the server's own cost: the best ratio to nginx any app served so could have)",
    )
    parser.add_argument(
        "--sendfile",
        choices=["on", "off"],
        default="on",
        help="nginx's sendfile: on (as Debian's nginx.conf has it) hands the file's pages to "
        "the socket without copying them; off reads them into memory and writes them from "
        "there, as any server answering from memory must",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="only the served-bytes comparisons (no cold-path or replica runs)",
    )
    args = parser.parse_args()
    ensure_tools()

    tmp = Path(tempfile.mkdtemp(prefix="pharos-http-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    tmp.chmod(0o755)  # nginx's workers run as another user
    token, leaves = seed(url, components=20, groups=4, incidents=300, every_hours=72)
    result: dict[str, Any] = {"connections": args.connections, "seconds": args.duration}
    result["nginx_sendfile"] = args.sendfile
    german = "Accept-Language: de"
    # label: (Pharos path, request headers, the file nginx serves the same bytes from)
    requests: dict[str, tuple[str, tuple[str, ...], str]] = {
        "/": ("/", (), "index.html"),
        "/api/v2/summary.json": ("/api/v2/summary.json", (), "api/v2/summary.json"),
        "/de/": ("/de/", (), "de/index.html"),
        "/ (Accept-Language: de)": ("/", (german,), "de/index.html"),
    }
    requests = {k: v for k, v in requests.items() if k in args.requests}
    processes: list[subprocess.Popen[bytes]] = []
    pids: dict[str, int] = {}  # base URL: its server's process id

    def serve(
        workers: int = 1, server: str = "granian", tree: str | None = None, **settings: str
    ) -> str:
        """Start one more `pharos serve` (of another commit's tree if given); its base URL."""
        port = free_port()
        env = pharos_env(
            database_url=settings.pop("database_url", url),
            public_url=f"http://127.0.0.1:{port}",
            log_level="warning",
            run_workers="false",
            **settings,
        )
        if tree is not None:
            env["PYTHONPATH"] = tree
        args = ("--workers", str(workers), "--server", server)
        processes.append(start_pharos(env, port, tmp, *args))
        pids[f"http://127.0.0.1:{port}"] = processes[-1].pid
        return f"http://127.0.0.1:{port}"

    def start_floor(root: Path, encoding: str, interface: str) -> str:
        """granian (as `pharos serve` runs it) with bench/asgi_floor.py on these files."""
        port = free_port()
        env = {**pharos_env(), "PHAROS_FLOOR_ROOT": str(root), "PHAROS_FLOOR_ENCODING": encoding}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent)
        granian = Path(sys.executable).parent / "granian"
        command = [str(granian), "--interface", interface, "--loop", "uvloop", "--no-ws"]
        command += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
        target = f"asgi_floor:{interface}_app"
        process = subprocess.Popen([*command, "--factory", target], env=env, cwd=tmp)
        processes.append(process)
        wait_http(f"http://127.0.0.1:{port}/", process=process)
        pids[f"http://127.0.0.1:{port}"] = process.pid
        return f"http://127.0.0.1:{port}"

    def open_incident(base: str, token: str, leaf: str) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as staff:
            staff.post(
                "/api/v1/incidents",
                json={
                    "name": "Delays processing charger status updates",
                    "body": "We are investigating delays in processing status updates.",
                    "components": {leaf: "partial_outage"},
                },
            ).raise_for_status()

    try:
        with httpx.Client(timeout=30) as client:
            main_url = serve()
            staff = httpx.Client(base_url=main_url, headers={"Authorization": f"Bearer {token}"})
            open_incident(main_url, token, leaves[0])
            old_url = None
            if args.compare:
                tree = checkout(args.compare, tmp / "old-tree")
                old_db = f"sqlite:///{tmp / 'old.db'}"
                old_token, old_leaves = seed_old(tree, old_db)
                old_url = serve(tree=tree, database_url=old_db)
                open_incident(old_url, old_token, old_leaves[0])
                result["compare"] = args.compare
            old_paths = {}  # label: the path the older commit is asked (its `/` if no /de/)
            if old_url is not None:
                for label, (path, _, _) in requests.items():
                    served = client.get(old_url + path).status_code == 200
                    old_paths[label] = path if served else "/"
            for folder, encoding in (("site", "identity"), ("site-br", "br")):
                for label, (path, headers, file) in requests.items():
                    sent = dict(h.split(": ", 1) for h in headers)
                    sources = [(tmp, main_url + path)]
                    if old_url is not None:
                        sources.append((tmp / "old-nginx", old_url + old_paths[label]))
                    for root, source in sources:
                        target = root / folder / file
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with client.stream(
                            "GET", source, headers={**sent, "Accept-Encoding": encoding}
                        ) as response:
                            target.write_bytes(b"".join(response.iter_raw()))
            result["bytes"] = {
                label: {
                    e: (tmp / d / f).stat().st_size
                    for d, e in (("site", "identity"), ("site-br", "br"))
                }
                for label, (_, _, f) in requests.items()
            }

            nginx_port, nginx_br_port = free_port(), free_port()
            most = max(int(config.split(":")[1]) for config in args.servers)
            nginx_ports = nginx_port, nginx_br_port
            processes.append(start_nginx(tmp, *nginx_ports, workers=most, sendfile=args.sendfile))
            nginx = f"http://127.0.0.1:{nginx_port}"
            nginx_br = f"http://127.0.0.1:{nginx_br_port}"
            pids[nginx] = pids[nginx_br] = processes[-1].pid
            if old_url is not None:
                result["old_bytes"] = {
                    label: {
                        e: (tmp / "old-nginx" / d / f).stat().st_size
                        for d, e in (("site", "identity"), ("site-br", "br"))
                    }
                    for label, (_, _, f) in requests.items()
                }
                old_ports = free_port(), free_port()
                old_root = tmp / "old-nginx"
                processes.append(
                    start_nginx(old_root, *old_ports, workers=most, sendfile=args.sendfile)
                )
                old_nginx, old_nginx_br = (f"http://127.0.0.1:{port}" for port in old_ports)
                pids[old_nginx] = pids[old_nginx_br] = processes[-1].pid
            floors: dict[str, tuple[str, str]] = {}  # interface: (identity, brotli) base URLs
            if args.floor:
                for interface in ("asgi", "rsgi"):
                    floors[interface] = (
                        start_floor(tmp / "site", "", interface),
                        start_floor(tmp / "site-br", "br", interface),
                    )
            runs: dict[str, Any] = {}

            def nginx_url(base: str, file: str) -> str:
                return f"{base}/{file.removesuffix('index.html')}"

            def warm(base: str, path: str, headers: tuple[str, ...]) -> None:
                sent = dict(h.split(": ", 1) for h in headers)
                for _ in range(8):
                    client.get(base + path, headers=sent)  # warm every process's cache

            def measure(label: str, base: str, name: str, nginx_base: str, *headers: str) -> None:
                """Ours against nginx in turns, and the older commit's too with --compare
                (granian, one process, as `name` is then)."""
                path, asked, file = requests[label]
                sent = (*headers, *asked)
                warm(base, path, asked)
                parties = [
                    (pids[base], base + path, sent),
                    (pids[nginx_base], nginx_url(nginx_base, file), headers),
                ]
                if old_url is not None:
                    old_path = old_paths[label]
                    warm(old_url, old_path, asked)
                    parties.append((pids[old_url], old_url + old_path, sent))
                    old_nginx_base = old_nginx_br if headers else old_nginx
                    old_file = nginx_url(old_nginx_base, file)
                    parties.append((pids[old_nginx_base], old_file, headers))
                for floor, floor_br in floors.values():
                    floor_base = floor_br if headers else floor
                    parties.append((pids[floor_base], nginx_url(floor_base, file), headers))
                found = in_turns(*parties, args=args)
                ours, theirs = found[0], found[1]
                ours.update(paired(ours, theirs))
                suffix = "_br" if headers else ""
                runs.setdefault(label, {}).setdefault(f"nginx{suffix}", theirs)
                runs[label][name] = ours
                if old_url is not None:
                    old, old_nginx_run = found[2], found[3]
                    old.update(paired(old, old_nginx_run))  # to nginx serving its own bytes
                    old["nginx_rps"] = old_nginx_run["rps"]
                    old["nginx_rounds_rps"] = old_nginx_run["rounds_rps"]
                    runs[label][f"old_granian_1{suffix}"] = old
                    ours["vs_old"] = round(ours["rps"] / old["rps"], 2)
                    # now's ratio to nginx over then's, round by round (4 servers, one round)
                    rounds = zip(
                        *(p["rounds_rps"] for p in (ours, theirs, old, old_nginx_run)),
                        strict=True,
                    )
                    ours.update(
                        spread(
                            [(a / b) / (c / d) for a, b, c, d in rounds if b and c and d],
                            "vs_nginx_over_old",
                        )
                    )
                    ours["cpu_vs_old"] = round(
                        ours["cpu_us_per_request"] / old["cpu_us_per_request"], 2
                    )
                for interface, least in zip(floors, found[len(found) - len(floors) :], strict=True):
                    least.update(paired(least, theirs))
                    runs[label][f"{interface}_floor{suffix}"] = least

            servers = {"granian:1": main_url}
            br = "Accept-Encoding: br"
            for config in args.servers:
                kind, workers = config.split(":")
                if config not in servers:
                    servers[config] = serve(int(workers), kind)
                for label in requests:
                    measure(label, servers[config], f"pharos_{kind}_{workers}", nginx)
            for label in requests:  # what browsers get: brotli
                measure(label, main_url, "pharos_granian_1_br", nginx_br, br)
            if "/api/v2/summary.json" in requests:
                etag = client.get(main_url + "/api/v2/summary.json").headers["etag"]
                runs["/api/v2/summary.json"]["pharos_304"] = wrk(
                    main_url + "/api/v2/summary.json",
                    args.duration,
                    args.connections,
                    f"If-None-Match: {etag}",
                )
            if "/" in requests and not args.quick:
                cold = serve(render_cache="false")
                runs["/"]["pharos_cold_no_cache"] = wrk(cold + "/", args.duration, args.connections)
            result["runs"] = runs
            result["load_average"] = [round(x, 2) for x in os.getloadavg()]
            if args.quick:
                result["targets"] = "rps >= 0.5 x nginx, p99 < 10 ms"
                print(json.dumps(result, indent=2))
                return

            replica = serve()
            samples = [time_to_serve(staff, [main_url, replica], leaves[1]) for _ in range(5)]
            result["write_to_served_s"] = {
                "same_replica_max": max(s[0] for s in samples),
                "other_replica_max": max(s[1] for s in samples),
                "other_replica_median": sorted(s[1] for s in samples)[2],
            }
            staff.close()
        result["targets"] = "rps >= 0.5 x nginx, p99 < 10 ms; other replica fresh within 1 s"
        print(json.dumps(result, indent=2))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
