"""Each scanner rule fires on its wasteful pattern and stays quiet on the green or idiomatic version."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from greencode.tactics.rules import RULES, RULES_BY_ID
from greencode.tactics.scanner import scan_source


@dataclass(frozen=True)
class Case:
    rule: str
    what: str
    code: str

    def __str__(self) -> str:
        return f"{self.rule}-{self.what}"


def rules_found(code: str) -> list[str]:
    return [finding.rule for finding in scan_source(textwrap.dedent(code))]


POSITIVE = [
    Case(
        "GRN001",
        "list-grown-in-loop",
        """
        def dedupe(items):
            seen = []
            for item in items:
                if item not in seen:
                    seen.append(item)
            return seen
        """,
    ),
    Case(
        "GRN001",
        "list-call-in-comprehension",
        """
        def common(a, b):
            return [x for x in a if x in list(b)]
        """,
    ),
    Case(
        "GRN002",
        "insert-front-in-loop",
        """
        def backwards(n):
            out = []
            for i in range(n):
                out.insert(0, i)
            return out
        """,
    ),
    Case(
        "GRN003",
        "pop-front-queue",
        """
        def bfs(graph, start):
            queue = [start]
            while queue:
                node = queue.pop(0)
                queue.extend(graph[node])
        """,
    ),
    Case(
        "GRN004",
        "accumulate-string",
        """
        def render(rows):
            text = ""
            for row in rows:
                text += str(row)
            return text
        """,
    ),
    Case(
        "GRN005",
        "prepend-string",
        """
        def reverse_words(words):
            s = ""
            for w in words:
                s = w + " " + s
            return s
        """,
    ),
    Case(
        "GRN006",
        "fstring-debug",
        """
        import logging
        log = logging.getLogger(__name__)
        def load(rows):
            log.debug(f"loaded {len(rows)} rows")
        """,
    ),
    Case(
        "GRN006",
        "percent-info-on-module",
        """
        import logging
        def load(rows):
            logging.info("loaded %d rows" % len(rows))
        """,
    ),
    Case(
        "GRN006",
        "log-debug-level",
        """
        import logging
        def load(self, rows):
            self.logger.log(logging.DEBUG, "rows: {}".format(rows))
        """,
    ),
    Case(
        "GRN007",
        "constant-pattern-in-loop",
        """
        import re
        def numbers(lines):
            return [m.group() for line in lines if (m := re.match(r"\\d+", line))]
        """,
    ),
    Case(
        "GRN008",
        "sleep-poll",
        """
        import time
        def wait_ready(job):
            while not job.ready():
                time.sleep(0.05)
        """,
    ),
    Case(
        "GRN008",
        "asyncio-sleep-poll",
        """
        import asyncio
        async def wait_ready(job):
            while not job.ready():
                await asyncio.sleep(0.01)
        """,
    ),
    Case(
        "GRN008",
        "while-true-checking-and-sleeping",
        """
        import time
        def wait_ready(job):
            while True:
                if job.ready():
                    break
                time.sleep(0.05)
        """,
    ),
    Case(
        "GRN009",
        "spin-on-event",
        """
        def wait(event):
            while not event.is_set():
                pass
        """,
    ),
    Case(
        "GRN009",
        "spin-on-clock",
        """
        import time
        def pause(deadline):
            while time.monotonic() < deadline:
                continue
        """,
    ),
    Case(
        "GRN010",
        "sum-of-list",
        """
        total = sum([x * x for x in range(10)])
        """,
    ),
    Case(
        "GRN011",
        "for-over-listcomp",
        """
        for name in [n.upper() for n in names]:
            print(name)
        """,
    ),
    Case(
        "GRN011",
        "comprehension-over-listcomp",
        """
        pairs = {k: 1 for k in [n.lower() for n in names]}
        """,
    ),
    Case(
        "GRN012",
        "accumulate-number",
        """
        def total(xs):
            t = 0
            for x in xs:
                t += x
            return t
        """,
    ),
    Case(
        "GRN012",
        "total-with-assign",
        """
        n = 0
        for item in items:
            n = n + item
        """,
    ),
    Case(
        "GRN013",
        "values-unused",
        """
        def show(d):
            for key, value in d.items():
                print(key)
        """,
    ),
    Case(
        "GRN013",
        "keys-unused",
        """
        def show(d):
            for _, value in d.items():
                print(value)
        """,
    ),
    Case(
        "GRN014",
        "square-in-loop",
        """
        def norm(xs):
            s = 0.0
            for x in xs:
                s = s + x ** 2
            return s
        """,
    ),
    Case(
        "GRN014",
        "pow-call",
        """
        import math
        def energies(ms, v):
            return [math.pow(v, 2) * m for m in ms]
        """,
    ),
    Case(
        "GRN015",
        "select-per-item",
        """
        def names(cur, ids):
            for uid in ids:
                cur.execute("SELECT name FROM users WHERE id = ?", (uid,))
        """,
    ),
    Case(
        "GRN015",
        "insert-fstring-per-item",
        """
        def save(cur, rows):
            for row in rows:
                cur.execute(f"INSERT INTO t VALUES ({row})")
        """,
    ),
    Case(
        "GRN016",
        "select-star",
        """
        rows = cur.execute("SELECT * FROM users WHERE active").fetchall()
        """,
    ),
    Case(
        "GRN017",
        "read-csv-all-columns",
        """
        import pandas as pd
        df = pd.read_csv("data.csv")
        """,
    ),
    Case(
        "GRN017",
        "read-parquet-imported-name",
        """
        from pandas import read_parquet
        df = read_parquet("data.parquet")
        """,
    ),
    Case(
        "GRN018",
        "to-csv-plain",
        """
        import pandas as pd
        def save(df):
            df.to_csv("out.csv", index=False)
        """,
    ),
    Case(
        "GRN019",
        "eval-then-call",
        """
        import torch
        def predict(model, x):
            model.eval()
            return model(x)
        """,
    ),
    Case(
        "GRN020",
        "tensor-from-numpy-call",
        """
        import numpy as np
        import torch
        t = torch.tensor(np.zeros(3))
        """,
    ),
    Case(
        "GRN020",
        "tensor-from-numpy-name",
        """
        import numpy as np
        import torch
        a = np.arange(10)
        t = torch.tensor(a)
        """,
    ),
    Case(
        "GRN021",
        "lru-cache-maxsize-none",
        """
        import functools
        @functools.lru_cache(maxsize=None)
        def area(shape):
            return shape.compute()
        """,
    ),
    Case(
        "GRN021",
        "functools-cache",
        """
        from functools import cache
        @cache
        def area(shape):
            return shape.compute()
        """,
    ),
    Case(
        "GRN022",
        "os-write-per-line",
        """
        import os
        def dump(fd, lines):
            for line in lines:
                os.write(fd, line)
        """,
    ),
    Case(
        "GRN022",
        "print-flush-per-item",
        """
        for item in items:
            print(item, flush=True)
        """,
    ),
    Case(
        "GRN023",
        "open-constant-path-in-loop",
        """
        def log_all(items):
            for item in items:
                with open("log.txt", "a") as f:
                    f.write(item)
        """,
    ),
    Case(
        "GRN024",
        "fibonacci",
        """
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)
        """,
    ),
    Case(
        "GRN024",
        "base-cases-looked-up-but-nothing-stored",
        """
        BASE = {0: 0, 1: 1}
        def fib(n):
            if n in BASE:
                return BASE[n]
            return fib(n - 1) + fib(n - 2)
        """,
    ),
    Case(
        "GRN025",
        "sorted-first",
        """
        smallest = sorted(xs)[0]
        """,
    ),
    Case(
        "GRN026",
        "requests-in-loop",
        """
        import requests
        def fetch(urls):
            return [requests.get(url, timeout=5).json() for url in urls]
        """,
    ),
    Case(
        "GRN027",
        "iterrows-loop",
        """
        def total(df):
            t = 0
            for _, row in df.iterrows():
                t += row["a"] * row["b"]
            return t
        """,
    ),
    Case(
        "GRN028",
        "readlines-loop",
        """
        def count(f):
            for line in f.readlines():
                print(line)
        """,
    ),
]

NEGATIVE = [
    Case(
        "GRN001",
        "set",
        """
        def dedupe(items):
            seen = set()
            for item in items:
                if item not in seen:
                    seen.add(item)
        """,
    ),
    Case(
        "GRN001",
        "short-display",
        """
        def vowels(text):
            letters = ["a", "e", "i", "o", "u"]
            return [c for c in text if c in letters]
        """,
    ),
    Case(
        "GRN001",
        "outside-loop",
        """
        def has(items, x):
            seen = list(items)
            return x in seen
        """,
    ),
    Case(
        "GRN002",
        "append",
        """
        def forwards(n):
            out = []
            for i in range(n):
                out.append(i)
        """,
    ),
    Case(
        "GRN002",
        "widget",
        """
        def fill(root, texts):
            entry = Entry(root)
            for text in texts:
                entry.insert(0, text)
        """,
    ),
    Case(
        "GRN002",
        "outside-loop",
        """
        import sys
        sys.path.insert(0, "src")
        """,
    ),
    Case(
        "GRN003",
        "deque",
        """
        import collections
        def bfs(graph, start):
            queue = collections.deque([start])
            while queue:
                node = queue.popleft()
        """,
    ),
    Case(
        "GRN003",
        "pop-last",
        """
        def drain(stack):
            while stack:
                stack.pop()
        """,
    ),
    Case(
        "GRN004",
        "per-iteration-temporary",
        """
        def lines(rows):
            out = []
            for row in rows:
                line = str(row)
                line += "\\n"
                out.append(line)
        """,
    ),
    Case(
        "GRN004",
        "join",
        """
        def render(rows):
            return "".join(str(row) for row in rows)
        """,
    ),
    Case(
        "GRN005",
        "fresh-each-iteration",
        """
        def keys(names):
            for k in names:
                k = ":" + k
                print(k)
        """,
    ),
    Case(
        "GRN006",
        "lazy-arguments",
        """
        import logging
        log = logging.getLogger(__name__)
        def load(rows):
            log.debug("loaded %d rows", len(rows))
        """,
    ),
    Case(
        "GRN006",
        "warning-level",
        """
        import logging
        log = logging.getLogger(__name__)
        def load(path):
            log.warning(f"cannot read {path}")
        """,
    ),
    Case(
        "GRN006",
        "not-a-logger",
        """
        def report(stats, rows):
            stats.info(f"{len(rows)} rows")
        """,
    ),
    Case(
        "GRN006",
        "plain-fstring-without-placeholders",
        """
        import logging
        logging.debug(f"starting")
        """,
    ),
    Case(
        "GRN007",
        "precompiled",
        """
        import re
        NUMBER = re.compile(r"\\d+")
        def numbers(lines):
            return [NUMBER.match(line) for line in lines]
        """,
    ),
    Case(
        "GRN007",
        "pattern-varies",
        """
        import re
        def compile_all(patterns):
            return [re.compile(p) for p in patterns]
        """,
    ),
    Case(
        "GRN008",
        "retry-in-except",
        """
        import time
        def connect(client):
            while True:
                try:
                    return client.connect()
                except OSError:
                    time.sleep(0.5)
        """,
    ),
    Case(
        "GRN008",
        "periodic-job",
        """
        import time
        def run(job):
            while True:
                job()
                time.sleep(60)
        """,
    ),
    Case(
        "GRN008",
        "bounded-attempts",
        """
        import time
        def attempts(job):
            for _ in range(3):
                job()
                time.sleep(0.1)
        """,
    ),
    Case(
        "GRN009",
        "condition-does-the-work",
        """
        def drain(parser):
            while parser.step():
                pass
        """,
    ),
    Case(
        "GRN009",
        "blocking-wait",
        """
        def wait(event):
            event.wait()
        """,
    ),
    Case(
        "GRN010",
        "generator",
        """
        total = sum(x * x for x in range(10))
        """,
    ),
    Case(
        "GRN011",
        "generator",
        """
        for name in (n.upper() for n in names):
            print(name)
        """,
    ),
    Case(
        "GRN012",
        "body-does-more",
        """
        t = 0
        for x in xs:
            t += x
            print(t)
        """,
    ),
    Case(
        "GRN012",
        "list-accumulator",
        """
        parts = []
        for x in xs:
            parts += x
        """,
    ),
    Case(
        "GRN013",
        "both-used",
        """
        def show(d):
            for key, value in d.items():
                print(key, value)
        """,
    ),
    Case(
        "GRN014",
        "multiplication",
        """
        def norm(xs):
            return [x * x for x in xs]
        """,
    ),
    Case(
        "GRN014",
        "numpy-file",
        """
        import numpy as np
        def norm(arrays):
            return [a ** 2 for a in arrays]
        """,
    ),
    Case(
        "GRN015",
        "executemany",
        """
        def save(cur, rows):
            cur.executemany("INSERT INTO t VALUES (?)", rows)
        """,
    ),
    Case(
        "GRN015",
        "outside-loop",
        """
        def names(cur, ids):
            cur.execute("SELECT name FROM users WHERE id IN (%s)" % ",".join("?" * len(ids)), ids)
        """,
    ),
    Case(
        "GRN016",
        "named-columns",
        """
        rows = cur.execute("SELECT id, name FROM users").fetchall()
        """,
    ),
    Case(
        "GRN016",
        "count-star",
        """
        n = cur.execute("select count(*) from users").fetchone()
        """,
    ),
    Case(
        "GRN017",
        "usecols",
        """
        import pandas as pd
        df = pd.read_csv("data.csv", usecols=["a", "b"])
        """,
    ),
    Case(
        "GRN017",
        "other-library",
        """
        from mylib import read_csv
        rows = read_csv("data.csv")
        """,
    ),
    Case(
        "GRN018",
        "compressed-name",
        """
        import pandas as pd
        def save(df):
            df.to_csv("out.csv.gz")
        """,
    ),
    Case(
        "GRN018",
        "parquet",
        """
        import pandas as pd
        def save(df):
            df.to_parquet("out.parquet")
        """,
    ),
    Case(
        "GRN018",
        "no-dataframe-library",
        """
        def save(table):
            table.to_csv("out.csv")
        """,
    ),
    Case(
        "GRN019",
        "no-grad-block",
        """
        import torch
        def predict(model, x):
            model.eval()
            with torch.no_grad():
                return model(x)
        """,
    ),
    Case(
        "GRN019",
        "inference-mode-decorator",
        """
        import torch
        @torch.inference_mode()
        def predict(model, x):
            model.eval()
            return model(x)
        """,
    ),
    Case(
        "GRN020",
        "from-numpy",
        """
        import numpy as np
        import torch
        t = torch.from_numpy(np.zeros(3))
        """,
    ),
    Case(
        "GRN020",
        "python-list",
        """
        import torch
        t = torch.tensor([1.0, 2.0])
        """,
    ),
    Case(
        "GRN021",
        "bounded",
        """
        import functools
        @functools.lru_cache(maxsize=256)
        def area(shape):
            return shape.compute()
        """,
    ),
    Case(
        "GRN021",
        "parameterless",
        """
        import functools
        @functools.cache
        def settings():
            return load()
        """,
    ),
    Case(
        "GRN022",
        "one-write",
        """
        import os
        def dump(fd, lines):
            os.write(fd, b"".join(lines))
        """,
    ),
    Case(
        "GRN022",
        "stream-per-item",
        """
        def close_all(handlers):
            for h in handlers:
                h.flush()
        """,
    ),
    Case(
        "GRN023",
        "open-once",
        """
        def log_all(items):
            with open("log.txt", "a") as f:
                for item in items:
                    f.write(item)
        """,
    ),
    Case(
        "GRN023",
        "path-varies",
        """
        def read_all(paths):
            for path in paths:
                with open(path) as f:
                    f.read()
        """,
    ),
    Case(
        "GRN024",
        "memoised",
        """
        import functools
        @functools.lru_cache(maxsize=1024)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
    ),
    Case(
        "GRN024",
        "hand-written-memo",
        """
        _cache = {}
        def fib(n):
            if n <= 2:
                return n
            if n in _cache:
                return _cache[n]
            result = fib(n - 1) + fib(n - 2)
            _cache[n] = result
            return result
        """,
    ),
    Case(
        "GRN024",
        "memo-read-with-get",
        """
        def ways(n, memo):
            found = memo.get(n)
            if found is not None:
                return found
            memo[n] = ways(n - 1, memo) + ways(n - 2, memo)
            return memo[n]
        """,
    ),
    Case(
        "GRN024",
        "side-effect-recursion",
        """
        def hanoi(n, a, b, c):
            if n:
                hanoi(n - 1, a, c, b)
                move(a, c)
                hanoi(n - 1, b, a, c)
        """,
    ),
    Case(
        "GRN025",
        "min",
        """
        smallest = min(xs)
        """,
    ),
    Case(
        "GRN025",
        "slice",
        """
        first_three = sorted(xs)[:3]
        """,
    ),
    Case(
        "GRN026",
        "session",
        """
        import requests
        def fetch(urls):
            with requests.Session() as session:
                return [session.get(url, timeout=5).json() for url in urls]
        """,
    ),
    Case(
        "GRN027",
        "itertuples",
        """
        def total(df):
            return sum(row.a * row.b for row in df.itertuples())
        """,
    ),
    Case(
        "GRN028",
        "iterate-file",
        """
        def count(f):
            for line in f:
                print(line)
        """,
    ),
    # false positives seen in the CPython standard library
    Case(
        "GRN002",
        "sys-path-priority",
        """
        import os, sys
        def add_paths(dirs):
            for d in dirs:
                sys.path.insert(0, os.path.abspath(d))
        """,
    ),
    Case(
        "GRN007",
        "flags-vary",
        """
        import re
        def check(text):
            for flags in (0, re.IGNORECASE):
                pattern = re.compile(r"\\w+", flags)
                pattern.match(text)
        """,
    ),
    Case(
        "GRN008",
        "loop-counts-its-own-steps",
        """
        import time
        def tick():
            x = 0
            while x < 10:
                time.sleep(0.1)
                x += 1
        """,
    ),
    Case(
        "GRN008",
        "unconditional-periodic-work",
        """
        import sys, time
        def watch():
            while True:
                sys.stdout.write(report())
                sys.stdout.flush()
                time.sleep(1)
        """,
    ),
    Case(
        "GRN009",
        "loop-that-never-runs",
        """
        def grammar():
            while 0: pass
        """,
    ),
    Case(
        "GRN021",
        "cached-constructor-singleton",
        """
        from functools import cache
        class Server:
            @cache
            def __new__(cls):
                return object.__new__(cls)
        """,
    ),
    Case(
        "GRN022",
        "flush-of-an-object-made-in-the-loop",
        """
        import io
        def check(cases):
            for text in cases:
                buffer = io.BytesIO()
                wrapper = io.TextIOWrapper(buffer)
                wrapper.write(text)
                wrapper.flush()
        """,
    ),
    Case(
        "GRN022",
        "flush-that-returns-data",
        """
        import zlib
        def compress_all(blocks, level):
            out = []
            for block in blocks:
                out.append(level.compress(block))
                out.append(level.flush())
            return out
        """,
    ),
]


# -- rules added for issue 13's recall gaps, and the false positives it listed (near misses) --------------

POSITIVE += [
    Case(
        "GRN004",
        "s-equals-s-plus-x",
        "def f(words):\n    s = ''\n    for w in words:\n        s = s + w\n    return s\n",
    ),
    Case(
        "GRN015",
        "sql-held-in-a-variable",
        """
        QUERY = "SELECT name FROM users WHERE id = ?"
        def names(cursor, ids):
            for i in ids:
                cursor.execute(QUERY, (i,))
        """,
    ),
    Case(
        "GRN015",
        "sqlalchemy-text",
        """
        from sqlalchemy import text
        def names(conn, ids):
            for i in ids:
                conn.execute(text("SELECT name FROM users WHERE id = :i"), {"i": i})
        """,
    ),
    Case(
        "GRN020",
        "tensor-from-list-comprehension",
        """
        import torch
        def batch(rows):
            return torch.tensor([row.features for row in rows])
        """,
    ),
    Case(
        "GRN029",
        "math-sqrt-per-element",
        """
        import math
        import numpy as np
        def norms(values):
            return [math.sqrt(v) for v in np.asarray(values)]
        """,
    ),
    Case(
        "GRN030",
        "keyerror-continue-in-loop",
        """
        def total(counts, keys):
            t = 0
            for k in keys:
                try:
                    t += counts[k]
                except KeyError:
                    continue
            return t
        """,
    ),
    Case("GRN031", "wildcard-import", "from os.path import *\n"),
    Case(
        "GRN032",
        "dataclass-created-in-a-loop",
        """
        from dataclasses import dataclass
        @dataclass
        class Point:
            x: float
            y: float
        def points(rows):
            return [Point(a, b) for a, b in rows]
        """,
    ),
    Case(
        "GRN033",
        "module-constant-read-per-element",
        """
        SCALE = 2.5
        def scaled(xs):
            out = []
            for x in xs:
                out.append(x * SCALE)
            return out
        """,
    ),
    Case(
        "GRN034",
        "len-in-while-condition",
        """
        def total(xs):
            i = t = 0
            while i < len(xs):
                t += xs[i]
                i += 1
            return t
        """,
    ),
    Case(
        "GRN035",
        "nested-loops-over-the-same-list",
        """
        def pairs(items):
            found = []
            for a in items:
                for b in items:
                    if a.key == b.key and a is not b:
                        found.append((a, b))
            return found
        """,
    ),
    Case(
        "GRN036",
        "repeated-attribute-chain",
        """
        def clip(self, values):
            out = []
            for v in values:
                lo = self.config.limits.low
                hi = self.config.limits.high
                out.append(min(max(v, lo), hi) * self.config.limits.scale)
            return out
        """,
    ),
    Case(
        "GRN037",
        "open-never-closed",
        """
        def first_line(path):
            f = open(path)
            line = f.readline()
            return line
        """,
    ),
    Case(
        "GRN038",
        "sum-of-the-same-list-per-iteration",
        """
        def normalise(weights):
            return [w / sum(weights) for w in weights]
        """,
    ),
    Case(
        "GRN038",
        "copy-per-pass-that-the-loop-only-reads",
        """
        def passes(graph, rounds):
            for _ in range(rounds):
                todo = set(graph)
                while pick(todo):
                    step(todo)
        """,
    ),
    Case(
        "GRN038",
        "sorted-per-iteration",
        """
        def ranks(scores):
            out = []
            for s in scores:
                out.append(sorted(scores).index(s))
            return out
        """,
    ),
    Case(
        "GRN039",
        "dataloader-without-pin-memory",
        """
        import torch
        from torch.utils.data import DataLoader
        def train(model, data):
            model.cuda()
            for batch in DataLoader(data, batch_size=64):
                model(batch.cuda())
        """,
    ),
    Case(
        "GRN040",
        "django-get-per-item",
        """
        from django.db import models
        def names(ids):
            return [User.objects.get(pk=i).name for i in ids] + [
                User.objects.get(pk=j).email for j in ids
            ]
        def emails(ids):
            out = []
            for i in ids:
                out.append(User.objects.get(pk=i).email)
            return out
        """,
    ),
    Case(
        "GRN040",
        "sqlalchemy-session-get-per-item",
        """
        from sqlalchemy.orm import Session
        def load(session, ids):
            users = []
            for i in ids:
                users.append(session.get(User, i))
            return users
        """,
    ),
]

NEGATIVE += [
    Case(
        "GRN012",
        "sum-of-an-expression-gains-nothing",
        """
        def total(xs):
            t = 0
            for x in xs:
                t += x * 2
            return t
        """,
    ),
    # the false positives issue 13 found on real projects
    Case(
        "GRN022",
        "orm-session-flush",
        """
        def save_all(session, objects):
            for obj in objects:
                session.add(obj)
                session.flush()
        """,
    ),
    Case(
        "GRN021",
        "cache-over-a-bool-and-a-literal",
        """
        import functools
        from typing import Literal
        @functools.cache
        def style(bold: bool, colour: Literal["red", "green"]):
            return (bold, colour)
        """,
    ),
    Case(
        "GRN021",
        "cache-over-an-enum",
        """
        import enum
        import functools
        class Mode(enum.Enum):
            A = 1
            B = 2
        @functools.lru_cache(maxsize=None)
        def table(mode: Mode):
            return [mode] * 3
        """,
    ),
    Case(
        "GRN001",
        "list-as-fallback-for-unhashable-items",
        """
        def unique(items):
            seen_set, seen_list = set(), []
            for item in items:
                try:
                    if item not in seen_set:
                        seen_set.add(item)
                except TypeError:
                    if item not in seen_list:
                        seen_list.append(item)
        """,
    ),
    Case(
        "GRN001",
        "list-reordered-inside-the-loop",
        """
        def drain(items, queue):
            pending = []
            for item in items:
                if item in pending:
                    pending.remove(item)
                else:
                    pending.append(item)
        """,
    ),
    Case(
        "GRN010",
        "all-over-a-list-that-forces-side-effects",
        """
        def validate(fields):
            return all([field.validate() for field in fields])
        """,
    ),
    Case(
        "GRN016",
        "select-star-limit-1-reads-the-schema",
        """
        def columns(cursor, table):
            cursor.execute(f"SELECT * FROM {table} LIMIT 1")
            return [d[0] for d in cursor.description]
        """,
    ),
    Case(
        "GRN006",
        "concatenated-template-with-lazy-arguments",
        """
        import logging
        log = logging.getLogger(__name__)
        def report(prefix, n):
            log.debug("%s " + prefix, n)
        """,
    ),
    Case(
        "GRN002",
        "insert-front-then-break",
        """
        def place(items, new):
            for i, item in enumerate(items):
                if new < item:
                    items.insert(0, new)
                    break
        """,
    ),
    Case(
        "GRN011",
        "snapshot-of-a-list-the-loop-changes",
        """
        def prune(nodes):
            for node in [n for n in nodes if n.dead]:
                nodes.remove(node)
        """,
    ),
    # near misses of the new rules
    Case(
        "GRN004",
        "s-equals-t-plus-x",
        "def f(words):\n    for w in words:\n        s = w + '!'\n        print(s)\n",
    ),
    Case(
        "GRN015",
        "variable-that-is-not-sql",
        """
        QUERY = "users"
        def run(cursor, ids):
            for i in ids:
                cursor.execute(QUERY, (i,))
        """,
    ),
    Case(
        "GRN020",
        "tensor-from-a-short-literal",
        """
        import torch
        def unit():
            return torch.tensor([1.0, 0.0, 0.0])
        """,
    ),
    Case(
        "GRN029",
        "math-without-numpy",
        """
        import math
        def norms(values):
            return [math.sqrt(v) for v in values]
        """,
    ),
    Case(
        "GRN029",
        "math-on-a-loop-invariant",
        """
        import math
        import numpy as np
        def scaled(values, k):
            return [v * math.sqrt(k) for v in np.asarray(values)]
        """,
    ),
    Case(
        "GRN030",
        "handler-that-does-real-work",
        """
        def load(paths):
            for p in paths:
                try:
                    parse(p)
                except ValueError:
                    log_failure(p)
                    raise
        """,
    ),
    Case("GRN031", "named-import", "from os.path import join, exists\n"),
    Case(
        "GRN032",
        "dataclass-with-slots",
        """
        from dataclasses import dataclass
        @dataclass(slots=True)
        class Point:
            x: float
        def points(rows):
            return [Point(a) for a in rows]
        """,
    ),
    Case(
        "GRN032",
        "dataclass-created-once",
        """
        from dataclasses import dataclass
        @dataclass
        class Settings:
            debug: bool
        def load():
            return Settings(False)
        """,
    ),
    Case(
        "GRN033",
        "local-shadowing-the-global",
        """
        SCALE = 2.5
        def scaled(xs, SCALE=SCALE):
            return [x * SCALE for x in xs]
        """,
    ),
    Case(
        "GRN034",
        "while-over-a-shrinking-list",
        """
        def drain(queue):
            while len(queue) > 0:
                queue.pop()
        """,
    ),
    Case(
        "GRN035",
        "nested-loops-over-different-lists",
        """
        def pairs(xs, ys):
            return [(x, y) for x in xs for y in ys]
        def grid(rows, cols):
            for r in rows:
                for c in cols:
                    print(r, c)
        """,
    ),
    Case(
        "GRN036",
        "chain-read-twice",
        """
        def clip(self, values):
            for v in values:
                print(self.config.low, self.config.high)
        """,
    ),
    Case(
        "GRN037",
        "open-with-with",
        """
        def first_line(path):
            with open(path) as f:
                return f.readline()
        def opened(path):
            f = open(path)
            return f
        def closed(path):
            f = open(path)
            try:
                return f.read()
            finally:
                f.close()
        """,
    ),
    Case(
        "GRN038",
        "sum-of-a-list-the-loop-grows",
        """
        def running(xs):
            seen = []
            for x in xs:
                seen.append(x)
                print(sum(seen))
        """,
    ),
    Case(
        "GRN038",
        "fresh-working-set-drained-by-each-pass",
        """
        def passes(graph, rounds):
            for _ in range(rounds):
                todo = set(graph)
                while todo:
                    todo.remove(pick(todo))
        """,
    ),
    Case(
        "GRN038",
        "sum-of-the-loop-variable",
        """
        def totals(rows):
            return [sum(row) for row in rows]
        """,
    ),
    Case(
        "GRN039",
        "dataloader-with-pin-memory",
        """
        import torch
        from torch.utils.data import DataLoader
        def train(model, data):
            model.cuda()
            loader = DataLoader(data, batch_size=64, pin_memory=True, num_workers=4)
        """,
    ),
    Case(
        "GRN039",
        "dataloader-on-the-cpu",
        """
        import torch
        from torch.utils.data import DataLoader
        def train(model, data):
            loader = DataLoader(data, batch_size=64)
        """,
    ),
    Case(
        "GRN040",
        "one-query-before-the-loop",
        """
        from django.db import models
        def emails(ids):
            users = User.objects.filter(pk__in=ids)
            return [u.email for u in users]
        """,
    ),
    Case(
        "GRN040",
        "dict-get-in-a-loop",
        """
        from sqlalchemy.orm import Session
        def lookup(cache, ids):
            return [cache.get(i) for i in ids]
        """,
    ),
]


@pytest.mark.parametrize("case", POSITIVE, ids=str)
def test_rule_finds_its_pattern(case: Case) -> None:
    assert case.rule in rules_found(case.code)


@pytest.mark.parametrize("case", NEGATIVE, ids=str)
def test_rule_stays_quiet_on_the_alternative(case: Case) -> None:
    assert case.rule not in rules_found(case.code)


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    every = {rule.id for rule in RULES}
    assert {case.rule for case in POSITIVE} == every
    assert {case.rule for case in NEGATIVE} == every


def test_there_are_at_least_fifteen_rules() -> None:
    assert len(RULES) >= 15


def test_rule_ids_are_unique_and_sorted() -> None:
    ids = [rule.id for rule in RULES]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_documents_its_heuristic_and_false_positives(rule: object) -> None:
    assert rule.heuristic and rule.false_positives and rule.message and rule.title  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "suggestion"),
    [
        ("x = sorted(xs)[0]", "min("),
        ("x = sorted(xs)[-1]", "max("),
        ("x = sorted(xs, reverse=True)[0]", "max("),
        ("x = sorted(xs, key=len, reverse=True)[-1]", "min("),
    ],
)
def test_sort_for_extreme_suggests_the_matching_function(code: str, suggestion: str) -> None:
    (finding,) = scan_source(code)
    assert suggestion in finding.message


def test_dict_items_message_names_the_unused_variable() -> None:
    (finding,) = scan_source("for k, v in d.items():\n    print(v)\n")
    assert "`k` is never used" in finding.message and ".values()" in finding.message


def test_a_rule_subset_runs_only_those_rules() -> None:
    code = "import re\nfor line in lines:\n    re.match('a', line)\n    s = sorted(line)[0]\n"
    assert [f.rule for f in scan_source(code, rules=[RULES_BY_ID["GRN025"]])] == ["GRN025"]


def test_shadowed_builtin_is_not_mistaken_for_the_builtin() -> None:
    code = "from mymath import sum\ntotal = sum([x for x in xs])\n"
    assert "GRN010" not in rules_found(code)


def test_findings_point_at_the_flagged_code() -> None:
    (finding,) = scan_source("def f(xs):\n    return sum([x for x in xs])\n")
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (2, 12, 2, 32)


def test_loop_findings_point_at_the_loop_header_only() -> None:
    (finding,) = scan_source("for name in [n for n in names]:\n    print(name)\n")
    assert (finding.line, finding.end_line) == (1, None)


# issue 13, held-out noise: lists that stay short, one finding per fix
POSITIVE += [
    Case(
        "GRN001",
        "list-extended-before-the-loop",
        """
        def known(names, more):
            found = []
            found.extend(more)
            for name in names:
                if name in found:
                    yield name
        """,
    ),
    Case(
        "GRN001",
        "short-display-grown-later-in-the-loop",
        """
        def dedupe(first, items):
            seen = [first]
            for item in items:
                if item not in seen:
                    seen.append(item)
            return seen
        """,
    ),
]

NEGATIVE += [
    Case(
        "GRN001",
        "empty-list-never-grown",
        """
        def unused(scope, names):
            if scope:
                exported = set(scope)
            else:
                exported = []
            for name in names:
                if name in exported:
                    yield name
        """,
    ),
    Case(
        "GRN001",
        "short-display-appended-once-outside-loops",
        """
        def first_name(tokens, keywords):
            types = [NAME, WILDCARD, SYMBOL]
            if keywords:
                types.append(KEYWORD)
            for token in tokens:
                if token.ttype in types:
                    return token
        """,
    ),
]


def rules_shown(code: str) -> list[str]:
    return [f.rule for f in scan_source(textwrap.dedent(code)) if f.shown_by_default]


def test_several_tests_against_one_list_in_one_loop_are_one_finding() -> None:
    code = """
    def negotiate(preferred, available):
        available = [a.lower() for a in available]
        for locale in preferred:
            if locale in available or locale.split("_")[0] in available:
                return locale
            if locale.upper() in available:
                return locale
    """
    assert rules_found(code) == ["GRN001"]


def test_tests_against_two_lists_in_one_loop_are_two_findings() -> None:
    code = """
    def both(xs, a, b):
        left = [x for x in a]
        right = [x for x in b]
        for x in xs:
            if x in left and x in right:
                yield x
    """
    assert rules_found(code) == ["GRN001", "GRN001"]


def test_string_prepend_is_found_but_not_shown_by_default() -> None:
    code = """
    def build(parts):
        s = ''
        for p in parts:
            s = p + s
        return s
    """
    assert rules_found(code) == ["GRN005"] and rules_shown(code) == []


def test_sorting_a_short_literal_to_take_one_item_is_low_impact() -> None:
    code = "def ending(counts):\n    return sorted(('\\n', '\\r\\n', '\\r'), key=counts.get)[0]\n"
    finding = next(f for f in scan_source(code, "pkg/module.py") if f.rule == "GRN025")
    assert finding.impact == "low" and "clarity" in finding.message


def test_sorting_a_collection_to_take_one_item_stays_shown() -> None:
    code = "def best(scores):\n    return sorted(scores)[-1]\n"
    finding = next(f for f in scan_source(code, "pkg/module.py") if f.rule == "GRN025")
    assert finding.impact == "medium" and finding.shown_by_default


def test_sorting_a_literal_with_an_unpacked_part_is_not_short() -> None:
    code = "def best(scores):\n    return sorted((0, *scores))[-1]\n"
    finding = next(f for f in scan_source(code, "pkg/module.py") if f.rule == "GRN025")
    assert finding.impact == "medium"
