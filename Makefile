# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pytest-xdist processes for `make test` (each starts its own FerretDB, Redis and Chromium as needed)
TEST_WORKERS ?= 2
# htmx, the Socket.IO client and Swagger UI (/docs), pinned in package.json/package-lock.json, copied from
# the npm registry into static/vendor/ (committed: `make run` and `make test` need npm only if it is missing).
VENDORED := static/vendor/htmx.min.js static/vendor/socket.io.min.js static/vendor/swagger-ui/swagger-ui-bundle.js \
	static/vendor/chart.umd.min.js tests/helpers/vendor/axe.min.js

.PHONY: run test lint system-deps bench bench-ingest bench-connections clean vendor simulate faults

# The local database (unless MONGODB_URI), Redis (unless REDIS_URL; Debian's redis-server, installed
# when missing as root), one job worker and the app; Ctrl+C stops them all.
run: $(VENV)/.installed instance/bin/devdb | $(VENDORED)
	$(BIN)/python -m devdb.run

test: system-deps $(VENV)/.installed instance/bin/devdb | $(VENDORED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# Debian packages the tests drive (Chromium); installed only when missing.
system-deps:
	@bash .ci/system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# FerretDB 1.24 (SQLite backend) from its Go module: the local database for `make run` and tests.
instance/bin/devdb: devdb/main.go devdb/go.mod devdb/go.sum
	cd devdb && go build -o ../instance/bin/devdb .

vendor:
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p static/vendor/swagger-ui
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/htmx.org/LICENSE static/vendor/htmx.LICENSE
	cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io.min.js
	cp node_modules/socket.io-client/LICENSE static/vendor/socket.io.LICENSE
	cp node_modules/socket.io-client/dist/socket.io.min.js.map static/vendor/socket.io.min.js.map
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/LICENSE node_modules/swagger-ui-dist/NOTICE \
	   node_modules/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt static/vendor/swagger-ui/
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js
	cp node_modules/chart.js/LICENSE.md static/vendor/chart.LICENSE.md
	mkdir -p tests/helpers/vendor  # axe-core: the accessibility check the browser tests run in the page
	cp node_modules/axe-core/axe.min.js tests/helpers/vendor/axe.min.js
	cp node_modules/axe-core/LICENSE tests/helpers/vendor/axe.LICENSE

$(VENDORED):
	$(MAKE) vendor

# Customers writing in to the inbox `make run` serves: make simulate ARGS="--rate 2 --count 50".
# The command loads the app, so it needs the database `make run` started (its default port) or MONGODB_URI.
simulate: $(VENV)/.installed
	@uri="$${MONGODB_URI:-$$(sed -n 's/^MONGODB_URI=//p' .env 2>/dev/null)}"; \
	MONGODB_URI="$${uri:-mongodb://127.0.0.1:27018/whatsapp_inbox}" SOCKETIO_ASYNC_MODE=threading \
	$(BIN)/python -m flask --app wsgi simulate $(ARGS)

# The hot reads at 10k and 100k messages (SIZE=1000000 adds 1M: about half an hour), and ingest rates.
SIZE ?= 100000
bench: $(VENV)/.installed instance/bin/devdb
	SIZE=$(SIZE) $(BIN)/python -m tests.bench

# Only the ingest figures (raw inserts, webhooks applied inline and queued), in a couple of minutes
bench-ingest: $(VENV)/.installed instance/bin/devdb
	SIZE=0 $(BIN)/python -m tests.bench

# Idle Socket.IO clients on one web process (memory per client) and a webhook's fan-out to every one.
bench-connections: $(VENV)/.installed instance/bin/devdb
	$(BIN)/python -m tests.bench_connections

clean:
	rm -rf $(VENV) instance/bin test-artifacts

# The fault suite (tests/faults/): the database killed during a signed load, the app killed with kill -9,
# a poisoned event in a batch, two processes racing, 1,000 idle connections. Loopback only, bounded; prints
# acknowledged-but-lost and wrong counters (both must be 0) and the recovery time of each scenario.
faults: $(VENV)/.installed instance/bin/devdb
	$(BIN)/python -m tests.faults $(ARGS)
