"""Configuration, read once into one typed, frozen object.

Sources, later ones winning:

1. built-in defaults;
2. ``[tool.greencode]`` in ``pyproject.toml``, or the top level of ``greencode.toml`` (a file named by
   ``GREENCODE_CONFIG`` replaces the search);
3. environment variables (``GREENCODE_METER``, ``GREENCODE_POWERCAP_ROOT``, ``GREENCODE_OUTPUT``,
   ``GREENCODE_HISTORY``);
4. explicit overrides from the command line or the pytest options (:func:`load_config`'s ``overrides``).

Every value is validated here; a bad one raises :class:`~greencode.errors.ConfigError` naming the file, the
key, the value and the accepted forms. ``docs/configuration.md`` lists every key.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from greencode.config_files import find_config_file
from greencode.errors import ConfigError
from greencode.kinds import ON_MISSING_BASELINE, OnMissingBaseline

#: The embedded history, and where a run goes when a shared (PostgreSQL) history cannot be written.
DEFAULT_HISTORY = ".greencode/history.sqlite"
INTENSITY_BASES = ("location", "market")
INSTRUCTION_BACKENDS = ("auto", "callgrind", "perf")


@dataclass(frozen=True)
class Threshold:
    """A relative change such as ``10%``; ``fraction`` is 0.10 for that."""

    fraction: float

    def __str__(self) -> str:
        return f"{self.fraction * 100:g}%"


@dataclass(frozen=True)
class EstimatorConfig:
    """Overrides for the estimator's CPU power model (see ``docs/estimator.md``)."""

    cpu_model: str | None = None
    watts_per_thread: float | None = None
    tdp_w: float | None = None
    threads: int | None = None


@dataclass(frozen=True)
class InstructionsConfig:
    """``[tool.greencode.instructions]``: the instruction meter's backend and energy coefficients (J per
    event; ``None`` = the sourced defaults of ``docs/instructions.md``)."""

    backend: str = "auto"
    joules_per_instruction: float | None = None
    joules_per_d1_miss: float | None = None
    joules_per_ll_miss: float | None = None
    #: callgrind's cache simulation (D1 and LL misses) when greencode starts Valgrind; about 2x slower
    cache_sim: bool = False


@dataclass(frozen=True)
class CarbonConfig:
    """Grid intensity, PUE and embodied emissions for CO2e and SCI."""

    grid: str | None = None
    grid_intensity: float | None = None
    market_intensity: float | None = None
    basis: str = "location"
    hourly_profile: Path | None = None
    pue: float = 1.0
    embodied_kgco2e: float | None = None
    lifetime_years: float = 4.0
    resource_share: float = 1.0
    functional_unit: str = "call"


@dataclass(frozen=True)
class ScanConfig:
    """``[tool.greencode.scan]``: which rules run and which paths are skipped."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything greencode can be configured with. Build it with :func:`load_config`."""

    # where the values came from, for messages
    source: str = "defaults"
    root: Path = field(default_factory=Path.cwd)
    # meters
    meter: str = "auto"
    powercap_root: Path = Path("/sys/class/powercap")
    gpus: tuple[int, ...] | None = None
    power_bound_w: float = 1000.0
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    instructions: InstructionsConfig = field(default_factory=InstructionsConfig)
    # measurement
    output: str = ""
    rounds: int = 5
    #: extra rounds of a comparing pytest run may take this share of its first pass's time
    repeat_budget: float = 0.5
    min_round_s: float | None = None
    subtract_idle: bool = False
    # pytest gate
    enabled: bool = False
    #: a baseline file, or ``history:BRANCH`` for the recent runs of a branch in the history
    baseline: Path | str = Path(".greencode/baseline.json")
    #: a SQLite path, or a ``postgresql://`` URL (kept as text) for a shared database
    history: Path | str = Path(DEFAULT_HISTORY)
    fail_on: Threshold = Threshold(0.10)
    min_effect_j: float = 0.0
    alpha: float = 0.05
    on_missing_baseline: OnMissingBaseline = "warn"
    budgets: Mapping[str, float] = field(default_factory=dict)
    #: the most the whole suite may use: the sum of the tests measured per test (None: no limit)
    total_budget_j: float | None = None
    include_setup: bool = False
    allow_other_machine: bool = False
    # export (docs/teams.md)
    otel: bool = False
    prometheus: Path | None = None
    # carbon and scan
    carbon: CarbonConfig = field(default_factory=CarbonConfig)
    scan: ScanConfig = field(default_factory=ScanConfig)
    # where each key that was set came from, for messages (see origin())
    origins: Mapping[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """Where ``key`` was set (a file, an environment variable, the command line), or ``"defaults"``."""
        return self.origins.get(key, "defaults")

    def resolve(self, path: Path) -> Path:
        """A configured relative path is relative to the project root (where the config file is)."""
        return path if path.is_absolute() else self.root / path

    def history_location(self) -> Path | str:
        """Where the history is: a PostgreSQL URL as configured, or the SQLite path resolved."""
        return self.history if isinstance(self.history, str) else self.resolve(self.history)


# ---------------------------------------------------------------------------------------------------------
# value parsers: each returns the typed value or raises ValueError saying what is accepted


_NUMBER = r"[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PERCENT = re.compile(rf"^\s*({_NUMBER})\s*%\s*$")
_ENERGY = re.compile(rf"^\s*({_NUMBER})\s*([a-zA-Zµμ]*)\s*$")
# Case matters: mJ is milli, MJ mega (10^9 apart). Only SI spellings are accepted; "mj" or "KJ" could mean
# either, so they are errors that list these forms rather than guesses.
_ENERGY_UNITS = {
    "": 1.0,
    "J": 1.0,
    "mJ": 1e-3,
    "uJ": 1e-6,
    "µJ": 1e-6,  # micro sign
    "μJ": 1e-6,  # Greek mu
    "nJ": 1e-9,
    "kJ": 1e3,
    "MJ": 1e6,
    "GJ": 1e9,
    "mWh": 3.6,
    "Wh": 3600.0,
    "kWh": 3.6e6,
    "MWh": 3.6e9,
}
ENERGY_FORMS = (
    "J, nJ, uJ (or µJ), mJ, kJ, MJ, GJ, mWh, Wh, kWh or MWh, case as written (mJ is milli, MJ mega)"
)


def parse_threshold(value: object) -> Threshold:
    """``"10%"`` or a number of percent (``10``) → ``Threshold(0.10)``."""
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as '10%'")
    if isinstance(value, (int, float)):
        percent = float(value)
    elif isinstance(value, str) and (match := _PERCENT.match(value)):
        percent = float(match.group(1))
    else:
        raise ValueError("expected a percentage such as '10%' or '2.5%'")
    if not math.isfinite(percent) or percent < 0 or percent > 10_000:
        raise ValueError("expected a percentage between 0% and 10000%")
    return Threshold(percent / 100.0)


def parse_energy(value: object) -> float:
    """Joules from a number or a string with a unit: ``5``, ``"5 J"``, ``"200 mJ"``, ``"0.1 Wh"``."""
    if isinstance(value, bool):
        raise ValueError("expected an energy such as 5, '5 J', '200 mJ' or '0.1 Wh'")
    if isinstance(value, (int, float)):
        joules = float(value)
    elif isinstance(value, str) and (match := _ENERGY.match(value)):
        unit = match.group(2)
        if unit not in _ENERGY_UNITS:
            raise ValueError(f"unknown or ambiguous unit {unit!r}; use {ENERGY_FORMS}")
        joules = float(match.group(1)) * _ENERGY_UNITS[unit]
    else:
        raise ValueError("expected an energy such as 5, '5 J', '200 mJ' or '0.1 Wh'")
    if not math.isfinite(joules) or joules < 0:
        raise ValueError("expected a non-negative, finite energy")
    return joules


def _positive_float(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError("expected a positive number")
    return float(value)


def _non_negative_float(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError("expected a number >= 0")
    return float(value)


def _pue(value: object) -> float:
    # power usage effectiveness is the facility's power over the IT equipment's: never below 1
    pue = _positive_float(value)
    if pue < 1:
        raise ValueError("expected a number >= 1 (power usage effectiveness; 1.0 on a laptop)")
    return pue


def _positive_int(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("expected a whole number >= 1")
    return value


def _bounded(parse: Any, low: float, high: float, what: str) -> Any:
    """``parse``, then a range check: values that parse but could only fail later (a run of a billion
    rounds, a poller that would sleep for ages) are refused when they are read."""

    def check(value: object) -> Any:
        parsed = parse(value)
        if not low <= parsed <= high:
            raise ValueError(f"expected {what} from {low:g} to {high:g}")
        return parsed

    return check


#: Most rounds per test: each round runs the test once more.
MAX_ROUNDS = 10_000


def _alpha(value: object) -> float:
    # below 1e-6 the gate's quantiles leave floating-point range; no test suite needs such a level
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1e-6 <= value < 0.5:
        raise ValueError("expected a significance level from 1e-06 to below 0.5, such as 0.05")
    return float(value)


def _repeat_budget(value: object) -> float:
    if isinstance(value, str) and re.fullmatch(_NUMBER, value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 10:
        raise ValueError(
            "expected the extra time as a share of the first pass, from 0 (never repeat) to 10, such as 0.5"
        )
    return float(value)


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError("expected a fraction in (0, 1]")
    return float(value)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _path(value: object) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ValueError("expected a path (it is empty)" if isinstance(value, str) else "expected a path")
    if "\0" in str(value):
        raise ValueError("a path cannot contain a NUL character")
    return Path(value)


#: How a ``history`` value that names a PostgreSQL database begins.
HISTORY_URL_SCHEMES = ("postgresql://", "postgres://")


def is_history_url(value: object) -> bool:
    """Whether a ``history`` value names a PostgreSQL database rather than a SQLite file."""
    return isinstance(value, str) and value.lower().startswith(HISTORY_URL_SCHEMES)


def parse_history_location(value: object) -> Path | str:
    """A ``history`` value: a ``postgresql://`` URL (checked, kept as text) or a SQLite path."""
    if is_history_url(value):
        from urllib.parse import urlsplit

        text = str(value)
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - a bad port raises here, not in the middle of a test run
        except ValueError as exc:
            raise ValueError(f"not a valid PostgreSQL URL ({exc})") from None
        if "\x00" in text:
            raise ValueError("a URL cannot contain NUL characters")
        return text
    return _path(value)


#: How a ``baseline`` value that names a branch of the history begins (``history:main``).
HISTORY_BASELINE_PREFIX = "history:"


def parse_baseline_location(value: object) -> Path | str:
    """A ``baseline`` value: ``"history:BRANCH"`` (kept as text) or the path of a baseline file."""
    if isinstance(value, str) and value.startswith(HISTORY_BASELINE_PREFIX):
        branch = value[len(HISTORY_BASELINE_PREFIX) :].strip()
        if not branch:
            raise ValueError("name the branch whose runs to compare with, e.g. 'history:main'")
        return f"{HISTORY_BASELINE_PREFIX}{branch}"
    return _path(value)


def _choice(*choices: str) -> Any:
    def parse(value: object) -> str:
        if value not in choices:
            raise ValueError("expected one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    return parse


def _meter(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\w.:-]+(\s*,\s*[\w.:-]+)*", value.strip()):
        raise ValueError(
            "expected 'auto', a meter name such as 'rapl', 'nvml' or 'estimate', 'package.module:factory', "
            "or a comma-separated list of these"
        )
    return ",".join(part.strip() for part in value.split(","))


def _gpus(value: object) -> tuple[int, ...] | None:
    if value in (None, "all", "*"):
        return None
    if isinstance(value, str):
        try:
            value = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("expected 'all' or GPU indices such as [0, 1] or '0,1'") from None
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise ValueError("expected 'all' or GPU indices such as [0, 1] or '0,1'")
    return tuple(value)


def _str_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return tuple(value)


def _budgets(value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ValueError(
            "expected a table of node-id glob = energy, such as { 'tests/test_io.py::*' = '2 J' }"
        )
    budgets: dict[str, float] = {}
    for pattern, energy in value.items():
        try:
            budgets[str(pattern)] = parse_energy(energy)
        except ValueError as exc:
            raise ValueError(f"budget for {pattern!r}: {exc}") from None
    return budgets


def _grid(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2,3}|(?i:world)", value.strip()):
        raise ValueError("expected an ISO 3166 country code such as 'NL' or 'NLD', or 'world'")
    from greencode.grid import country_table

    if value.strip().upper() not in country_table():
        raise ValueError(
            "no grid intensity is known for this code; use a code listed in "
            "greencode/data/grid_intensity.csv or set carbon.grid_intensity in gCO2e/kWh"
        )
    return value.strip().upper()


def _functional_unit(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][\w -]{0,39}", value.strip()):
        raise ValueError("expected 'call', 'test', 'run' or a unit name of your own such as 'request'")
    unit = value.strip()
    return unit.lower() if unit.lower() in ("call", "test", "run") else unit


def _check_carbon(carbon: CarbonConfig, root: Path, where: str) -> CarbonConfig:
    """Checks across carbon keys; a relative hourly profile is relative to the project root."""
    if carbon.basis == "market" and carbon.market_intensity is None:
        raise ConfigError(
            f"{where}: carbon.basis = 'market' needs carbon.market_intensity (gCO2e/kWh of the contracted "
            "supply); set it or use basis = 'location'"
        )
    profile = carbon.hourly_profile
    if profile is not None:
        from greencode.grid import load_hourly_profile

        if not profile.is_absolute():
            profile = root / profile
            carbon = replace(carbon, hourly_profile=profile)
        load_hourly_profile(profile)  # a bad profile is reported now, with its file and line
    return carbon


_TOP_KEYS: dict[str, Any] = {
    "meter": _meter,
    "powercap_root": _path,
    "gpus": _gpus,
    # the most a RAPL package can draw: 1 W is below any CPU; 100 kW above any machine
    "power_bound_w": _bounded(_positive_float, 1.0, 100_000.0, "watts"),
    "output": _str,
    "rounds": _bounded(_positive_int, 1, MAX_ROUNDS, "a whole number of rounds"),
    "repeat_budget": _repeat_budget,
    "min_round_s": _positive_float,
    "subtract_idle": _bool,
    "enabled": _bool,
    "baseline": parse_baseline_location,
    "history": parse_history_location,
    "fail_on": parse_threshold,
    "min_effect_j": parse_energy,
    "alpha": _alpha,
    "on_missing_baseline": _choice(*ON_MISSING_BASELINE),
    "budgets": _budgets,
    "total_budget_j": parse_energy,
    "include_setup": _bool,
    "allow_other_machine": _bool,
    "otel": _bool,
    "prometheus": _path,
}
_SECTIONS: dict[str, tuple[type, dict[str, Any]]] = {
    "estimator": (
        EstimatorConfig,
        {
            "cpu_model": _str,
            "watts_per_thread": _positive_float,
            "tdp_w": _positive_float,
            "threads": _positive_int,
        },
    ),
    "instructions": (
        InstructionsConfig,
        {
            "backend": _choice(*INSTRUCTION_BACKENDS),
            "joules_per_instruction": _positive_float,
            "joules_per_d1_miss": _non_negative_float,
            "joules_per_ll_miss": _non_negative_float,
            "cache_sim": _bool,
        },
    ),
    "carbon": (
        CarbonConfig,
        {
            "grid": _grid,
            "grid_intensity": _non_negative_float,
            "market_intensity": _non_negative_float,
            "basis": _choice(*INTENSITY_BASES),
            "hourly_profile": _path,
            "pue": _pue,
            "embodied_kgco2e": _non_negative_float,
            "lifetime_years": _positive_float,
            "resource_share": _fraction,
            "functional_unit": _functional_unit,
        },
    ),
    "scan": (ScanConfig, {"select": _str_list, "ignore": _str_list, "exclude": _str_list}),
}
_ENV_KEYS = {
    "GREENCODE_METER": "meter",
    "GREENCODE_POWERCAP_ROOT": "powercap_root",
    "GREENCODE_OUTPUT": "output",
    # greencode ab points each side's pytest at a scratch history, away from the user's .greencode/
    "GREENCODE_HISTORY": "history",
}

#: Every accepted key, for ``--help`` texts and the docs test.
KNOWN_KEYS: tuple[str, ...] = tuple(_TOP_KEYS) + tuple(
    f"{section}.{key}" for section, (_, keys) in _SECTIONS.items() for key in keys
)


def _parse(where: str, key: str, value: object, parser: Any) -> Any:
    try:
        return parser(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {key} = {value!r}: {exc}") from None


def _close_match(key: str, candidates: list[str]) -> str:
    import difflib

    match = difflib.get_close_matches(key, candidates, n=1)
    return f" (did you mean {match[0]!r}?)" if match else f"; known keys: {', '.join(sorted(candidates))}"


def apply_table(config: Config, table: Mapping[str, Any], where: str) -> Config:
    """Validate ``table`` (the ``[tool.greencode]`` mapping or overrides) and apply it to ``config``."""
    updates: dict[str, Any] = {}
    for key, value in table.items():
        if key in _SECTIONS:
            _, parsers = _SECTIONS[key]
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: {key} must be a table such as [tool.greencode.{key}]")
            current = getattr(config, key)
            section_updates = {}
            for sub_key, sub_value in value.items():
                if sub_key not in parsers:
                    raise ConfigError(
                        f"{where}: unknown key {key}.{sub_key}{_close_match(sub_key, list(parsers))}"
                    )
                section_updates[sub_key] = _parse(where, f"{key}.{sub_key}", sub_value, parsers[sub_key])
            updates[key] = replace(current, **section_updates)
            if key == "carbon":
                updates[key] = _check_carbon(updates[key], config.root, where)
        elif key in _TOP_KEYS:
            updates[key] = _parse(where, key, value, _TOP_KEYS[key])
        else:
            raise ConfigError(
                f"{where}: unknown key {key!r}{_close_match(key, list(_TOP_KEYS) + list(_SECTIONS))}"
            )
    return replace(config, **updates, origins={**config.origins, **dict.fromkeys(table, where)})


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error is a :class:`ConfigError` naming ``where`` (a file, usually)."""
    # imported here: reading a file is rare, and ``import greencode`` must stay cheap
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc}); fix the syntax.") from None


def read_toml(path: Path, what: str = "file") -> dict[str, Any]:
    """Read and parse a TOML file; unreadable or malformed files raise one :class:`ConfigError`."""
    from greencode.errors import StoreError
    from greencode.files import read_text

    try:
        # a regular file only (``--config /dev/zero`` would never end); a UTF-8 BOM is dropped
        text = read_text(path, what, limit=16 * 1024 * 1024)
    except FileNotFoundError:
        raise ConfigError(f"{path}: cannot read the {what} (no such file).") from None
    except StoreError as exc:
        raise ConfigError(str(exc)) from None
    return parse_toml(text, str(path))


def read_config_file(path: Path) -> tuple[dict[str, Any], str]:
    """The greencode table of one file and a description of where it is, for messages."""
    data = read_toml(path, "configuration file")
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: 'tool' must be a table ([tool.greencode] lives in it), not {tool!r}")
        table = tool.get("greencode", {})
        where = f"{path} [tool.greencode]"
    else:
        table, where = data, str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    return table, where


def load_config(
    path: Path | str | None = None,
    *,
    start: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the :class:`Config`: defaults, then the file, then the environment, then ``overrides``."""
    environ = os.environ if environ is None else environ
    start = (start or Path.cwd()).resolve()
    config = Config(root=start)
    if path is None and environ.get("GREENCODE_CONFIG"):
        path = environ["GREENCODE_CONFIG"]
        if not Path(path).is_file():
            raise ConfigError(
                f"GREENCODE_CONFIG={path}: no such file; point it at a greencode.toml or unset it."
            )
    file = Path(path) if path is not None else find_config_file(start)
    if file is not None:
        table, where = read_config_file(file)
        config = replace(config, source=where, root=file.resolve().parent)
        config = apply_table(config, table, where)
    for name, key in _ENV_KEYS.items():
        if environ.get(name):
            config = apply_table(config, {key: environ[name]}, f"environment ({name})")
    if overrides:
        config = apply_table(config, {k: v for k, v in overrides.items() if v is not None}, "command line")
    return config
