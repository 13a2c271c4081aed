"""Export: OpenTelemetry metrics received by a local OTLP/HTTP receiver and decoded; the Prometheus file."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_helpers import make_project, run, script
from run_cli import run_greencode

from greencode.export.points import Point
from greencode.export.prometheus import render

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")
metrics_pb2 = pytest.importorskip(
    "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
    reason='opentelemetry-proto missing: pip install -e ".[test]"',
)
# imported here, outside pytester's inner runs: those drop the modules they import afterwards, and a second
# import of requests' cookie classes beside objects of the first breaks the exporter's HTTP session
pytest.importorskip(
    "opentelemetry.exporter.otlp.proto.http.metric_exporter", reason='pip install -e ".[test]"'
)
pytest.importorskip("opentelemetry.sdk.metrics")
pytest.importorskip("requests")


class Receiver:
    """An OTLP/HTTP metrics receiver on the loopback interface: keeps each request's path, headers, body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = metrics_pb2.ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def metrics(self) -> dict[str, Any]:
        """Every metric received, by name."""
        found = {}
        for _, _, body in self.requests:
            request = metrics_pb2.ExportMetricsServiceRequest.FromString(body)
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        found[metric.name] = metric
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    server = Receiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer t0ken")
    yield server
    server.close()


def _attributes(point: Any) -> dict[str, Any]:
    return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in point.attributes}


def test_per_test_metrics_reach_an_otlp_receiver_with_their_attributes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    script(monkeypatch, energy_j=2.0)
    make_project(pytester, "def test_a():\n    pass\n\ndef test_b():\n    pass\n", rounds=2)
    run(pytester, "--greencode", "--greencode-otel").assert_outcomes(passed=2)
    (path, headers, _), *_ = receiver.requests
    assert path == "/v1/metrics" and headers["authorization"] == "Bearer t0ken"
    metrics = receiver.metrics()
    energy = metrics["greencode.test.energy"]
    assert energy.unit == "J"
    points = {_attributes(p)["test.id"]: p for p in energy.gauge.data_points}
    assert set(points) == {"test_energy.py::test_a", "test_energy.py::test_b"}
    assert points["test_energy.py::test_a"].as_double == pytest.approx(2.0)
    labels = _attributes(points["test_energy.py::test_a"])
    assert labels["greencode.meter"] == "scripted" and labels["greencode.estimated"] is True
    assert labels["greencode.per"] == "test" and {"vcs.commit", "vcs.branch", "greencode.machine"} <= set(
        labels
    )
    assert metrics["greencode.test.co2e"].unit == "g"
    assert "greencode.test.instructions" not in metrics  # no counting meter ran: nothing is made up


def test_nothing_is_exported_unless_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "def test_a():\n    pass\n")
    run(pytester, "--greencode").assert_outcomes(passed=1)
    assert receiver.requests == []


def test_the_otel_option_alone_measures_and_exports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "def test_a():\n    pass\n")
    run(pytester, "--greencode-otel").assert_outcomes(passed=1)
    assert "greencode.test.energy" in receiver.metrics()


def test_otel_true_in_the_configuration_exports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "def test_a():\n    pass\n", otel=True)
    run(pytester, "--greencode").assert_outcomes(passed=1)
    assert "greencode.test.energy" in receiver.metrics()


def test_greencode_run_otel_exports_the_command(tmp_path: Path, receiver: Receiver) -> None:
    completed = run_greencode(
        "run", "--otel", "--meter", "estimate", "--label", "build", "--", "true", cwd=tmp_path,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    (point,) = receiver.metrics()["greencode.test.energy"].gauge.data_points
    assert _attributes(point)["test.id"] == "build" and _attributes(point)["greencode.per"] == "run"


def test_an_unreachable_collector_is_a_warning_not_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, "def test_a():\n    pass\n")
    result = run(pytester, "--greencode", "--greencode-otel")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*OpenTelemetry export to http://127.0.0.1:1/v1/metrics failed*"])


# ---------------------------------------------------------------------------------------------------------
# Prometheus


def _point(test_id: str = "t.py::a", energy: float = 1.5) -> Point:
    return Point(test_id, "test", energy, 0.2, None, "rapl", False, "abc", "main", "Xeon, 4 CPUs")


_SAMPLE = re.compile(r'^(\w+)\{((?:\w+="(?:[^"\\]|\\.)*",?)*)\} (\S+)$')


def _parse_labels(text: str) -> dict[str, str]:
    labels = {}
    for key, raw in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text):
        labels[key] = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), raw)
    return labels


@given(st.text(min_size=1, max_size=40))
def test_prometheus_label_values_round_trip_whatever_the_test_id(test_id: str) -> None:
    (line,) = [x for x in render([_point(test_id)], 1.0).split("\n") if x.startswith("greencode_test_energy")]
    match = _SAMPLE.match(line)
    assert match is not None, line
    assert _parse_labels(match.group(2))["test"] == test_id


def test_the_prometheus_option_alone_measures_and_writes_the_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # like --greencode-json, it asks for what only a measuring run has: it ran the tests and wrote nothing
    script(monkeypatch, energy_j=3.0)
    make_project(pytester, "def test_a():\n    pass\n")
    run(pytester, "--greencode-prometheus=greencode.prom").assert_outcomes(passed=1)
    assert "greencode_test_energy_joules{" in (pytester.path / "greencode.prom").read_text()


def test_the_prometheus_file_is_written_atomically_for_the_textfile_collector(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=3.0)
    make_project(pytester, "def test_a():\n    pass\n")
    target = pytester.path / "metrics" / "greencode.prom"
    target.parent.mkdir()
    target.write_text("old\n")
    run(pytester, "--greencode", "--greencode-prometheus=metrics/greencode.prom").assert_outcomes(passed=1)
    text = target.read_text()
    assert "# TYPE greencode_test_energy_joules gauge" in text
    (line,) = [x for x in text.split("\n") if x.startswith("greencode_test_energy_joules{")]
    match = _SAMPLE.match(line)
    assert match is not None and float(match.group(3)) == pytest.approx(3.0)
    labels = _parse_labels(match.group(2))
    assert labels["test"] == "test_energy.py::test_a" and labels["meter"] == "scripted"
    assert labels["estimated"] == "true"
    assert "greencode_run_finished_timestamp_seconds" in text
    assert sorted(p.name for p in target.parent.iterdir()) == ["greencode.prom"]  # no temporary file left
