"""Planted anti-patterns for the scanner's recall test, each with a clean twin that does the same work.

Broader than the rules' own cases: each wasteful version is written as it tends to appear in real code
(inside a function, over data of unknown size). ``rule`` is the rule expected to catch it. Every clean twin
must produce no finding at all, of any rule and impact.
"""

# ruff: noqa: E501  (each case is source code kept on one line per statement, to read as code)

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Planted:
    name: str
    rule: str
    wasteful: str
    clean: str


PAIRS = [
    Planted(
        "membership-in-list",
        "GRN001",
        "def known(names, lookups):\n    allowed = list(names)\n    return [n for n in lookups if n in allowed]\n",
        "def known(names, lookups):\n    allowed = set(names)\n    return [n for n in lookups if n in allowed]\n",
    ),
    Planted(
        "dedupe-with-list",
        "GRN001",
        "def dedupe(items):\n    seen = []\n    for i in items:\n        if i not in seen:\n            seen.append(i)\n"
        "    return seen\n",
        "def dedupe(items):\n    return list(dict.fromkeys(items))\n",
    ),
    Planted(
        "insert-front",
        "GRN002",
        "def backwards(items):\n    out = []\n    for i in items:\n        out.insert(0, i)\n    return out\n",
        "def backwards(items):\n    return list(reversed(items))\n",
    ),
    Planted(
        "pop-front-queue",
        "GRN003",
        "def walk(start, graph):\n    queue = [start]\n    while queue:\n        node = queue.pop(0)\n"
        "        queue.extend(graph[node])\n",
        "from collections import deque\ndef walk(start, graph):\n    queue = deque([start])\n    while queue:\n"
        "        node = queue.popleft()\n        queue.extend(graph[node])\n",
    ),
    Planted(
        "string-plus-equals",
        "GRN004",
        "def render(rows):\n    out = ''\n    for r in rows:\n        out += f'<li>{r}</li>'\n    return out\n",
        "def render(rows):\n    return ''.join(f'<li>{r}</li>' for r in rows)\n",
    ),
    Planted(
        "string-s-equals-s-plus",
        "GRN004",
        "def render(rows):\n    s = ''\n    for r in rows:\n        s = s + str(r)\n    return s\n",
        "def render(rows):\n    return ''.join(str(r) for r in rows)\n",
    ),
    Planted(
        "string-prepend",
        "GRN005",
        "def path(parts):\n    s = ''\n    for p in parts:\n        s = '/' + p + s\n    return s\n",
        "def path(parts):\n    return ''.join('/' + p for p in reversed(parts))\n",
    ),
    Planted(
        "fstring-in-debug-log",
        "GRN006",
        "import logging\nlog = logging.getLogger(__name__)\ndef load(rows):\n    for r in rows:\n"
        "        log.debug(f'row {r!r}')\n",
        "import logging\nlog = logging.getLogger(__name__)\ndef load(rows):\n    for r in rows:\n"
        "        log.debug('row %r', r)\n",
    ),
    Planted(
        "regex-in-loop",
        "GRN007",
        "import re\ndef words(lines):\n    return [re.findall(r'\\w+', line) for line in lines]\n",
        "import re\nWORD = re.compile(r'\\w+')\ndef words(lines):\n    return [WORD.findall(line) for line in lines]\n",
    ),
    Planted(
        "sleep-polling",
        "GRN008",
        "import time\ndef wait(job):\n    while not job.done():\n        time.sleep(0.05)\n",
        "def wait(job):\n    job.result()\n",
    ),
    Planted(
        "busy-wait",
        "GRN009",
        "def wait(event):\n    while not event.is_set():\n        pass\n",
        "def wait(event):\n    event.wait()\n",
    ),
    Planted(
        "any-over-list",
        "GRN010",
        "def has_negative(xs):\n    return any([x < 0 for x in xs])\n",
        "def has_negative(xs):\n    return any(x < 0 for x in xs)\n",
    ),
    Planted(
        "manual-sum",
        "GRN012",
        "def total(prices):\n    t = 0\n    for p in prices:\n        t += p\n    return t\n",
        "def total(prices):\n    return sum(prices)\n",
    ),
    Planted(
        "items-value-unused",
        "GRN013",
        "def keys(d):\n    out = []\n    for k, v in d.items():\n        out.append(k)\n    return out\n",
        "def keys(d):\n    return list(d)\n",
    ),
    Planted(
        "sql-in-loop",
        "GRN015",
        "def save(cur, rows):\n    for r in rows:\n        cur.execute('INSERT INTO t VALUES (?)', (r,))\n",
        "def save(cur, rows):\n    cur.executemany('INSERT INTO t VALUES (?)', [(r,) for r in rows])\n",
    ),
    Planted(
        "sql-held-in-a-variable",
        "GRN015",
        "def save(cur, rows):\n    sql = 'UPDATE t SET seen = 1 WHERE id = ?'\n    for r in rows:\n"
        "        cur.execute(sql, (r,))\n",
        "def save(cur, rows):\n    sql = 'UPDATE t SET seen = 1 WHERE id = ?'\n    cur.executemany(sql, [(r,) for r in rows])\n",
    ),
    Planted(
        "sql-in-text",
        "GRN015",
        "from sqlalchemy import text\ndef load(conn, ids):\n    for i in ids:\n"
        "        conn.execute(text('SELECT name FROM users WHERE id = :i'), {'i': i})\n",
        "from sqlalchemy import text\ndef load(conn, ids):\n"
        "    return conn.execute(text('SELECT name FROM users WHERE id IN :ids'), {'ids': tuple(ids)})\n",
    ),
    Planted(
        "select-star",
        "GRN016",
        "def users(cur):\n    cur.execute('SELECT * FROM users')\n    return cur.fetchall()\n",
        "def users(cur):\n    cur.execute('SELECT id, name FROM users')\n    return cur.fetchall()\n",
    ),
    Planted(
        "read-csv-all-columns",
        "GRN017",
        "import pandas as pd\ndef prices(path):\n    return pd.read_csv(path)['price'].sum()\n",
        "import pandas as pd\ndef prices(path):\n    return pd.read_csv(path, usecols=['price'])['price'].sum()\n",
    ),
    Planted(
        "csv-output",
        "GRN018",
        "import pandas as pd\ndef save(df):\n    df.to_csv('out.csv')\n",
        "import pandas as pd\ndef save(df):\n    df.to_parquet('out.parquet')\n",
    ),
    Planted(
        "inference-with-grad",
        "GRN019",
        "import torch\ndef predict(model, batches):\n    model.eval()\n    return [model(b) for b in batches]\n",
        "import torch\ndef predict(model, batches):\n    model.eval()\n    with torch.inference_mode():\n"
        "        return [model(b) for b in batches]\n",
    ),
    Planted(
        "tensor-from-numpy-copy",
        "GRN020",
        "import numpy as np\nimport torch\ndef load(path):\n    a = np.load(path)\n    return torch.tensor(a)\n",
        "import numpy as np\nimport torch\ndef load(path):\n    a = np.load(path)\n    return torch.from_numpy(a)\n",
    ),
    Planted(
        "tensor-from-list",
        "GRN020",
        "import torch\ndef batch(rows):\n    return torch.tensor([r.values for r in rows])\n",
        "import numpy as np\nimport torch\ndef batch(rows):\n    return torch.from_numpy(np.stack([r.values for r in rows]))\n",
    ),
    Planted(
        "unbounded-cache",
        "GRN021",
        "import functools\n@functools.cache\ndef lookup(user_id):\n    return fetch(user_id)\n",
        "import functools\n@functools.lru_cache(maxsize=4096)\ndef lookup(user_id):\n    return fetch(user_id)\n",
    ),
    Planted(
        "flush-per-line",
        "GRN022",
        "import sys\ndef emit(lines):\n    for line in lines:\n        sys.stdout.write(line)\n        sys.stdout.flush()\n",
        "import sys\ndef emit(lines):\n    sys.stdout.writelines(lines)\n    sys.stdout.flush()\n",
    ),
    Planted(
        "open-same-file-in-loop",
        "GRN023",
        "def log(events):\n    for e in events:\n        with open('events.log', 'a') as f:\n            f.write(e)\n",
        "def log(events):\n    with open('events.log', 'a') as f:\n        f.writelines(events)\n",
    ),
    Planted(
        "naive-fibonacci",
        "GRN024",
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
        "import functools\n@functools.lru_cache(maxsize=None)\ndef fib(n: bool):\n    return n\n",
    ),
    Planted(
        "sort-for-max",
        "GRN025",
        "def best(scores):\n    return sorted(scores)[-1]\n",
        "def best(scores):\n    return max(scores)\n",
    ),
    Planted(
        "requests-without-session",
        "GRN026",
        "import requests\ndef fetch(urls):\n    return [requests.get(u).json() for u in urls]\n",
        "import requests\ndef fetch(urls):\n    with requests.Session() as s:\n        return [s.get(u).json() for u in urls]\n",
    ),
    Planted(
        "iterrows",
        "GRN027",
        "def total(df):\n    t = []\n    for _, row in df.iterrows():\n        t.append(row.a * row.b)\n    return t\n",
        "def total(df):\n    return (df['a'] * df['b']).tolist()\n",
    ),
    Planted(
        "readlines",
        "GRN028",
        "def count(f):\n    n = 0\n    for line in f.readlines():\n        n += len(line)\n    return n\n",
        "def count(f):\n    return sum(len(line) for line in f)\n",
    ),
    Planted(
        "math-per-element",
        "GRN029",
        "import math\nimport numpy as np\ndef norms(a):\n    return np.array([math.sqrt(x) for x in a])\n",
        "import numpy as np\ndef norms(a):\n    return np.sqrt(a)\n",
    ),
    Planted(
        "exception-as-control-flow",
        "GRN030",
        "def total(d, keys):\n    t = 0\n    for k in keys:\n        try:\n            t += d[k]\n        except KeyError:\n"
        "            pass\n    return t\n",
        "def total(d, keys):\n    return sum(d.get(k, 0) for k in keys)\n",
    ),
    Planted(
        "wildcard-import",
        "GRN031",
        "from math import *\ndef area(r):\n    return pi * r * r\n",
        "from math import pi\ndef area(r):\n    return pi * r * r\n",
    ),
    Planted(
        "dataclass-without-slots-in-bulk",
        "GRN032",
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: float\ndef make(xs):\n"
        "    return [P(x) for x in xs]\n",
        "from dataclasses import dataclass\n@dataclass(slots=True)\nclass P:\n    x: float\ndef make(xs):\n"
        "    return [P(x) for x in xs]\n",
    ),
    Planted(
        "global-read-per-element",
        "GRN033",
        "RATE = 0.2\ndef taxes(prices):\n    out = []\n    for p in prices:\n        out.append(p * RATE)\n"
        "    return out\n",
        "RATE = 0.2\ndef taxes(prices, rate=RATE):\n    return [p * rate for p in prices]\n",
    ),
    Planted(
        "len-in-while",
        "GRN034",
        "def show(xs):\n    i = 0\n    while i < len(xs):\n        print(xs[i])\n        i += 1\n",
        "def show(xs):\n    for x in xs:\n        print(x)\n",
    ),
    Planted(
        "nested-loops-same-list",
        "GRN035",
        "def matches(people):\n    out = []\n    for a in people:\n        for b in people:\n"
        "            if a.email == b.email and a is not b:\n                out.append(a)\n    return out\n",
        "from collections import Counter\ndef matches(people):\n    counts = Counter(p.email for p in people)\n"
        "    return [p for p in people if counts[p.email] > 1]\n",
    ),
    Planted(
        "repeated-attribute-chain",
        "GRN036",
        "def scale(self, xs):\n    out = []\n    for x in xs:\n        y = x * self.cfg.units.factor\n"
        "        z = y + self.cfg.units.offset\n        out.append(z / self.cfg.units.norm)\n    return out\n",
        "def scale(self, xs):\n    units = self.cfg.units\n    f, o, n = units.factor, units.offset, units.norm\n"
        "    return [(x * f + o) / n for x in xs]\n",
    ),
    Planted(
        "open-without-with",
        "GRN037",
        "def head(path):\n    f = open(path)\n    first = f.readline()\n    return first\n",
        "def head(path):\n    with open(path) as f:\n        return f.readline()\n",
    ),
    Planted(
        "loop-invariant-sum",
        "GRN038",
        "def normalise(weights):\n    out = []\n    for w in weights:\n        out.append(w / sum(weights))\n    return out\n",
        "def normalise(weights):\n    total = sum(weights)\n    return [w / total for w in weights]\n",
    ),
    Planted(
        "dataloader-without-pin-memory",
        "GRN039",
        "import torch\nfrom torch.utils.data import DataLoader\ndef loader(ds):\n"
        "    return DataLoader(ds, batch_size=32), torch.device('cuda')\n",
        "import torch\nfrom torch.utils.data import DataLoader\ndef loader(ds):\n"
        "    return DataLoader(ds, batch_size=32, pin_memory=True, num_workers=4), torch.device('cuda')\n",
    ),
    Planted(
        "orm-n-plus-one",
        "GRN040",
        "from django.db import models\ndef emails(orders):\n    out = []\n    for o in orders:\n"
        "        out.append(Customer.objects.get(pk=o.customer_id).email)\n    return out\n",
        "from django.db import models\ndef emails(orders):\n    ids = [o.customer_id for o in orders]\n"
        "    by_id = Customer.objects.in_bulk(ids)\n    return [by_id[i].email for i in ids]\n",
    ),
    Planted(
        "square-with-pow",
        "GRN014",
        "def energy(vs):\n    e = []\n    for v in vs:\n        e.append(v ** 2)\n    return e\n",
        "def energy(vs):\n    return [v * v for v in vs]\n",
    ),
    Planted(
        "loop-over-listcomp",
        "GRN011",
        "def show(rows):\n    for r in [x.strip() for x in rows]:\n        print(r)\n",
        "def show(rows):\n    for r in (x.strip() for x in rows):\n        print(r)\n",
    ),
]

# A second batch, written after the rules were tuned on real projects (issue 13, 2026-12-01) and in other
# forms than the first: other call shapes, while loops, comprehensions. Not used to tune any rule.
PAIRS += [
    Planted(
        "membership-in-sorted-in-while",
        "GRN001",
        "def pending(jobs, done):\n    finished = sorted(done)\n    i = 0\n    while i < 10 and jobs:\n"
        "        job = jobs[i]\n        if job in finished:\n            i += 1\n            continue\n        return job\n",
        "def pending(jobs, done):\n    finished = set(done)\n    i = 0\n    while i < 10 and jobs:\n"
        "        job = jobs[i]\n        if job in finished:\n            i += 1\n            continue\n        return job\n",
    ),
    Planted(
        "pop-front-in-for",
        "GRN003",
        "def drain(tasks):\n    pending = list(tasks)\n    done = []\n    for _ in range(len(pending)):\n"
        "        done.append(pending.pop(0))\n    return done\n",
        "def drain(tasks):\n    return list(tasks)\n",
    ),
    Planted(
        "findall-in-comprehension",
        "GRN007",
        "import re\ndef numbers(lines):\n    return [re.findall(r'\\d+', line) for line in lines]\n",
        "import re\nDIGITS = re.compile(r'\\d+')\ndef numbers(lines):\n    return [DIGITS.findall(line) for line in lines]\n",
    ),
    Planted(
        "keyerror-counting",
        "GRN030",
        "def count(words):\n    counts = {}\n    for w in words:\n        try:\n            counts[w] += 1\n"
        "        except KeyError:\n            counts[w] = 1\n    return counts\n",
        "from collections import Counter\ndef count(words):\n    return Counter(words)\n",
    ),
    Planted(
        "max-recomputed-per-item",
        "GRN038",
        "def normalise(scores):\n    out = []\n    for s in scores:\n        out.append(s / max(scores))\n    return out\n",
        "def normalise(scores):\n    top = max(scores)\n    return [s / top for s in scores]\n",
    ),
    Planted(
        "index-loop-with-len",
        "GRN034",
        "def total(data):\n    t = 0\n    i = 0\n    while i < len(data):\n        t = t + data[i] * 2\n        i += 1\n    return t\n",
        "def total(data):\n    return sum(x * 2 for x in data)\n",
    ),
    Planted(
        "open-and-read",
        "GRN037",
        "def load(path):\n    f = open(path)\n    data = f.read()\n    return data\n",
        "from pathlib import Path\ndef load(path):\n    return Path(path).read_text()\n",
    ),
    Planted(
        "sql-fstring-per-id",
        "GRN015",
        "def names(cur, ids):\n    out = []\n    for i in ids:\n"
        "        cur.execute(f'SELECT name FROM users WHERE id = {i}')\n        out.append(cur.fetchone())\n    return out\n",
        "def names(cur, ids):\n    marks = ','.join('?' * len(ids))\n"
        "    cur.execute('SELECT name FROM users WHERE id IN (' + marks + ')', ids)\n    return cur.fetchall()\n",
    ),
    Planted(
        "sqrt-per-element",
        "GRN029",
        "import math\nimport numpy as np\ndef norms(values):\n    arr = np.asarray(values)\n"
        "    return [math.sqrt(v) for v in arr]\n",
        "import numpy as np\ndef norms(values):\n    return np.sqrt(np.asarray(values))\n",
    ),
    Planted(
        "tensor-from-appended-list",
        "GRN020",
        "import torch\ndef batch(samples):\n    rows = []\n    for s in samples:\n        rows.append(s.features)\n"
        "    return torch.tensor(rows)\n",
        "import numpy as np\nimport torch\ndef batch(samples):\n"
        "    return torch.from_numpy(np.stack([s.features for s in samples]))\n",
    ),
    Planted(
        "string-accumulated-in-while",
        "GRN004",
        "def read_all(stream):\n    text = ''\n    while True:\n        chunk = stream.read(4096)\n        if not chunk:\n"
        "            break\n        text += chunk\n    return text\n",
        "def read_all(stream):\n    return stream.read()\n",
    ),
    Planted(
        "pairwise-equality-search",
        "GRN035",
        "def duplicates(points):\n    out = []\n    for a in points:\n        for b in points:\n"
        "            if a is not b and a == b:\n                out.append(a)\n    return out\n",
        "from collections import Counter\ndef duplicates(points):\n    counts = Counter(points)\n"
        "    return [p for p in points if counts[p] > 1]\n",
    ),
]
