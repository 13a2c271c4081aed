"""Undo pytest's rootdir mistake for greencode's path options written as two words.

pytest decides its rootdir and reads its ini file *before* it loads plugins, so at that moment
``--greencode-baseline /tmp/x/base.json`` is an unknown option followed by what looks like a test path: an
existing path outside the project moves the rootdir there and the project's ``pyproject.toml`` (its
``pythonpath``, ``addopts``, markers...) is dropped. Once the plugin's options are known, pytest's own
arguments are parsed correctly; this module decides the setup again from them and, where it differs, puts
the project's rootdir and ini back before any conftest or test module is imported.

This reaches into pytest's configuration object (there is no public way to correct it), so it is guarded:
where this pytest differs, the user gets a one-line usage error naming the ``--option=PATH`` form, which
never has the problem.
"""

from __future__ import annotations

import copy
import inspect
import itertools
from typing import Any

import pytest

from pytest_greencode.keys import PATH_OPTIONS


def two_word_path_options(args: list[str]) -> list[str]:
    """The path options in ``args`` written as ``--option VALUE``."""
    return [arg for arg, value in itertools.pairwise(args) if arg in PATH_OPTIONS and value[:1] != "-"]


def restore(config: pytest.Config, args: list[str]) -> None:
    """Decide the rootdir and ini again now that greencode's options are known; fix ``config`` where it
    differs. ``args`` is pytest's own list of arguments, which it parses again afterwards."""
    options = two_word_path_options(args)
    if not options:
        return
    try:
        _restore(config, args)
    except pytest.UsageError:
        raise
    except Exception as exc:  # this pytest keeps its setup differently: say how to avoid the problem
        written = ", ".join(f"{option}=PATH" for option in options)
        raise pytest.UsageError(
            f"greencode: this pytest cannot take {', '.join(options)} as two words when PATH exists "
            f"outside the project ({type(exc).__name__}: {exc}); write {written}"
        ) from None


def _restore(config: pytest.Config, args: list[str]) -> None:
    from _pytest.config.findpaths import determine_setup

    namespace = config.known_args_namespace  # parsed again after the plugins added their options
    offered = {
        "inifile": namespace.inifilename,
        "override_ini": namespace.override_ini,
        "args": namespace.file_or_dir,
        "rootdir_cmd_arg": namespace.rootdir or None,
        "invocation_dir": config.invocation_params.dir,
    }
    accepted = inspect.signature(determine_setup).parameters
    rootpath, inipath, inicfg, *rest = determine_setup(
        **{name: value for name, value in offered.items() if name in accepted}
    )
    if rootpath == config.rootpath and inipath == config.inipath:
        return  # the common case: the path was inside the project, nothing moved
    private: Any = config  # pytest's own attributes, set exactly as Config.parse sets them
    python_path = hasattr(private, "_configure_python_path")
    if python_path:
        private._unconfigure_python_path()
    private._rootpath = rootpath
    private._inipath = inipath
    private._inicfg = inicfg
    if rest and hasattr(private, "_ignored_config_files"):
        private._ignored_config_files = rest[0]
    private._inicache.clear()
    private._parser.extra_info["rootdir"] = str(rootpath)
    private._parser.extra_info["inifile"] = str(inipath)
    addopts = private._validate_args(config.getini("addopts"), "via addopts config")
    if addopts:
        args[:] = [*addopts, *args]
        config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    private.known_args_namespace = private._parser.parse_known_args(args, namespace=copy.copy(config.option))
    if private.known_args_namespace.confcutdir is None:
        private.known_args_namespace.confcutdir = str(inipath.parent if inipath is not None else rootpath)
    if python_path:
        private._configure_python_path()
