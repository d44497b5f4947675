# Two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
export PORT
PG_URL ?= postgres://postgres@127.0.0.1:5432/statuspage
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint format test-sqlite test-postgres setup chromium prometheus clean bench-probes bench-fanout bench-public bench-answers bench-history bench-private-bars messages bench-clock cluster cluster-tools test-cluster cluster-figures bench-cluster abuse fuzz
.PHONY: serve nginx wrk bench-herd

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.testing: $(VENV)/.runtime requirements-test.txt requirements-lint.txt
	$(PIP) install --disable-pip-version-check -q -r requirements-test.txt
	touch $@

# collectstatic too: with DEBUG=0 whitenoise serves the collected, hashed files only.
setup: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo setup

run: setup
	$(PY) manage.py runall --port $(PORT)

# The production stack of one node (no sandbox, no demo) from the environment: SECRET_KEY,
# ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, STATUSPAGE_URL (docs/OPERATIONS.md, "Serving production").
serve: $(VENV)/.runtime
	$(PY) -m deploy.serve $(SERVE_ARGS)

# Debian's chromium for the browser tests; installed when missing, never downloaded by a tool.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Debian's nginx with its njs module (deploy/nginx/, the front) and wrk (make bench-herd);
# installed when missing, like chromium.
nginx:
	@{ test -x /usr/sbin/nginx && test -f /usr/lib/nginx/modules/ngx_http_js_module.so; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx libnginx-mod-http-js; }

wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk; }

# Debian's haproxy (the cluster's load balancer) and redis-server (the restart scenario runs
# one of its own); installed when missing. PostgreSQL's initdb/pg_ctl come with the server.
cluster-tools:
	@{ test -x /usr/sbin/haproxy && command -v redis-server >/dev/null 2>&1; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq haproxy redis-server; }

# Three nodes on PostgreSQL + Redis behind haproxy; Ctrl-C stops them (docs/OPERATIONS.md).
cluster: $(VENV)/.runtime cluster-tools
	$(PY) -m deploy.cluster

# The cluster fault scenarios alone (also part of `make test`'s PostgreSQL + Redis pass);
# their figures go to var/cluster/figures.json, `make cluster-figures` puts them in the docs.
test-cluster: $(VENV)/.testing cluster-tools
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest -s tests/cluster

cluster-figures: $(VENV)/.runtime
	$(PY) -m deploy.cluster.figures --write

# A node killed mid fan-out with 100,000 subscribers (not a test): figures as test-cluster's.
bench-cluster: $(VENV)/.testing cluster-tools
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m bench.cluster_fanout $(BENCH_ARGS)
# Debian's prometheus (with promtool) for deploy/prometheus/'s checks and tests; installed when
# missing, like chromium.
prometheus:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq prometheus; }

# Style, types and the one-way layers of docs/ARCHITECTURE.md (contracts in pyproject.toml).
lint: $(VENV)/.testing
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Sort imports and format the tree the way `make lint` expects.
format: $(VENV)/.testing
	$(VENV)/bin/ruff check --select I --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.testing chromium prometheus cluster-tools nginx
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) -m tests.services_available; then \
	  $(MAKE) --no-print-directory test-postgres; \
	else echo "PostgreSQL or Redis not reachable on 127.0.0.1: skipped the second run"; fi

test-sqlite: $(VENV)/.testing
	DATABASE_URL= REDIS_URL= $(PY) -m pytest

# Schemathesis against /api/openapi.json and docs/openapi-manage.yaml (with a key), bounded in
# time; zero server errors and zero answers outside the descriptions. `make test` runs a short
# one (tests/test_fuzz.py); this one is longer. The live server listens on FUZZ_PORT.
FUZZ_EXAMPLES ?= 100
FUZZ_SECONDS ?= 240
FUZZ_PORT ?= 18510
fuzz: $(VENV)/.testing
	DATABASE_URL= REDIS_URL= FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  $(PY) -m pytest -p no:cacheprovider -q -s --liveserver 127.0.0.1:$(FUZZ_PORT) tests/test_fuzz.py

test-postgres: $(VENV)/.testing
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest

# Probe engine capacity: figures written to docs/BENCHMARKS.md (not a test). Then, when
# PostgreSQL answers, one engine against two on it and the raw aiohttp ceiling
# (bench/probes_cluster.py, on BENCH_PG_URL; BENCH_CLUSTER_ARGS="--ladder 5000,10000").
BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/statuspage_bench_probes
bench-probes: $(VENV)/.runtime
	$(PY) -m bench.probes --write $(BENCH_ARGS)
	@if $(PY) -m tests.services_available; then \
	  BENCH_DATABASE_URL=$(BENCH_PG_URL) $(PY) -m bench.probes_cluster --write $(BENCH_CLUSTER_ARGS); \
	else echo "PostgreSQL not reachable on 127.0.0.1: skipped the two-engine run"; fi

# Fan-out benchmark (not a test): 100k subscribers; BENCH_ARGS=--million for 1M.
# PostgreSQL pass on BENCH_DATABASE_URL (default: the statuspage_bench_fanout database).
bench-fanout: $(VENV)/.runtime
	$(PY) bench/fanout.py $(BENCH_ARGS)

# The escalation clock's tick cost with many open incidents (figures in docs/BENCHMARKS.md).
bench-clock: $(VENV)/.runtime
	DATABASE_URL= REDIS_URL= $(PY) bench/clock/run.py

clean:
	rm -rf $(VENV) var .pytest_cache

# How fast the public site answers (page, v2 API, feeds, badges, snapshot); see docs/BENCHMARKS.md.
bench-public: $(VENV)/.runtime
	$(PY) bench/public_site.py 30

# What the answer store saves per request (CPU), and the local backends compared.
bench-answers: $(VENV)/.runtime
	$(PY) bench/answer_store.py 30

# The outage rush: wrk against gunicorn and the nginx front beside the two ceilings, in one
# run; figures and chart to docs/BENCHMARKS.md (BENCH_ARGS="--runs 5 --seconds 10").
bench-herd: $(VENV)/.testing nginx wrk
	$(PY) -m bench.herd --write $(BENCH_ARGS)

# Issue 16's attacks on logins, proxies and sign-ups against a real web process (counts for
# docs/RELIABILITY.md, "Security: logins, proxies and sign-ups"); ABUSE_PORT, default 18400.
abuse: $(VENV)/.runtime
	$(PY) -m bench.abuse

# The public answers at a year of history (100 components, 500 incidents), rendered with no
# cache, beside the same answers at 3 components and no history; see docs/BENCHMARKS.md.
bench-history: $(VENV)/.runtime
	$(PY) -m bench.history $(BENCH_ARGS)

# An audience's page at a year of history (its bars list its private incidents live),
# uncached, beside the public page in the same run; see docs/BENCHMARKS.md.
bench-private-bars: $(VENV)/.runtime
	$(PY) -m bench.private_bars $(BENCH_ARGS)

# Refresh the Spanish catalogue after changing public strings (translate, then compile).
messages: $(VENV)/.runtime
	@command -v msgfmt >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gettext; }
	$(PY) manage.py makemessages -l es -e html,txt,py,js --ignore=.venv --ignore=var \
	  --ignore=tests --ignore=bench --ignore=statuspage/static
	$(PY) manage.py compilemessages -l es --ignore=.venv
