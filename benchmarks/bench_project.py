"""Figures for the generated project: lifecycle and test wall time, scoring overhead, log_model.

    python benchmarks/bench_project.py [--rows 1000000] [--tests-all-patterns] [--no-scoring]
                                       [--problem-type regression|classification]
                                       [--serving-only] [--keep]

Bakes the default project once per deployment pattern (cookiecutter's Python API, no prompts)
into its work folder (below), builds the default project's own environment with its `make install`
(the one `make lifecycle` and `make test` use: the template's environment has more packages,
pyspark among them, which MLflow imports when they are there) and measures, with it:

- wall time of `python -m <package> lifecycle` for each pattern: the median of three first
  runs, each in a new local folder (which also builds the local MLflow database), and one more
  run in the first run's folder;
- the imports alone: a process that loads everything `lifecycle` loads and does nothing else;
- where a first `lifecycle` run spends its CPU (default pattern): the imports, the first
  registry access (the CLI builds the new local MLflow database in a child process meanwhile),
  and each stage function it calls (promote includes its validate and deploy;
  monitor its plots);
- wall time of the project's `make test` (the fast suite: no Spark, no slow tests, on parallel
  workers) and `make test-all` (with the slow tests); default pattern, or every pattern with
  --tests-all-patterns.

With the interpreter that runs this script, in this process or a child of it:

- local batch scoring of --rows rows (`score.score`: chunked, streamed into Delta) next to the
  bare minimum on the same rows: read the table, build features, `model.predict`, write the
  table; the ratio is the price of chunking, pyfunc and the bookkeeping columns;
- `mlflow.sklearn.log_model` with explicit pip requirements (as the project logs) and, for
  comparison, with MLflow inferring them;
- local serving (a project baked with include_serving, measured from a child process so its
  package does not collide with the one above): `serve` and, where uvicorn is installed,
  `mlflow models serve` of the same champion, each a process of its own, side by side in one
  run: start to first /ping, 1-row latency (p50, p99, over one kept-alive connection) and
  1,000-row throughput next to the model's own `predict` (the scikit-learn pipeline in the
  measuring process), and load (32 clients at once, on kept-alive connections and with a new
  connection per request: requests lost, p99, requests/s). It prints the three ratios the
  targets are set in: the 1-row p50 `serve` adds to predict's, its 1,000-row throughput as a
  share of predict's, and its start time as a share of `mlflow models serve`'s. Beside them it
  measures a floor: the same HTTP server answering with the model's predict on rows it parsed
  before (`floor_server`), so that what `serve` itself costs (its time over the floor's) shows
  apart from what HTTP and a process waking up for each request cost on this machine.

It prints first the machine it measures on (cores, processor, system and load): the generated
README quotes its figures with it. Next to each wall time, the CPU seconds of the processes it
ran (user + system): on a machine shared with other work the wall time varies with the load, the
CPU time much less.

Everything is written in one work folder, which is also the temporary folder of this process and
every one it starts (cookiecutter leaves its hook copies there), and which goes when the run ends,
on an error or Ctrl-C too: a full run fills it with over a gigabyte of baked projects and their
environments. --keep keeps it and prints its path. This is a benchmark, not a test: it asserts
nothing and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
PATTERNS = ["deploy_code", "deploy_model", "hybrid"]
LIFECYCLE_RUNS = 3

# The template tests' own lookup of the bundle schema (the CLI's, the variable's, ../shared's).
sys.path.insert(0, str(TEMPLATE / "tests"))
from baking import find_bundle_schema  # noqa: E402
from work_folder import add_keep_option, work_folder  # noqa: E402

# The problem type every bake of this run answers (--problem-type).
PROBLEM_TYPE = {"problem_type": "regression"}


def cpu_model() -> str:
    """The processor's name (Linux: /proc/cpuinfo's model name), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The machine the figures are measured on, in the words the generated README quotes them
    with ("measured on a 2-core ... machine"): wall times mean little without it."""
    cores = os.cpu_count() or 1
    load = (
        f", load average {os.getloadavg()[0]:.1f} at the start" if hasattr(os, "getloadavg") else ""
    )
    return f"a {cores}-core {cpu_model()} {platform.system()} machine{load}"


def bake(pattern: str, output_dir: Path, **answers) -> Path:
    with contextlib.redirect_stdout(io.StringIO()):  # the hook's "next steps"
        return Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context={"deployment_pattern": pattern, **PROBLEM_TYPE, **answers},
                output_dir=str(output_dir),
            )
        )


def project_env(project: Path, local_dir: Path, bundle_schema: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH")]))
    env["MLOPS_LOCAL_DIR"] = str(local_dir)
    env.pop("DATABRICKS_RUNTIME_VERSION", None)
    if bundle_schema:  # so the project's bundle checks run too, as in `make test`
        env.setdefault("DATABRICKS_BUNDLE_SCHEMA", str(bundle_schema))
    return env


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (of the command and its children) and the last output line."""
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu = children_cpu_seconds() - cpu_before
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n" + "\n".join(tail))
    return seconds, cpu, result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def project_python(project: Path) -> Path:
    """The project's own interpreter, after its `make install` (with uv, as the template's
    environment carries it)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    timed_run(["make", "--no-print-directory", "install"], project, {**os.environ, "PATH": path})
    return project / ".venv" / "bin" / "python"


def import_only_command(python: Path, package: str) -> list[str]:
    """A process that imports what `lifecycle` imports (the CLI, every stage, MLflow with its
    SQLite store, skops, matplotlib) and stops: the floor under any lifecycle time."""
    modules = [
        f"{package}.mlops.{name}"
        for name in ("cli", "lifecycle", "monitor", "reports", "train", "validate", "score")
    ]
    modules += ["mlflow.sklearn", "mlflow.store.tracking.sqlalchemy_store", "skops.io"]
    return [str(python), "-c", "import " + ", ".join(modules)]


def package_name(project: Path) -> str:
    return next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").exists())


def prod_champion(project: Path, local_dir: Path):
    """Import the baked package (in this process) and give its local prod catalog a champion
    trained on the sample data: (the package's modules by short name, prod, the version)."""
    os.environ["MLOPS_LOCAL_DIR"] = str(local_dir)
    sys.path.insert(0, str(project / "src"))
    package = package_name(project)
    names = ["config", "features", "model", "sample_data"]
    names += [f"mlops.{name}" for name in ("dataset", "tables", "registry", "location", "train")]
    names += [f"mlops.{name}" for name in ("score", "validate", "deploy")]
    modules = {
        name.rsplit(".", 1)[-1]: importlib.import_module(f"{package}.{name}") for name in names
    }
    # Keep the figures readable: MLflow's hints and registration notices are not news here.
    warnings.filterwarnings("ignore", module="mlflow")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    prod = modules["location"].Location(modules["config"].PROD_CATALOG)
    modules["sample_data"].write_sample_data(modules["config"].INPUT_TABLE)
    trained = modules["train"].train(location=prod)
    modules["validate"].validate(location=prod, model_version=trained.version)
    modules["deploy"].deploy(location=prod, model_version=trained.version)
    return modules, prod, trained.version


def bench_scoring(project: Path, work: Path, rows: int) -> dict[str, float]:
    """Scoring throughput in this process, against the baked package."""
    import mlflow
    from deltalake import DeltaTable, write_deltalake

    modules, prod, version = prod_champion(project, work / "scoring-local")
    features, model_module, registry = modules["features"], modules["model"], modules["registry"]
    sample_data, tables, score = modules["sample_data"], modules["tables"], modules["score"]
    train = modules["train"]
    big = prod.table("bench_trips")
    sample_data.write_sample_data(big, n_rows=rows, seed=7, start="2016-03-01", days=30)

    started = time.perf_counter()
    result = score.score(location=prod, input_table=big, batch_id="bench")
    scoring = time.perf_counter() - started
    assert result.rows == rows

    # The bare minimum on the same rows, each step timed.
    model = mlflow.sklearn.load_model(prod.model_uri(version))
    steps = {}
    started = time.perf_counter()
    trips = DeltaTable(str(tables.LocalTables.path(big))).to_pandas()
    steps["read"] = time.perf_counter() - started
    started = time.perf_counter()
    frame = modules["dataset"].add_features(trips)
    steps["features"] = time.perf_counter() - started
    started = time.perf_counter()
    frame["prediction"] = model.predict(frame[features.MODEL_FEATURES])
    steps["predict"] = time.perf_counter() - started
    started = time.perf_counter()
    write_deltalake(str(work / "raw_predictions"), tables.to_arrow(frame), mode="overwrite")
    steps["write"] = time.perf_counter() - started
    raw = sum(steps.values())

    # log_model, as the project calls it and with environment inference.
    example = frame[features.MODEL_FEATURES].head(200)
    mlflow.set_experiment(experiment_id=registry.experiment_id("/bench/log_model"))

    def timed_log_model(**requirements) -> float:
        with mlflow.start_run():
            started = time.perf_counter()
            mlflow.sklearn.log_model(
                model,
                name="model",
                signature=mlflow.models.infer_signature(example, model.predict(example)),
                input_example=example.head(5),
                serialization_format="skops",
                skops_trusted_types=model_module.TRUSTED_TYPES,
                **requirements,
            )
            return time.perf_counter() - started

    explicit = [timed_log_model(pip_requirements=train.pip_requirements()) for _ in range(3)]
    inferred = timed_log_model()

    return {
        "rows": rows,
        "scoring": scoring,
        "raw": raw,
        **{f"raw_{name}": seconds for name, seconds in steps.items()},
        "log_model_explicit": statistics.median(explicit),
        "log_model_inferred": inferred,
    }


# Runs in the baked project: times the CLI's imports, the new MLflow database and each stage that
# `lifecycle.run` calls (wrapped where lifecycle looks them up), then prints one JSON line.
BREAKDOWN_SCRIPT = """
import json, sys, time
from collections import defaultdict
package = sys.argv[1]
spent = defaultdict(float)
clock = time.process_time()
cli = __import__(package + ".mlops.cli", fromlist=["_"])
# As `python -m <package> lifecycle` does: the child build (not counted), logging, the imports
# that come with it, and the collector's settings for a process that runs one command.
cli.prepare("lifecycle", one_command=True)
lifecycle = __import__(package + ".mlops.lifecycle", fromlist=["_"])
monitor = __import__(package + ".mlops.monitor", fromlist=["_"])
sample_data = __import__(package + ".sample_data", fromlist=["_"])
spent["imports"] = time.process_time() - clock
clock = time.process_time()
# Waits for the child's new local database (not counted), then opens MLflow's store on it:
lifecycle.registry.versions(lifecycle.config.DEV_CATALOG + ".any.model")
spent["first registry access"] = time.process_time() - clock

def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started
    return wrapper

for name in ("train", "validate", "deploy", "promote", "score", "record_labels"):
    setattr(lifecycle, name, timed(name, getattr(lifecycle, name)))
monitor.monitor = timed("monitor", monitor.monitor)
sample_data.write_sample_data = timed("sample data", sample_data.write_sample_data)
clock = time.process_time()
lifecycle.run(say=lambda line: None)
spent["other (registry state, summary)"] = (
    time.process_time() - clock - sum(v for k, v in spent.items() if k not in (
        "imports", "first registry access"))
)
print(json.dumps(spent))
"""


def lifecycle_breakdown(python: Path, project: Path, package: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(python), "-c", BREAKDOWN_SCRIPT, package],
        cwd=project,
        env={**env, "OMP_NUM_THREADS": "1"},  # as the CLI sets it
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit("lifecycle breakdown failed:\n" + result.stderr[-2000:])
    spent = json.loads(result.stdout.strip().splitlines()[-1])
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in spent.items())


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(command: list[str], env: dict[str, str], port: int, log: Path):
    """Start a server process (in a session of its own) and wait for its first /ping: the
    process and the seconds from start to that answer."""
    import urllib.request

    started = time.perf_counter()
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = started + 600
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as response:
                if response.status == 200:
                    return process, time.perf_counter() - started
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() > deadline:
            _stop_server(process)
            raise SystemExit(
                f"{' '.join(command)} did not answer /ping:\n{log.read_text()[-2000:]}"
            )
        time.sleep(0.01)


def _stop_server(process) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def _post(connection, body: bytes) -> int:
    connection.request(
        "POST", "/invocations", body=body, headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    return response.status


def _request_times(port: int, bodies: list[bytes]) -> list[float]:
    """Seconds per request, one after the other over one kept-alive connection."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times = []
    for body in bodies:
        started = time.perf_counter()
        status = _post(connection, body)
        times.append(time.perf_counter() - started)
        assert status == 200, status
    connection.close()
    return times


def _load(port: int, body: bytes, clients: int, per_client: int, kept_alive: bool) -> dict:
    """`clients` threads starting together, each sending `per_client` one-row requests on one
    kept-alive connection or on a new connection each: answered, lost, p99, requests/s."""
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor

    start_together = threading.Barrier(clients)

    def client() -> tuple[list[float], int]:
        times, lost = [], 0
        connection = None
        start_together.wait(timeout=120)
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                if _post(connection, body) == 200:
                    times.append(time.perf_counter() - started)
                else:
                    lost += 1
            except OSError:
                lost += 1
                connection = None
            if not kept_alive and connection is not None:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        return times, lost

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(lambda _: client(), range(clients)))
    seconds = time.perf_counter() - started
    times = [t for answered, _ in outcomes for t in answered]
    return {
        "requests": clients * per_client,
        "lost": sum(lost for _, lost in outcomes),
        "p99": _percentile(times, 0.99) if times else float("nan"),
        "per_s": len(times) / seconds,
    }


def bench_serving(
    project: Path,
    work: Path,
    requests: int = 500,
    batch_rows: int = 1_000,
    clients: int = 32,
    load_requests: int = 20,
) -> dict:
    """`serve` and, where uvicorn is installed, `mlflow models serve` of the same champion,
    each a process of its own, next to the model's own predict in this process: start to
    first /ping, 1-row latency, 1,000-row throughput and load, both servers in one run."""
    import importlib.util
    import json

    import mlflow

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the CLI sets it locally
    modules, prod, version = prod_champion(project, work / "serving-local")
    config, features, tables = modules["config"], modules["features"], modules["tables"]
    dataset = modules["dataset"]
    package = package_name(project)
    rows = dataset.add_features(tables.for_runtime().read(config.INPUT_TABLE))
    rows = rows[features.MODEL_FEATURES].reset_index(drop=True)
    # The scikit-learn pipeline itself, as MLflow's flavour loads it.
    model = mlflow.sklearn.load_model(prod.model_uri(version))
    singles = [rows.iloc[[i % len(rows)]] for i in range(requests)]
    batches = [rows.iloc[i * batch_rows : (i + 1) * batch_rows] for i in range(20)]

    def timed(call, items) -> list[float]:
        for item in items[:20]:  # warm-up
            call(item)
        times = []
        for item in items:
            started = time.perf_counter()
            call(item)
            times.append(time.perf_counter() - started)
        return times

    def encoded(frame) -> bytes:
        return json.dumps({"dataframe_split": frame.to_dict(orient="split", index=False)}).encode()

    # The servers' processes run with what their imports made frozen, out of the collector's
    # way (`cli.prepare`); so does this one from here, or predict's own figures would carry
    # full collections over everything the training above left.
    gc.collect()
    gc.freeze()
    # Bodies are encoded before the clock starts: the client's encoding is not a server's cost.
    single_bodies = [encoded(frame) for frame in singles]
    batch_bodies = [encoded(frame) for frame in batches]

    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(project / "src"), os.environ.get("PYTHONPATH")])
        ),
        # mlflow models serve runs the `uvicorn` of this environment, and reads this registry.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
    }
    commands = {
        "serve": lambda port: [
            sys.executable,
            "-m",
            package,
            "serve",
            "--catalog",
            prod.catalog,
            "--port",
            str(port),
        ],  # fmt: skip
    }
    if importlib.util.find_spec("uvicorn"):
        commands["mlflow"] = lambda port: [
            sys.executable, "-m", "mlflow", "models", "serve", "--env-manager", "local",
            "-m", f"models:/{prod.model}@{config.CHAMPION}", "-h", "127.0.0.1", "-p", str(port),
        ]  # fmt: skip
    floor_command = [sys.executable, __file__, "--floor-server", str(project), prod.catalog]
    figures: dict = {"requests": requests, "batch_rows": batch_rows, "cpus": os.cpu_count()}
    figures["clients"], figures["load_requests"] = clients, load_requests
    figures["peer"] = "mlflow" in commands

    # Start to first /ping, twice each, interleaved; the second ones stay up for the rest.
    starts: dict[str, list[float]] = {name: [] for name in commands}
    running = {}
    try:
        for round_number in range(2):
            for name, command in commands.items():
                port = _free_port()
                process, seconds = _start_server(
                    command(port), environment, port, work / f"{name}-server.log"
                )
                starts[name].append(seconds)
                if round_number == 0:
                    _stop_server(process)
                else:
                    running[name] = (process, port)
        for name in commands:
            figures[f"{name}_start"] = statistics.median(starts[name])
        port = _free_port()
        running["floor"] = (
            _start_server([*floor_command, str(port)], environment, port, work / "floor.log")[0],
            port,
        )

        # Latency and throughput, in blocks interleaved with the model's own predict, so a
        # change in the machine's load reaches every measure alike.
        single_times = {name: [] for name in ("predict", *running)}
        batch_times = {name: [] for name in ("predict", *running)}
        blocks = 5
        for block in range(blocks):
            part = slice(block * requests // blocks, (block + 1) * requests // blocks)
            single_times["predict"] += timed(model.predict, singles[part])
            batch_times["predict"] += timed(model.predict, batches[block::blocks])
            for name, (_, port) in running.items():
                # Warmed up on the bodies it is then timed on, as `timed` warms predict up.
                _request_times(port, single_bodies[part][:20])
                single_times[name] += _request_times(port, single_bodies[part])
                _request_times(port, batch_bodies[block::blocks])
                batch_times[name] += _request_times(port, batch_bodies[block::blocks])
        for name in single_times:
            figures[f"{name}_p50"] = _percentile(single_times[name], 0.5)
            figures[f"{name}_p99"] = _percentile(single_times[name], 0.99)
            figures[f"{name}_rows_per_s"] = (
                batch_rows * len(batch_times[name]) / sum(batch_times[name])
            )

        # Load: every client starts at once; kept-alive connections, then a new one per request.
        for name, (_, port) in running.items():
            if name == "floor":
                continue  # it answers one request at a time: load is not what it is for
            for kept_alive, label in ((True, "kept"), (False, "new")):
                per_client = load_requests if kept_alive else load_requests // 2
                outcome = _load(port, single_bodies[0], clients, per_client, kept_alive)
                for key, value in outcome.items():
                    figures[f"{name}_load_{label}_{key}"] = value
    finally:
        for process, _ in running.values():
            _stop_server(process)
    return figures


def floor_server(project: Path, catalog: str, port: int) -> None:
    """The floor under any HTTP server of this model on this machine: the standard library's
    server and handler that `serve` uses, which reads each request's body and predicts rows it
    parsed the first time it saw that body, then writes the answer with orjson. What HTTP, the
    model and the machine's wake-ups cost, without decoding, checks or batching: `serve`'s own
    cost is its time over this one's."""
    from http import HTTPStatus

    import orjson

    sys.path.insert(0, str(project / "src"))
    package = package_name(project)
    server = importlib.import_module(f"{package}.mlops.server")
    location = importlib.import_module(f"{package}.mlops.location")
    served = server.load_champion(location.Location(catalog))
    parsed: dict[bytes, object] = {}

    class Floor(server._Handler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if body not in parsed:
                parsed[body] = server.parse_request(body)
            answer = {"predictions": served.answer(parsed[body])}
            self._reply(
                HTTPStatus.OK,
                orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY),
                server.JSON,
            )

    Floor.served = served
    server._HTTPServer((server.HOST, port), Floor).serve_forever()


def serving_rows(figures: dict) -> list[tuple[str, str, str]]:
    """The serving figures: each server's own, then the three ratios the targets are set in."""
    ms = 1000
    names = ["serve", *(["mlflow"] if figures["peer"] else [])]
    label = {"serve": "serve", "mlflow": "mlflow models serve"}
    rows = []
    for name in names:
        rows.append(
            (
                f"{label[name]}: start to first /ping",
                f"{figures[f'{name}_start']:.2f} s",
                "median of 2 starts",
            )  # fmt: skip
        )
    label["floor"] = "the floor (HTTP and predict, no decoding)"
    for name in ["predict", "floor", *names]:
        what = "model.predict (the pipeline, in process)" if name == "predict" else label[name]
        rows.append(
            (
                f"{what}: 1 row, p50",
                f"{figures[f'{name}_p50'] * ms:.2f} ms",
                f"p99 {figures[f'{name}_p99'] * ms:.2f} ms over {figures['requests']:,} "
                f"requests (one kept-alive connection, {figures['cpus']} cores)",
            )
        )
        rows.append(
            (
                f"{what}: {figures['batch_rows']:,} rows",
                f"{figures[f'{name}_rows_per_s']:,.0f}",
                "rows/s",
            )
        )
    for name in names:
        overhead = (figures[f"{name}_p50"] - figures["predict_p50"]) * ms
        rows.append(
            (
                f"{label[name]}: 1-row p50 over predict",
                f"{overhead:.2f} ms",
                "target for serve: at most 1 ms",
            )  # fmt: skip
        )
        share = figures[f"{name}_rows_per_s"] / figures["predict_rows_per_s"]
        rows.append(
            (
                f"{label[name]}: {figures['batch_rows']:,}-row throughput / predict's",
                f"{share:.2f}x",
                "target for serve: at least 0.8x",
            )  # fmt: skip
        )
    overhead = (figures["serve_p50"] - figures["floor_p50"]) * ms
    share = figures["serve_rows_per_s"] / figures["floor_rows_per_s"]
    rows.append(("serve: 1-row p50 over the floor's", f"{overhead:.2f} ms", "serve's own cost"))
    rows.append(
        (
            f"serve: {figures['batch_rows']:,}-row throughput / the floor's",
            f"{share:.2f}x",
            "serve's own cost",
        )  # fmt: skip
    )
    if figures["peer"]:
        share = figures["serve_start"] / figures["mlflow_start"]
        rows.append(
            (
                "start to first /ping, serve / mlflow models serve",
                f"{share:.2f}x",
                "target: at most 0.3x",
            )  # fmt: skip
        )
    else:
        rows.append(("mlflow models serve", "", "not measured: uvicorn is not installed"))
    for name in names:
        for kind, what in (("kept", "kept-alive connections"), ("new", "a new connection each")):
            key = f"{name}_load_{kind}"
            rows.append(
                (
                    f"{label[name]}: load, {what}",
                    f"{figures[f'{key}_lost']} lost",
                    f"of {figures[f'{key}_requests']:,} requests from {figures['clients']} "
                    f"clients at once; p99 {figures[f'{key}_p99'] * ms:,.0f} ms, "
                    f"{figures[f'{key}_per_s']:.0f} requests/s",
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to score")
    parser.add_argument("--tests-all-patterns", action="store_true")
    parser.add_argument(
        "--no-scoring", action="store_true", help="only lifecycle, imports and make test"
    )
    parser.add_argument("--serving-only", action="store_true", help="only the serving figures")
    parser.add_argument(
        "--problem-type",
        choices=["regression", "classification"],
        default="regression",
        help="the projects' problem_type answer (default: %(default)s)",
    )
    add_keep_option(parser)
    # Internal: measure serving of the project at this path, print the figures as JSON.
    parser.add_argument("--serving-in", type=Path, help=argparse.SUPPRESS)
    # Internal: run the floor server (see floor_server) for the project at this path.
    parser.add_argument("--floor-server", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        project, catalog, port = args.floor_server
        floor_server(Path(project), catalog, int(port))
        return 0
    PROBLEM_TYPE["problem_type"] = args.problem_type
    if args.serving_in:  # a child of the run below: it works in the run's folder
        import json

        print(json.dumps(bench_serving(args.serving_in, args.serving_in.parent)))
        return 0
    with work_folder(prefix="bench-project-", keep=args.keep) as work:
        return benchmark(args, work)


def benchmark(args: argparse.Namespace, work: Path) -> int:
    bundle_schema, schema_source = find_bundle_schema(work)
    print(f"measured on {machine()}")
    print(f"python {sys.version.split()[0]} ({sys.executable}); work dir {work}")
    print(f"bundle schema: {schema_source}; problem_type {args.problem_type}\n")
    serving_project = bake(PATTERNS[0], work / "serving", include_serving=True)
    command = [sys.executable, __file__, "--serving-in", str(serving_project)]
    serving = subprocess.run(command, capture_output=True, text=True)
    if serving.returncode != 0:
        raise SystemExit("serving benchmark failed:\n" + serving.stderr[-2000:])
    import json

    serving_figures = serving_rows(json.loads(serving.stdout.strip().splitlines()[-1]))
    if args.serving_only:
        print_table(serving_figures)
        return 0
    projects = {pattern: bake(pattern, work / pattern) for pattern in PATTERNS}
    package = package_name(projects[PATTERNS[0]])
    # One environment for every pattern: each run puts its own project's src/ first.
    python = project_python(projects[PATTERNS[0]])
    print(f"project environment: {python}\n")

    rows = []
    for pattern, project in projects.items():
        lifecycle = [str(python), "-m", package, "lifecycle"]
        # Several first runs, each in a new local folder: on a shared machine one run's wall
        # time moves by a second or more.
        envs = [
            project_env(project, work / f"{pattern}-{n}", bundle_schema)
            for n in range(LIFECYCLE_RUNS)
        ]
        runs = [timed_run(lifecycle, project, env) for env in envs]
        walls = sorted(seconds for seconds, _, _ in runs)
        again, again_cpu, _ = timed_run(lifecycle, project, envs[0])
        rows.append(
            (
                f"lifecycle ({pattern})",
                f"{statistics.median(walls):.1f} s",
                f"median of {len(walls)} new folders ({', '.join(f'{s:.1f}' for s in walls)} s; "
                f"cpu {statistics.median(cpu for _, cpu, _ in runs):.1f} s); again in the same "
                f"folder {again:.1f} s (cpu {again_cpu:.1f} s)",
            )
        )
    project = projects[PATTERNS[0]]
    env = project_env(project, work / "imports-local", bundle_schema)
    seconds, cpu, _ = timed_run(import_only_command(python, package), project, env)
    rows.append(("imports alone (lifecycle's modules)", f"{seconds:.1f} s", f"cpu {cpu:.1f} s"))
    env = project_env(project, work / "breakdown-local", bundle_schema)
    rows.append(
        (
            f"lifecycle cpu by step ({PATTERNS[0]})",
            "",
            lifecycle_breakdown(python, project, package, env) + " (cpu s)",
        )
    )
    for pattern in PATTERNS if args.tests_all_patterns else PATTERNS[:1]:
        project = projects[pattern]
        # Exactly the project's `make test` (the fast suite) and `make test-all` (with the slow
        # tests its CI runs), in the project's environment.
        for target in ("test", "test-all"):
            env = project_env(project, work / f"{pattern}-{target}-local", bundle_schema)
            command = ["make", "--no-print-directory", target, f"BIN={python.parent}"]
            seconds, cpu, summary = timed_run(command, project, env)
            rows.append(
                (f"make {target} ({pattern})", f"{seconds:.1f} s", f"cpu {cpu:.1f} s; {summary}")
            )

    if args.no_scoring:
        print_table(rows)
        return 0
    figures = bench_scoring(projects[PATTERNS[0]], work, args.rows)
    n = figures["rows"]
    rows.append(
        (
            f"score.score, {n:,} rows",
            f"{figures['scoring']:.2f} s",
            f"{n / figures['scoring']:,.0f} rows/s",
        )
    )
    raw_detail = ", ".join(
        f"{name} {figures[f'raw_{name}']:.2f}" for name in ("read", "features", "predict", "write")
    )
    rows.append(
        (
            f"read+features+predict+write, {n:,} rows",
            f"{figures['raw']:.2f} s",
            f"{n / figures['raw']:,.0f} rows/s ({raw_detail})",
        )
    )
    rows.append(
        ("scoring overhead (score / raw)", f"{figures['scoring'] / figures['raw']:.2f}x", "")
    )
    rows.append(
        (
            "log_model, explicit pip_requirements",
            f"{figures['log_model_explicit']:.2f} s",
            "median of 3",
        )
    )
    rows.append(
        (
            "log_model, inferred requirements",
            f"{figures['log_model_inferred']:.2f} s",
            "for comparison",
        )
    )

    print_table(rows + serving_figures)
    return 0


def print_table(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(name) for name, _, _ in rows)
    print(f"{'measure':<{width}}  {'value':>9}  note")
    print(f"{'-' * width}  {'-' * 9}  ----")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>9}  {note}")


if __name__ == "__main__":
    sys.exit(main())
