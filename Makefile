# The two commands a new user needs: `make demo` and `make test`.
.PHONY: setup demo test test-ha serve clean lock lock-upgrade

setup:
	@ops/setup

demo: setup
	.venv/bin/cad demo

test: setup
	@ops/check

# Only the failover tests (also part of `make test`): etcd and two PostgreSQL nodes under
# Patroni, the primary killed under a load of writes; prints the figures.
test-ha: setup
	.venv/bin/pytest tests/ha -q

serve: setup
	.venv/bin/cad serve

# requirements.lock: the exact Python packages setup installs. `lock` keeps the pins it can
# (run it after changing the dependencies in pyproject.toml); `lock-upgrade` takes the newest.
lock:
	@ops/lock

lock-upgrade:
	@ops/lock --upgrade

clean:
	-.venv/bin/cad db stop
	rm -rf var
