# pyrunc: `make demo` runs a real container, `make test` runs the whole suite.
# Both install what they need on a fresh Debian machine (as root), and skip what is there.

# Debian's python3: it starts faster than a pyenv build, and any uid can run it (rootless).
PYTHON ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
PYRUNC := $(VENV)/bin/pyrunc
# docker.io, podman, containernetworking-plugins and iptables: the engines tests/engines/
# runs pyrunc under, beside runc (dockerd programs its networks' rules with iptables);
# systemd-container: systemd-nspawn boots the real systemd tests/systemd/ runs the
# --systemd-cgroup driver in (this host's PID 1 need not be systemd).
APT_PKGS := busybox-static libcap-dev libseccomp2 runc containerd gcc python3-venv python3-dev nftables \
	docker.io podman containernetworking-plugins iptables systemd-container
PIP_STAMP := $(VENV)/.deps-installed
# Tests that run after the parallel part, on their own (see test:).
SERIAL := tests/reliability/test_long_run.py tests/engines/test_docker.py tests/engines/test_podman.py

.PHONY: deps install demo test unit lint bench conformance critest reliability clean

deps: $(PIP_STAMP)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(PIP_STAMP): pyproject.toml Makefile
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check setuptools wheel pytest ruff \
		python-prctl jsonschema pyroute2 pytest-xdist jeepney
	touch $(PIP_STAMP)

install: deps
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps . 2>&1 | \
		grep -v -i "warn\|^ *$$" || true
	@# The launcher runs the interpreter with -IS: no site.py, no user site, no PYTHON*
	@# variables (about a third of the start-up of every command); the venv's
	@# site-packages goes on sys.path directly.
	@sp=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	printf '#!%s -IS\n"""pyrunc launcher (written by make install)."""\nimport sys\nsys.path.append("%s")\nfrom pyrunc.runtime.cli.main import entry\nentry()\n' \
		"$(abspath $(VENV))/bin/python3" "$$sp" > $(PYRUNC).tmp && chmod 755 $(PYRUNC).tmp && mv $(PYRUNC).tmp $(PYRUNC)
	@$(PYRUNC) --version >/dev/null

demo: install
	$(PY) tests/rootfs.py demo/rootfs
	rm -f demo/config.json
	$(PYRUNC) spec --bundle demo
	$(PY) tests/rootfs.py --demo-config demo/config.json
	cd demo && ../$(PYRUNC) --root /run/pyrunc-demo run demo-$$$$

test: install
	$(VENV)/bin/ruff check runtime spec hooks tests bench conformance
	@# Two workers (this VM has 2 cores): every test has its own state root, bundles,
	@# cgroup parent and network namespaces, so they run side by side; an engine's
	@# module keeps its one daemon on one worker (xdist_group, --dist loadgroup).
	@# Alone afterwards: the long run counts the host's mounts (a dockerd beside it adds
	@# some); Docker and Podman left a netns file busy under the parallel load (open).
	$(PY) -m pytest -q -n 2 --dist loadgroup tests $(SERIAL:%=--ignore=%)
	$(PY) -m pytest -q $(SERIAL)

# The tier without root: tests/unit/ (spec/'s load and checks, the resources translation,
# the Plan, the state store's encoding, the import graph), in seconds, as any user and
# without a kernel.  It reads the source tree, not the installed copy (make install needs
# root): a temporary pyrunc/ of links to runtime/, spec/ and hooks/ goes first on the path.
# `make test` runs it too, as part of tests/.
unit:
	@test -x $(PY) || { echo "make unit: no $(PY) yet: run make install (as root) once"; exit 1; }
	@d=$$(mktemp -d) && mkdir $$d/pyrunc && ln -s $(CURDIR)/runtime $(CURDIR)/spec $(CURDIR)/hooks $$d/pyrunc/ && \
	PYTHONPATH=$$d PYTHONDONTWRITEBYTECODE=1 $(PY) -m pytest -q -p no:cacheprovider tests/unit; \
	rc=$$?; rm -rf $$d; exit $$rc

# The reliability issue's full sizes (3000 fuzzed inputs of each kind, 1000 run cycles...).
reliability: install
	PYRUNC_RELIABILITY=full $(PY) -m pytest -q -s tests/reliability

# `make bench BENCH_ARGS=--quick`: a small size, for a check (see bench/bench.py).
bench: install
	$(PY) bench/bench.py $(BENCH_ARGS)

# The OCI runtime-tools suites: RUNTIME_TOOLS=/path/to/a/built/runtime-tools (see README).
conformance: install
	$(PY) conformance/run.py --tree "$(RUNTIME_TOOLS)" --report conformance-report.json

# The CRI validation suite (cri-tools' critest v1.26.1) against a private containerd, handler
# runc beside handler pyrunc: CRITEST=/path/to/critest, else critest on PATH (see README).
critest: install
	$(PY) conformance/critest.py --report critest-report.json

clean:
	rm -rf $(VENV) demo build *.egg-info
